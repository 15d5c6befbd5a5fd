// The wasi engine, worker side: runs a container2wasm image (any WASI command module) under
// @bjorn3/browser_wasi_shim with stdin/stdout/stderr on the element's terminal and the share
// preopened through S1. The program runs on this worker's thread until it exits; blocking calls
// (stdin, poll_oneoff, 9P requests) sleep in Atomics.wait.

import { ConsoleStdout, WASI, WASIProcExit } from '@bjorn3/browser_wasi_shim';
import { installOpfsImports } from '../wasi/imports.js';
import { OpfsPreopen } from '../wasi/opfs-fd.js';
import { P9Session } from '../wasi/session.js';
import { StdinFd } from '../wasi/stdin.js';
import { toVmError } from '../errors.js';
import { loadModule } from './image-cache.js';
import { checkWasiCommand } from './wasi-module.js';
import { FromWasiEngine, WasiStart } from './wasi-protocol.js';

type Post = (msg: FromWasiEngine, transfer?: Transferable[]) => void;

export async function runWasi(start: WasiStart, post: Post): Promise<void> {
  let module: WebAssembly.Module;
  let cached: boolean;
  try {
    ({ module, cached } = await loadModule(start.src, (loaded, total) => post({ type: 'progress', what: start.src, loaded, total })));
  } catch (e) {
    const err = toVmError(e, 'engine-failed');
    post({ type: 'error', code: err.code, message: err.message });
    return;
  }
  try {
    checkWasiCommand(module, start.src);
  } catch (e) {
    const err = toVmError(e, 'bad-image');
    post({ type: 'error', code: err.code, message: err.message });
    return;
  }
  try {
    const output = (data: Uint8Array) => {
      const copy = data.slice();
      post({ type: 'output', data: copy }, [copy.buffer]);
    };
    const fds = [
      new StdinFd(start.stdin),
      new ConsoleStdout(output),
      new ConsoleStdout(output),
      new OpfsPreopen(start.mount, P9Session.connect(start.share)),
    ];
    // A chunked image's manifest (out.wasm.json) names the program as its .wasm would.
    const argv0 = new URL(start.src).pathname.split('/').pop()?.replace(/\.json$/i, '') || 'image.wasm';
    // The terminal's size, as a shell reads it when it cannot ask the tty.
    const env = [`COLUMNS=${start.cols}`, `LINES=${start.rows}`, 'TERM=xterm-256color', ...start.env];
    // debug: false explicitly: the shim logs every call when the option is left out.
    const wasi = new WASI([argv0, ...start.args], env, fds, { debug: false });
    installOpfsImports(wasi);
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    post({ type: 'started', cached });
    let code: number;
    try {
      code = wasi.start(instance as unknown as Parameters<WASI['start']>[0]);
    } catch (e) {
      if (!(e instanceof WASIProcExit)) throw e;
      code = e.code;
    }
    post({ type: 'exit', code });
  } catch (e) {
    const err = toVmError(e, 'engine-failed');
    post({ type: 'error', code: err.code, message: `the WASI program failed: ${err.message}` });
  }
}
