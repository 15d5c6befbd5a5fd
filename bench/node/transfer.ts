// The transfer benchmark: zip export and import of a 100 MB share through <container-vm>, in
// headless Chromium, beside the floor measured in the same run: reading the same bytes straight
// from OPFS (getFile().arrayBuffer() on the share's files) and zipping bytes already in memory
// with the same compressor. Half the share is random bytes (does not compress), half text.
// Prints a markdown section and writes bench/results/transfer.md and transfer.json.
//
//   npm run build:ts && node build/bench/node/transfer.js [--runs 5] [--mb 100]

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import { median } from './stats.js';

interface RunFigures { [what: string]: number }

const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, mb: { type: 'string' } } });
  const runs = Number(values.runs ?? 5);
  const mb = Number(values.mb ?? 100);
  const loadBefore = loadavg();
  const server = await startServer();
  const profile = newProfileDir();
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  const perRun: RunFigures[] = [];
  let zipSizes: Record<string, number> = {};
  const version = await b.browser.version();
  try {
    b.page.setDefaultTimeout(0);
    await b.page.evaluate(async (module: string, mb: number) => {
      const { ContainerVm } = await import(module);
      const vm = document.createElement('container-vm') as InstanceType<typeof ContainerVm>;
      vm.setAttribute('autostart', 'false');
      vm.setAttribute('opfs-root', '/bench-transfer');
      document.body.append(vm);
      // 100 files of 1 MB in 10 folders: half random, half repetitive text.
      const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(20000)).subarray(0, 1_000_000);
      for (let i = 0; i < mb; i++) {
        const data = i % 2 ? text : crypto.getRandomValues(new Uint8Array(65536));
        const file = i % 2 ? data : new Uint8Array(1_000_000).map((_, j) => data[j % 65536]! ^ (j >> 16));
        if (i % 10 === 0) await vm.fs.mkdir(`d${i / 10}`);
        await vm.fs.writeFile(`d${Math.floor(i / 10)}/f${i}.bin`, file);
      }
      (window as unknown as { benchVm: unknown }).benchVm = vm;
    }, '/build/src/container-vm.js', mb);

    for (let run = 0; run < runs; run++) {
      const figures = await b.page.evaluate(async () => {
        const vm = (window as unknown as { benchVm: HTMLElementTagNameMap['container-vm'] }).benchVm;
        const fflate = await import('/node_modules/fflate/esm/browser.js' as string);
        const out: Record<string, number> = {};
        const sizes: Record<string, number> = {};
        // Floor 1: the share's bytes read straight from OPFS.
        let t = performance.now();
        const raw: [string, Uint8Array][] = [];
        const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('bench-transfer');
        for await (const [dirName, dir] of root.entries()) {
          if (dir.kind !== 'directory' || dirName.startsWith('.')) continue;
          for await (const [name, file] of (dir as FileSystemDirectoryHandle).entries()) {
            raw.push([`${dirName}/${name}`, new Uint8Array(await (await (file as FileSystemFileHandle).getFile()).arrayBuffer())]);
          }
        }
        out.rawRead = performance.now() - t;
        // Floor 2: the same compressor on bytes already in memory.
        t = performance.now();
        const inMemory = fflate.zipSync(Object.fromEntries(raw.map(([n, d]) => [n, [d, { level: 1 }]])));
        out.memoryZip = performance.now() - t;
        sizes.memoryZip = inMemory.length;
        t = performance.now();
        fflate.unzipSync(inMemory);
        out.memoryUnzip = performance.now() - t;
        t = performance.now();
        const deflated = await vm.exportZip();
        out.exportDeflate = performance.now() - t;
        sizes.exportDeflate = deflated.size;
        t = performance.now();
        const stored = await vm.exportZip('', { compression: 'store' });
        out.exportStore = performance.now() - t;
        sizes.exportStore = stored.size;
        const url = URL.createObjectURL(deflated);
        await vm.fs.remove('restored', { recursive: true }).catch(() => undefined);
        t = performance.now();
        await vm.importZip(url, 'restored');
        out.importZip = performance.now() - t;
        URL.revokeObjectURL(url);
        await vm.fs.remove('restored', { recursive: true });
        return { out, sizes };
      });
      perRun.push(figures.out);
      zipSizes = figures.sizes;
      console.error(`transfer bench: run ${run + 1}/${runs} ${JSON.stringify(figures.out)} (load ${loadavg()})`);
    }
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
  }

  const med = (k: string) => median(perRun.map((r) => r[k]!));
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rate = (ms: number) => `${(mb / (ms / 1000)).toFixed(0)} MB/s`;
  const rows: [string, string, string][] = [
    ['exportZip(), deflate level 1 (the default)', 'exportDeflate', 'memoryZip'],
    ['exportZip(\'\', { compression: \'store\' })', 'exportStore', 'rawRead'],
    ['importZip() of the deflated zip (from a blob: URL)', 'importZip', 'memoryUnzip'],
  ];
  const FLOOR_NAMES: Record<string, string> = { rawRead: 'raw OPFS read', memoryZip: 'zipSync in memory', memoryUnzip: 'unzipSync in memory' };
  const cpu = os.cpus();
  const lines = [
    `## Transfer benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; ${version} (Debian's Chromium, headless); load average before ${loadBefore}, after ${loadavg()}.`,
    `- Share: ${mb} files of 1 MB in ${Math.ceil(mb / 10)} folders, half random bytes, half text. Medians of ${runs} runs. Zip sizes: deflate ${(zipSizes.exportDeflate! / 1e6).toFixed(1)} MB, store ${(zipSizes.exportStore! / 1e6).toFixed(1)} MB.`,
    '- Floors, same run: reading the share\'s files straight from OPFS (`getFile().arrayBuffer()`), and fflate\'s `zipSync` (level 1) and `unzipSync` on those bytes in memory.',
    '',
    '| operation | median | throughput | floor | floor median | ratio |',
    '|---|---:|---:|---|---:|---:|',
    ...rows.map(([name, key, floor]) => `| ${name} | ${s(med(key))} | ${rate(med(key))} | ${FLOOR_NAMES[floor]} | ${s(med(floor))} | ${(med(key) / med(floor)).toFixed(2)}× |`),
    `| raw OPFS read of the share (floor) | ${s(med('rawRead'))} | ${rate(med('rawRead'))} | | | |`,
    '',
  ];
  const report = lines.join('\n');
  console.log(report);
  const dir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('transfer.md', dir), report);
  writeFileSync(new URL('transfer.json', dir), JSON.stringify({ runs: perRun, zipSizes, mb }, null, 2));
}

await main();
