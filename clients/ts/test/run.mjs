// npm test: migrates the test database, starts one `convstore serve` for every test file (its URL in
// CONVSTORE_TEST_URL), runs test/*.test.mjs with node's test runner and the count reporter (which
// ends with the "ts-client: N passed, N failed" line scripts/test.sh adds up), then stops the
// server; a server that does not exit cleanly (a crash, a sanitizer report) fails the run.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, startServer } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => path.join(here, f));

await cli(['migrate']);
const server = await startServer();
const code = await new Promise((resolve) => {
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=2', '--test-timeout=60000', `--test-reporter=${path.join(here, 'reporter.mjs')}`, ...files],
    { stdio: 'inherit', env: { ...process.env, CONVSTORE_TEST_URL: server.url } },
  );
  child.on('close', (c, sig) => resolve(sig ? 1 : c));
});
try {
  await server.stop();
} catch (e) {
  console.error(`convstore server: ${e.message}`);
  process.exit(1);
}
process.exit(code);
