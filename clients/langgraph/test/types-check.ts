// Compiled by `npm test` (tsc, no emit): the saver's types fit where LangGraph takes a checkpointer.
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { ConvstoreSaver, ConvstoreError, type PruneResult } from '../src/index.js';

const saver = new ConvstoreSaver({ url: 'http://127.0.0.1:8080', apiKey: 'cs_live_x' });
export const asCheckpointer: BaseCheckpointSaver = saver;
export async function prune(): Promise<PruneResult> {
  return saver.prune('t1', { keepLatest: 2, checkpointNs: '' });
}
export function status(e: unknown): number | undefined {
  return e instanceof ConvstoreError ? e.status : undefined;
}
