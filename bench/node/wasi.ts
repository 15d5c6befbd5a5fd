// The WASI part of `npm run bench` (after run.ts): bench/wasi/iobench.c at the WASI level on S1
// (OPFS through the storage worker), browser_wasi_shim's in-memory directory and a happy-opfs
// adapter doing whole-file reads and writes, side by side in one run; and the wasi engine's start
// from the OPFS image cache against a start from an image in memory. Prints a markdown report
// (also appended to bench/results/latest.md). Options: --runs N (default 7), --scale X.

import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import { compileWasi } from '../../test/node/support/wasi.js';
import { median, formatMicros as fmt } from './stats.js';

/** window.wasiBench of bench/browser/wasi-bench-page.ts (not imported: it pulls in worker-only OPFS types). */
declare const wasiBench: {
  io(wasmUrl: string, runs: number, scale: number): Promise<Record<string, string>>;
  start(imageUrl: string, runs: number): Promise<{ cached: number[]; memory: number[]; revalidate: number[]; read: number[]; bytes: number }>;
};

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, scale: { type: 'string', default: '1' } }, strict: false });
const runs = Number(values.runs);
const scale = Number(values.scale);

/** iobench's lines: operation → µs per op, per run. */
function parse(output: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const line of output.trim().split('\n')) {
    const [name, ...ns] = line.trim().split(/\s+/);
    m.set(name!, ns.map((n) => Number(n) / 1000));
  }
  return m;
}

const labels: [key: string, label: string, target: string][] = [
  ['pread4k', '4 KiB pread', '≤ 30 µs and ≤ 3× in-memory'],
  ['pwrite4k', '4 KiB pwrite', '≤ 3× in-memory'],
  ['pread1m', '1 MiB pread', ''],
  ['pwrite1m', '1 MiB pwrite', ''],
  ['stat', 'stat', '≤ 3× in-memory'],
  ['readdir100', 'opendir + readdir 100 entries + closedir', ''],
];

const server = await startServer();
const profile = newProfileDir();
const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
try {
  const iobench = compileWasi('iobench', 'iobench', [], 'bench/wasi');
  const hello = compileWasi('hello', 'hello', [], 'bench/wasi');
  const b = await launch(profile, `${server.origin}/bench/wasi.html`);
  try {
    await b.page.waitForFunction('globalThis.wasiBench !== undefined', { timeout: 30000 });
    b.page.setDefaultTimeout(0);
    const io = await b.page.evaluate((u, r, s) => wasiBench.io(u, r, s), iobench, runs, scale);
    const start = await b.page.evaluate((u, r) => wasiBench.start(u, r), hello, runs);
    const mem = parse(io.memory!);
    const s1 = parse(io.opfs!);
    const happy = parse(io.happy!);
    const lines = [
      `## WASI level (bench/wasi/iobench.c), ${new Date().toISOString()}`,
      '',
      `Load average at start: ${load} (${os.cpus().length} cores). Medians of ${runs} runs; each run is the mean of a timed batch.`,
      '',
      '| operation | S1 (OPFS, storage worker) | in-memory (browser_wasi_shim) | S1 / in-memory | happy-opfs, whole file | target |',
      '| --- | --- | --- | --- | --- | --- |',
    ];
    for (const [key, label, target] of labels) {
      const a = median(s1.get(key)!);
      const m = median(mem.get(key)!);
      const h = median(happy.get(key)!);
      lines.push(`| ${label} | ${fmt(a)} | ${fmt(m)} | ${(a / m).toFixed(1)}× | ${fmt(h)} | ${target} |`);
    }
    const floorRead = median(s1.get('floor.tread4k')!);
    const floorGetattr = median(s1.get('floor.tgetattr')!);
    lines.push('', `Floor in the same worker and run: a bare 4 KiB Tread from JavaScript (its data copied out of the slot) ${fmt(floorRead)}, ` +
      `a bare Tgetattr ${fmt(floorGetattr)}. S1's pread reads from the slot straight into the program's memory; its stat is two round trips (Twalk, Tgetattr; the Tclunk goes out on the second slot without waiting).`);
    const cached = median(start.cached);
    const memory = median(start.memory);
    lines.push('', `wasi engine start to exit of an image of ${(start.bytes / 1024 / 1024).toFixed(1)} MiB (OPFS read, compile, run; the page revalidates meanwhile):`,
      `from the OPFS cache ${fmt(cached)}, from memory ${fmt(memory)}: ${((cached / memory - 1) * 100).toFixed(0)}% more (target ≤ 10%); ` +
      `reading the cached copy out of OPFS alone takes ${fmt(median(start.read))}; ` +
      `the revalidation the start no longer waits for (a conditional GET answered 304 by the dev server) takes ${fmt(median(start.revalidate))}.`, '');
    const report = lines.join('\n');
    console.log(report);
    mkdirSync('bench/results', { recursive: true });
    appendFileSync('bench/results/latest.md', `\n${report}\n`);
  } finally {
    await b.close();
  }
} finally {
  await server.stop();
  removeProfileDir(profile);
}
