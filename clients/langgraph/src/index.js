// ConvstoreSaver: a LangGraph.js checkpoint saver that keeps checkpoints in convstore, one HTTP
// request per saver call (list: one per page). Values go through the saver's serializer and are
// opaque to the service: {type, data}, data being the serializer's text for "json", base64 otherwise.
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  getCheckpointId,
  maxChannelVersion,
} from '@langchain/langgraph-checkpoint';
import { nodeTransport } from './transport.js';

/** A non-2xx answer from convstore (or a request that never got one). */
export class ConvstoreError extends Error {
  constructor(message, { status = 0, code = null, requestId = null, body = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConvstoreError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.body = body;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function toBase64(bytes) {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  if (typeof Buffer !== 'undefined') {
    const b = Buffer.from(text, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const present = (v) => v !== undefined && v !== null && v !== '';

export class ConvstoreSaver extends BaseCheckpointSaver {
  /**
   * @param {{url: string, apiKey: string, serde?: object, fetch?: typeof fetch, pageSize?: number, ttlSeconds?: number}} options
   *   url: the service's base URL (e.g. http://127.0.0.1:8080); apiKey: a convstore API key
   *   (a user key keeps each user's checkpoints apart); fetch: a fetch implementation (default:
   *   keep-alive node:http(s) in Node, the global fetch elsewhere); pageSize: checkpoints per list
   *   request (1–1000, default 100); ttlSeconds: a thread's checkpoints are deleted by the
   *   service that long after its last put (default: kept).
   */
  constructor({ url, apiKey, serde, fetch: fetchImpl, pageSize = 100, ttlSeconds } = {}) {
    super(serde);
    if (!url) throw new Error('ConvstoreSaver: url is required');
    if (!apiKey) throw new Error('ConvstoreSaver: apiKey is required');
    this.url = String(url).replace(/\/+$/, '');
    this.apiKey = apiKey;
    this.fetch = fetchImpl ?? null; /* chosen on the first request (see _transport) */
    this.pageSize = Math.min(Math.max(Math.floor(pageSize) || 100, 1), 1000);
    if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds >= 1))
      throw new Error('ConvstoreSaver: ttlSeconds must be a whole number of seconds from 1');
    this.ttlSeconds = ttlSeconds;
    if (fetchImpl !== undefined && typeof fetchImpl !== 'function') throw new Error('ConvstoreSaver: fetch must be a function');
  }

  /** The fetch to use: the one given, else node:http(s) with keep-alive in Node, else the global fetch. */
  async _transport() {
    if (!this.fetch) this.fetch = (await nodeTransport()) ?? globalThis.fetch;
    if (typeof this.fetch !== 'function') throw new Error('ConvstoreSaver: no fetch available (pass fetch)');
    return this.fetch;
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  /** One request; resolves the parsed JSON body (null when empty), or null on 404 when okMissing. */
  async _request(method, path, { query, body, okMissing = false } = {}) {
    let url = this.url + path;
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
      const s = qs.toString();
      if (s) url += `?${s}`;
    }
    const headers = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    const init = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await (await this._transport())(url, init);
    } catch (e) {
      throw new ConvstoreError(`convstore ${method} ${path}: ${e?.message ?? e}`, { cause: e });
    }
    const text = await res.text();
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (res.ok) return json;
    if (res.status === 404 && okMissing) return null;
    const detail = (json && (json.detail || json.title)) || text.slice(0, 300) || res.statusText;
    throw new ConvstoreError(`convstore ${method} ${path}: ${res.status}${json?.code ? ` ${json.code}` : ''}: ${detail}`, {
      status: res.status,
      code: json?.code ?? null,
      requestId: res.headers.get('x-request-id') ?? json?.request_id ?? null,
      body: json ?? text,
    });
  }

  static _threadPath(threadId) {
    return `/v1/threads/${encodeURIComponent(String(threadId))}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Serialisation: {type, data} with data the serializer's text ("json") or base64 (any other type)

  async _dump(value) {
    const [type, bytes] = await this.serde.dumpsTyped(value);
    if (type === 'json') {
      if (typeof bytes === 'string') return [type, bytes];
      try {
        return [type, utf8.decode(bytes)];
      } catch {
        throw new Error('ConvstoreSaver: the serializer returned type "json" with bytes that are not UTF-8');
      }
    }
    return [type, typeof bytes === 'string' ? toBase64(new TextEncoder().encode(bytes)) : toBase64(bytes)];
  }

  async _load(type, data) {
    return this.serde.loadsTyped(type, type === 'json' ? data : fromBase64(data));
  }

  /** A tuple as the service returns it → a CheckpointTuple. */
  async _toTuple(t) {
    const checkpoint = {
      ...t.checkpoint,
      channel_versions: { ...(t.checkpoint.channel_versions ?? {}) },
      versions_seen: t.checkpoint.versions_seen ?? {},
      channel_values: {},
    };
    const values = await Promise.all((t.channel_values ?? []).map(([, type, data]) => this._load(type, data)));
    (t.channel_values ?? []).forEach(([channel], i) => {
      checkpoint.channel_values[channel] = values[i];
    });
    // Checkpoints before v4 kept Send packets in the parent's writes to TASKS: rebuild the channel.
    if (checkpoint.v < 4 && present(t.parent_checkpoint_id) && t.pending_sends?.length) {
      checkpoint.channel_values[TASKS] = await Promise.all(t.pending_sends.map(([type, data]) => this._load(type, data)));
      const versions = Object.values(checkpoint.channel_versions);
      checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
    }
    const pendingWrites = await Promise.all(
      (t.pending_writes ?? []).map(async ([taskId, channel, type, data]) => [taskId, channel, await this._load(type, data)]),
    );
    const at = (checkpoint_id) => ({
      configurable: { thread_id: t.thread_id, checkpoint_ns: t.checkpoint_ns, checkpoint_id },
    });
    return {
      config: at(t.checkpoint_id),
      checkpoint,
      metadata: await this._load(t.metadata.type, t.metadata.data),
      parentConfig: present(t.parent_checkpoint_id) ? at(t.parent_checkpoint_id) : undefined,
      pendingWrites,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // BaseCheckpointSaver

  async getTuple(config) {
    const { thread_id, checkpoint_ns = '' } = config?.configurable ?? {};
    if (!present(thread_id)) return undefined;
    const checkpointId = getCheckpointId(config) || 'latest';
    const t = await this._request(
      'GET',
      `${ConvstoreSaver._threadPath(thread_id)}/checkpoints/${encodeURIComponent(checkpointId)}`,
      { query: { checkpoint_ns: checkpoint_ns ?? '' }, okMissing: true },
    );
    return t ? this._toTuple(t) : undefined;
  }

  async *list(config, options) {
    const { filter, before, limit } = options ?? {};
    const { thread_id, checkpoint_ns } = config?.configurable ?? {};
    const checkpointId = config?.configurable ? getCheckpointId(config) : '';
    const beforeId = before?.configurable?.checkpoint_id;
    const hasFilter = filter && Object.keys(filter).length > 0;
    let remaining = limit === undefined || limit === null ? Infinity : Math.floor(Number(limit));
    if (!(remaining > 0)) return;

    const query = {
      thread_id: present(thread_id) ? thread_id : undefined,
      checkpoint_ns: checkpoint_ns ?? undefined,
      checkpoint_id: checkpointId || undefined,
      metadata: hasFilter ? JSON.stringify(filter) : undefined,
      before: beforeId,
    };
    for (;;) {
      const size = Math.min(remaining, this.pageSize);
      const page = await this._request('GET', '/v1/checkpoints', { query: { ...query, limit: size }, okMissing: true });
      if (!page) return;
      for (const t of page.data) {
        yield await this._toTuple(t);
        if (--remaining <= 0) return;
      }
      if (!page.has_more || !page.next_before || page.data.length === 0) return;
      query.before = page.next_before;
    }
  }

  async put(config, checkpoint, metadata, newVersions) {
    if (config?.configurable === undefined) throw new Error('ConvstoreSaver.put: missing "configurable" field in "config" param');
    const { thread_id, checkpoint_ns = '', checkpoint_id } = config.configurable;
    if (!present(thread_id)) throw new Error('ConvstoreSaver.put: missing "thread_id" in config.configurable');
    if (!present(checkpoint?.id)) throw new Error('ConvstoreSaver.put: the checkpoint has no id');
    const { channel_values: values = {}, pending_sends: _drop, ...stored } = checkpoint;
    const [meta, ...blobs] = await Promise.all([
      this._dump(metadata),
      ...Object.entries(newVersions ?? {}).map(async ([channel, version]) => {
        if (!(channel in values)) return [channel, String(version), 'empty', null];
        const [type, data] = await this._dump(values[channel]);
        return [channel, String(version), type, data];
      }),
    ]);
    const ns = checkpoint_ns ?? '';
    await this._request('PUT', `${ConvstoreSaver._threadPath(thread_id)}/checkpoints/${encodeURIComponent(checkpoint.id)}`, {
      body: {
        checkpoint_ns: ns,
        parent_checkpoint_id: present(checkpoint_id) ? checkpoint_id : null,
        checkpoint: stored,
        metadata: { type: meta[0], data: meta[1] },
        blobs,
        ...(this.ttlSeconds ? { ttl_seconds: this.ttlSeconds } : {}),
      },
    });
    return { configurable: { thread_id, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config, writes, taskId, taskPath) {
    const { thread_id, checkpoint_ns = '', checkpoint_id } = config?.configurable ?? {};
    if (!present(thread_id)) throw new Error('ConvstoreSaver.putWrites: missing "thread_id" in config.configurable');
    if (!present(checkpoint_id)) throw new Error('ConvstoreSaver.putWrites: missing "checkpoint_id" in config.configurable');
    if (!writes || writes.length === 0) return;
    const dumped = await Promise.all(
      writes.map(async ([channel, value], idx) => {
        const [type, data] = await this._dump(value);
        return [WRITES_IDX_MAP[channel] ?? idx, channel, type, data];
      }),
    );
    await this._request('POST', `${ConvstoreSaver._threadPath(thread_id)}/checkpoints/${encodeURIComponent(checkpoint_id)}/writes`, {
      body: { checkpoint_ns: checkpoint_ns ?? '', task_id: taskId, task_path: taskPath ?? '', writes: dumped },
    });
  }

  /** Deletes every namespace's checkpoints, blobs and writes of the thread (a thread you cannot see: nothing). */
  async deleteThread(threadId) {
    if (!present(threadId)) throw new Error('ConvstoreSaver.deleteThread: threadId is required');
    await this._request('DELETE', `${ConvstoreSaver._threadPath(threadId)}/checkpoints`, { okMissing: true });
  }

  /**
   * Keeps the keepLatest newest checkpoints of each namespace of the thread (or of checkpointNs
   * only) and what they still need; resolves {deleted_checkpoints, deleted_blobs, deleted_writes}.
   */
  async prune(threadId, { keepLatest = 1, checkpointNs } = {}) {
    if (!present(threadId)) throw new Error('ConvstoreSaver.prune: threadId is required');
    const body = { keep_latest: keepLatest };
    if (checkpointNs !== undefined && checkpointNs !== null) body.checkpoint_ns = checkpointNs;
    return this._request('POST', `${ConvstoreSaver._threadPath(threadId)}/checkpoints/prune`, { body });
  }

  /**
   * Versions are strings "<32-digit counter>.<random>" (as LangGraph's Python savers make them):
   * they sort like the counter, and two forks from one checkpoint never reuse a version, so a
   * value written on a fork never collides with the blob of the same version on another branch.
   */
  getNextVersion(current) {
    let n = 0;
    if (typeof current === 'number') n = current;
    else if (typeof current === 'string') n = Number.parseInt(current.split('.')[0], 10) || 0;
    return `${String(n + 1).padStart(32, '0')}.${Math.random().toFixed(16)}`;
  }
}

export default ConvstoreSaver;
