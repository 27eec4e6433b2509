// Types derived from the generated OpenAPI types (src/schema.ts): bodies, queries and answers per operation.
import type { components, paths } from './schema.js';

type S = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The operation at (path, method) of the spec. */
export type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The JSON request body of an operation. */
export type BodyOf<O> = O extends { requestBody?: infer RB }
  ? NonNullable<RB> extends { content: { 'application/json': infer B } }
    ? B
    : never
  : never;

/** The query parameters of an operation; `metadata` (a JSON object in the query) as an object. */
export type QueryOf<O> = O extends { parameters: { query?: infer Q } }
  ? [NonNullable<Q>] extends [never]
    ? never
    : 'metadata' extends keyof NonNullable<Q>
      ? Omit<NonNullable<Q>, 'metadata'> & { metadata?: S['Metadata'] }
      : NonNullable<Q>
  : never;

/** The successful answer's JSON body (void for one without a body). */
export type OkOf<O> = O extends { responses: infer R }
  ? {
      [K in keyof R]: K extends 200 | 201 | 202 | 204
        ? R[K] extends { content: { 'application/json': infer B } }
          ? B
          : void
        : never;
    }[keyof R]
  : never;

export type Thread = S['Thread'];
export type ThreadCreate = S['ThreadCreate'];
export type ThreadUpdate = S['ThreadUpdate'];
export type ThreadDeleted = S['ThreadDeleted'];
export type Message = S['Message'];
export type MessageCreate = S['MessageCreate'];
export type MessageUpdate = S['MessageUpdate'];
export type MessageRole = S['MessageRole'];
export type MessageStatus = S['MessageStatus'];
export type Event = S['Event'];
export type EventIn = S['EventIn'];
export type EventAppend = S['EventAppend'];
export type EventAppended = S['EventAppended'];
export type Run = S['Run'];
export type RunCreate = S['RunCreate'];
export type RunUpdate = S['RunUpdate'];
export type RunStatus = S['RunStatus'];
export type RunGraph = S['RunGraph'];
export type RunSummary = S['RunSummary'];
export type Step = S['Step'];
export type StepCreate = S['StepCreate'];
export type StepUpdate = S['StepUpdate'];
export type ApiKey = S['ApiKey'];
export type ApiKeyCreate = S['ApiKeyCreate'];
export type ApiKeyCreated = S['ApiKeyCreated'];
export type Me = S['Me'];
export type CheckpointPut = S['CheckpointPut'];
export type CheckpointWrites = S['CheckpointWrites'];
export type CheckpointTuple = S['CheckpointTuple'];
export type CheckpointPrune = S['CheckpointPrune'];
export type AguiEvent = S['AguiEvent'];
export type AguiIngest = S['AguiIngest'];
export type AguiIngestResult = S['AguiIngestResult'];
export type ThreadState = S['ThreadState'];
export type Metadata = S['Metadata'];

/** One page of an id-keyset list (`after`/`before` cursors). */
export interface Page<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** One page of a thread's events (`after_seq`/`before_seq` cursors; `last_seq` is the thread's). */
export type EventPage = S['EventList'];
/** One page of checkpoint tuples (`before=next_before` is the next page). */
export type CheckpointPage = S['CheckpointList'];
