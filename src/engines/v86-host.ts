// The page's side of the v86 engine: starts its worker and turns its messages into callbacks.

import { ChannelEndpoint } from '../channel/layout.js';
import { FromV86Engine, NetworkConfig, OciRoot, ToV86Engine, V86Image } from './v86-protocol.js';
import { VmError } from '../errors.js';
import { explainWorkerFailure, startModuleWorker } from '../module-worker.js';

export interface EngineEvents {
  output(data: Uint8Array): void;
  /** What the guest agent wrote (v86 only: the default guest's second serial port). */
  agentOutput?(data: Uint8Array): void;
  progress(what: string, loaded: number, total: number): void;
  started(): void;
  error(e: VmError): void;
}

export interface RunningEngine {
  input(data: string): void;
  /** Sends one line to the guest agent (v86); the wasi engine has none and drops it. */
  agent(line: string): void;
  /** Pauses the machine with no 9P request in flight and gives its state; `resume()` runs it on. */
  pauseAndSave(): Promise<ArrayBuffer>;
  resume(): void;
  /**
   * While the page is hidden (v86): `true` stops the machine and holds the guest's clock, `false`
   * runs it on. The wasi engine runs on.
   */
  hold(held: boolean): void;
  stop(): Promise<void>;
}

/**
 * Starts v86 on the image, or from `initialState` (a saved machine state of the same image), with
 * a network card when `network` is given, and an OCI image's root file system when `root` is.
 */
export function startV86(workerUrl: URL, wasmUrl: URL, image: V86Image, share: ChannelEndpoint, events: EngineEvents, initialState?: ArrayBuffer, network?: NetworkConfig, root?: OciRoot): RunningEngine {
  const worker = startModuleWorker(workerUrl, 'container-vm v86');
  const send = (msg: ToV86Engine, transfer: Transferable[] = []) => worker.postMessage(msg, transfer);
  let stopped: (() => void) | null = null;
  let saving: { resolve(state: ArrayBuffer): void; reject(e: VmError): void } | null = null;
  worker.onmessage = (e: MessageEvent<FromV86Engine>) => {
    const msg = e.data;
    switch (msg.type) {
      case 'output': events.output(msg.data); break;
      case 'agent': events.agentOutput?.(msg.data); break;
      case 'progress': events.progress(msg.what, msg.loaded, msg.total); break;
      case 'started': events.started(); break;
      case 'paused': saving?.resolve(msg.state); saving = null; break;
      case 'stopped': stopped?.(); break;
      case 'error':
        // A failed save leaves the machine running: only the save fails.
        if (msg.code === 'snapshot-failed' && saving) { saving.reject(new VmError(msg.code, msg.message)); saving = null; }
        else events.error(new VmError(msg.code, msg.message));
        break;
    }
  };
  worker.onerror = (e) => {
    e.preventDefault();
    // No message: the script itself could not be loaded (say, from a host without CORS headers).
    if (e.message) events.error(new VmError('engine-failed', `the v86 worker failed: ${e.message}`));
    else void explainWorkerFailure(workerUrl, 'v86 worker').then(events.error);
  };
  send({ type: 'start', image, wasmUrl: wasmUrl.href, share, ...(initialState ? { initialState } : {}), ...(network ? { network } : {}), ...(root ? { root } : {}) }, initialState ? [initialState] : []);
  const encoder = new TextEncoder();
  return {
    input(data: string) {
      // The serial port takes bytes; v86 sends each char code as one, so pass UTF-8 as bytes.
      const bytes = encoder.encode(data);
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      send({ type: 'input', data: binary });
    },
    agent(line: string) {
      send({ type: 'agent', line });
    },
    pauseAndSave() {
      if (saving) return Promise.reject(new VmError('snapshot-failed', 'a snapshot is being saved already'));
      return new Promise((resolve, reject) => {
        saving = { resolve, reject };
        send({ type: 'pause-and-save' });
      });
    },
    resume() {
      send({ type: 'continue' });
    },
    hold(held: boolean) {
      send({ type: held ? 'pause' : 'resume' });
    },
    async stop() {
      await new Promise<void>((resolve) => {
        stopped = resolve;
        send({ type: 'stop' });
        // A wedged emulator must not keep stop() waiting forever.
        setTimeout(resolve, 2000);
      });
      worker.terminate();
    },
  };
}
