// One process of the interrupt test: `node graph-worker.js start|resume URL KEY THREAD [RESUME_JSON]`
// runs the graph on the thread with a fresh ConvstoreSaver and prints the invoke result as JSON.
import { Command } from '@langchain/langgraph';
import { ConvstoreSaver } from '../src/index.js';
import { buildGraph } from './graph.js';

const [mode, url, apiKey, thread, resume] = process.argv.slice(2);
const graph = buildGraph(new ConvstoreSaver({ url, apiKey }));
const config = { configurable: { thread_id: thread } };
const input = mode === 'start' ? { topic: 'checkpoints' } : new Command({ resume: JSON.parse(resume) });
const result = await graph.invoke(input, config);
process.stdout.write(JSON.stringify(result));
