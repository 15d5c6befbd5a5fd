#!/usr/bin/env node
// `npm test` and `npm run bench`: set-up, build, then every part in turn. Names the browsers it
// drives first, runs every part even after one fails, and ends with the time each part took.
//   node scripts/suite.mjs test
//   node scripts/suite.mjs bench      (each benchmark with its defaults; npm run bench:<name> -- --runs N for one)
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumPath, firefoxPath } from '../web-server-common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kind = process.argv[2];

const setUp = ['node', 'scripts/ensure.mjs', 'deps', 'rust', 'chromium', 'firefox', 'wasi', 'guest', 'snapshot', 'oci'];
const suites = {
  test: [
    ['set-up', setUp],
    ['build', ['npm', 'run', 'build']],
    ['browser tests (web-test-runner)', ['npx', 'web-test-runner', '--config', 'web-test-runner.config.mjs']],
    // A test file whose browser or server outlives a failure must not keep the run alive:
    // --test-force-exit ends each file once its tests have reported.
    ['node tests', () => ['node', '--test', '--test-concurrency=1', '--test-force-exit', '--test-timeout=900000', ...nodeTestFiles()]],
  ],
  bench: [
    ['set-up', setUp],
    ['build', ['npm', 'run', 'build']],
    ...['run', 'wasi', 'c2w', 'guest', 'idle', 'snapshot', 'transfer', 'page', 'network', 'oci'].map((name) => [`bench ${name}`, ['node', `build/bench/node/${name}.js`]]),
    // Firefox beside Chromium: the storage rows and boot to prompt (Firefox ESR 140 waits through
    // the Atomics.waitAsync fallback, src/channel/wait-async.ts).
    ['bench run (firefox)', ['node', 'build/bench/node/run.js', '--browser', 'firefox']],
    ['bench guest (firefox, boots)', ['node', 'build/bench/node/guest.js', '--browser', 'firefox', '--boots-only']],
  ],
};

/** The built node test files (listed once the build has made them; Node 20's --test takes no globs). */
function nodeTestFiles() {
  const dir = 'build/test/node';
  return readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.js')).sort().map((f) => `${dir}/${f}`);
}

const steps = suites[kind];
if (!steps) {
  console.error('usage: node scripts/suite.mjs test|bench');
  process.exit(2);
}

const started = Date.now();
const results = [];
let announced = false;
for (const [name, command] of steps) {
  const [cmd, ...args] = typeof command === 'function' ? command() : command;
  // The browsers may be installed by the set-up step: name them as soon as they are there.
  if (!announced && name !== 'set-up') {
    announced = true;
    console.log(`Browsers: ${browsers()}`);
  }
  console.log(`\n=== ${name}: ${[cmd, ...args].join(' ')}`);
  const t0 = Date.now();
  const { status, signal } = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const ok = status === 0;
  results.push({ name, ok, seconds: (Date.now() - t0) / 1000, why: ok ? '' : signal ? `killed by ${signal}` : `exit code ${status}` });
  // Nothing can run without set-up and a build.
  if (!ok && (name === 'set-up' || name === 'build')) break;
}

console.log(`\n=== ${kind} summary (${browsers()})`);
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.seconds.toFixed(1).padStart(7)} s  ${r.name}${r.why ? ` (${r.why})` : ''}`);
console.log(`Total wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(results.every((r) => r.ok) && results.length === steps.length ? 0 : 1);

function browsers() {
  return [chromiumPath, firefoxPath].map((path) => `${browserVersion(path)} (${path})`).join(', ');
}

function browserVersion(path) {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return `no browser at ${path}`;
  }
}
