// A node:test reporter for scripts/test.sh: one line per test (the error in full when it fails),
// what the tests print, then the "browser: N passed, N failed" line that test.sh's count() adds up
// (the spec reporter's own totals are left out, or count() would add the tests up twice).
import { inspect } from 'node:util';

const indent = (s) => s.replace(/^/gm, '    ');

export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const { type, data } of source) {
    if (type === 'test:stdout' || type === 'test:stderr') {
      yield data.message;
    } else if ((type === 'test:pass' || type === 'test:fail') && data.details?.type !== 'suite') {
      const ms = Math.round(data.details?.duration_ms ?? 0);
      if (type === 'test:pass' && !data.skip && !data.todo) {
        passed++;
        yield `✔ ${data.name} (${ms} ms)\n`;
      } else if (type === 'test:pass') {
        yield `- ${data.name} (skipped${typeof data.skip === 'string' ? `: ${data.skip}` : ''})\n`;
      } else {
        failed++;
        const err = data.details?.error;
        yield `✖ ${data.name} (${ms} ms)\n${indent(inspect(err?.cause ?? err, { depth: 4 }))}\n`;
      }
    } else if (type === 'test:diagnostic' && !/^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(data.message)) {
      yield `# ${data.message}\n`;
    }
  }
  yield `browser: ${passed} passed, ${failed} failed\n`;
}
