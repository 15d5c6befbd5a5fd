// The container2wasm benchmark (part of `npm run bench`): the fixture in ../shared/fixtures/c2w/
// running the same workload (bench/c2w/bench.sh: dd of 16 MiB with bs=1M and bs=4k, write then
// read; cat of 500 small files; ls -lR of 2,000 entries) on
//   - node:wasi on a real directory (the reference host, and the floor for this emulator),
//   - the element (bundled as dist/ ships it): S1 over M1 and over L1, in OPFS,
//   - browser_wasi_shim with an in-memory directory (one run: its writes copy the whole file);
// the hosts take turns, round after round, so that the machine's load falls on all of them alike.
// Then page load to the shell prompt, cold (download) and from the OPFS image cache, beside
// node:wasi's process start to its prompt; CPU use idle at the prompt, Chromium against node:wasi;
// and a 300 MiB chunked image: time and peak memory, downloaded and from the cache, beside the
// 18 MB fixture's and the floors (fetch, OPFS write and read, compile from memory).
// Prints a markdown report and writes bench/results/c2w.md and c2w.json.
//
//   npm run bench:c2w -- [--rounds 3] [--runs 2] [--boots 3] [--idle 20] [--big-mib 300]   (--big-mib 0 skips it)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rollup, RollupOptions, OutputOptions } from 'rollup';
import { RunningBrowser, Server, launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import { c2wImage, chunkedImage, fixtureMissing } from '../../test/node/support/c2w.js';
import { wasiChild } from '../../test/node/support/wasi.js';
import { cpuBetween, peakRss, processKind, processTree, threadCpu } from './procfs.js';
import { median } from './stats.js';

interface IoFloors { openReadCloseMs: number; getattrUs: number; getattrAfterGapUs: number; gapUs: number }
interface BigFloors { bytes: number; fetchMs: number; opfsWriteMs: number; opfsReadMs: number; compileMs: number }

/** window.c2wBench of bench/browser/c2w-bench-page.ts (not imported: it pulls in worker-only types). */
declare const c2wBench: {
  state(): { opfsReadyAt: number | null; startedAt: number | null; promptAt: number | null; exitAt: number | null; error: string | null; progressEvents: number; outputTail: string };
  output(): string;
  poll(id: number): { result?: unknown; error?: string } | undefined;
  populate(root: string, backend: string, script: string, small: number, dirs: number, perDir: number): number;
  memory(imageUrl: string, args: string[], script: string, small: number, dirs: number, perDir: number): number;
  ioFloors(root: string, backend: string, small: number): number;
  bigFloors(urls: string[]): number;
};

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' }, runs: { type: 'string', default: '2' }, boots: { type: 'string', default: '3' },
    idle: { type: 'string', default: '20' }, 'big-mib': { type: 'string', default: '300' },
  },
  strict: false,
});
const ROUNDS = Number(values.rounds);
const RUNS = Number(values.runs);
const BOOTS = Number(values.boots);
const IDLE_S = Number(values.idle);
const BIG_MIB = Number(values['big-mib']);

const repo = new URL('../../../', import.meta.url).pathname;
const SCRIPT = readFileSync(join(repo, 'bench/c2w/bench.sh'), 'utf8');
const PAGE = '/bench/c2w.html';
const SMALL = 500;
const DIRS = 20;
const PER_DIR = 99;
const ROWS = ['dd-1m-write', 'dd-1m-read', 'dd-4k-write', 'dd-4k-read', 'cat-500', 'ls-lR-2000'] as const;
const ROW_LABELS: Record<string, string> = {
  'dd-1m-write': 'dd 16 MiB bs=1M, write', 'dd-1m-read': 'dd 16 MiB bs=1M, read', 'dd-4k-write': 'dd 16 MiB bs=4k, write',
  'dd-4k-read': 'dd 16 MiB bs=4k, read', 'cat-500': 'cat of 500 small files', 'ls-lR-2000': 'ls -lR of 2,000 entries',
};
const S1_HOSTS = ['S1 M1', 'S1 L1'];
const HOSTS = ['node:wasi', ...S1_HOSTS, 'browser_wasi_shim in memory'];
/** The I/O target: within this factor of node:wasi on a real directory. */
const IO_TARGET = 1.5;
/** xterm's cursor stops blinking 5 s after the last output (src/element/terminal.ts): idle starts after it. */
const SETTLE_MS = 8000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg()[0]!.toFixed(2);
const log = (msg: string) => console.error(`c2w bench: ${msg} (load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
const fmtS = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const fmtMiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** BENCH lines of bench.sh → seconds per run for each row. */
function parseBench(output: string, host: string, runs: number): Record<string, number[]> {
  const starts = new Map<string, number>();
  const out: Record<string, number[]> = {};
  for (const m of output.matchAll(/BENCH (\S+) (start|end) (\d+)\.(\d+)/g)) {
    const t = Number(m[3]) + Number(m[4]) / 1e6;
    if (m[2] === 'start') starts.set(m[1]!, t);
    else (out[m[1]!] ??= []).push(t - starts.get(m[1]!)!);
  }
  const size = /BENCH-SIZE (\d+) (\d+)/.exec(output);
  if (!size || Number(size[1]) !== SMALL || Number(size[2]) !== DIRS * PER_DIR || ROWS.some((r) => out[r]?.length !== runs)) {
    throw new Error(`${host}: the workload did not run through: ${output.slice(-1500)}`);
  }
  return out;
}

function populateDir(dir: string): void {
  mkdirSync(join(dir, 'bench/small'), { recursive: true });
  writeFileSync(join(dir, 'bench/bench.sh'), SCRIPT);
  for (let i = 0; i < SMALL; i++) writeFileSync(join(dir, `bench/small/f${i}`), `small file ${i}\n`);
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(dir, `bench/tree/d${d}`), { recursive: true });
    for (let i = 0; i < PER_DIR; i++) writeFileSync(join(dir, `bench/tree/d${d}/e${i}`), '');
  }
}

/** The image under node:wasi in a child process; `onOutput` sees the console as it comes. */
function nodeChild(dir: string, args: string[], onOutput?: (all: string) => void) {
  const child = spawn(process.execPath, wasiChild(join(repo, c2wImage()), '/mnt/opfs', dir, ['c2w.wasm', ...args]), { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); onOutput?.(output); });
  const exited = new Promise<string>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`node:wasi exited ${code}: ${output.slice(-500)}`))));
  });
  return { child, exited };
}

/** Bundles the element as `npm run build` makes dist/, into build/bench/dist; returns its URL path. */
async function bundleElement(): Promise<string> {
  const { default: config } = await import(pathToFileURL(join(repo, 'rollup.config.mjs')).href) as { default: RollupOptions & { output: OutputOptions } };
  const bundle = await rollup(config);
  await bundle.write({ ...config.output, dir: join(repo, 'build/bench/dist') });
  await bundle.close();
  return '/build/bench/dist/container-vm.js';
}

/** The browser and profile in use, so an interrupted run leaves neither behind. */
let current: { browser: RunningBrowser | null; profile: string } | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    current?.browser?.kill();
    if (current) removeProfileDir(current.profile);
    process.exit(130);
  });
}

async function openPage(server: Server, query: Record<string, string> | null, profile?: string): Promise<RunningBrowser> {
  current = { browser: null, profile: profile ?? newProfileDir() };
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  current.browser = await launch(current.profile, `${server.origin}${PAGE}${qs}`);
  await current.browser.page.waitForFunction('globalThis.c2wBench !== undefined', { timeout: 30000 });
  return current.browser;
}

/** Closes the browser; the profile stays when `keep` (to open it again). */
async function closePage(keep = false): Promise<string | null> {
  const c = current;
  current = null;
  await c?.browser?.close();
  if (c && !keep) removeProfileDir(c.profile);
  return c?.profile ?? null;
}

async function awaitJob<T>(b: RunningBrowser, id: number, what: string, timeoutMs = 3_600_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(200)) {
    const r = await b.page.evaluate((i) => c2wBench.poll(i), id);
    if (r?.error) throw new Error(`${what}: ${r.error}`);
    if (r && 'result' in r) return r.result as T;
  }
  throw new Error(`${what} did not finish`);
}

/** Waits until the embedded element reached `what` (prompt or exit); returns ms since navigation start. */
async function awaitElement(b: RunningBrowser, what: 'promptAt' | 'exitAt', timeoutMs = 1_800_000): Promise<number> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(50)) {
    const s = await b.page.evaluate(() => c2wBench.state());
    if (s.error) throw new Error(`the element failed: ${s.error}`);
    if (s[what] !== null) return s[what]!;
  }
  throw new Error(`the element did not reach ${what}`);
}

interface Peaks { renderer: number; total: number }

/** Peak memory (VmHWM) of this browser's processes: the largest renderer's, and the sum over all. */
function browserPeaks(b: RunningBrowser): Peaks {
  const peaks = processTree(b.browser.process()!.pid!).map((p) => ({ kind: processKind(p), rss: peakRss(p) }));
  return { renderer: Math.max(0, ...peaks.filter((p) => p.kind === 'renderer').map((p) => p.rss)), total: peaks.reduce((s, p) => s + p.rss, 0) };
}

interface Results {
  date: string;
  browser: string;
  machine: string;
  rounds: number;
  runs: number;
  /** host → row → seconds per run; host → 1-minute load average at each of its boots. */
  io: Record<string, Record<string, number[]>>;
  ioLoad: Record<string, string[]>;
  ioFloors: IoFloors | null;
  loadToPrompt: { nodeMs: number[]; coldMs: number[]; cachedMs: number[]; load: string[]; cachedSteps: { opfsReady: number; started: number }[] };
  idle: { seconds: number; load: string; node: number; chromium: number; chromiumByThread: [string, number][] } | null;
  big: {
    bytes: number; chunks: number; load: string;
    coldMs: number; cachedMs: number; coldPeak: Peaks; cachedPeak: Peaks; fixturePeak: Peaks;
    floors: BigFloors; floorsPeak: Peaks;
  } | null;
}

/** Fills a fresh profile's share for the element; returns the profile. */
async function populateShare(server: Server, root: string, backend: string): Promise<string> {
  const b = await openPage(server, null);
  await awaitJob(b, await b.page.evaluate((r, be, s, n, d, p) => c2wBench.populate(r, be, s, n, d, p), root, backend, SCRIPT, SMALL, DIRS, PER_DIR), 'populate');
  return (await closePage(true))!;
}

function record(results: Results, host: string, rows: Record<string, number[]>): void {
  const into = results.io[host] ??= {};
  for (const [row, xs] of Object.entries(rows)) (into[row] ??= []).push(...xs);
  (results.ioLoad[host] ??= []).push(load());
}

async function ioRows(server: Server, results: Results, element: string): Promise<void> {
  const args = ['--', 'sh', '/mnt/opfs/bench/bench.sh', String(RUNS)];
  const dir = mkdtempSync(join(os.tmpdir(), 'container-vm-c2w-bench-'));
  const profiles: Record<string, string> = {};
  try {
    populateDir(dir);
    for (const backend of ['m1', 'l1']) profiles[backend] = await populateShare(server, `/bench-c2w-${backend}`, backend);
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round} of ${ROUNDS}: node:wasi on a real directory`);
      record(results, 'node:wasi', parseBench(await nodeChild(dir, args).exited, 'node:wasi', RUNS));
      for (const backend of ['m1', 'l1']) {
        log(`round ${round} of ${ROUNDS}: S1 over ${backend.toUpperCase()} in the element`);
        const b = await openPage(server, { src: c2wImage(), args: args.join(' '), root: `/bench-c2w-${backend}`, backend, module: element }, profiles[backend]);
        await awaitElement(b, 'exitAt');
        record(results, `S1 ${backend.toUpperCase()}`, parseBench(await b.page.evaluate(() => c2wBench.output()), backend, RUNS));
        await closePage(true);
      }
    }
    log('floors under the workload (OPFS, the channel)');
    const b = await openPage(server, null, profiles.m1);
    results.ioFloors = await awaitJob<IoFloors>(b, await b.page.evaluate((r, n) => c2wBench.ioFloors(r, 'm1', n), '/bench-c2w-m1', SMALL), 'io floors');
    await closePage(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const p of Object.values(profiles)) removeProfileDir(p);
  }
  log('browser_wasi_shim in memory (one run)');
  const b = await openPage(server, null);
  try {
    const memoryArgs = ['--', 'sh', '/mnt/opfs/bench/bench.sh', '1'];
    const output = await awaitJob<string>(b, await b.page.evaluate((u, a, s, n, d, p) => c2wBench.memory(u, a, s, n, d, p), c2wImage(), memoryArgs, SCRIPT, SMALL, DIRS, PER_DIR), 'in-memory run');
    record(results, 'browser_wasi_shim in memory', parseBench(output, 'browser_wasi_shim', 1));
  } finally {
    await closePage();
  }
}

/** node:wasi from process start to its prompt; with `idleS`, then its CPU use over that long. */
async function nodePrompt(idleS: number): Promise<{ ms: number; cpu: number | null }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'container-vm-c2w-idle-'));
  const started = performance.now();
  let promptMs = 0;
  let onPrompt: () => void = () => undefined;
  const prompted = new Promise<void>((resolve) => { onPrompt = resolve; });
  const run = nodeChild(dir, [], (all) => {
    if (!promptMs && /~ # $/.test(all)) {
      promptMs = performance.now() - started;
      onPrompt();
    }
  });
  try {
    await prompted;
    if (!idleS) return { ms: promptMs, cpu: null };
    await sleep(SETTLE_MS);
    const pid = run.child.pid!;
    const before = threadCpu([pid]);
    await sleep(idleS * 1000);
    return { ms: promptMs, cpu: cpuBetween(before, threadCpu([pid])).total / idleS };
  } finally {
    run.child.stdin!.end('exit\n');
    await run.exited.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadRows(server: Server, results: Results, element: string): Promise<void> {
  const query = { src: c2wImage(), root: '/bench-c2w-prompt', module: element };
  for (let i = 0; i < BOOTS; i++) {
    log(`page load to prompt, ${i + 1} of ${BOOTS}`);
    results.loadToPrompt.load.push(load());
    results.loadToPrompt.nodeMs.push((await nodePrompt(0)).ms);
    let b = await openPage(server, query);
    results.loadToPrompt.coldMs.push(await awaitElement(b, 'promptAt'));
    const profile = (await closePage(true))!;
    b = await openPage(server, query, profile);
    try {
      results.loadToPrompt.cachedMs.push(await awaitElement(b, 'promptAt'));
      const steps = await b.page.evaluate(() => c2wBench.state());
      results.loadToPrompt.cachedSteps.push({ opfsReady: steps.opfsReadyAt!, started: steps.startedAt! });
      if (await b.page.evaluate(() => c2wBench.state().progressEvents) !== 0) throw new Error('the cached start downloaded the image');
      if (i === BOOTS - 1 && IDLE_S > 0) {
        log(`idle at the prompt, ${IDLE_S} s each`);
        await sleep(SETTLE_MS);
        const idleLoad = load();
        const before = threadCpu(processTree(b.browser.process()!.pid!));
        await sleep(IDLE_S * 1000);
        const used = cpuBetween(before, threadCpu(processTree(b.browser.process()!.pid!)));
        const node = await nodePrompt(IDLE_S);
        results.idle = { seconds: IDLE_S, load: idleLoad, node: node.cpu!, chromium: used.total / IDLE_S, chromiumByThread: used.byThread.map(([n, s]) => [n, s / IDLE_S]) };
      }
    } finally {
      await closePage();
    }
  }
}

/** Page load to the exit of `exit 0`, in a fresh profile (download) and again (cache); each browser's peaks. */
async function exitRun(server: Server, src: string, root: string, element: string): Promise<{ coldMs: number; cachedMs: number; coldPeak: Peaks; cachedPeak: Peaks }> {
  const query = { src, root, args: "-- sh -c 'exit 0'", module: element };
  let b = await openPage(server, query);
  const coldMs = await awaitElement(b, 'exitAt');
  const coldPeak = browserPeaks(b);
  const profile = (await closePage(true))!;
  b = await openPage(server, query, profile);
  try {
    const cachedMs = await awaitElement(b, 'exitAt');
    if (await b.page.evaluate(() => c2wBench.state().progressEvents) !== 0) throw new Error('the cached start downloaded the image');
    return { coldMs, cachedMs, coldPeak, cachedPeak: browserPeaks(b) };
  } finally {
    await closePage();
  }
}

async function bigRows(server: Server, results: Results, element: string): Promise<void> {
  const big = chunkedImage(`c2w-${BIG_MIB}m`, BIG_MIB * 2 ** 20, 50 * 2 ** 20);
  log(`the ${BIG_MIB} MiB image`);
  const bigLoad = load();
  const run = await exitRun(server, big.manifest, '/bench-c2w-big', element);
  log('the 18 MB fixture, for its peak memory');
  const fixture = await exitRun(server, c2wImage(), '/bench-c2w-fixture', element);
  log('floors under the big image');
  const b = await openPage(server, null);
  try {
    const floors = await awaitJob<BigFloors>(b, await b.page.evaluate((u) => c2wBench.bigFloors(u), big.chunks), 'floors');
    results.big = { bytes: big.size, chunks: big.chunks.length, load: bigLoad, ...run, fixturePeak: fixture.coldPeak, floors, floorsPeak: browserPeaks(b) };
  } finally {
    await closePage();
  }
}

function report(r: Results): string {
  const node = r.io['node:wasi']!;
  const s1 = S1_HOSTS.filter((h) => r.io[h]);
  const hosts = HOSTS.filter((h) => r.io[h]);
  const lines = [
    `## container2wasm image (bench/c2w), ${r.date}`,
    '',
    `${r.browser}, ${r.machine}. ${r.rounds} rounds in which each host boots the image once and runs the workload ${r.runs} times ` +
    `(browser_wasi_shim: one run); medians of all runs, timed in the guest ($EPOCHREALTIME). ` +
    `1-minute load average at each boot: ${hosts.map((h) => `${h} ${r.ioLoad[h]!.join(', ')}`).join('; ')}.`,
    '',
    `| operation | ${hosts.join(' | ')} | ${s1.map((h) => `${h} / node:wasi`).join(' | ')} | target | met |`,
    `| --- | ${hosts.map(() => '---:').join(' | ')} | ${s1.map(() => '---:').join(' | ')} | --- | :-: |`,
  ];
  for (const row of ROWS) {
    const floor = median(node[row]!);
    const ratios = s1.map((h) => median(r.io[h]![row]!) / floor);
    lines.push(`| ${ROW_LABELS[row]} | ${hosts.map((h) => fmtS(median(r.io[h]![row]!))).join(' | ')} | ${ratios.map((x) => `${x.toFixed(2)}×`).join(' | ')} | ≤ ${IO_TARGET}× | ${ratios.every((x) => x <= IO_TARGET) ? 'yes' : '**no**'} |`);
  }
  if (r.ioFloors) {
    const f = r.ioFloors;
    lines.push('', `Floors in the same run: raw OPFS opening a sync access handle, reading and closing it for each of the ${SMALL} small files: ${fmtS(f.openReadCloseMs / 1000)} ` +
      `(a 9P server must do that to serve a file it has no handle open for); a Tgetattr through the channel, back to back ${f.getattrUs.toFixed(1)} µs, ` +
      `after ${f.gapUs} µs of other work (the storage worker's and this thread's sleeps, as between an emulator's requests) ${f.getattrAfterGapUs.toFixed(1)} µs.`);
  }
  const p = r.loadToPrompt;
  lines.push('', `| start (load ${p.load.join(', ')}) | median | runs |`, '| --- | ---: | --- |',
    `| node:wasi: process start to the prompt | ${fmtS(median(p.nodeMs) / 1000)} | ${p.nodeMs.map((x) => fmtS(x / 1000)).join(', ')} |`,
    `| element: page load to the prompt, cold (18 MB image downloaded) | ${fmtS(median(p.coldMs) / 1000)} | ${p.coldMs.map((x) => fmtS(x / 1000)).join(', ')} |`,
    `| element: page load to the prompt, image from the OPFS cache | ${fmtS(median(p.cachedMs) / 1000)} | ${p.cachedMs.map((x) => fmtS(x / 1000)).join(', ')} |`,
    '', `Where a cached start's time goes (medians, from page load): the share open (opfs-ready) at ${fmtS(median(p.cachedSteps.map((x) => x.opfsReady)) / 1000)}, ` +
    `the program running (vm-ready: image read from OPFS, compiled, instantiated) at ${fmtS(median(p.cachedSteps.map((x) => x.started)) / 1000)}, the prompt at ${fmtS(median(p.cachedMs) / 1000)}.`);
  if (r.idle) {
    const i = r.idle;
    lines.push('', `Idle at the prompt over ${i.seconds} s (load ${i.load}): Chromium, every process, ${(i.chromium * 100).toFixed(1)}% of a core; node:wasi ${(i.node * 100).toFixed(1)}% ` +
      `(target: no higher: ${i.chromium <= i.node ? 'met' : '**missed**'}). Chromium's threads: ` +
      i.chromiumByThread.filter(([, s]) => s >= 0.001).map(([n, s]) => `${n} ${(s * 100).toFixed(1)}%`).join(', ') + '.');
  }
  if (r.big) {
    const g = r.big;
    lines.push('', `A ${fmtMiB(g.bytes)} image (the fixture padded with a custom section) in ${g.chunks} chunks of 50 MiB, named by a manifest; page load to the exit of \`exit 0\` (load ${g.load}):`, '',
      '| | time | peak memory, renderer | peak memory, all Chromium processes |', '| --- | ---: | ---: | ---: |',
      `| downloaded (cold) | ${fmtS(g.coldMs / 1000)} | ${fmtMiB(g.coldPeak.renderer)} | ${fmtMiB(g.coldPeak.total)} |`,
      `| from the OPFS cache | ${fmtS(g.cachedMs / 1000)} | ${fmtMiB(g.cachedPeak.renderer)} | ${fmtMiB(g.cachedPeak.total)} |`,
      `| the 18 MB fixture, downloaded | | ${fmtMiB(g.fixturePeak.renderer)} | ${fmtMiB(g.fixturePeak.total)} |`,
      `| floors: the image in one buffer, WebAssembly.compile from it | | ${fmtMiB(g.floorsPeak.renderer)} | ${fmtMiB(g.floorsPeak.total)} |`,
      '', `Floors in the same run, in a worker: fetching the ${g.chunks} chunks and dropping the bytes ${fmtS(g.floors.fetchMs / 1000)}; ` +
      `writing ${fmtMiB(g.floors.bytes)} through an OPFS sync access handle ${fmtS(g.floors.opfsWriteMs / 1000)}, reading it back ${fmtS(g.floors.opfsReadMs / 1000)}; ` +
      `WebAssembly.compile of the image from memory ${fmtS(g.floors.compileMs / 1000)}.`);
  }
  return lines.join('\n');
}

const missing = fixtureMissing();
if (missing) {
  console.log(`c2w bench skipped: ${missing}`);
  process.exit(0);
}
// rollup.config.mjs names its inputs relative to the repository.
process.chdir(repo);
const server = await startServer();
const results: Results = {
  date: new Date().toISOString(),
  browser: '',
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${os.release()}, Node ${process.versions.node}`,
  rounds: ROUNDS,
  runs: RUNS,
  io: {},
  ioLoad: {},
  ioFloors: null,
  loadToPrompt: { nodeMs: [], coldMs: [], cachedMs: [], load: [], cachedSteps: [] },
  idle: null,
  big: null,
};
try {
  log('bundling the element as dist/ has it');
  const element = await bundleElement();
  const probe = await openPage(server, null);
  results.browser = `${(await probe.browser.version()).replace('/', ' ')} headless`;
  await closePage();
  await ioRows(server, results, element);
  await loadRows(server, results, element);
  if (BIG_MIB > 0) await bigRows(server, results, element);
} finally {
  await closePage();
  await server.stop();
}
const text = report(results);
console.log(text);
mkdirSync(join(repo, 'bench/results'), { recursive: true });
writeFileSync(join(repo, 'bench/results/c2w.md'), `${text}\n`);
writeFileSync(join(repo, 'bench/results/c2w.json'), JSON.stringify(results, null, 2));
