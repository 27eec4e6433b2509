// The graph make bench invokes (bench.mjs), with both savers.
//
// START -> plan -> (Send x2) worker -> write -> review -> END: a chain of three nodes
// (plan, write, review) and a fan-out of two worker tasks between plan and write, whose results a
// reducer joins. One invoke runs 4 supersteps of the graph's nodes (plan; the two workers; write;
// review) and 5 node executions, besides LangGraph's own __start__ task (superstep -1, which writes
// the input to the channels), and leaves 6 checkpoints: steps -1 (the input) and 0..4 (before each
// superstep, and the final state).
import { Annotation, END, START, Send, StateGraph } from '@langchain/langgraph';

export const SUPERSTEPS_PER_INVOKE = 4; // plan, worker x2 (one superstep), write, review
export const NODE_RUNS_PER_INVOKE = 5; // plan, worker, worker, write, review
export const CHECKPOINTS_PER_INVOKE = 6; // steps -1 (input), 0, 1, 2, 3, 4 (the final state)

const State = Annotation.Root({
  topic: Annotation(),
  items: Annotation(),
  parts: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
  draft: Annotation(),
  final: Annotation(),
});

export function buildGraph(checkpointer) {
  return new StateGraph(State)
    .addNode('plan', (s) => ({ items: [`${s.topic}: background`, `${s.topic}: details`] }))
    .addNode('worker', (p) => ({ parts: [`notes on ${p.item}`] }))
    .addNode('write', (s) => ({ draft: `draft of ${s.topic} from ${[...s.parts].sort().join('; ')}` }))
    .addNode('review', (s) => ({ final: `${s.draft} (reviewed)` }))
    .addEdge(START, 'plan')
    .addConditionalEdges('plan', (s) => s.items.map((item) => new Send('worker', { item })), ['worker'])
    .addEdge('worker', 'write')
    .addEdge('write', 'review')
    .addEdge('review', END)
    .compile({ checkpointer });
}

export const expectedFinal = (topic) =>
  `draft of ${topic} from notes on ${topic}: background; notes on ${topic}: details (reviewed)`;
