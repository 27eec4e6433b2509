// node:test reporter: one line per test (failures with their error), then the summary line
// "ts-client: N passed, N failed" that scripts/test.sh adds up (node's own spec summary would be
// counted as well, so it is not printed).
import { inspect } from 'node:util';

export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const { type, data } of source) {
    if (type === 'test:pass' && data.details?.type !== 'suite') {
      if (data.skip || data.todo) continue;
      passed++;
      yield `✔ ${data.name} (${Math.round(data.details?.duration_ms ?? 0)} ms)\n`;
    } else if (type === 'test:fail' && data.details?.type !== 'suite') {
      failed++;
      const err = data.details?.error;
      const cause = err?.cause ?? err;
      yield `✖ ${data.name}${data.file ? ` (${data.file})` : ''}\n${inspect(cause, { depth: 4 }).replace(/^/gm, '    ')}\n`;
    } else if (type === 'test:stderr' || type === 'test:stdout') {
      yield data.message;
    }
  }
  yield `ts-client: ${passed} passed, ${failed} failed\n`;
}
