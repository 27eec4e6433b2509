// vitest globalSetup: migrates the test database, starts one `convstore serve` for all test files
// and hands its URL to them (inject('convstoreUrl')); stops it at the end. A server that does not
// exit cleanly (a crash, a sanitizer report) fails the run: vitest only logs a teardown's error,
// so the exit code is set here.
import { cli, startServer } from './server.js';

export default async function setup({ provide }) {
  await cli(['migrate']);
  // Sweep expired checkpoints often, so the TTL test need not wait a minute.
  const server = await startServer({ CONVSTORE_CHECKPOINT_SWEEP_MS: '200' });
  provide('convstoreUrl', server.url);
  return async () => {
    try {
      await server.stop();
    } catch (e) {
      console.error(`convstore server: ${e.message}`);
      process.exitCode = 1;
    }
  };
}
