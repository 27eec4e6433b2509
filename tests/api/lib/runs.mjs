// What the run and step tests share: the state names, the paths, and a status-checked call.
import { assertStatus } from './harness.mjs';

export const RUN_STATUSES = ['queued', 'running', 'requires_action', 'completed', 'failed', 'cancelled', 'interrupted'];
export const TERMINAL_RUN = ['completed', 'failed', 'cancelled', 'interrupted'];
export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'];

/** /v1/threads/{tid}/runs[/{rid}], …/steps[/{sid}] and …/events (ids as given, not encoded). */
export const RU = (tid, rid) => `/v1/threads/${tid}/runs${rid === undefined ? '' : `/${rid}`}`;
export const ST = (tid, rid, sid) => `${RU(tid, rid)}/steps${sid === undefined ? '' : `/${sid}`}`;
export const EV = (tid) => `/v1/threads/${tid}/events`;

/** Awaits a call, asserts its status, and returns its JSON body. */
export async function ok(res, status) {
  const r = await res;
  assertStatus(r, status);
  return r.json;
}
