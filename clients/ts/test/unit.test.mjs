// Pieces checked without the server: the SSE frame parser on awkward chunkings, and that a
// bundle importing only ConvstoreError leaves the client out (the package is tree-shakable).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseSse } from '../dist/sse.js';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function streamOf(chunks) {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(typeof x === 'string' ? enc.encode(x) : x);
      c.close();
    },
  });
}

async function frames(chunks) {
  const out = [];
  for await (const f of parseSse(streamOf(chunks))) out.push(f);
  return out;
}

test('SSE parser: fields, comments, multi-line data, CR/LF/CRLF line ends split anywhere', async () => {
  const text = ': ping\r\nid: 1\r\nevent: a\r\ndata: {"x":1}\r\n\r\nid:2\ndata: l1\ndata: l2\n\n: c\rid: 3\rdata\r\r';
  const expected = [
    { id: '1', event: 'a', data: '{"x":1}' },
    { id: '2', event: undefined, data: 'l1\nl2' },
    { id: '3', event: undefined, data: '' },
  ];
  assert.deepEqual(await frames([text]), expected);
  // Every split of the text into two chunks (CRLF torn between them included) gives the same frames.
  for (let i = 1; i < text.length; i++) assert.deepEqual(await frames([text.slice(0, i), text.slice(i)]), expected, `split at ${i}`);
  // A multi-byte character torn between chunks.
  const bytes = new TextEncoder().encode('id: 9\ndata: "é€"\n\n');
  assert.deepEqual(await frames([bytes.slice(0, 14), bytes.slice(14)]), [{ id: '9', event: undefined, data: '"é€"' }]);
  // A frame without its closing blank line (a cut stream) is not dispatched.
  assert.deepEqual(await frames(['id: 1\ndata: x\n']), []);
});

test('tree-shaking: a bundle that imports only ConvstoreError does not carry the client', async () => {
  const r = await build({
    stdin: { contents: "import { ConvstoreError } from './dist/index.js'; console.log(ConvstoreError);", resolveDir: PKG },
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = r.outputFiles[0].text;
  assert.match(code, /ConvstoreError = class extends Error/);
  for (const gone of ['createClient', 'parseSse', 'idempotency-key', 'ListResult']) assert.ok(!code.includes(gone), `${gone} is in the bundle`);
});
