// Runs one WASI program in a module worker with the share preopened through S1 (or, for
// comparison, browser_wasi_shim's in-memory directory), and posts back its exit code and output.

import { ConsoleStdout, Fd, File, OpenFile, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim';
import { ChannelEndpoint } from '../../../src/channel/layout.js';
import { installOpfsImports } from '../../../src/wasi/imports.js';
import { OpfsPreopen } from '../../../src/wasi/opfs-fd.js';
import { P9Session } from '../../../src/wasi/session.js';

export interface WasiRunRequest {
  wasmUrl: string;
  args: string[];
  env: string[];
  preopen: string;
  /** The share's channel, or null for an in-memory preopen. */
  endpoint: ChannelEndpoint | null;
}

export interface WasiRunResult { code: number; stdout: string; stderr: string; error?: string }

self.onmessage = async (e: MessageEvent<WasiRunRequest>) => {
  const { wasmUrl, args, env, preopen, endpoint } = e.data;
  const out = new TextDecoder();
  const err = new TextDecoder();
  const result: WasiRunResult = { code: -1, stdout: '', stderr: '' };
  try {
    const module = await WebAssembly.compileStreaming(fetch(wasmUrl));
    const dir: Fd = endpoint ? new OpfsPreopen(preopen, P9Session.connect(endpoint)) : new PreopenDirectory(preopen, new Map());
    const fds: Fd[] = [
      new OpenFile(new File([])),
      new ConsoleStdout((b) => { result.stdout += out.decode(b, { stream: true }); }),
      new ConsoleStdout((b) => { result.stderr += err.decode(b, { stream: true }); }),
      dir,
    ];
    const w = new WASI(args, env, fds, { debug: false });
    installOpfsImports(w);
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: w.wasiImport });
    result.code = w.start(instance as unknown as Parameters<WASI['start']>[0]);
  } catch (x) {
    result.error = x instanceof Error ? `${x.name}: ${x.message}\n${x.stack}` : String(x);
  }
  self.postMessage(result);
};
