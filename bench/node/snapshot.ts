// The snapshot benchmark: the default x86 guest (guest/out) in headless Chromium.
//   - first visits: a fresh profile and browser each (no HTTP cache, empty OPFS), page load to the
//     shell from the snapshot the image ships, and with snapshot="off" a cold boot: vm-ready and
//     the first command's answer, both from navigation start;
//   - <container-vm snapshot="auto">: one start, then saveSnapshot() time (the VM pauses, its state
//     is taken, gzip'd and written to OPFS) and size; resume: a fresh page load to the shell, from
//     the share's snapshot;
//   - floor, in the same runs: page load to opfs-ready (the storage worker up, no VM).
// Prints a markdown section and writes bench/results/snapshot.md (raw numbers in snapshot.json).
//
//   npm run build:ts && node build/bench/node/snapshot.js [--runs 5]

import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { RunningBrowser, launch, newProfileDir, removeProfileDir, startServer, Server } from '../../test/node/support/browser.js';
import type { VmHarness } from '../../test/browser/pages/element-harness.js';
import { median } from './stats.js';

declare const vmHarness: VmHarness;

const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/snapshot-bench', snapshot: 'auto' };
const repo = new URL('../../../', import.meta.url).pathname;
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)} – ${Math.max(...xs).toFixed(0)}`;

interface StartTimes { opfsReady: number; vmReady: number; firstCommand: number; start: string }

async function openPage(profile: string, server: Server): Promise<RunningBrowser> {
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
  return b;
}

/** Creates the element at once and times, from navigation start, opfs-ready, vm-ready and the first command's answer. */
async function start(b: RunningBrowser, attrs: Record<string, string> = attributes): Promise<StartTimes> {
  await b.page.evaluate((a) => vmHarness.create(a), attrs);
  const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 300000)) as { type: string; detail: { start: string } };
  if (event.type !== 'vm-ready') throw new Error(`expected vm-ready, got ${JSON.stringify(event)}`);
  const r = await b.page.evaluate(() => vmHarness.run('true'));
  if (r.status !== 0) throw new Error('the shell did not answer');
  return b.page.evaluate(() => {
    const at = vmHarness.createdAt();
    return {
      opfsReady: at + vmHarness.eventTime('opfs-ready')!,
      vmReady: at + vmHarness.eventTime('vm-ready')!,
      firstCommand: performance.now(),
      start: (vmHarness.events().find((e) => e.type === 'vm-ready')!.detail as { start: string }).start,
    };
  });
}

/** A first visit: a fresh profile (no HTTP cache, no OPFS) and browser, the element started at once. */
async function firstVisit(server: Server, snapshot: string): Promise<StartTimes> {
  const profile = newProfileDir();
  try {
    const b = await openPage(profile, server);
    try {
      return await start(b, { src: attributes.src, 'opfs-root': '/first-visit', ...(snapshot ? { snapshot } : {}) });
    } finally {
      await b.close();
    }
  } finally {
    removeProfileDir(profile);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const server = await startServer();
  const profile = newProfileDir();
  const load: number[][] = [loadavg()];
  const saves: { ms: number; pausedMs: number; stateBytes: number; storedBytes: number }[] = [];
  const resumes: StartTimes[] = [];
  const shipped: StartTimes[] = [];
  const cold: StartTimes[] = [];
  let browser = '';
  try {
    for (let i = 0; i < runs; i++) {
      console.error(`snapshot bench: first visit ${i + 1}/${runs}, the image's snapshot, then a cold boot (load ${loadavg().join(' ')})`);
      const fromImage = await firstVisit(server, '');
      if (fromImage.start !== 'image-snapshot') throw new Error(`a first visit started by ${fromImage.start}, not from the image's snapshot: is guest/out's snapshot stale?`);
      shipped.push(fromImage);
      const booted = await firstVisit(server, 'off');
      if (booted.start !== 'boot') throw new Error(`snapshot="off" started by ${booted.start}`);
      cold.push(booted);
    }
    load.push(loadavg());
    let b = await openPage(profile, server);
    try {
      browser = await b.browser.version();
      console.error(`snapshot bench: first start (load ${loadavg().join(' ')})`);
      await start(b);
      await b.page.evaluate(() => vmHarness.run('mkdir -p /mnt/opfs/work; cd /mnt/opfs/work'));
      for (let i = 0; i < runs; i++) {
        saves.push(await b.page.evaluate(async () => {
          const t = performance.now();
          const info = await vmHarness.element().saveSnapshot();
          return { ms: performance.now() - t, pausedMs: info.pausedMs, stateBytes: info.stateBytes, storedBytes: info.storedBytes };
        }));
      }
    } finally {
      await b.close();
    }
    for (let i = 0; i < runs; i++) {
      console.error(`snapshot bench: resume ${i + 1}/${runs} (load ${loadavg().join(' ')})`);
      b = await openPage(profile, server);
      try {
        const t = await start(b);
        if (t.start !== 'snapshot') throw new Error(`the VM started by ${t.start} instead of resuming from the share's snapshot`);
        resumes.push(t);
      } finally {
        await b.close();
      }
    }
    load.push(loadavg());
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
  const MiB = 2 ** 20;
  const manifest = JSON.parse(readFileSync(`${repo}guest/out/manifest.json`, 'utf8')) as { memory: number; snapshot: { state: string; stateBytes: number } };
  const shippedBytes = statSync(`${repo}guest/out/${manifest.snapshot.state}`).size;
  const row = (what: string, xs: number[]) => `| ${what} | ${median(xs).toFixed(0)} ms | ${range(xs)} ms |`;
  const cpu = os.cpus();
  const lines = [
    `## Snapshots (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Default guest (guest/out, ${attributes.src}, ${manifest.memory} MiB), ${browser} (headless), ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; ` +
      `load average ${load[0]!.join(' ')} at the start, ${load[1]!.join(' ')} after the first visits, ${load[2]!.join(' ')} at the end. ` +
      `Medians over ${runs} runs (min – max). Times from navigation start; served from localhost.`,
    '',
    '### A first visit (fresh profile: no HTTP cache, empty OPFS)',
    '',
    '| What | Median | Runs min – max |',
    '|---|---|---|',
    row('page load → vm-ready, from the image\'s snapshot', shipped.map((r) => r.vmReady)),
    row('page load → first command answered, from the image\'s snapshot', shipped.map((r) => r.firstCommand)),
    row('page load → vm-ready, cold boot (snapshot="off")', cold.map((r) => r.vmReady)),
    row('page load → first command answered, cold boot', cold.map((r) => r.firstCommand)),
    row('floor: page load → opfs-ready (no VM), in the same runs', [...shipped, ...cold].map((r) => r.opfsReady)),
    `| the image's snapshot: machine state / gzip'd (guest/out/${manifest.snapshot.state}) | ${(manifest.snapshot.stateBytes / MiB).toFixed(1)} MiB / ${(shippedBytes / MiB).toFixed(1)} MiB | |`,
    '',
    `The image's snapshot answers the first command ${(median(cold.map((r) => r.firstCommand)) / median(shipped.map((r) => r.firstCommand))).toFixed(1)}× sooner than a cold boot.`,
    '',
    '### The share\'s own snapshot (snapshot="auto")',
    '',
    '| What | Median | Runs min – max |',
    '|---|---|---|',
    `| saveSnapshot() (pause, take state, gzip, write to OPFS) | ${median(saves.map((s) => s.ms)).toFixed(0)} ms | ${range(saves.map((s) => s.ms))} ms |`,
    `| of which the VM is paused (state taken, 9P session exported) | ${median(saves.map((s) => s.pausedMs)).toFixed(0)} ms | ${range(saves.map((s) => s.pausedMs))} ms |`,
    `| machine state | ${(median(saves.map((s) => s.stateBytes)) / MiB).toFixed(1)} MiB | |`,
    `| stored, gzip | ${(median(saves.map((s) => s.storedBytes)) / MiB).toFixed(1)} MiB | |`,
    `| page load → vm-ready, resumed | ${median(resumes.map((r) => r.vmReady)).toFixed(0)} ms | ${range(resumes.map((r) => r.vmReady))} ms |`,
    `| page load → first command answered, resumed | ${median(resumes.map((r) => r.firstCommand)).toFixed(0)} ms | ${range(resumes.map((r) => r.firstCommand))} ms |`,
    `| floor: page load → opfs-ready (no VM) | ${median(resumes.map((r) => r.opfsReady)).toFixed(0)} ms | ${range(resumes.map((r) => r.opfsReady))} ms |`,
  ];
  const report = lines.join('\n') + '\n';
  console.log(report);
  const outDir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL('snapshot.md', outDir), report);
  writeFileSync(new URL('snapshot.json', outDir), JSON.stringify({ load, saves, resumes, shipped, cold }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
