// The page's side of the wasi engine: starts its worker, feeds the terminal's keystrokes into the
// program's stdin ring, and turns the worker's messages into callbacks.

import { ChannelEndpoint } from '../channel/layout.js';
import { StdinWriter, createStdinBuffer } from '../wasi/stdin.js';
import { VmError } from '../errors.js';
import { explainWorkerFailure, startModuleWorker } from '../module-worker.js';
import { EngineEvents, RunningEngine } from './v86-host.js';
import { FromWasiEngine, ToWasiEngine } from './wasi-protocol.js';
import { refreshImage } from './image-cache.js';

export interface WasiOptions {
  src: string;
  args: string[];
  env: string[];
  mount: string;
  share: ChannelEndpoint;
  cols: number;
  rows: number;
}

export interface WasiEvents extends EngineEvents {
  /** The program exited with `code`. */
  exited(code: number): void;
}

export function startWasi(workerUrl: URL, options: WasiOptions, events: WasiEvents): RunningEngine {
  const worker = startModuleWorker(workerUrl, 'container-vm wasi');
  const stdinBuffer = createStdinBuffer();
  const stdin = new StdinWriter(stdinBuffer);
  worker.onmessage = (e: MessageEvent<FromWasiEngine>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'output': events.output(msg.data); break;
      case 'progress': events.progress(msg.what, msg.loaded, msg.total); break;
      case 'started':
        events.started();
        // The program runs from the cached image: revalidate it here, on the page, whose event loop
        // is free (the worker's is held by the program); a new image is used from the next start.
        if (msg.cached) void refreshImage(options.src, () => undefined).catch((e) => console.warn(`container-vm: could not revalidate ${options.src}:`, e));
        break;
      case 'exit': worker.terminate(); events.exited(msg.code); break;
      case 'error': worker.terminate(); events.error(new VmError(msg.code, msg.message)); break;
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    worker.terminate();
    // No message: the script itself could not be loaded (say, from a host without CORS headers).
    if (e.message) events.error(new VmError('engine-failed', `the wasi worker failed: ${e.message}`));
    else void explainWorkerFailure(workerUrl, 'wasi worker').then(events.error);
  };
  const start: ToWasiEngine = { type: 'start', ...options, stdin: stdinBuffer };
  worker.postMessage(start);
  const encoder = new TextEncoder();
  return {
    input(data: string) {
      stdin.write(encoder.encode(data));
    },
    // A WASI program's terminal size is set once, at start (COLUMNS/LINES): no agent to tell.
    agent() {},
    pauseAndSave() {
      return Promise.reject(new VmError('snapshot-failed', 'snapshots are for the v86 engine: the wasi engine cannot save a running WASI program.'));
    },
    resume() {},
    // A WASI program's clock is the page's: stopped and resumed, it would see the time jump.
    hold() {},
    async stop() {
      // The program holds the worker's thread (it may be blocked in a read): end the worker.
      stdin.close();
      worker.terminate();
    },
  };
}
