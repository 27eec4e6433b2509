// /metrics: Prometheus text with per-route request counts and latency histograms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createOrg, client, api, assertStatus, uniq } from './lib/harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.stop();
});

function sample(text, name, labels) {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('requests are counted per route and status, with a latency histogram', async () => {
  const org = await createOrg(uniq('metrics'));
  const c = client(srv.url, org.api_key);
  const before = (await api(srv.url, 'GET', '/metrics')).text;
  assertStatus(await c.post('/v1/threads', {}), 201);
  assertStatus(await c.post('/v1/threads', {}), 201);
  assert.equal((await c.get('/v1/threads/nope')).status, 404);
  const res = await api(srv.url, 'GET', '/metrics');
  assertStatus(res, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const created = 'method="POST",route="/v1/threads",code="201"';
  assert.equal(sample(res.text, 'convstore_http_requests_total', created) - sample(before, 'convstore_http_requests_total', created), 2);
  assert.ok(sample(res.text, 'convstore_http_requests_total', 'method="GET",route="/v1/threads/{}",code="404"') >= 1);
  const inf = sample(res.text, 'convstore_http_request_duration_seconds_bucket', 'method="POST",route="/v1/threads",le="+Inf"');
  const count = sample(res.text, 'convstore_http_request_duration_seconds_count', 'method="POST",route="/v1/threads"');
  assert.ok(inf >= 2);
  assert.equal(inf, count, 'the +Inf bucket equals the count');
  for (const line of res.text.split('\n').filter((l) => l && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+(\{.*\})? [0-9.e+-]+$/, `not a sample line: ${line}`);
  }
  // The first request of each key misses the cache, later ones hit it.
  assert.match(res.text, /^convstore_auth_cache_misses_total [1-9]\d*$/m);
  assert.match(res.text, /^convstore_auth_cache_hits_total [1-9]\d*$/m);
});
