// window.c2wBench, for bench/node/c2w.ts. With ?src=IMAGE (and args, root, backend, and module: the
// element's script, by default the unbundled build) the page embeds a <container-vm> that starts as
// the page loads, and notes when the shell prompt, or the program's exit, arrives (performance.now():
// 0 is navigation start). It also fills a share for the workload, and runs the work of
// bench/browser/c2w-bench-worker.ts: the image under browser_wasi_shim with an in-memory directory,
// and floors (OPFS, the channel, and under a big image: fetch, OPFS write and read, compile).

import { StorageHost } from '../../src/storage/storage-host.js';
import { ShareFs } from '../../src/client/share-fs.js';
import type { BigFloors, C2wWorkerReply, C2wWorkerRequest, IoFloors } from './c2w-bench-worker.js';

const params = new URLSearchParams(location.search);
const PROMPT = /~ # $/;

const state = {
  output: '',
  /** When the share was open (opfs-ready) and the program started running (vm-ready), for the breakdown. */
  opfsReadyAt: null as number | null,
  startedAt: null as number | null,
  promptAt: null as number | null,
  exitAt: null as number | null,
  error: null as string | null,
  progressEvents: 0,
};

const src = params.get('src');
if (src) void embed(src);

async function embed(src: string): Promise<void> {
  await import(params.get('module') ?? '../../src/container-vm.js');
  const vm = document.createElement('container-vm');
  vm.setAttribute('src', src);
  for (const name of ['args', 'backend']) if (params.has(name)) vm.setAttribute(name, params.get(name)!);
  vm.setAttribute('opfs-root', params.get('root') ?? '/bench-c2w');
  vm.addEventListener('output', (e) => {
    state.output += (e as CustomEvent<{ text: string }>).detail.text;
    if (state.promptAt === null && PROMPT.test(state.output)) state.promptAt = performance.now();
  });
  vm.addEventListener('progress', () => { state.progressEvents++; });
  vm.addEventListener('opfs-ready', () => { state.opfsReadyAt ??= performance.now(); });
  vm.addEventListener('vm-ready', () => { state.startedAt ??= performance.now(); });
  vm.addEventListener('exit', () => { state.exitAt ??= performance.now(); });
  vm.addEventListener('error', (e) => { state.error = (e as unknown as CustomEvent<{ message: string }>).detail.message; });
  document.body.append(vm);
}

function runWorker<T>(request: C2wWorkerRequest): Promise<T> {
  const worker = new Worker(new URL('./c2w-bench-worker.js', import.meta.url), { type: 'module', name: 'c2w bench' });
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<C2wWorkerReply>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.result as T);
      else reject(new Error(e.data.error));
    };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(`c2w bench worker failed: ${e.message}`)); };
    worker.postMessage(request);
  });
}

/** Jobs that take minutes: started by one call, polled by others (one CDP call must not wait that long). */
const jobs = new Map<number, { result?: unknown; error?: string }>();
let nextJob = 1;
/** A job's result must not be undefined: the protocol would drop the property, and the job would look unfinished. */
function job(work: Promise<unknown>): number {
  const id = nextJob++;
  jobs.set(id, {});
  work.then((result) => jobs.set(id, { result }), (e) => jobs.set(id, { error: e instanceof Error ? e.message : String(e) }));
  return id;
}

const c2wBench = {
  state: () => ({ ...state, outputTail: state.output.slice(-300), output: undefined }),
  output: () => state.output,
  poll: (id: number) => jobs.get(id),
  /** Fills the share at `root`: bench/bench.sh, bench/small (files 0..n-1), bench/tree (dirs × files); resolves with the files written. */
  populate: (root: string, backend: string, script: string, small: number, dirs: number, perDir: number) => job((async () => {
    const host = await StorageHost.start({ root, backend: backend as 'm1' | 'l1' });
    try {
      const fs = await ShareFs.connect(await host.connect(4));
      await fs.mkdirs('bench/small');
      await fs.writeFile('bench/bench.sh', script);
      for (let i = 0; i < small; i++) await fs.writeFile(`bench/small/f${i}`, `small file ${i}\n`);
      for (let d = 0; d < dirs; d++) {
        await fs.mkdirs(`bench/tree/d${d}`);
        for (let i = 0; i < perDir; i++) await fs.writeFile(`bench/tree/d${d}/e${i}`, '');
      }
      return 1 + small + dirs * perDir;
    } finally {
      await host.close();
    }
  })()),
  /** The image under browser_wasi_shim with the same files in an in-memory directory. */
  memory: (imageUrl: string, args: string[], script: string, small: number, dirs: number, perDir: number) =>
    job(runWorker<string>({ task: 'memory', imageUrl, args, script, small, dirs, perDir })),
  /** Floors under a big image: fetching its parts, writing and reading that much in OPFS, compiling it from memory. */
  bigFloors: (urls: string[]) => job(runWorker<BigFloors>({ task: 'big-floors', urls })),
  /** Floors under the workload, in the share at `root` filled by populate(): see IoFloors. */
  ioFloors: (root: string, backend: string, small: number) => job((async () => {
    const host = await StorageHost.start({ root, backend: backend as 'm1' | 'l1' });
    try {
      return await runWorker<IoFloors>({ task: 'io-floors', root, small, endpoint: await host.connect(2) });
    } finally {
      await host.close();
    }
  })()),
};

export type C2wBench = typeof c2wBench;
(globalThis as unknown as { c2wBench: C2wBench }).c2wBench = c2wBench;
