// Checks without the server: the typed calls of test/types.ts compile and its @ts-expect-error
// lines do not (tsc), and src/schema.ts is what `npm run gen` makes of openapi/openapi.yaml now.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(PKG, 'node_modules', '.bin', name);

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PKG, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

test('types: typed calls compile, every @ts-expect-error line is an error (tsc --noEmit test/types.ts)', async () => {
  const r = await run(bin('tsc'), ['-p', 'test/tsconfig.json']);
  assert.equal(r.code, 0, `tsc failed:\n${r.out}`);
});

test('src/schema.ts is up to date with openapi/openapi.yaml (else: npm run gen)', async () => {
  // The very command of `npm run gen`, writing elsewhere.
  const gen = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8')).scripts.gen.split(/\s+/);
  assert.equal(gen[0], 'openapi-typescript');
  const o = gen.indexOf('-o');
  assert.equal(gen[o + 1], 'src/schema.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'convstore-ts-gen-'));
  try {
    const out = path.join(dir, 'schema.ts');
    const args = gen.slice(1);
    args[o] = out; // gen[o + 1], the output path, is args[o]
    const r = await run(bin('openapi-typescript'), args);
    assert.equal(r.code, 0, `openapi-typescript failed:\n${r.out}`);
    const fresh = readFileSync(out, 'utf8');
    const committed = readFileSync(path.join(PKG, 'src/schema.ts'), 'utf8');
    assert.ok(fresh === committed, 'src/schema.ts is stale: run `npm run gen` in clients/ts and commit it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
