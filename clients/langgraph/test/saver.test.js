// ConvstoreSaver beyond LangGraph's suite, against a real convstore: exact round trips of what the
// serializer produces, one request per call, list paging, forks with string versions, the
// delete tombstone, prune, isolation between orgs and users, and errors.
import { INTERRUPT, RESUME, TASKS, emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ConvstoreError, ConvstoreSaver } from '../src/index.js';
import { createKey, createOrg, uniq } from './server.js';

const url = inject('convstoreUrl');
const meta = (step, extra = {}) => ({ source: 'loop', step, parents: {}, ...extra });

/** A saver over a fresh org, counting its HTTP requests. */
async function freshSaver(opts = {}) {
  const { api_key } = await createOrg();
  const counted = { n: 0 };
  const saver = new ConvstoreSaver({
    url,
    apiKey: opts.apiKey ?? api_key,
    fetch: (...a) => {
      counted.n++;
      return fetch(...a);
    },
    ...opts,
  });
  return { saver, adminKey: api_key, requests: counted };
}

/** A checkpoint whose channel_values are `values` at `versions`; put with newVersions = `changed`. */
async function putStep(saver, parentConfig, values, versions, changed, metadata = meta(0)) {
  const checkpoint = { ...emptyCheckpoint(), id: uuid6(3), channel_values: values, channel_versions: versions };
  return saver.put(parentConfig, checkpoint, metadata, changed);
}

async function all(gen) {
  const out = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe('values come back exactly as the serializer made them', () => {
  it('strings with NUL and lone surrogates, nested JSON, bytes, metadata', async () => {
    const { saver } = await freshSaver();
    const thread = uniq('t');
    const values = {
      nul: 'a\u0000b',
      surrogate: 'x\ud800y\udfffz',
      nested: { deep: [1, 2.5, -0.125, { k: null, t: true }], big: 12345678901234 },
      bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
      emoji: '😀 ünïcödé',
    };
    const versions = Object.fromEntries(Object.keys(values).map((k) => [k, saver.getNextVersion(undefined)]));
    const metadata = meta(0, { note: 'nul\u0000here', writes: { n: [1, 'two'] } });
    const cfg = await putStep(saver, { configurable: { thread_id: thread, checkpoint_ns: '' } }, values, versions, versions, metadata);
    await saver.putWrites(cfg, [['bytes', new Uint8Array([9, 8, 7])], ['nul', '\u0000']], 'task-1', '~0');
    const t = await saver.getTuple(cfg);
    expect(t.checkpoint.channel_values).toEqual(values);
    expect(t.checkpoint.channel_values.bytes).toBeInstanceOf(Uint8Array);
    expect(t.metadata).toEqual(metadata);
    expect(t.pendingWrites).toEqual([
      ['task-1', 'bytes', new Uint8Array([9, 8, 7])],
      ['task-1', 'nul', '\u0000'],
    ]);
  });

  it('a serializer with its own binary type', async () => {
    const raw = new Uint8Array(256).map((_, i) => i);
    const serde = {
      async dumpsTyped(v) {
        return ['custom/bin', v === 'RAW' ? raw : new TextEncoder().encode(JSON.stringify(v))];
      },
      async loadsTyped(type, data) {
        expect(type).toBe('custom/bin');
        expect(data).toBeInstanceOf(Uint8Array);
        return data.length === 256 && data[255] === 255 ? 'RAW' : JSON.parse(new TextDecoder().decode(data));
      },
    };
    const { saver } = await freshSaver({ serde });
    const thread = uniq('t');
    const v = { a: saver.getNextVersion(undefined) };
    const cfg = await putStep(saver, { configurable: { thread_id: thread } }, { a: 'RAW' }, v, v, meta(3));
    const t = await saver.getTuple(cfg);
    expect(t.checkpoint.channel_values).toEqual({ a: 'RAW' });
    expect(t.metadata).toEqual(meta(3));
  });
});

describe('round trips', () => {
  it('one HTTP request per call, and one per list page', async () => {
    const { saver, requests } = await freshSaver({ pageSize: 2 });
    const thread = uniq('t');
    let cfg = { configurable: { thread_id: thread, checkpoint_ns: '' } };
    let versions = {};
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const v = saver.getNextVersion(versions.a);
      versions = { ...versions, a: v, [`c${i}`]: saver.getNextVersion(undefined) };
      const before = requests.n;
      cfg = await putStep(saver, cfg, { a: i, [`c${i}`]: `only ${i}` }, versions, { a: v, [`c${i}`]: versions[`c${i}`] }, meta(i));
      expect(requests.n - before).toBe(1);
      ids.push(cfg.configurable.checkpoint_id);
      const w = requests.n;
      await saver.putWrites(cfg, [['a', i], [TASKS, `send ${i}`]], `task-${i}`);
      expect(requests.n - w).toBe(1);
    }
    let n = requests.n;
    const latest = await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } });
    expect(requests.n - n).toBe(1);
    expect(latest.config.configurable.checkpoint_id).toBe(ids[4]);
    // Carried-over channels: c0…c4 each written once, all visible in the latest checkpoint.
    expect(latest.checkpoint.channel_values).toEqual({ a: 4, c0: 'only 0', c1: 'only 1', c2: 'only 2', c3: 'only 3', c4: 'only 4' });

    n = requests.n;
    const listed = await all(saver.list({ configurable: { thread_id: thread } }));
    expect(requests.n - n).toBe(3); // pages of 2, 2, 1
    expect(listed.map((t) => t.config.configurable.checkpoint_id)).toEqual([...ids].reverse());
    expect(listed[0]).toEqual(latest);

    n = requests.n;
    const three = await all(saver.list({ configurable: { thread_id: thread } }, { limit: 3 }));
    expect(three.map((t) => t.config.configurable.checkpoint_id)).toEqual(ids.slice(2).reverse());
    expect(requests.n - n).toBe(2); // 2 + 1

    n = requests.n;
    const filtered = await all(saver.list({ configurable: { thread_id: thread } }, { filter: { step: 2 } }));
    expect(filtered.map((t) => t.config.configurable.checkpoint_id)).toEqual([ids[2]]);

    n = requests.n;
    const one = await all(saver.list({ configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: ids[1] } }));
    expect(one.map((t) => t.config.configurable.checkpoint_id)).toEqual([ids[1]]);
    expect(requests.n - n).toBe(1);

    n = requests.n;
    await saver.deleteThread(thread);
    expect(requests.n - n).toBe(1);
    expect(await saver.getTuple({ configurable: { thread_id: thread } })).toBeUndefined();
  });
});

describe('writes and re-puts', () => {
  it('a regular write is stored once (first wins), a special one (idx < 0) is replaced', async () => {
    const { saver } = await freshSaver();
    const cfg = await putStep(saver, { configurable: { thread_id: uniq('t'), checkpoint_ns: '' } }, {}, {}, {});
    await saver.putWrites(cfg, [['a', 'first'], [INTERRUPT, 'ask 1']], 'task');
    await saver.putWrites(cfg, [['a', 'second'], [INTERRUPT, 'ask 2']], 'task');
    await saver.putWrites(cfg, [[RESUME, 'yes']], 'task');
    await saver.putWrites(cfg, [['b', 'other task']], 'task-2');
    const t = await saver.getTuple(cfg);
    // Ordered by task, then idx: RESUME −4, INTERRUPT −3, then 0.
    expect(t.pendingWrites).toEqual([
      ['task', RESUME, 'yes'],
      ['task', INTERRUPT, 'ask 2'],
      ['task', 'a', 'first'],
      ['task-2', 'b', 'other task'],
    ]);
  });

  it('writes may come before their checkpoint', async () => {
    const { saver } = await freshSaver();
    const thread = uniq('t');
    const id = uuid6(3);
    await saver.putWrites({ configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: id } }, [['a', 1]], 'early');
    const cp = { ...emptyCheckpoint(), id };
    const cfg = await saver.put({ configurable: { thread_id: thread, checkpoint_ns: '' } }, cp, meta(0), {});
    expect((await saver.getTuple(cfg)).pendingWrites).toEqual([['early', 'a', 1]]);
  });

  it('re-putting a checkpoint id replaces checkpoint and metadata, keeps stored blobs', async () => {
    const { saver } = await freshSaver();
    const root = { configurable: { thread_id: uniq('t'), checkpoint_ns: '' } };
    const v = { a: saver.getNextVersion(undefined) };
    const cp = { ...emptyCheckpoint(), id: uuid6(3), channel_values: { a: 'stored' }, channel_versions: v };
    await saver.put(root, cp, meta(0), v);
    const again = { ...cp, channel_values: { a: 'ignored' }, versions_seen: { n: { a: v.a } } };
    const cfg = await saver.put(root, again, meta(5, { extra: true }), v);
    const t = await saver.getTuple(cfg);
    expect(t.metadata).toEqual(meta(5, { extra: true }));
    expect(t.checkpoint.versions_seen).toEqual({ n: { a: v.a } });
    expect(t.checkpoint.channel_values).toEqual({ a: 'stored' });
  });
});

describe('versions', () => {
  it('getNextVersion: unique, sorted like the counter, continues integer versions', () => {
    const s = new ConvstoreSaver({ url, apiKey: 'x' });
    const v1 = s.getNextVersion(undefined);
    expect(v1).toMatch(/^0{31}1\.0\.\d{16}$/);
    const a = s.getNextVersion(v1);
    const b = s.getNextVersion(v1);
    expect(a).not.toBe(b);
    expect(a > v1 && b > v1).toBe(true);
    expect(s.getNextVersion(a) > b).toBe(true);
    expect(s.getNextVersion(7).startsWith(`${'0'.repeat(31)}8.`)).toBe(true);
    let v = v1;
    for (let i = 0; i < 12; i++) {
      const next = s.getNextVersion(v);
      expect(next > v).toBe(true);
      v = next;
    }
  });

  it('a fork from an old checkpoint keeps its own value (no version collision)', async () => {
    const { saver } = await freshSaver();
    const thread = uniq('t');
    const v1 = saver.getNextVersion(undefined);
    const c1 = await putStep(saver, { configurable: { thread_id: thread, checkpoint_ns: '' } }, { x: 'one' }, { x: v1 }, { x: v1 });
    const v2 = saver.getNextVersion(v1);
    await putStep(saver, c1, { x: 'two' }, { x: v2 }, { x: v2 });
    // Time travel: a new branch from c1 writes x again.
    const v2fork = saver.getNextVersion(v1);
    const fork = await putStep(saver, c1, { x: 'fork' }, { x: v2fork }, { x: v2fork });
    expect((await saver.getTuple(fork)).checkpoint.channel_values).toEqual({ x: 'fork' });
    const latest = await saver.getTuple({ configurable: { thread_id: thread } });
    expect(latest.config).toEqual(fork);
    expect(latest.checkpoint.channel_values.x).toBe('fork');
    expect(latest.parentConfig).toEqual(c1);
  });
});

describe('deleteThread', () => {
  it('a put or writes arriving after the delete for an older checkpoint do not bring the thread back', async () => {
    const { saver } = await freshSaver();
    const thread = uniq('t');
    const root = { configurable: { thread_id: thread, checkpoint_ns: '' } };
    const v = { a: saver.getNextVersion(undefined) };
    const c1 = await putStep(saver, root, { a: 1 }, v, v);
    const c2 = await putStep(saver, c1, { a: 1 }, v, {});
    const late = { ...emptyCheckpoint(), id: c2.configurable.checkpoint_id, channel_values: { a: 1 }, channel_versions: v };
    const sub = await putStep(saver, { configurable: { thread_id: thread, checkpoint_ns: 'sub:1' } }, {}, {}, {});
    await saver.deleteThread(thread);
    expect(await saver.getTuple(root)).toBeUndefined();
    expect(await saver.getTuple(sub)).toBeUndefined();
    // A slow task's writes and a re-put of a checkpoint id that existed before the delete.
    await saver.putWrites(c2, [['a', 2]], 'slow-task');
    await saver.put(c1, late, meta(1), v);
    expect(await saver.getTuple(root)).toBeUndefined();
    expect(await all(saver.list({ configurable: { thread_id: thread } }))).toEqual([]);
    // A new run on the same thread id starts afresh.
    const fresh = await putStep(saver, root, { a: 'new' }, v, v);
    const t = await saver.getTuple(root);
    expect(t.config).toEqual(fresh);
    expect(t.checkpoint.channel_values).toEqual({ a: 'new' });
    expect(t.pendingWrites).toEqual([]);
  });
});

describe('prune', () => {
  it('keeps the newest N per namespace, and they read back exactly as before', async () => {
    const { saver } = await freshSaver();
    const thread = uniq('t');
    const snap = async () => all(saver.list({ configurable: { thread_id: thread } }));
    const chain = async (ns, n) => {
      let cfg = { configurable: { thread_id: thread, checkpoint_ns: ns } };
      const versions = { early: saver.getNextVersion(undefined) };
      const out = [];
      for (let i = 0; i < n; i++) {
        const changed = i === 0 ? { early: versions.early } : {};
        versions.step = saver.getNextVersion(versions.step);
        changed.step = versions.step;
        cfg = await putStep(saver, cfg, { early: `${ns} early`, step: i }, { ...versions }, changed, meta(i));
        await saver.putWrites(cfg, [['step', i + 1]], `t${i}`);
        out.push(cfg);
      }
      return out;
    };
    const root = await chain('', 5);
    const sub = await chain('child:1', 3);
    const before = await snap();
    expect(before).toHaveLength(8);

    const r1 = await saver.prune(thread, { keepLatest: 2, checkpointNs: 'child:1' });
    expect(r1.deleted_checkpoints).toBe(1);
    const r2 = await saver.prune(thread, { keepLatest: 2 });
    expect(r2.deleted_checkpoints).toBe(3);
    expect(r2.deleted_writes).toBeGreaterThanOrEqual(3);
    for (const k of ['deleted_checkpoints', 'deleted_blobs', 'deleted_writes']) {
      expect(Number.isInteger(r1[k]) && Number.isInteger(r2[k])).toBe(true);
    }
    const kept = new Set([...root.slice(-2), ...sub.slice(-2)].map((c) => c.configurable.checkpoint_id));
    const after = await snap();
    expect(after).toEqual(before.filter((t) => kept.has(t.config.configurable.checkpoint_id)));
    // The oldest kept checkpoint still has the channel written only by a pruned ancestor.
    expect((await saver.getTuple(root[3])).checkpoint.channel_values).toEqual({ early: ' early', step: 3 });
    expect(await saver.getTuple(root[0])).toBeUndefined();

    await expect(saver.prune(thread, { keepLatest: 0 })).rejects.toMatchObject({ status: 400 });
  });
});

describe('retention', () => {
  it('ttlSeconds: the service deletes a thread\'s checkpoints that long after its last put', async () => {
    expect(() => new ConvstoreSaver({ url, apiKey: 'k', ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    const { saver } = await freshSaver({ ttlSeconds: 1 });
    const { saver: keeper } = await freshSaver();
    const thread = uniq('t');
    const kept = uniq('t');
    const v = { a: saver.getNextVersion(undefined) };
    const cfg = await putStep(saver, { configurable: { thread_id: thread, checkpoint_ns: '' } }, { a: 1 }, v, v);
    await putStep(keeper, { configurable: { thread_id: kept, checkpoint_ns: '' } }, { a: 1 }, v, v);
    expect((await saver.getTuple(cfg))?.checkpoint.channel_values).toEqual({ a: 1 });
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 200));
      gone = (await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } })) === undefined;
    }
    expect(gone).toBe(true);
    expect(await keeper.getTuple({ configurable: { thread_id: kept, checkpoint_ns: '' } })).toBeDefined();
  });
});

describe('isolation', () => {
  let a;
  let thread;
  let cfg;
  beforeAll(async () => {
    a = await freshSaver();
    thread = uniq('t');
    const v = { secret: a.saver.getNextVersion(undefined) };
    cfg = await putStep(a.saver, { configurable: { thread_id: thread, checkpoint_ns: '' } }, { secret: 'A' }, v, v);
    await a.saver.putWrites(cfg, [['secret', 'w']], 'task');
  });

  const seesNothing = async (other) => {
    expect(await other.getTuple({ configurable: { thread_id: thread } })).toBeUndefined();
    expect(await other.getTuple(cfg)).toBeUndefined();
    expect(await all(other.list({ configurable: { thread_id: thread } }))).toEqual([]);
    const everything = await all(other.list({ configurable: {} }));
    expect(everything.filter((t) => t.config.configurable.thread_id === thread)).toEqual([]);
    expect(await all(other.list({ configurable: {} }, { before: { configurable: { checkpoint_id: 'g' } } }))).toEqual(
      everything,
    );
    await other.deleteThread(thread);
    expect((await a.saver.getTuple(cfg)).checkpoint.channel_values).toEqual({ secret: 'A' });
  };

  it('another org sees nothing and deletes nothing', async () => {
    const b = await freshSaver();
    await seesNothing(b.saver);
    // B may use the same thread id for its own state.
    const v = { secret: b.saver.getNextVersion(undefined) };
    await putStep(b.saver, { configurable: { thread_id: thread } }, { secret: 'B' }, v, v);
    expect((await b.saver.getTuple({ configurable: { thread_id: thread } })).checkpoint.channel_values).toEqual({ secret: 'B' });
    expect((await a.saver.getTuple(cfg)).checkpoint.channel_values).toEqual({ secret: 'A' });
  });

  it("a user key sees only its own user's threads", async () => {
    const u1 = new ConvstoreSaver({ url, apiKey: await createKey(url, a.adminKey, { role: 'user', user_id: uniq('u') }) });
    const u2 = new ConvstoreSaver({ url, apiKey: await createKey(url, a.adminKey, { role: 'user', user_id: uniq('u') }) });
    const t1 = uniq('t');
    const v = { x: u1.getNextVersion(undefined) };
    const c = await putStep(u1, { configurable: { thread_id: t1 } }, { x: 'u1' }, v, v);
    expect(await u2.getTuple(c)).toBeUndefined();
    expect(await all(u2.list({ configurable: {} }))).toEqual([]);
    await u2.deleteThread(t1);
    expect((await u1.getTuple(c)).checkpoint.channel_values).toEqual({ x: 'u1' });
    // Writing into another user's thread is refused as if it did not exist.
    await expect(putStep(u2, { configurable: { thread_id: t1 } }, {}, {}, {})).rejects.toMatchObject({ status: 404 });
    await expect(u2.putWrites(c, [['x', 1]], 'task')).rejects.toMatchObject({ status: 404 });
    // The org's admin key sees both its own thread and u1's.
    const ids = (await all(a.saver.list({ configurable: {} }))).map((t) => t.config.configurable.thread_id);
    expect(ids).toEqual(expect.arrayContaining([thread, t1]));
  });
});

describe('errors', () => {
  it('a non-2xx answer throws a ConvstoreError with status and code', async () => {
    const bad = new ConvstoreSaver({ url, apiKey: 'cs_live_nope' });
    const err = await bad.getTuple({ configurable: { thread_id: 't' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvstoreError);
    expect(err.status).toBe(401);
    expect(err.code).toBe('unauthorized');
  });

  it('a thread id the service refuses', async () => {
    const { saver } = await freshSaver();
    const err = await putStep(saver, { configurable: { thread_id: 'has space' } }, {}, {}, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConvstoreError);
    expect([400, 404]).toContain(err.status);
  });

  it('an unreachable service throws with status 0', async () => {
    const off = new ConvstoreSaver({ url: 'http://127.0.0.1:9', apiKey: 'x' });
    await expect(off.getTuple({ configurable: { thread_id: 't' } })).rejects.toMatchObject({ name: 'ConvstoreError', status: 0 });
  });
});
