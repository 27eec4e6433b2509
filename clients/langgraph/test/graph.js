// A small LangGraph.js graph for the end-to-end tests: a conditional edge, a two-task fan-out
// (Send), a human approval through interrupt(), and a draft that review rewrites.
import { Annotation, END, START, Send, StateGraph, interrupt } from '@langchain/langgraph';

const State = Annotation.Root({
  topic: Annotation(),
  route: Annotation(),
  parts: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
  draft: Annotation(),
  approved: Annotation(),
  published: Annotation(),
});

export function buildGraph(checkpointer) {
  return new StateGraph(State)
    .addNode('classify', (s) => ({ route: s.topic.length > 5 ? 'long' : 'short' }))
    .addNode('plan', () => ({}))
    .addNode('worker', (p) => ({ parts: [`part ${p.part} of ${p.topic}`] }))
    .addNode('write', (s) => ({ draft: s.route === 'long' ? `long: ${[...s.parts].sort().join(', ')}` : `short: ${s.topic}` }))
    .addNode('review', (s) => ({ draft: `${s.draft} (reviewed)` }))
    .addNode('approve', (s) => ({ approved: interrupt({ question: 'publish?', draft: s.draft }) }))
    .addNode('publish', (s) => ({ published: s.draft }))
    .addEdge(START, 'classify')
    .addConditionalEdges('classify', (s) => s.route, { long: 'plan', short: 'write' })
    .addConditionalEdges('plan', (s) => [1, 2].map((part) => new Send('worker', { part, topic: s.topic })))
    .addEdge('worker', 'write')
    .addEdge('write', 'review')
    .addEdge('review', 'approve')
    .addConditionalEdges('approve', (s) => (s.approved ? 'publish' : END), ['publish', END])
    .addEdge('publish', END)
    .compile({ checkpointer });
}
