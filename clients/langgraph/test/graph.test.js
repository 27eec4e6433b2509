// A real LangGraph.js StateGraph on ConvstoreSaver: an approval interrupt survives the process
// (resumed by another one from the state in convstore), and time travel forks keep their value.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { describe, expect, inject, it } from 'vitest';
import { ConvstoreSaver } from '../src/index.js';
import { buildGraph } from './graph.js';
import { createOrg, uniq } from './server.js';

const url = inject('convstoreUrl');
const HERE = path.dirname(fileURLToPath(import.meta.url));

function worker(...args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(HERE, 'graph-worker.js'), ...args], { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`graph worker ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

async function history(graph, config) {
  const out = [];
  for await (const s of graph.getStateHistory(config)) out.push(s);
  return out;
}

describe('StateGraph on ConvstoreSaver', () => {
  it('runs to the approval interrupt in one process and finishes in another', async () => {
    const { api_key } = await createOrg();
    const thread = uniq('graph');
    const first = await worker('start', url, api_key, thread);
    expect(first.__interrupt__).toHaveLength(1);
    expect(first.__interrupt__[0].value).toEqual({
      question: 'publish?',
      draft: 'long: part 1 of checkpoints, part 2 of checkpoints (reviewed)',
    });
    expect(first.published).toBeUndefined();

    // Nothing of the first process is left but what convstore holds.
    const saver = new ConvstoreSaver({ url, apiKey: api_key });
    const graph = buildGraph(saver);
    const waiting = await graph.getState({ configurable: { thread_id: thread } });
    expect(waiting.next).toEqual(['approve']);
    expect(waiting.tasks[0].interrupts[0].value.question).toBe('publish?');

    const done = await worker('resume', url, api_key, thread, 'true');
    expect(done).toEqual({
      topic: 'checkpoints',
      route: 'long',
      parts: ['part 1 of checkpoints', 'part 2 of checkpoints'],
      draft: 'long: part 1 of checkpoints, part 2 of checkpoints (reviewed)',
      approved: true,
      published: 'long: part 1 of checkpoints, part 2 of checkpoints (reviewed)',
    });
    const final = await graph.getState({ configurable: { thread_id: thread } });
    expect(final.next).toEqual([]);
    expect(final.values.published).toBe(done.published);
    // The run's steps are all in convstore, newest first: input, classify, plan, worker ×2, write, review, approve, publish.
    const steps = (await history(graph, { configurable: { thread_id: thread } })).map((s) => s.metadata.step);
    expect(steps).toEqual([...steps].sort((a, b) => b - a));
    expect(steps.length).toBeGreaterThanOrEqual(8);
  });

  /** Runs to the interrupt, then forks from the checkpoint after `write` with another draft. */
  async function forkAfterWrite(saver) {
    const graph = buildGraph(saver);
    const config = { configurable: { thread_id: uniq('fork') } };
    await graph.invoke({ topic: 'cat' }, config);
    const afterWrite = (await history(graph, config)).find((s) => s.next.length === 1 && s.next[0] === 'review');
    expect(afterWrite.values.draft).toBe('short: cat');
    const forkConfig = await graph.updateState(afterWrite.config, { draft: 'edited' });
    const fork = await graph.getState(forkConfig);
    return { graph, config, forkConfig, fork };
  }

  it('time travel: the value written on a fork wins, and the run continues from it', async () => {
    const { api_key } = await createOrg();
    const { graph, config, forkConfig, fork } = await forkAfterWrite(new ConvstoreSaver({ url, apiKey: api_key }));
    expect(fork.values.draft).toBe('edited');
    expect(fork.next).toEqual(['review']);
    const resumed = await graph.invoke(null, forkConfig);
    expect(resumed.__interrupt__[0].value.draft).toBe('edited (reviewed)');
    const latest = await graph.getState(config);
    expect(latest.values.draft).toBe('edited (reviewed)');
    expect(latest.next).toEqual(['approve']);
  });

  it('control: with integer versions (as PostgresSaver makes them) the fork reads the old branch', async () => {
    // Shows what the string versions prevent: the fork's version equals the one `review` wrote on
    // the first branch, and a blob already stored for a (channel, version) is kept.
    class IntegerVersions extends ConvstoreSaver {
      getNextVersion(current) {
        return BaseCheckpointSaver.prototype.getNextVersion.call(this, current);
      }
    }
    const { api_key } = await createOrg();
    const { fork } = await forkAfterWrite(new IntegerVersions({ url, apiKey: api_key }));
    expect(fork.values.draft).toBe('short: cat (reviewed)');
  });
});
