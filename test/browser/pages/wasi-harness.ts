// window.wasiHarness: runs WASI programs on the share (S1) in a worker, for node-driven tests that
// compare them with node:wasi or relaunch the browser.

import { StorageHost } from '../../../src/storage/storage-host.js';
import type { WasiRunRequest, WasiRunResult } from '../workers/wasi-run-worker.js';
import { exposeHarness } from './held-promises.js';

const wasiHarness = {
  /** Runs `wasmUrl` with the share at `root` preopened as `preopen` (in memory when root is null). */
  async run(wasmUrl: string, args: string[], root: string | null, preopen = '/mnt/opfs', env: string[] = []): Promise<WasiRunResult> {
    const host = root === null ? null : await StorageHost.start({ root });
    try {
      const endpoint = host ? await host.connect(2) : null;
      const worker = new Worker(new URL('../workers/wasi-run-worker.js', import.meta.url), { type: 'module' });
      try {
        return await new Promise<WasiRunResult>((resolve, reject) => {
          worker.onmessage = (e: MessageEvent<WasiRunResult>) => resolve(e.data);
          worker.onerror = (e) => reject(new Error(`wasi worker failed: ${e.message}`));
          worker.postMessage({ wasmUrl, args, env, preopen, endpoint } satisfies WasiRunRequest);
        });
      } finally {
        worker.terminate();
      }
    } finally {
      await host?.close();
    }
  },
};

export type WasiHarness = typeof wasiHarness;
exposeHarness('wasiHarness', wasiHarness);
