// window.wasiBench: starts the storage worker and the happy-opfs agent, then runs the WASI
// benchmark worker once per kind of preopen (bench/node/wasi.ts drives it).

import { SyncChannel } from 'happy-opfs';
import { StorageHost } from '../../src/storage/storage-host.js';
import type { WasiBenchRequest } from './wasi-bench-worker.js';

function runWorker<T>(request: WasiBenchRequest): Promise<T> {
  const worker = new Worker(new URL('./wasi-bench-worker.js', import.meta.url), { type: 'module', name: 'wasi bench' });
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ ok: boolean; result?: T; error?: string }>) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.result!);
      else reject(new Error(e.data.error));
    };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(`wasi bench worker failed: ${e.message}`)); };
    worker.postMessage(request);
  });
}

async function wipe(name: string): Promise<void> {
  await (await navigator.storage.getDirectory()).removeEntry(name, { recursive: true }).catch(() => undefined);
}

const wasiBench = {
  /** iobench's output (one line per operation, ns per op for each run) for each kind of preopen. */
  async io(wasmUrl: string, runs: number, scale: number): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    out.memory = await runWorker<string>({ task: 'io', wasmUrl, kind: 'memory', runs, scale });
    await wipe('bench-wasi-s1');
    const host = await StorageHost.start({ root: '/bench-wasi-s1' });
    try {
      out.opfs = await runWorker<string>({ task: 'io', wasmUrl, kind: 'opfs', endpoint: await host.connect(2), runs, scale });
    } finally {
      await host.close();
    }
    await wipe('bench-wasi-happy');
    const agent = new Worker(new URL('./happy-agent-worker.js', import.meta.url), { type: 'module', name: 'happy-opfs agent' });
    const happyBuffer = (await SyncChannel.connect(agent, { sharedBufferLength: 4 * 1024 * 1024 + 65536, opTimeout: 60000 })).unwrap();
    try {
      out.happy = await runWorker<string>({ task: 'io', wasmUrl, kind: 'happy', happyBuffer, happyRoot: '/bench-wasi-happy', runs, scale });
    } finally {
      SyncChannel.disconnect();
      agent.terminate();
    }
    return out;
  },
  start: (imageUrl: string, runs: number) => runWorker<{ cached: number[]; memory: number[]; revalidate: number[]; read: number[]; bytes: number }>({ task: 'start', imageUrl, runs }),
};

export type WasiBench = typeof wasiBench;
(globalThis as unknown as { wasiBench: WasiBench }).wasiBench = wasiBench;
