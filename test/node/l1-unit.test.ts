// L1's Rust unit tests (format encoding, CRC, wire reader/writer, names, locks), run on the host
// with Debian's cargo through scripts/build-l1.mjs --test. The browser tests cover the rest.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const repo = new URL('../../../', import.meta.url).pathname;

test('the L1 crate passes its unit tests (cargo test on the host)', { timeout: 600_000 }, () => {
  const r = spawnSync('node', ['scripts/build-l1.mjs', '--test'], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `cargo test failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout + r.stderr, /test result: ok\. [1-9]\d* passed/);
});
