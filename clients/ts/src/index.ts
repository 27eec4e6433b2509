// @convstore/client: a typed client for the convstore HTTP API, for browsers and Node 20+.
export { createClient } from './client.js';
export type { ConvstoreClient, FollowOptions, AguiEventsOptions, IfMatch } from './client.js';
export { ConvstoreError } from './errors.js';
export type { ErrorCode, FieldError, Problem } from './errors.js';
export type { ClientOptions, RetryOptions, CallOptions, FetchLike } from './http.js';
export { ListResult } from './list.js';
export type * from './types.js';
export type { paths, components, operations } from './schema.js';
