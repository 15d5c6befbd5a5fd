// The bench page: owns the storage workers (so it can restart them), the echo workers of the
// floor and the client worker that does the timing. bench/node/run.ts starts it through
// window.bench.start() and polls window.bench.state until the result is there.

import { AsyncChannelClient } from '../../src/channel/async-client.js';
import { StorageHost } from '../../src/storage/storage-host.js';
import { P9Client } from '../../src/client/client.js';
import type { BenchTasks, TaskReply, TaskRequest } from './bench-worker.js';
import {
  BIG_ROOT, BenchOptions, BenchResult, DEFAULT_OPTIONS, EMPTY_ROOT, INPROC_ROOT, INPROC_ROOT_L1, MiB, Measurement, RAW_HEADER_BYTES, RAW_ROOT,
  SHARE_ROOT, SHARE_ROOT_L1,
} from './protocol.js';
import type { Backend } from '../../src/storage/storage-protocol.js';

interface BenchState {
  phase: string;
  result: BenchResult | null;
  error: string | null;
}

const state: BenchState = { phase: 'idle', result: null, error: null };

function progress(phase: string): void {
  state.phase = phase;
  console.log(`bench: ${phase}`);
}

type Call = <K extends keyof BenchTasks>(task: K, ...args: Parameters<BenchTasks[K]>) => Promise<Awaited<ReturnType<BenchTasks[K]>>>;

/** Calls a task of the client worker and waits for its answer. */
function caller(worker: Worker): Call {
  let next = 1;
  const pending = new Map<number, (r: TaskReply) => void>();
  worker.onmessage = (e: MessageEvent<TaskReply>) => { pending.get(e.data.id)?.(e.data); pending.delete(e.data.id); };
  worker.onerror = (e) => { state.error = `bench worker failed: ${e.message}`; };
  return ((task: keyof BenchTasks, ...args: unknown[]) => new Promise<unknown>((resolve, reject) => {
    const id = next++;
    pending.set(id, (r) => (r.ok ? resolve(r.result) : reject(new Error(`${task}: ${r.error}`))));
    worker.postMessage({ id, task, args } satisfies TaskRequest);
  })) as unknown as Call;
}

function moduleWorker(file: string, name: string): Worker {
  return new Worker(new URL(file, import.meta.url), { type: 'module', name });
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve) => worker.addEventListener('message', (e) => resolve(e.data), { once: true }));
}

async function wipe(name: string): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(name, { recursive: true }).catch(() => undefined);
}

async function startEcho(sab: SharedArrayBuffer, mode: 'wait' | 'waitAsync' | 'spin', file: string): Promise<Worker> {
  const w = moduleWorker('./echo-worker.js', `bench echo (${mode})`);
  const ready = nextMessage(w);
  w.postMessage({ sab, mode, file });
  await ready;
  return w;
}

/** From StorageHost.start() to the first answered Tattach + Tgetattr of the root (ms), and the part spent in start(). */
async function startUp(root: string, backend: Backend, workerUrl?: URL): Promise<{ total: number; start: number }> {
  const t0 = performance.now();
  const host = await StorageHost.start(workerUrl ? { root: `/${root}`, backend, workerUrl } : { root: `/${root}`, backend });
  const t1 = performance.now();
  const client = new P9Client(new AsyncChannelClient(await host.connect()));
  await (await client.connect()).getattr();
  const t2 = performance.now();
  await host.close();
  return { total: t2 - t0, start: t1 - t0 };
}

/** The floor of start-up: a module worker that reaches its OPFS directory and answers (ms). */
async function bootFloor(root: string): Promise<number> {
  const t0 = performance.now();
  const w = moduleWorker('./boot-worker.js', 'bench boot');
  const up = nextMessage(w);
  w.postMessage({ path: root });
  await up;
  const t = performance.now() - t0;
  w.terminate();
  return t;
}

/** A raw listing of `path` by a freshly started worker (its JavaScript as cold as a restarted storage worker's), in µs. */
async function listInFreshWorker(path: string): Promise<number> {
  const w = moduleWorker('./boot-worker.js', 'bench fresh lister');
  const reply = nextMessage(w) as Promise<{ ms: number; entries: number }>;
  w.postMessage({ path, list: true });
  const { ms, entries } = await reply;
  w.terminate();
  if (entries !== 100) throw new Error(`fresh worker listed ${entries} entries`);
  return ms * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** L1 needs JSPI; a browser without it (Firefox ESR 140) measures M1 alone. */
const withL1 = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function';

async function run(options: BenchOptions): Promise<BenchResult> {
  const notes: Record<string, unknown> = { withL1, nativeWaitAsync: typeof Atomics.waitAsync === 'function' };
  const page: Record<string, Measurement> = {};
  const add = (key: string, us: number) => { (page[key] ??= { runs: [], iterations: 1 }).runs.push(us); };

  progress('wiping the benchmark OPFS roots');
  for (const root of [SHARE_ROOT, SHARE_ROOT_L1, RAW_ROOT, BIG_ROOT, EMPTY_ROOT, INPROC_ROOT, INPROC_ROOT_L1]) await wipe(root);

  const client = moduleWorker('./bench-worker.js', 'bench client');
  const call = caller(client);
  await call('setupRaw', options);
  const sabWait = new SharedArrayBuffer(RAW_HEADER_BYTES + MiB);
  const sabAsync = new SharedArrayBuffer(RAW_HEADER_BYTES + MiB);
  const sabSpin = new SharedArrayBuffer(RAW_HEADER_BYTES + MiB);
  const echoes = [
    await startEcho(sabWait, 'wait', 'served-wait.bin'), await startEcho(sabAsync, 'waitAsync', 'served-async.bin'),
    await startEcho(sabSpin, 'spin', 'served-spin.bin'),
  ];
  await call('attachEcho', sabWait, sabAsync, sabSpin);
  await call('setupInProcess', withL1);

  progress('filling the share through 9P');
  let host = await StorageHost.start({ root: `/${SHARE_ROOT}` });
  await call('setupShare', await host.connect(), 'm1');
  let hostL1 = withL1 ? await StorageHost.start({ root: `/${SHARE_ROOT_L1}`, backend: 'l1' }) : null;
  if (hostL1) await call('setupShare', await hostL1.connect(), 'l1');

  progress(`warm operations, ${options.runs} runs`);
  await call('suite');
  for (const w of echoes) w.terminate();

  if (options.warmOnly) {
    await host.close();
    await hostL1?.close();
    const measurements = await call('results');
    client.terminate();
    return { measurements, notes, userAgent: navigator.userAgent };
  }

  progress('cold readdir after storage worker restarts');
  for (let i = 0; i < options.runs; i++) {
    await host.close();
    host = await StorageHost.start({ root: `/${SHARE_ROOT}` });
    // Alternate which listing goes first, so neither always profits from the other's warm-up.
    if (i % 2 === 1) add('raw.list100.freshWorker', await listInFreshWorker(`${SHARE_ROOT}/d100`));
    await call('cold', await host.connect(), i % 2 === 1);
    if (i % 2 === 0) add('raw.list100.freshWorker', await listInFreshWorker(`${SHARE_ROOT}/d100`));
    if (!hostL1) continue;
    await hostL1.close();
    hostL1 = await StorageHost.start({ root: `/${SHARE_ROOT_L1}`, backend: 'l1' });
    await call('coldL1', await hostL1.connect());
  }
  await host.close();
  await hostL1?.close();

  progress('creating a share of 10,000 files with raw OPFS');
  notes.populateBigMs = await call('populateBig');

  progress('start-up');
  // The node runner bundles the storage worker (as `npm run build` would); absent when the page is opened by hand.
  const bundled = new URL('../storage-worker.bundle.js', import.meta.url);
  const haveBundle = (await fetch(bundled, { method: 'HEAD' })).ok;
  const startParts: { big: number[]; bundled: number[]; empty: number[] } = { big: [], bundled: [], empty: [] };
  for (let i = -1; i < options.runs; i++) {
    // Round -1 warms up (the first start creates the metadata area and fetches modules).
    const boot = await bootFloor(BIG_ROOT);
    const big = await startUp(BIG_ROOT, 'm1');
    const big2 = haveBundle ? await startUp(BIG_ROOT, 'm1', bundled) : null;
    const empty = await startUp(EMPTY_ROOT, 'm1');
    // L1 opens the same shares (one format): the difference is loading and compiling l1.wasm.
    const l1Big = withL1 ? await startUp(BIG_ROOT, 'l1') : null;
    const l1Big2 = withL1 && haveBundle ? await startUp(BIG_ROOT, 'l1', bundled) : null;
    const l1Empty = withL1 ? await startUp(EMPTY_ROOT, 'l1') : null;
    if (i < 0) continue;
    if (l1Big) add('l1.startup10k', l1Big.total * 1000);
    if (l1Empty) add('l1.startupEmpty', l1Empty.total * 1000);
    if (l1Big2) add('l1.startup10k.bundled', l1Big2.total * 1000);
    add('raw.boot', boot * 1000);
    add('p9.startup10k', big.total * 1000);
    add('p9.startupEmpty', empty.total * 1000);
    startParts.big.push(big.start);
    startParts.empty.push(empty.start);
    if (big2) {
      add('p9.startup10k.bundled', big2.total * 1000);
      startParts.bundled.push(big2.start);
    }
  }
  notes.startHostMedianMs = {
    big: median(startParts.big), empty: median(startParts.empty), bundled: haveBundle ? median(startParts.bundled) : null,
  };

  const measurements = { ...(await call('results')), ...page };
  client.terminate();
  return { measurements, notes, userAgent: navigator.userAgent };
}

const bench = {
  state,
  /** Starts the benchmark; poll `state` for the result (a run takes longer than one CDP call may wait). */
  start(options: Partial<BenchOptions> = {}): void {
    state.result = null;
    state.error = null;
    run({ ...DEFAULT_OPTIONS, ...options })
      .then((r) => { state.result = r; progress('done'); })
      .catch((e: unknown) => { state.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e); progress('failed'); });
  },
};

(globalThis as unknown as { bench: typeof bench }).bench = bench;

// By hand: run on click and show the raw JSON.
const button = document.getElementById('run');
button?.addEventListener('click', () => {
  bench.start();
  const out = document.getElementById('out')!;
  const timer = setInterval(() => {
    out.textContent = state.result ? JSON.stringify(state.result, null, 1) : state.error ?? state.phase;
    if (state.result || state.error) clearInterval(timer);
  }, 500);
});
