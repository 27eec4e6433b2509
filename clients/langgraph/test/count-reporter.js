// Prints one "langgraph: N passed, N failed" line at the end of a run, the summary line that
// scripts/test.sh adds up (vitest's own summary is not in a form it parses).
export default class CountReporter {
  onTestRunEnd(testModules, unhandledErrors) {
    let passed = 0;
    let failed = (unhandledErrors ?? []).length;
    for (const m of testModules) {
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
      }
    }
    process.stdout.write(`langgraph: ${passed} passed, ${failed} failed\n`);
  }
}
