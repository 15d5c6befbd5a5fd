// The network benchmark: the default x86 guest (guest/out) in headless Chromium with
// <container-vm network=…>, HTTP GETs with busybox wget in the guest, timed inside the guest
// ($EPOCHREALTIME, ash's builtin clock):
//   - latency: a 1-byte file; throughput: a 16 MiB file;
//   - through a Wisp relay (wisp-js's server on 127.0.0.1), then through v86's fetch backend
//     (the page's fetch(), same-origin), on the same guest (booted once, then resumed from a
//     snapshot with the other network);
//   - floors, in the same run: node's fetch() of the same files from the same server, between the
//     guest's runs; and in the guest, wget against a closed local port (process start, no network).
// Also what the guest's net-up costs at boot with a card: loading the card's modules, and DHCP.
// The server is the dev server that serves the page (so the fetch backend's requests are
// same-origin); the relay resolves the name files.bench to it.
// Prints a markdown section and writes bench/results/network.md (raw numbers in network.json).
//
//   npm run build:ts && node build/bench/node/network.js [--runs 5] [--latency-runs 20]

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { RunningBrowser, launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import { Relay, startRelay } from '../../test/node/support/network-servers.js';
import type { VmHarness } from '../../test/browser/pages/element-harness.js';
import { median } from './stats.js';

declare const vmHarness: VmHarness;

const MiB = 2 ** 20;
const BIG = 16 * MiB;
const FILES_DIR = 'build/bench-network';
const OPFS_ROOT = '/network-bench';
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

type Path = 'relay' | 'fetch';

interface Results {
  date: string;
  browser: string;
  machine: string;
  load: number[][];
  /** Seconds per GET, by `${path}:small|big`, measured in the guest. */
  guest: Record<string, number[]>;
  /** Seconds per GET by node's fetch() from the same server. */
  node: { small: number[]; big: number[] };
  /** Seconds for wget to fail against a closed local port, in the guest. */
  guestFloor: number[];
  /** Seconds of net-up: with the card's modules loaded already (DHCP), and loading them first (as at boot). */
  dhcp: number[];
  netUp: number[];
}

function log(message: string): void {
  console.error(`network bench: ${message} (load ${loadavg().join(' ')})`);
}

/** Seconds between two $EPOCHREALTIME values ("sec.usec"). */
function epochDiff(t0: string, t1: string): number {
  const [s0, u0] = t0.split('.').map(Number) as [number, number];
  const [s1, u1] = t1.split('.').map(Number) as [number, number];
  return (s1 - s0) + (u1 - u0) / 1e6;
}

/** Runs `command` in the guest `times` times, each between two reads of its clock; the seconds each took. */
async function timed(b: RunningBrowser, command: string, times = 1, expectStatus = 0): Promise<number[]> {
  const loop = `for i in $(seq ${times}); do t0=$EPOCHREALTIME; ${command}; s=$?; t1=$EPOCHREALTIME; echo "@T $t0 $t1 $s"; done`;
  const r = await b.page.evaluate((c) => vmHarness.run(c, 600000), loop);
  const seconds: number[] = [];
  for (const m of r.out.matchAll(/@T (\d+\.\d+) (\d+\.\d+) (\d+)/g)) {
    if (Number(m[3]) !== expectStatus) throw new Error(`"${command}" exited ${m[3]}: ${r.out}`);
    seconds.push(epochDiff(m[1]!, m[2]!));
  }
  if (seconds.length !== times) throw new Error(`no timing in the output of "${command}": ${r.out}`);
  return seconds;
}

async function nodeGet(url: string, bytes: number): Promise<number> {
  const t0 = performance.now();
  const body = await (await fetch(url)).arrayBuffer();
  if (body.byteLength !== bytes) throw new Error(`${url}: ${body.byteLength} bytes, expected ${bytes}`);
  return (performance.now() - t0) / 1000;
}

async function startVm(b: RunningBrowser, network: string): Promise<void> {
  await b.page.evaluate(() => vmHarness.clearEvents());
  await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': OPFS_ROOT, snapshot: 'auto', network });
  const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 300000)) as { type: string };
  if (event.type !== 'vm-ready') throw new Error(`expected vm-ready, got ${JSON.stringify(event)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'latency-runs': { type: 'string', default: '20' } } });
  const runs = Number(values.runs);
  const latencyRuns = Number(values['latency-runs']);
  const repo = new URL('../../../', import.meta.url).pathname;
  mkdirSync(`${repo}${FILES_DIR}`, { recursive: true });
  writeFileSync(`${repo}${FILES_DIR}/small`, 'x');
  writeFileSync(`${repo}${FILES_DIR}/big`, randomBytes(BIG));
  const server = await startServer();
  const port = new URL(server.origin).port;
  let relay: Relay | null = null;
  const profile = newProfileDir();
  const cpu = os.cpus();
  const res: Results = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    browser: '',
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    load: [loadavg()],
    guest: {},
    node: { small: [], big: [] },
    guestFloor: [],
    dhcp: [],
    netUp: [],
  };
  const urls: Record<Path, string> = {
    relay: `http://files.bench:${port}/${FILES_DIR}`,
    // The fetch backend takes the guest's requests to port 80; <port>.external is the page's host on that port.
    fetch: `http://${port}.external/${FILES_DIR}`,
  };
  try {
    relay = await startRelay({ 'files.bench': '127.0.0.1' });
    const b = await launch(profile, `${server.origin}/test/pages/element.html`);
    try {
      await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
      res.browser = await b.browser.version();
      for (const path of ['relay', 'fetch'] as Path[]) {
        log(`${path}: ${path === 'relay' ? 'cold boot' : 'resume'}`);
        await startVm(b, path === 'relay' ? relay.url : 'fetch');
        // Warm up: the first request sets up the relay connection and the guest's caches.
        await timed(b, `wget -q -O /dev/null ${urls[path]}/small`);
        const small: number[] = [];
        const big: number[] = [];
        for (let i = 0; i < runs; i++) {
          log(`${path}: run ${i + 1}/${runs}`);
          small.push(...await timed(b, `wget -q -O /dev/null ${urls[path]}/small`, latencyRuns));
          res.node.small.push(await nodeGet(`http://127.0.0.1:${port}/${FILES_DIR}/small`, 1));
          big.push(...await timed(b, `wget -q -O /dev/null ${urls[path]}/big`));
          res.node.big.push(await nodeGet(`http://127.0.0.1:${port}/${FILES_DIR}/big`, BIG));
          res.guestFloor.push(...await timed(b, 'wget -q -O /dev/null http://127.0.0.1:1/ 2>/dev/null', 1, 1));
        }
        res.guest[`${path}:small`] = small;
        res.guest[`${path}:big`] = big;
        if (path === 'relay') {
          for (let i = 0; i < runs; i++) res.dhcp.push(...await timed(b, 'net-up >/dev/null'));
          await b.page.evaluate(() => vmHarness.element().saveSnapshot());
          await b.page.evaluate(() => vmHarness.remove());
        } else {
          // Last, as it unloads the card's driver (net-up loads it again, as at boot).
          for (let i = 0; i < runs; i++) {
            await timed(b, 'rmmod virtio_net net_failover failover');
            res.netUp.push(...await timed(b, 'net-up >/dev/null'));
          }
        }
      }
    } finally {
      await b.close();
    }
    res.load.push(loadavg());
  } finally {
    await server.stop();
    await relay?.stop();
    removeProfileDir(profile);
    rmSync(`${repo}${FILES_DIR}`, { recursive: true, force: true });
  }
  const report = format(res, runs, latencyRuns);
  console.log(report);
  const outDir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL('network.md', outDir), report);
  writeFileSync(new URL('network.json', outDir), JSON.stringify(res, null, 2));
}

function format(res: Results, runs: number, latencyRuns: number): string {
  const ms = (xs: number[]) => `${(median(xs) * 1000).toFixed(1)} ms`;
  const rate = (xs: number[]) => `${(BIG / MiB / median(xs)).toFixed(2)} MiB/s`;
  const ratio = (xs: number[], floor: number[]) => `${(median(xs) / median(floor)).toFixed(0)}×`;
  const lines = [
    `## Network (${res.date})`,
    '',
    `Default guest (guest/out), ${res.browser} headless, ${res.machine}; load average ${res.load[0]!.join(' ')} at the start, ` +
      `${res.load.at(-1)!.join(' ')} at the end. Medians: latency over ${runs}×${latencyRuns} GETs, throughput over ${runs} GETs, ` +
      'timed in the guest; node\'s fetch() of the same files from the same server between the guest\'s runs.',
    '',
    '| GET | through the Wisp relay | through fetch | node fetch() (floor) | relay: time × floor\'s | fetch: time × floor\'s |',
    '|---|---:|---:|---:|---:|---:|',
    `| 1-byte file (latency) | ${ms(res.guest['relay:small']!)} | ${ms(res.guest['fetch:small']!)} | ${ms(res.node.small)} | ` +
      `${ratio(res.guest['relay:small']!, res.node.small)} | ${ratio(res.guest['fetch:small']!, res.node.small)} |`,
    `| 16 MiB file (throughput) | ${rate(res.guest['relay:big']!)} | ${rate(res.guest['fetch:big']!)} | ${rate(res.node.big)} | ` +
      `${ratio(res.guest['relay:big']!, res.node.big)} | ${ratio(res.guest['fetch:big']!, res.node.big)} |`,
    '',
    '| in the guest | median |',
    '|---|---:|',
    `| wget against a closed local port (process start, no network): the guest's floor for the latency row | ${ms(res.guestFloor)} |`,
    `| net-up at boot with a card: its modules (virtio_net, net_failover, failover), then DHCP | ${ms(res.netUp)} |`,
    `| of which DHCP (net-up with the modules loaded; v86 answers) | ${ms(res.dhcp)} |`,
  ];
  return lines.join('\n') + '\n';
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
