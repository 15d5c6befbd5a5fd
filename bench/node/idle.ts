// The idle benchmark (part of `npm run bench`): what the default x86 guest costs while it sits at
// its shell prompt, and while the page is hidden, in headless Chromium. CPU time of every Chromium
// process, read from /proc over a window, beside the floor: the same page with no VM (Chromium's
// own processes), and beside v86 booted alone in a worker (stock v86 scheduling, its in-memory 9p,
// the same image: the guest benchmark's reference VM, bench/guest/index.html?boot=memory).
// Each round is one browser: the floor, visible and hidden; then <container-vm> booted, left to
// settle, measured at the prompt, then hidden (the window minimized: the page's visibilityState
// turns hidden), then shown again, its clock compared with the page's; then v86 alone the same way.
// Prints a markdown section and writes bench/results/idle.md (raw numbers in idle.json).
//
//   npm run bench:idle -- [--rounds 3] [--seconds 20] [--settle 60]

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { RunningBrowser, launch, newProfileDir, removeProfileDir, setPageHidden, startServer } from '../../test/node/support/browser.js';
import type { GuestBenchApi, VmKind } from '../browser/guest-protocol.js';
import { cpuBetween, processTree, threadCpu } from './procfs.js';
import { runInGuest } from './guest-command.js';
import { median } from './stats.js';

declare const guestBench: GuestBenchApi;

const { values } = parseArgs({ options: {
  rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, settle: { type: 'string', default: '60' },
} });
const ROUNDS = Number(values.rounds);
/** How long each figure is measured over. */
const WINDOW_S = Number(values.seconds);
/**
 * From vm-ready to the first measurement: the prompt's cursor stops blinking after 5 s
 * (src/element/terminal.ts), and V8 keeps compiling the code v86 generates for the guest's
 * kernel for up to a minute after boot. Measured too, as "settling".
 */
const SETTLE_S = Number(values.settle);
/** From page load to the floor's measurement. */
const FLOOR_SETTLE_S = 10;
const PAGE = '/bench/guest/index.html';
const WORKER_THREAD = 'renderer: DedicatedWorker';
const VMS: VmKind[] = ['element', 'memory'];
const VM_NAMES: Record<VmKind, string> = { element: '<container-vm>', memory: 'v86 alone' };

/** CPU used over one window, as a fraction of one core. */
interface Window {
  load: number;
  /** Every Chromium process. */
  total: number;
  /** The page's worker threads: the emulator (and v86's timer worker, when it has one) and the storage worker. */
  worker: number;
  byThread: [string, number][];
}

interface VmRound { bootMs: number; settling: Window; prompt: Window; hidden: Window; clockOffsetS: number }
interface Round { floor: Window; floorHidden: Window; vms: Partial<Record<VmKind, VmRound>> }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => os.loadavg()[0]!;
const log = (msg: string) => console.error(`idle bench: ${msg} (load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The browser's name and version, for the report. */
let browserVersion = '';

/** The browser in use, so an interrupted run leaves none behind. */
let current: { browser: RunningBrowser; profile: string } | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    current?.browser.kill();
    if (current) removeProfileDir(current.profile);
    process.exit(130);
  });
}

async function measure(b: RunningBrowser, seconds: number): Promise<Window> {
  const pid = b.browser.process()!.pid!;
  const load = loadavg();
  const before = threadCpu(processTree(pid));
  await sleep(seconds * 1000);
  const used = cpuBetween(before, threadCpu(processTree(pid)));
  return {
    load, total: used.total / seconds, worker: (used.byThread.find(([name]) => name === WORKER_THREAD)?.[1] ?? 0) / seconds,
    byThread: used.byThread.slice(0, 6).map(([name, s]) => [name, s / seconds]),
  };
}

/** The guest's clock minus the page's, in seconds (±0.5: `date +%s` counts whole seconds). */
async function clockOffset(page: Page, kind: VmKind): Promise<number> {
  const sent = Date.now();
  const r = await runInGuest(page, kind, 'date +%s', 60_000);
  const answered = Date.now();
  return Number(r.out.trim()) + 0.5 - (sent + answered) / 2000;
}

async function vmRound(b: RunningBrowser, kind: VmKind): Promise<VmRound> {
  log(`${kind}: booting`);
  await b.page.evaluate((k) => guestBench.startBoot(k), kind);
  let bootMs = 0;
  for (const started = Date.now(); !bootMs;) {
    await sleep(500);
    const s = await b.page.evaluate((k) => guestBench.bootState(k), kind);
    if (s.error) throw new Error(`${kind} boot failed: ${s.error}`);
    if (s.result) bootMs = s.result.bootMs;
    if (Date.now() - started > 300_000) throw new Error(`${kind} did not boot in 300 s`);
  }
  log(`${kind}: settling ${SETTLE_S} s, then ${WINDOW_S} s at the prompt`);
  const settling = await measure(b, SETTLE_S);
  const prompt = await measure(b, WINDOW_S);
  log(`${kind}: hidden`);
  await setPageHidden(b.page, true);
  await sleep(2000);
  const hidden = await measure(b, WINDOW_S);
  await setPageHidden(b.page, false);
  // The element sets the guest's clock once the agent answers, on the next whole second.
  await sleep(3000);
  const clockOffsetS = await clockOffset(b.page, kind);
  await b.page.evaluate((k) => guestBench.stop(k), kind);
  return { bootMs, settling, prompt, hidden, clockOffsetS };
}

async function round(origin: string): Promise<Round> {
  const profile = newProfileDir();
  const browser = await launch(profile, `${origin}${PAGE}`);
  current = { browser, profile };
  try {
    browserVersion = await browser.browser.version();
    log('floor: the page with no VM');
    // After the page's own start.
    await sleep(FLOOR_SETTLE_S * 1000);
    const floor = await measure(browser, WINDOW_S);
    await setPageHidden(browser.page, true);
    await sleep(2000);
    const floorHidden = await measure(browser, WINDOW_S);
    await setPageHidden(browser.page, false);
    const vms: Round['vms'] = {};
    for (const kind of VMS) vms[kind] = await vmRound(browser, kind);
    return { floor, floorHidden, vms };
  } finally {
    current = null;
    await browser.close();
    removeProfileDir(profile);
  }
}

function report(rounds: Round[], browser: string): string {
  const med = (f: (r: Round) => number) => median(rounds.map(f));
  const range = (f: (r: Round) => number) => `${pct(Math.min(...rounds.map(f)))} – ${pct(Math.max(...rounds.map(f)))}`;
  const loads = rounds.flatMap((r) => [r.floor.load, ...VMS.flatMap((k) => [r.vms[k]!.prompt.load, r.vms[k]!.hidden.load])]);
  const cpu = os.cpus();
  const lines = [
    `## Idle (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `${browser} headless, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; 1-minute load average ${Math.min(...loads).toFixed(1)} – ` +
      `${Math.max(...loads).toFixed(1)} at the windows' starts. CPU time of every Chromium process (/proc), in % of one core, ` +
      `over ${WINDOW_S} s windows; the guest at its shell prompt ${SETTLE_S} s after vm-ready; hidden = the window minimized ` +
      `(document.hidden). Medians of ${rounds.length} rounds (min – max).`,
    '',
    '| what | all Chromium processes | worker threads (emulator, storage) | runs (all processes) |',
    '|---|---:|---:|---|',
    `| floor: the page, no VM | ${pct(med((r) => r.floor.total))} | | ${range((r) => r.floor.total)} |`,
    `| floor: the page, no VM, hidden | ${pct(med((r) => r.floorHidden.total))} | | ${range((r) => r.floorHidden.total)} |`,
  ];
  for (const kind of VMS) {
    const vm = (r: Round) => r.vms[kind]!;
    lines.push(
      `| ${VM_NAMES[kind]}, at the prompt | ${pct(med((r) => vm(r).prompt.total))} | ${pct(med((r) => vm(r).prompt.worker))} | ${range((r) => vm(r).prompt.total)} |`,
      `| ${VM_NAMES[kind]}, hidden | ${pct(med((r) => vm(r).hidden.total))} | ${pct(med((r) => vm(r).hidden.worker))} | ${range((r) => vm(r).hidden.total)} |`,
      `| ${VM_NAMES[kind]}, the first ${SETTLE_S} s after vm-ready | ${pct(med((r) => vm(r).settling.total))} | ${pct(med((r) => vm(r).settling.worker))} | ${range((r) => vm(r).settling.total)} |`,
    );
  }
  lines.push('', '| VM | boot to prompt | guest clock − page clock after hidden and shown again |', '|---|---:|---:|');
  for (const kind of VMS) {
    lines.push(`| ${VM_NAMES[kind]} | ${(med((r) => r.vms[kind]!.bootMs) / 1000).toFixed(1)} s | ` +
      `${rounds.map((r) => `${r.vms[kind]!.clockOffsetS >= 0 ? '+' : ''}${r.vms[kind]!.clockOffsetS.toFixed(1)} s`).join(', ')} |`);
  }
  const last = rounds[rounds.length - 1]!;
  lines.push('', `Busiest threads in the last round (% of one core): ` + VMS.map((k) =>
    `${VM_NAMES[k]} at the prompt: ${last.vms[k]!.prompt.byThread.map(([n, s]) => `${n} ${pct(s)}`).join(', ')}`).join('; ') + '.');
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const server = await startServer();
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      log(`round ${i + 1} of ${ROUNDS}`);
      rounds.push(await round(server.origin));
    }
  } finally {
    await server.stop();
  }
  const md = report(rounds, browserVersion);
  const outDir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL('idle.md', outDir), md);
  writeFileSync(new URL('idle.json', outDir), JSON.stringify({ browser: browserVersion, window: WINDOW_S, settle: SETTLE_S, rounds }, null, 1));
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
