// Migrations: applied once each, safe when instances start together, and a newer schema is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runCli, startServer, api, assertStatus, assertProblem, uniq } from './lib/harness.mjs';

/** A fresh, empty database next to the test database; returns its URL. */
function freshDatabase() {
  const base = new URL(process.env.CONVSTORE_TEST_DATABASE_URL);
  const name = uniq('mig').replace(/-/g, '_');
  execFileSync('psql', [base.href, '-qAtc', `CREATE DATABASE ${name}`]);
  const url = new URL(base.href);
  url.pathname = `/${name}`;
  return url.href;
}

const psql = (url, sql) => execFileSync('psql', [url, '-qAtc', sql]).toString().trim();

test('two instances migrating one empty database at once apply each migration exactly once', async () => {
  const url = freshDatabase();
  const env = { CONVSTORE_DATABASE_URL: url };
  const results = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env), runCli(['migrate'], env)]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const rows = psql(url, 'SELECT version, count(*) FROM convstore_migrations GROUP BY version ORDER BY version');
  const versions = rows.split('\n').map((l) => l.split('|'));
  assert.ok(versions.length >= 2, `migrations recorded: ${rows}`);
  for (const [, count] of versions) assert.equal(count, '1');
  // Running it again is a no-op.
  const again = await runCli(['migrate'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(psql(url, 'SELECT count(*) FROM convstore_migrations'), String(versions.length));
});

test('serve refuses a database whose schema is newer than the binary knows', async () => {
  const url = freshDatabase();
  assert.equal((await runCli(['migrate'], { CONVSTORE_DATABASE_URL: url })).code, 0);
  psql(url, "INSERT INTO convstore_migrations (version, name) VALUES (99999, '99999_from_the_future')");
  const r = await runCli(['migrate'], { CONVSTORE_DATABASE_URL: url });
  assert.notEqual(r.code, 0, 'migrate must refuse too');
  await assert.rejects(startServer({ CONVSTORE_DATABASE_URL: url }, { startTimeoutMs: 10000 }));
});

test('without auto-migrate, readyz is 503 until the schema is current', async () => {
  const url = freshDatabase();
  const srv = await startServer({ CONVSTORE_DATABASE_URL: url, CONVSTORE_AUTO_MIGRATE: 'false' });
  try {
    assertProblem(await api(srv.url, 'GET', '/readyz'), 503, 'database_unavailable');
    assertStatus(await api(srv.url, 'GET', '/healthz'), 200);
    assert.equal((await runCli(['migrate'], { CONVSTORE_DATABASE_URL: url })).code, 0);
    assertStatus(await api(srv.url, 'GET', '/readyz'), 200);
  } finally {
    await srv.stop();
  }
});

test('--help lists every setting with its environment variable and default', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const v of ['CONVSTORE_DATABASE_URL', 'CONVSTORE_LISTEN', 'CONVSTORE_POOL_SIZE', 'CONVSTORE_MAX_BODY_BYTES',
    'CONVSTORE_LOG_LEVEL', 'CONVSTORE_CONNECTION_TIMEOUT', 'CONVSTORE_MAX_CONNECTIONS', 'CONVSTORE_STATEMENT_TIMEOUT_MS']) {
    assert.match(r.stdout, new RegExp(`${v}\\s.*\\(default: `), `${v} missing from --help`);
  }
  const bad = await runCli(['serve', '--pool-size', 'zero']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value 'zero'/);
});
