// The transport: one JSON request with the key, the retry policy and the error mapping.
import { ConvstoreError, errorFromResponse } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Attempts in all, the first included (default 3; 1 disables retries). */
  attempts?: number;
  /** Cap on any one wait, Retry-After included, in ms (default 10000). */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8080` (with or without a trailing slash). */
  baseUrl: string;
  apiKey: string;
  /** A fetch to use instead of the global one (tests, proxies, instrumentation). */
  fetch?: FetchLike;
  retry?: RetryOptions;
}

/** Per-call options that every method takes as its last argument. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Sent as `X-Request-Id`. */
  requestId?: string;
  /** POST only: the `Idempotency-Key` to send instead of the one the client generates per call. */
  idempotencyKey?: string;
}

export type Query = Record<string, unknown>;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** PATCH only: whether a network error may be retried (true when the caller sent If-Match). */
  patchRetrySafe?: boolean;
  call?: CallOptions;
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_MAX_DELAY_MS = 10000;
const BASE_DELAY_MS = 250;

/**
 * A random UUID (v4) for an Idempotency-Key. crypto.randomUUID exists only in secure contexts
 * (https, localhost); a page served over plain http elsewhere has getRandomValues alone.
 */
export function newKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Encodes one path segment (an id). */
export const seg = (s: string | number): string => encodeURIComponent(String(s));

/** `?a=1&b=x&b=y`: arrays repeat the name (form, explode), objects are sent as JSON, undefined is left out. */
export function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, String(x));
    else if (typeof v === 'object') p.append(k, JSON.stringify(v));
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Full-jitter exponential backoff: a random wait in [0, min(cap, base·2^n)]. */
export function backoffMs(attempt: number, cap: number): number {
  return Math.random() * Math.min(cap, BASE_DELAY_MS * 2 ** attempt);
}

/** Retry-After (seconds or an HTTP date) in ms, capped; null when absent or unreadable. */
export function retryAfterMs(res: Response, cap: number): number | null {
  const h = res.headers.get('retry-after');
  if (h === null) return null;
  let ms = /^\s*\d+\s*$/.test(h) ? Number(h) * 1000 : Date.parse(h) - Date.now();
  if (!Number.isFinite(ms)) return null;
  ms = Math.max(0, ms);
  return Math.min(ms, cap);
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class Transport {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly attempts: number;
  readonly maxDelayMs: number;
  private readonly fetchImpl: FetchLike | undefined;

  constructor(opts: ClientOptions) {
    if (!opts || typeof opts.baseUrl !== 'string' || !opts.baseUrl) throw new TypeError('createClient: baseUrl is required');
    if (typeof opts.apiKey !== 'string' || !opts.apiKey) throw new TypeError('createClient: apiKey is required');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.fetchImpl = opts.fetch;
    this.attempts = Math.max(1, Math.floor(opts.retry?.attempts ?? DEFAULT_ATTEMPTS));
    this.maxDelayMs = Math.max(0, opts.retry?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  }

  /** The global fetch is looked up per call, so that importing this module has no effect. */
  fetch(url: string, init: RequestInit): Promise<Response> {
    const f = this.fetchImpl ?? (globalThis.fetch as FetchLike);
    return f(url, init);
  }

  url(path: string, query?: Query): string {
    return `${this.baseUrl}${path}${queryString(query)}`;
  }

  headers(extra?: Record<string, string>, call?: CallOptions): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, ...extra };
    if (call?.requestId) h['x-request-id'] = call.requestId;
    return h;
  }

  /**
   * Sends the request, retrying under the client's policy, and returns the successful Response
   * (its body unread); an error answer is thrown as a ConvstoreError.
   *
   * Retried: 429 and 503 (after Retry-After, capped); 409 `idempotency_key_in_use` on a POST's
   * retry (the first attempt is still running on the server); a network error before any answer,
   * except for a PATCH without If-Match, which may have been applied. Every POST carries one
   * Idempotency-Key for all its attempts, so a retried POST is never applied twice.
   */
  async send(spec: RequestSpec): Promise<Response> {
    const { method, call } = spec;
    const signal = call?.signal;
    const headers = this.headers(spec.headers, call);
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    if (method === 'POST') headers['idempotency-key'] = call?.idempotencyKey ?? newKey();
    const url = this.url(spec.path, spec.query);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.attempts;
      let res: Response;
      try {
        res = await this.fetch(url, { method, headers, body, signal });
      } catch (e) {
        if (signal?.aborted || last) throw e;
        if (method === 'PATCH' && !spec.patchRetrySafe) throw e;
        await sleep(backoffMs(attempt, this.maxDelayMs), signal);
        continue;
      }
      if (res.ok) return res;
      if (!last && (res.status === 429 || res.status === 503)) {
        const wait = retryAfterMs(res, this.maxDelayMs) ?? backoffMs(attempt, this.maxDelayMs);
        await res.body?.cancel().catch(() => {});
        await sleep(wait, signal);
        continue;
      }
      const err = await errorFromResponse(res);
      if (!last && method === 'POST' && attempt > 1 && err.code === 'idempotency_key_in_use') {
        await sleep(backoffMs(attempt, this.maxDelayMs), signal);
        continue;
      }
      throw err;
    }
  }

  /** send(), then the JSON body (undefined for 204). */
  async json<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    if (res.status === 204) {
      await res.body?.cancel().catch(() => {});
      return undefined as T;
    }
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ConvstoreError(res.status, null, res.headers.get('x-request-id'), `response is not JSON: ${text.slice(0, 200)}`);
    }
  }
}
