// Types of ConvstoreSaver (src/index.js).
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';

export interface ConvstoreSaverOptions {
  /** The service's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A convstore API key (`cs_live_…`); a `user` key keeps each user's checkpoints apart. */
  apiKey: string;
  /** The serializer for channel values, writes and metadata (default: LangGraph's JsonPlusSerializer). */
  serde?: SerializerProtocol;
  /** A fetch implementation (default: node:http(s) with keep-alive in Node, the global fetch elsewhere). */
  fetch?: typeof fetch;
  /** Checkpoints per `list` request (1–1000, default 100). */
  pageSize?: number;
  /** Retention: the service deletes a thread's checkpoints this many seconds after its last put
   * (default: kept until deleted). */
  ttlSeconds?: number;
}

export interface PruneOptions {
  /** How many of the newest checkpoints to keep per namespace (≥ 1). Default 1. */
  keepLatest?: number;
  /** Prune only this namespace (`""`: the root graph); default: every namespace of the thread. */
  checkpointNs?: string;
}

export interface PruneResult {
  deleted_checkpoints: number;
  deleted_blobs: number;
  deleted_writes: number;
}

/** A non-2xx answer from convstore, or a request that got no answer (`status` 0). */
export declare class ConvstoreError extends Error {
  /** The HTTP status (0 when the request failed before an answer). */
  status: number;
  /** The problem's stable `code`, e.g. `not_found`, `validation_failed`. */
  code: string | null;
  requestId: string | null;
  /** The parsed problem body (or the raw text). */
  body: unknown;
}

export declare class ConvstoreSaver extends BaseCheckpointSaver {
  constructor(options: ConvstoreSaverOptions);
  readonly url: string;
  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple>;
  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig>;
  putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void>;
  deleteThread(threadId: string): Promise<void>;
  /** Keeps the newest checkpoints of a thread (and every blob and write they need), deletes the rest. */
  prune(threadId: string, options?: PruneOptions): Promise<PruneResult>;
  /**
   * Returns a string version `"<32-digit counter>.<random>"` (typed loosely so that the saver
   * fits LangGraph's `checkpointer?: BaseCheckpointSaver` option, which is typed for numbers).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  getNextVersion(current: number | string | undefined): any;
}

export default ConvstoreSaver;
