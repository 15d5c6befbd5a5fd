// `npm run bench`: serves the repository, runs bench/index.html in headless Chromium, and prints
// a markdown report (also written to bench/results/latest.md, raw numbers to latest.json).
// Options: --runs N (default 7), --scale X (iteration counts times X; 0.1 for a quick look),
// --warm-only (skip restarts and the 10,000-file share: for iterating on the channel),
// --browser chromium|firefox (default chromium; the report names it; Firefox's go to latest-firefox.*).

import { nodeResolve } from '@rollup/plugin-node-resolve';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rollup } from 'rollup';
import { BrowserName, launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import type { BenchResult, Measurement } from '../browser/protocol.js';
import { median, formatMicros as fmt } from './stats.js';

interface Term { key: string; times?: number }
interface Row {
  label: string;
  key: string;
  floor: Term[];
  floorLabel: string;
  /** The same operation on an M1 server called inside the client worker (no channel). */
  inProcess?: string;
  /** An absolute bound in µs, or a bound relative to the floor. */
  target?: { us: number } | { ratio: number };
}

const rows: Row[] = [
  { label: '4 KiB read', key: 'p9.read4k', inProcess: 'inproc.read4k', floor: [{ key: 'served.read4k' }], floorLabel: 'raw worker: sync-handle read into SAB', target: { us: 25 } },
  { label: '1 MiB read', key: 'p9.read1m', inProcess: 'inproc.read1m', floor: [{ key: 'served.read1m' }], floorLabel: 'raw worker: sync-handle read into SAB', target: { us: 250 } },
  { label: '4 KiB write at an offset of a 1 MiB file', key: 'p9.write4k', inProcess: 'inproc.write4k', floor: [{ key: 'served.write4k' }], floorLabel: 'raw worker: sync-handle write from SAB', target: { us: 60 } },
  { label: 'getattr', key: 'p9.getattr', inProcess: 'inproc.getattr', floor: [{ key: 'sab.empty' }], floorLabel: 'empty SAB round trip', target: { us: 15 } },
  { label: 'readdir of 100 entries, warm (2 Treaddir)', key: 'p9.readdir100', inProcess: 'inproc.readdir100', floor: [{ key: 'sab.4k', times: 2 }], floorLabel: '2 × 4 KiB SAB round trip', target: { us: 150 } },
  { label: 'walk + open + readdir 100 + clunk, warm', key: 'p9.opendir100', inProcess: 'inproc.opendir100', floor: [{ key: 'sab.empty', times: 3 }, { key: 'sab.4k', times: 2 }], floorLabel: '3 empty + 2 × 4 KiB round trips' },
  { label: 'readdir of 100 entries, cold (after restart)', key: 'p9.readdir100.cold', floor: [{ key: 'raw.list100.cold' }], floorLabel: 'raw OPFS entries() of the same dir, fresh handle, by the client worker', target: { ratio: 1.2 } },
  { label: 'readdir of 100 entries, cold, against a fresh worker', key: 'p9.readdir100.cold', floor: [{ key: 'raw.list100.freshWorker' }], floorLabel: 'raw OPFS entries() of the same dir by a freshly started worker', target: { ratio: 1.2 } },
  { label: 'create + write 4 KiB + clunk', key: 'p9.create', floor: [{ key: 'raw.create' }], floorLabel: 'raw getFileHandle(create) + createSyncAccessHandle + write + close' },
  { label: 'rename a directory of 100 files', key: 'p9.renameDir100', floor: [{ key: 'raw.renameDir100' }], floorLabel: 'raw: new dir, move() 100 files, removeEntry' },
  { label: 'start-up, share of 10,000 files', key: 'p9.startup10k', floor: [{ key: 'raw.boot' }], floorLabel: 'one-file module worker start + OPFS getDirectory', target: { us: 50_000 } },
  { label: 'start-up, 10,000 files, bundled storage worker', key: 'p9.startup10k.bundled', floor: [{ key: 'raw.boot' }], floorLabel: 'one-file module worker start + OPFS getDirectory', target: { us: 50_000 } },
  { label: 'start-up, empty share', key: 'p9.startupEmpty', floor: [{ key: 'raw.boot' }], floorLabel: 'one-file module worker start + OPFS getDirectory' },
];

const floorRows: [string, string][] = [
  ['sab.empty', 'SAB round trip between two workers, empty (Atomics.wait both sides)'],
  ['sab.4k', 'SAB round trip, 4 KiB payload one way'],
  ['sab.1m', 'SAB round trip, 1 MiB payload one way'],
  ['sabAsync.empty', 'SAB round trip, empty, server on waitAsync (native or fallback: see above)'],
  ['sabSpin.empty', 'SAB round trip, empty, both sides polling up to 50 µs before Atomics.wait'],
  ['raw.read4k', 'FileSystemSyncAccessHandle 4 KiB read'],
  ['raw.read1m', 'FileSystemSyncAccessHandle 1 MiB read'],
  ['raw.write4k', 'FileSystemSyncAccessHandle 4 KiB write at an offset'],
  ['served.read4k', 'raw worker serving a 4 KiB read over SAB (Atomics.wait)'],
  ['servedAsync.read4k', 'raw worker serving a 4 KiB read over SAB (waitAsync)'],
  ['servedSpin.read4k', 'raw worker serving a 4 KiB read over SAB (polling, then Atomics.wait)'],
  ['served.read1m', 'raw worker serving a 1 MiB read over SAB'],
  ['served.write4k', 'raw worker serving a 4 KiB write over SAB'],
  ['raw.list100.cold', 'OPFS entries() of a 100-entry directory, fresh handle after a restart (client worker)'],
  ['raw.list100.freshWorker', 'OPFS entries() of the same directory by a freshly started worker'],
  ['raw.create', 'OPFS create file + createSyncAccessHandle + 4 KiB write + close'],
  ['raw.renameDir100', 'OPFS directory "rename": new dir, move() 100 files, removeEntry'],
  ['raw.boot', 'one-file module worker start + OPFS getDirectory + reply'],
];

function spread(m: Measurement): string {
  return `${fmt(Math.min(...m.runs))} – ${fmt(Math.max(...m.runs))}`;
}

function report(result: BenchResult, browserVersion: string, runs: number, loadBefore: number[], elapsedS: number): string {
  const m = result.measurements;
  const med = (key: string) => median(m[key]!.runs);
  const lines: string[] = [];
  const cpu = os.cpus();
  lines.push(
    `# container-vm benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '',
    `- Browser: ${browserVersion} (headless), ${result.userAgent}`,
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`,
    `- Atomics.waitAsync: ${(result.notes as { nativeWaitAsync?: boolean }).nativeWaitAsync === false ? 'missing: waits go through the helper-worker fallback (src/channel/wait-async.ts)' : 'native'}` +
      `${(result.notes as { withL1?: boolean }).withL1 === false ? '; no JSPI, so no L1 rows' : ''}`,
    `- Load average before the run: ${loadBefore.map((x) => x.toFixed(2)).join(' ')}; run took ${elapsedS.toFixed(0)} s`,
    `- Each figure is the median over ${runs} runs of the mean time per operation in that run (batches of up to 2000 operations timed together; cold readdir and start-up are one operation per run).`,
    '',
    '## Through the channel (M1 server in the storage worker, SyncP9Client in a worker)', '',
    '"M1 without channel" is the same operation on an M1 server running inside the client worker: encoding, handle() and decoding with no SharedArrayBuffer hop.', '',
    '| operation | median | runs min – max | floor | floor measured as | ratio | target | met | M1 without channel |',
    '|---|---:|---:|---:|---|---:|---|:-:|---:|',
  );
  for (const r of rows) {
    if (!m[r.key]) continue;
    const value = med(r.key);
    const floor = r.floor.reduce((sum, t) => sum + (t.times ?? 1) * med(t.key), 0);
    const ratio = value / floor;
    let target = '—', met = '';
    if (r.target && 'us' in r.target) { target = `≤ ${fmt(r.target.us)}`; met = value <= r.target.us ? 'yes' : '**no**'; }
    if (r.target && 'ratio' in r.target) { target = `≤ ${r.target.ratio}× floor`; met = ratio <= r.target.ratio ? 'yes' : '**no**'; }
    lines.push(`| ${r.label} | ${fmt(value)} | ${spread(m[r.key]!)} | ${fmt(floor)} | ${r.floorLabel} | ${ratio.toFixed(2)}× | ${target} | ${met} | ${r.inProcess && m[r.inProcess] ? fmt(med(r.inProcess)) : ''} |`);
  }
  lines.push('', '## Floor measured in the same run', '', '| operation | median | runs min – max |', '|---|---:|---:|');
  for (const [key, label] of floorRows) if (m[key]) lines.push(`| ${label} | ${fmt(med(key))} | ${spread(m[key]!)} |`);
  const notes = result.notes as { populateBigMs?: number; startHostMedianMs?: { big: number; empty: number; bundled: number | null } };
  lines.push('');
  const h = notes.startHostMedianMs;
  if (h) {
    lines.push(`Start-up breakdown: StorageHost.start() alone took ${h.big.toFixed(1)} ms (10,000 files), ` +
      `${h.bundled === null ? '' : `${h.bundled.toFixed(1)} ms (10,000 files, bundled worker), `}${h.empty.toFixed(1)} ms (empty share); ` +
      'the rest is connect + Tversion + Tattach + Tgetattr.');
  }
  const l1Rows = rows.filter((r, i) => m[r.key.replace(/^p9\./, 'l1.')] && rows.findIndex((x) => x.key === r.key) === i);
  if (l1Rows.length) {
    lines.push('', '## L1 beside M1 (same run, same client, each on its own share)', '',
      'Targets: L1 no slower than M1 on any row, and at least 1.5× faster on 4 KiB read, 4 KiB write and getattr.', '',
      '"without channel": the server called inside the client worker (encoding, handle(), decoding; no SharedArrayBuffer hop).', '',
      '| operation | M1 median | L1 median | L1 runs min – max | M1 / L1 | target | met | M1 without channel | L1 without channel | M1 / L1 without channel |',
      '|---|---:|---:|---:|---:|---|:-:|---:|---:|---:|');
    for (const r of l1Rows) {
      const l1Key = r.key.replace(/^p9\./, 'l1.');
      const speedup = med(r.key) / med(l1Key);
      const want = ['p9.read4k', 'p9.write4k', 'p9.getattr'].includes(r.key) ? 1.5 : 1;
      const inM1 = r.inProcess && m[r.inProcess] ? med(r.inProcess) : null;
      const l1In = r.inProcess?.replace(/^inproc\./, 'inprocl1.');
      const inL1 = l1In && m[l1In] ? med(l1In) : null;
      const inCols = inM1 !== null && inL1 !== null ? `${fmt(inM1)} | ${fmt(inL1)} | ${(inM1 / inL1).toFixed(2)}×` : ' | | ';
      lines.push(`| ${r.label} | ${fmt(med(r.key))} | ${fmt(med(l1Key))} | ${spread(m[l1Key]!)} | ${speedup.toFixed(2)}× | ≥ ${want}× | ${speedup >= want ? 'yes' : '**no**'} | ${inCols} |`);
    }
  }
  if (notes.populateBigMs) lines.push(`The 10,000-file share was created with raw OPFS in ${(notes.populateBigMs / 1000).toFixed(1)} s.`);
  return lines.join('\n') + '\n';
}

/**
 * The storage worker as one file, as `npm run build` ships it. Served from build/ it is a dozen
 * modules, each a request to the dev server, and that alone dominates start-up.
 */
async function bundleStorageWorker(): Promise<void> {
  const bundle = await rollup({
    input: fileURLToPath(new URL('../../src/storage-worker.js', import.meta.url)),
    plugins: [nodeResolve({ browser: true })],
  });
  await bundle.write({ file: fileURLToPath(new URL('../storage-worker.bundle.js', import.meta.url)), format: 'es', inlineDynamicImports: true });
  await bundle.close();
  // The bundled worker loads the L1 server from beside itself, as dist/ has it.
  copyFileSync(fileURLToPath(new URL('../../src/l1.wasm', import.meta.url)), fileURLToPath(new URL('../l1.wasm', import.meta.url)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    runs: { type: 'string' }, scale: { type: 'string' }, 'warm-only': { type: 'boolean' }, browser: { type: 'string' },
  } });
  const browser = (values.browser ?? 'chromium') as BrowserName;
  const runs = Number(values.runs ?? 7);
  const scale = Number(values.scale ?? 1);
  const warmOnly = values['warm-only'] ?? false;
  const loadBefore = os.loadavg();
  const started = Date.now();
  await bundleStorageWorker();
  const server = await startServer();
  const profile = newProfileDir();
  const b = await launch(profile, `${server.origin}/bench/index.html`, browser);
  // Interrupted, take the browser down too (launch() leaves signals to us).
  const abort = () => { b.kill(); removeProfileDir(profile); process.exit(130); };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    b.page.on('console', (msg) => { if (msg.text().startsWith('bench:')) console.error(msg.text()); });
    await b.page.waitForFunction('globalThis.bench !== undefined', { timeout: 30_000 });
    await b.page.evaluate((o) => (globalThis as any).bench.start(o), { runs, scale, warmOnly });
    // Poll rather than await one long evaluate: CDP calls time out long before a run ends.
    let state: { result: BenchResult | null; error: string | null };
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      state = await b.page.evaluate(() => {
        const s = (globalThis as any).bench.state;
        return { result: s.result, error: s.error };
      });
      if (state.result || state.error) break;
      if (Date.now() - started > 15 * 60_000) throw new Error('the benchmark did not finish in 15 minutes');
    }
    if (state.error) throw new Error(`the bench page failed: ${state.error}`);
    const md = report(state.result!, await b.browser.version(), runs, loadBefore, (Date.now() - started) / 1000);
    const outDir = new URL('../../../bench/results/', import.meta.url);
    mkdirSync(outDir, { recursive: true });
    const name = browser === 'chromium' ? 'latest' : `latest-${browser}`;
    writeFileSync(new URL(`${name}.md`, outDir), md);
    writeFileSync(new URL(`${name}.json`, outDir), JSON.stringify(state.result, null, 1));
    console.log(md);
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
