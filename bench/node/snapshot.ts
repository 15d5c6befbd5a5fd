// The snapshot benchmark: the default x86 guest (guest/out) in headless Chromium with
// <container-vm snapshot="auto">. One cold boot, then:
//   - saveSnapshot() time (the VM pauses, its state is taken, gzip'd and written to OPFS) and size;
//   - resume: a fresh page load to the shell, from the snapshot: vm-ready and the first command's
//     answer, both from navigation start;
//   - floor, in the same runs: page load to opfs-ready (the storage worker up, no VM).
// Prints a markdown section and writes bench/results/snapshot.md (raw numbers in snapshot.json).
//
//   npm run build:ts && node build/bench/node/snapshot.js [--runs 5]

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { RunningBrowser, launch, newProfileDir, removeProfileDir, startServer, Server } from '../../test/node/support/browser.js';
import type { VmHarness } from '../../test/browser/pages/element-harness.js';
import { median } from './stats.js';

declare const vmHarness: VmHarness;

const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/snapshot-bench', snapshot: 'auto' };
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)} – ${Math.max(...xs).toFixed(0)}`;

interface StartTimes { opfsReady: number; vmReady: number; firstCommand: number; resumed: boolean }

async function openPage(profile: string, server: Server): Promise<RunningBrowser> {
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
  return b;
}

/** Creates the element at once and times, from navigation start, opfs-ready, vm-ready and the first command's answer. */
async function start(b: RunningBrowser): Promise<StartTimes> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 300000)) as { type: string };
  if (event.type !== 'vm-ready') throw new Error(`expected vm-ready, got ${JSON.stringify(event)}`);
  const r = await b.page.evaluate(() => vmHarness.run('true'));
  if (r.status !== 0) throw new Error('the shell did not answer');
  return b.page.evaluate(() => {
    const at = vmHarness.createdAt();
    return {
      opfsReady: at + vmHarness.eventTime('opfs-ready')!,
      vmReady: at + vmHarness.eventTime('vm-ready')!,
      firstCommand: performance.now(),
      resumed: vmHarness.events().some((e) => e.type === 'progress') && vmHarness.eventTime('vm-ready')! < 10000,
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const server = await startServer();
  const profile = newProfileDir();
  const load: number[][] = [loadavg()];
  const saves: { ms: number; pausedMs: number; stateBytes: number; storedBytes: number }[] = [];
  const resumes: StartTimes[] = [];
  let cold: StartTimes;
  try {
    let b = await openPage(profile, server);
    try {
      console.error(`snapshot bench: cold boot (load ${loadavg().join(' ')})`);
      cold = await start(b);
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
        if (!t.resumed) throw new Error('the VM booted instead of resuming');
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
  const lines = [
    `## Snapshots (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Default guest (guest/out, ${attributes.src}), headless Chromium, ${os.cpus().length} cores; load average ` +
      `${load[0]!.join(' ')} at the start, ${load[1]!.join(' ')} at the end. Medians over ${runs} runs (min – max).`,
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
    `| cold boot: page load → first command answered (1 run) | ${cold!.firstCommand.toFixed(0)} ms | |`,
    '',
    `Resume is ${(cold!.firstCommand / median(resumes.map((r) => r.firstCommand))).toFixed(1)}× faster than the cold boot of this run.`,
  ];
  const report = lines.join('\n') + '\n';
  console.log(report);
  const outDir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL('snapshot.md', outDir), report);
  writeFileSync(new URL('snapshot.json', outDir), JSON.stringify({ load, saves, resumes, cold: cold! }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
