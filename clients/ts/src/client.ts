// createClient: the resource-shaped client over every endpoint of the convstore API.
import { ListResult } from './list.js';
import { type CallOptions, type ClientOptions, type RequestSpec, seg, Transport } from './http.js';
import { followSse, type SseFrame } from './sse.js';
import type {
  AguiEvent,
  BodyOf,
  CheckpointPage,
  Event,
  EventPage,
  Message,
  Op,
  OkOf,
  Page,
  QueryOf,
} from './types.js';

type ThreadsP = '/v1/threads';
type ThreadP = '/v1/threads/{thread_id}';
type MessagesP = '/v1/threads/{thread_id}/messages';
type MessageP = '/v1/threads/{thread_id}/messages/{message_id}';
type EventsP = '/v1/threads/{thread_id}/events';
type RunsP = '/v1/threads/{thread_id}/runs';
type RunP = '/v1/threads/{thread_id}/runs/{run_id}';
type StepsP = '/v1/threads/{thread_id}/runs/{run_id}/steps';
type StepP = '/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}';
type CheckpointP = '/v1/threads/{thread_id}/checkpoints/{checkpoint_id}';

/** An `If-Match` value: the object's `version` (e.g. `thread.version`) or its `ETag` as sent (`"3"`). */
export type IfMatch = number | string;
const ifMatchHeader = (v: IfMatch | undefined): Record<string, string> | undefined =>
  v === undefined ? undefined : { 'if-match': typeof v === 'number' ? `"${v}"` : v };

/** The query of a list operation (filters, `limit`, `order` and the cursors). */
type ListQuery<O> = QueryOf<O>;

export interface FollowOptions {
  /** Start after this seq (default 0: the whole log, then live). */
  afterSeq?: number;
  /** Only these types (a `run.*`-style prefix works too). */
  types?: string[];
  runId?: string;
  stepId?: string;
  messageId?: string;
  /** Aborting ends the iteration quietly. */
  signal?: AbortSignal;
}

export interface AguiEventsOptions {
  mode?: 'snapshot' | 'events' | 'compact';
  runId?: string;
  afterSeq?: number;
  /** Go on with live events after the replay (reconnecting after a drop). */
  follow?: boolean;
  signal?: AbortSignal;
}

/** The convstore client; see createClient. */
export type ConvstoreClient = ReturnType<typeof createClient>;

/**
 * A client for one key of one convstore service. Every method returns a Promise of the spec's
 * answer type and throws a ConvstoreError for an error answer; list methods return a
 * ListResult (async-iterable over every item, `.page()` for one page); `follow`/`agui.events`
 * return async iterables over a live stream.
 */
export function createClient(options: ClientOptions) {
  const t = new Transport(options);
  const req = <T>(spec: RequestSpec) => t.json<T>(spec);

  /** A list over `after`/`before` id cursors. */
  function idList<T, Q extends object>(path: string, query: Q | undefined, call?: CallOptions) {
    return new ListResult<T, Page<T>, Q>(
      (q) => req<Page<T>>({ method: 'GET', path, query: q as Record<string, unknown>, call }),
      (query ?? {}) as Q,
      (page, q) => {
        const qq = q as Record<string, unknown>;
        return (qq.before !== undefined
          ? { ...qq, before: page.first_id ?? undefined }
          : { ...qq, after: page.last_id ?? undefined }) as Q;
      },
    );
  }

  const T = (id: string) => `/v1/threads/${seg(id)}`;
  const R = (threadId: string, runId: string) => `${T(threadId)}/runs/${seg(runId)}`;

  const me = (call?: CallOptions) => req<OkOf<Op<'/v1/me', 'get'>>>({ method: 'GET', path: '/v1/me', call });

  const keys = {
    create: (body: BodyOf<Op<'/v1/keys', 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<'/v1/keys', 'post'>>>({ method: 'POST', path: '/v1/keys', body, call }),
    list: (query?: ListQuery<Op<'/v1/keys', 'get'>>, call?: CallOptions) =>
      idList<OkOf<Op<'/v1/keys/{key_id}', 'delete'>>, ListQuery<Op<'/v1/keys', 'get'>>>('/v1/keys', query, call),
    revoke: (id: string, call?: CallOptions) =>
      req<OkOf<Op<'/v1/keys/{key_id}', 'delete'>>>({ method: 'DELETE', path: `/v1/keys/${seg(id)}`, call }),
  };

  const threads = {
    /** `ifExists: 'return'` (or `true`) answers 200 with the existing thread instead of 409 `thread_exists`. */
    create: (
      body: BodyOf<Op<ThreadsP, 'post'>> = {},
      opts: CallOptions & { ifExists?: 'return' | boolean } = {},
    ) =>
      req<OkOf<Op<ThreadsP, 'post'>>>({
        method: 'POST',
        path: '/v1/threads',
        query: { if_exists: opts.ifExists === true || opts.ifExists === 'return' ? 'return' : undefined },
        body,
        call: opts,
      }),
    get: (id: string, call?: CallOptions) => req<OkOf<Op<ThreadP, 'get'>>>({ method: 'GET', path: T(id), call }),
    /** With `ifMatch` the update applies only at that version (else 412 `precondition_failed`). */
    update: (id: string, body: BodyOf<Op<ThreadP, 'patch'>>, opts: CallOptions & { ifMatch?: IfMatch } = {}) =>
      req<OkOf<Op<ThreadP, 'patch'>>>({
        method: 'PATCH',
        path: T(id),
        body,
        headers: ifMatchHeader(opts.ifMatch),
        patchRetrySafe: opts.ifMatch !== undefined,
        call: opts,
      }),
    delete: (id: string, call?: CallOptions) => req<OkOf<Op<ThreadP, 'delete'>>>({ method: 'DELETE', path: T(id), call }),
    list: (query?: ListQuery<Op<ThreadsP, 'get'>>, call?: CallOptions) =>
      idList<OkOf<Op<ThreadP, 'get'>>, ListQuery<Op<ThreadsP, 'get'>>>('/v1/threads', query, call),
  };

  const messages = {
    create: (threadId: string, body: BodyOf<Op<MessagesP, 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<MessagesP, 'post'>>>({ method: 'POST', path: `${T(threadId)}/messages`, body, call }),
    /** Appends 1–1000 messages in one transaction (all or nothing); answers the new messages as a page. */
    createBatch: (
      threadId: string,
      msgs: BodyOf<Op<'/v1/threads/{thread_id}/messages/batch', 'post'>>['messages'],
      call?: CallOptions,
    ) =>
      req<Page<Message>>({ method: 'POST', path: `${T(threadId)}/messages/batch`, body: { messages: msgs }, call }),
    get: (threadId: string, id: string, call?: CallOptions) =>
      req<Message>({ method: 'GET', path: `${T(threadId)}/messages/${seg(id)}`, call }),
    update: (threadId: string, id: string, body: BodyOf<Op<MessageP, 'patch'>>, call?: CallOptions) =>
      req<Message>({ method: 'PATCH', path: `${T(threadId)}/messages/${seg(id)}`, body, call }),
    /**
     * Streams a piece into an `in_progress` message (`PATCH {append}` with `Prefer: return=minimal`).
     * Never retried after a network error: it may have been applied, and a second append would
     * repeat the text.
     */
    append: async (threadId: string, id: string, text: string, call?: CallOptions): Promise<void> => {
      await req<void>({
        method: 'PATCH',
        path: `${T(threadId)}/messages/${seg(id)}`,
        body: { append: text },
        headers: { prefer: 'return=minimal' },
        call,
      });
    },
    delete: (threadId: string, id: string, call?: CallOptions) =>
      req<OkOf<Op<MessageP, 'delete'>>>({ method: 'DELETE', path: `${T(threadId)}/messages/${seg(id)}`, call }),
    /** Deletes every message of the thread, keeping the thread. */
    clear: (threadId: string, call?: CallOptions) =>
      req<OkOf<Op<MessagesP, 'delete'>>>({ method: 'DELETE', path: `${T(threadId)}/messages`, call }),
    list: (threadId: string, query?: ListQuery<Op<MessagesP, 'get'>>, call?: CallOptions) =>
      idList<Message, ListQuery<Op<MessagesP, 'get'>>>(`${T(threadId)}/messages`, query, call),
  };

  type EventsQ = ListQuery<Op<EventsP, 'get'>>;
  const events = {
    /** Appends events; `expected_seq` makes it conditional (409 `seq_conflict`). */
    append: (threadId: string, body: BodyOf<Op<EventsP, 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<EventsP, 'post'>>>({ method: 'POST', path: `${T(threadId)}/events`, body, call }),
    /** The thread's events; pages by `after_seq` (ascending) or `before_seq` (descending). */
    list: (threadId: string, query?: EventsQ, call?: CallOptions) =>
      new ListResult<Event, EventPage, EventsQ>(
        (q) => req<EventPage>({ method: 'GET', path: `${T(threadId)}/events`, query: q as Record<string, unknown>, call }),
        (query ?? {}) as EventsQ,
        (page, q) => {
          const last = page.data[page.data.length - 1]!.seq;
          return q.order === 'desc' ? { ...q, before_seq: last } : { ...q, after_seq: last };
        },
      ),
    get: (threadId: string, eventId: string, call?: CallOptions) =>
      req<Event>({ method: 'GET', path: `${T(threadId)}/events/${seg(eventId)}`, call }),
    /**
     * The thread's events as they commit (the backlog after `afterSeq` first), over Server-Sent
     * Events read with fetch. After a drop it reconnects with `Last-Event-ID` (jittered
     * exponential backoff, capped at the client's `retry.maxDelayMs`); it never yields an event
     * twice nor skips one. Aborting `signal` or leaving the loop ends it quietly; an error
     * answer (e.g. 404 once the thread is deleted) ends it with a ConvstoreError.
     */
    follow: (threadId: string, opts: FollowOptions = {}): AsyncIterable<Event> => {
      let lastSeq = opts.afterSeq ?? 0;
      return followSse<Event>({
        signal: opts.signal,
        reconnect: true,
        maxDelayMs: t.maxDelayMs,
        open: (_lastId, signal) =>
          t.fetch(
            t.url(`${T(threadId)}/events/stream`, {
              after_seq: lastSeq,
              type: opts.types,
              run_id: opts.runId,
              step_id: opts.stepId,
              message_id: opts.messageId,
            }),
            {
              headers: t.headers({ accept: 'text/event-stream', 'last-event-id': String(lastSeq) }),
              signal,
            },
          ),
        accept: (f: SseFrame) => {
          const seq = Number(f.id);
          if (!Number.isSafeInteger(seq) || seq <= lastSeq) return undefined;
          const ev = JSON.parse(f.data) as Event;
          lastSeq = seq;
          return ev;
        },
      });
    },
  };

  const runs = {
    create: (threadId: string, body: BodyOf<Op<RunsP, 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<RunsP, 'post'>>>({ method: 'POST', path: `${T(threadId)}/runs`, body, call }),
    get: (threadId: string, runId: string, call?: CallOptions) =>
      req<OkOf<Op<RunP, 'get'>>>({ method: 'GET', path: R(threadId, runId), call }),
    /** With `ifMatch` the update applies only at that version (else 412 `precondition_failed`). */
    update: (
      threadId: string,
      runId: string,
      body: BodyOf<Op<RunP, 'patch'>>,
      opts: CallOptions & { ifMatch?: IfMatch } = {},
    ) =>
      req<OkOf<Op<RunP, 'patch'>>>({
        method: 'PATCH',
        path: R(threadId, runId),
        body,
        headers: ifMatchHeader(opts.ifMatch),
        patchRetrySafe: opts.ifMatch !== undefined,
        call: opts,
      }),
    list: (threadId: string, query?: ListQuery<Op<RunsP, 'get'>>, call?: CallOptions) =>
      idList<OkOf<Op<RunP, 'get'>>, ListQuery<Op<RunsP, 'get'>>>(`${T(threadId)}/runs`, query, call),
    /** The org's runs across threads (e.g. `{status: ['interrupted']}`). */
    listAll: (query?: ListQuery<Op<'/v1/runs', 'get'>>, call?: CallOptions) =>
      idList<OkOf<Op<RunP, 'get'>>, ListQuery<Op<'/v1/runs', 'get'>>>('/v1/runs', query, call),
    graph: (threadId: string, runId: string, call?: CallOptions) =>
      req<OkOf<Op<'/v1/threads/{thread_id}/runs/{run_id}/graph', 'get'>>>({ method: 'GET', path: `${R(threadId, runId)}/graph`, call }),
    summary: (threadId: string, runId: string, call?: CallOptions) =>
      req<OkOf<Op<'/v1/threads/{thread_id}/runs/{run_id}/summary', 'get'>>>({ method: 'GET', path: `${R(threadId, runId)}/summary`, call }),
  };

  const steps = {
    create: (threadId: string, runId: string, body: BodyOf<Op<StepsP, 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<StepsP, 'post'>>>({ method: 'POST', path: `${R(threadId, runId)}/steps`, body, call }),
    get: (threadId: string, runId: string, stepId: string, call?: CallOptions) =>
      req<OkOf<Op<StepP, 'get'>>>({ method: 'GET', path: `${R(threadId, runId)}/steps/${seg(stepId)}`, call }),
    /** Not retried after a network error (steps have no If-Match). */
    update: (threadId: string, runId: string, stepId: string, body: BodyOf<Op<StepP, 'patch'>>, call?: CallOptions) =>
      req<OkOf<Op<StepP, 'patch'>>>({ method: 'PATCH', path: `${R(threadId, runId)}/steps/${seg(stepId)}`, body, call }),
    list: (threadId: string, runId: string, query?: ListQuery<Op<StepsP, 'get'>>, call?: CallOptions) =>
      idList<OkOf<Op<StepP, 'get'>>, ListQuery<Op<StepsP, 'get'>>>(`${R(threadId, runId)}/steps`, query, call),
  };

  type CheckpointsQ = ListQuery<Op<'/v1/checkpoints', 'get'>>;
  const checkpoints = {
    put: (threadId: string, checkpointId: string, body: BodyOf<Op<CheckpointP, 'put'>>, call?: CallOptions) =>
      req<OkOf<Op<CheckpointP, 'put'>>>({ method: 'PUT', path: `${T(threadId)}/checkpoints/${seg(checkpointId)}`, body, call }),
    writes: (
      threadId: string,
      checkpointId: string,
      body: BodyOf<Op<'/v1/threads/{thread_id}/checkpoints/{checkpoint_id}/writes', 'post'>>,
      call?: CallOptions,
    ): Promise<void> =>
      req<void>({ method: 'POST', path: `${T(threadId)}/checkpoints/${seg(checkpointId)}/writes`, body, call }),
    get: (threadId: string, checkpointId: string | 'latest', query?: QueryOf<Op<CheckpointP, 'get'>>, call?: CallOptions) =>
      req<OkOf<Op<CheckpointP, 'get'>>>({
        method: 'GET',
        path: `${T(threadId)}/checkpoints/${seg(checkpointId)}`,
        query: query as Record<string, unknown>,
        call,
      }),
    /** Checkpoint tuples newest first, across threads; pages by `before=next_before`. */
    list: (query?: CheckpointsQ, call?: CallOptions) =>
      new ListResult<CheckpointPage['data'][number], CheckpointPage, CheckpointsQ>(
        (q) => req<CheckpointPage>({ method: 'GET', path: '/v1/checkpoints', query: q as Record<string, unknown>, call }),
        (query ?? {}) as CheckpointsQ,
        (page, q) => (page.next_before ? { ...q, before: page.next_before } : null),
      ),
    /** Deletes every checkpoint of the thread (all namespaces), leaving a tombstone. */
    delete: (threadId: string, call?: CallOptions): Promise<void> =>
      req<void>({ method: 'DELETE', path: `${T(threadId)}/checkpoints`, call }),
    prune: (threadId: string, body: BodyOf<Op<'/v1/threads/{thread_id}/checkpoints/prune', 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<'/v1/threads/{thread_id}/checkpoints/prune', 'post'>>>({
        method: 'POST',
        path: `${T(threadId)}/checkpoints/prune`,
        body,
        call,
      }),
  };

  const agui = {
    /** Stores AG-UI events (projected into messages, runs, steps and state). */
    ingest: (threadId: string, body: BodyOf<Op<'/v1/threads/{thread_id}/agui', 'post'>>, call?: CallOptions) =>
      req<OkOf<Op<'/v1/threads/{thread_id}/agui', 'post'>>>({ method: 'POST', path: `${T(threadId)}/agui`, body, call }),
    state: (threadId: string, call?: CallOptions) =>
      req<OkOf<Op<'/v1/threads/{thread_id}/state', 'get'>>>({ method: 'GET', path: `${T(threadId)}/state`, call }),
    /**
     * The thread replayed as AG-UI events (parsed), in `mode` (default `snapshot`). Without
     * `follow` the iteration ends with the replay. With `follow` it goes on with live events and,
     * after a drop, reconnects with `Last-Event-ID` (the last frame's seq) in `events` mode, so
     * a snapshot is never replayed twice; the lead-in the service sends to a client resuming
     * mid-run (RUN_STARTED, MESSAGES_SNAPSHOT, open STARTs, all with the resume point's id) is
     * dropped, since this iterator's consumer has seen those events already.
     */
    events: (threadId: string, opts: AguiEventsOptions = {}): AsyncIterable<AguiEvent> => {
      let resumeFrom = -1; // the seq a reconnection resumed after; -1 on the first connection
      return followSse<AguiEvent>({
        signal: opts.signal,
        reconnect: opts.follow === true,
        maxDelayMs: t.maxDelayMs,
        open: (lastId, signal) => {
          resumeFrom = lastId === undefined ? -1 : Number(lastId);
          const mode = lastId !== undefined && (opts.mode ?? 'snapshot') === 'snapshot' ? 'events' : opts.mode;
          const headers = t.headers({ accept: 'text/event-stream' });
          if (lastId !== undefined) headers['last-event-id'] = lastId;
          return t.fetch(
            t.url(`${T(threadId)}/agui/events`, {
              mode,
              run_id: opts.runId,
              after_seq: lastId === undefined ? opts.afterSeq : undefined,
              follow: opts.follow ? 'true' : undefined,
            }),
            { headers, signal },
          );
        },
        accept: (f: SseFrame) => (resumeFrom >= 0 && Number(f.id) <= resumeFrom ? undefined : (JSON.parse(f.data) as AguiEvent)),
      });
    },
  };

  return { me, keys, threads, messages, events, runs, steps, checkpoints, agui };
}
