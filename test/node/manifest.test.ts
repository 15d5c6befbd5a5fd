// custom-elements.json is committed for tools and docs; it must match the element's source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname;

test('custom-elements.json is up to date with the element source (npm run manifest)', () => {
  // The analyzer takes its output folder relative to the repository.
  const out = 'build/cem-check';
  try {
    execFileSync('npx', ['cem', 'analyze', '--quiet'], { cwd: repo, stdio: 'pipe', env: { ...process.env, CEM_OUTDIR: out } });
    const fresh = JSON.parse(readFileSync(join(repo, out, 'custom-elements.json'), 'utf8'));
    const committed = JSON.parse(readFileSync(join(repo, 'custom-elements.json'), 'utf8'));
    assert.deepEqual(committed, fresh, 'run npm run manifest and commit custom-elements.json');
  } finally {
    rmSync(join(repo, out), { recursive: true, force: true });
  }
});
