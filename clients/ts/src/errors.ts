// ConvstoreError: the one error type for every problem+json (RFC 9457) answer of the service.
import type { components } from './schema.js';

export type ErrorCode = components['schemas']['ErrorCode'];
export type FieldError = components['schemas']['FieldError'];
export type Problem = components['schemas']['Problem'];

/**
 * An error answer of the service. `code` is one of the spec's `ErrorCode`s; an error answer that
 * is not problem+json (e.g. a proxy's HTML 502) gets `code: "unexpected_response"`.
 * Network failures (no answer at all) are not ConvstoreErrors: they are fetch's own errors.
 */
export class ConvstoreError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'unexpected_response';
  readonly detail: string;
  readonly errors: FieldError[];
  readonly requestId: string | null;
  /** The problem+json body as sent (e.g. `current_seq` of a `seq_conflict`), or null. */
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, requestId: string | null, fallbackDetail = '') {
    const code = problem?.code ?? 'unexpected_response';
    const detail = problem?.detail ?? fallbackDetail;
    super(`${status} ${code}${detail ? `: ${detail}` : ''}`);
    this.name = 'ConvstoreError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = problem?.errors ?? [];
    this.requestId = problem?.request_id ?? requestId;
    this.problem = problem;
  }
}

/** Reads an error response into a ConvstoreError (never throws itself). */
export async function errorFromResponse(res: Response): Promise<ConvstoreError> {
  const requestId = res.headers.get('x-request-id');
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* the body could not be read: keep what the status says */
  }
  const type = res.headers.get('content-type') ?? '';
  if (/^application\/(problem\+)?json/i.test(type)) {
    try {
      const j = JSON.parse(text);
      if (j && typeof j === 'object' && typeof j.code === 'string') return new ConvstoreError(res.status, j as Problem, requestId);
    } catch {
      /* not JSON after all */
    }
  }
  return new ConvstoreError(res.status, null, requestId, text.slice(0, 200) || res.statusText);
}
