// L1's host: loads the Rust server (l1/, compiled to l1.wasm) and drives it as a NinePServer, the
// same contract M1 implements, so ChannelServer and the tests use either one alike.
//
// Every call into the module runs alone: a call that suspends on OPFS (JSPI) holds a lock the next
// one waits for, so the Rust side never sees a second call while one is suspended. Requests the
// module says it can answer without OPFS promises (reads and writes on open files, getattr, walks
// through listed directories...) go through the plain export, with no promise or stack switch;
// the rest go through WebAssembly.promising. docs/l1.md has the measurements behind this.

import { errnoName } from '../wire/errno.js';
import { NinePServer, SessionState } from '../storage/server-api.js';
import { OpfsHost, jspi } from './opfs-imports.js';

interface L1Exports {
  memory: WebAssembly.Memory;
  l1_reserve(request: number, reply: number): void;
  l1_request_ptr(): number;
  l1_reply_ptr(): number;
  l1_open(pathLength: number): number;
  l1_open_session(id: number, maxMessage: number): void;
  l1_close_session(id: number): void;
  l1_can_answer_now(session: number, length: number): number;
  l1_export_session(id: number): number;
  l1_exported_ptr(): number;
  l1_import_session(id: number, stateLength: number): number;
  l1_handle(session: number, length: number, replyCapacity: number): number;
  l1_payload_in_place(): number;
  l1_idle(): number;
  l1_close(): number;
}

type Async<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;

/** The module trapped (a Rust panic or a wasm trap): it is dead, and the share keeps what the journal holds. */
export class L1Failure extends Error {
  readonly code = 'storage-failed';
}

export class L1Server implements NinePServer {
  private readonly suspending: {
    open: Async<L1Exports['l1_open']>;
    closeSession: Async<L1Exports['l1_close_session']>;
    handle: Async<L1Exports['l1_handle']>;
    importSession: Async<L1Exports['l1_import_session']>;
    idle: Async<L1Exports['l1_idle']>;
    close: Async<L1Exports['l1_close']>;
  };
  private nextSession = 1;
  private locked = false;
  private readonly waiters: (() => void)[] = [];
  private failure: L1Failure | null = null;
  private reserved = { request: 0, reply: 0 };
  private requestPtr = 0;
  private replyPtr = 0;
  private view = new Uint8Array(0);
  /** Called once when the module traps, with the reason. */
  onFailure: ((e: L1Failure) => void) | null = null;

  private constructor(private readonly wasm: L1Exports, private readonly host: OpfsHost) {
    const promising = jspi.promising!;
    this.suspending = {
      open: promising(wasm.l1_open),
      closeSession: promising(wasm.l1_close_session),
      handle: promising(wasm.l1_handle),
      importSession: promising(wasm.l1_import_session),
      idle: promising(wasm.l1_idle),
      close: promising(wasm.l1_close),
    };
  }

  /** Loads the module from `wasmUrl` and opens the share at the OPFS path `root`. */
  static async open(root: string, wasmUrl: URL): Promise<L1Server> {
    if (!jspi.promising || !jspi.Suspending) throw Object.assign(new Error('the L1 backend needs JSPI (WebAssembly.Suspending and WebAssembly.promising), which this browser lacks: use backend="m1", which serves the same share format'), { code: 'backend-unavailable' });
    const host = new OpfsHost();
    host.preopen(root);
    let instance: WebAssembly.Instance;
    try {
      instance = await instantiate(wasmUrl, { opfs: host.imports() });
    } catch (e) {
      await host.abandon();
      throw Object.assign(new Error(`could not load the L1 server from ${wasmUrl.href}: ${e instanceof Error ? e.message : String(e)}`), { code: 'backend-unavailable' });
    }
    const wasm = instance.exports as unknown as L1Exports;
    host.memory = wasm.memory;
    const server = new L1Server(wasm, host);
    const path = new TextEncoder().encode(root);
    server.copyIn(path, 0);
    const result = await server.exclusive(() => server.suspending.open(path.length));
    if (result < 0) throw new Error(`L1 could not open the share ${root}: ${errnoName(-result)}`);
    return server;
  }

  openSession(maxMessageSize: number): number {
    const id = this.nextSession++;
    void this.exclusive(() => this.wasm.l1_open_session(id, maxMessageSize)).catch(() => undefined);
    return id;
  }

  async closeSession(session: number): Promise<void> {
    await this.exclusive(() => this.suspending.closeSession(session));
  }

  exportSession(session: number): Promise<SessionState> {
    return this.exclusive(() => {
      const length = this.wasm.l1_export_session(session);
      return decodeSessionState(this.memoryView().slice(this.wasm.l1_exported_ptr(), this.wasm.l1_exported_ptr() + length));
    });
  }

  async importSession(session: number, state: SessionState): Promise<void> {
    const encoded = encodeSessionState(state);
    const result = await this.exclusive(async () => {
      this.copyIn(encoded, 0);
      return this.suspending.importSession(session, encoded.length);
    });
    if (result < 0) throw new Error(`L1 could not take over the snapshot's 9P session: ${errnoName(-result)}`);
  }

  handleNow(session: number, request: Uint8Array, reply: Uint8Array): number {
    // Only when nothing else is running: copy in and ask whether it can be answered at once.
    if (this.locked || this.failure) return -1;
    try {
      this.copyIn(request, reply.length);
      if (!this.wasm.l1_can_answer_now(session, request.length)) return -1;
      this.host.replyOut = reply;
      return this.copyOut(this.wasm.l1_handle(session, request.length, reply.length), reply);
    } catch (e) {
      throw this.trapped(e);
    }
  }

  handle(session: number, request: Uint8Array, reply: Uint8Array): Promise<number> {
    try {
      const n = this.handleNow(session, request, reply);
      if (n >= 0) return Promise.resolve(n);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.exclusive(async () => {
      this.copyIn(request, reply.length);
      this.host.replyOut = reply;
      return this.copyOut(await this.suspending.handle(session, request.length, reply.length), reply);
    });
  }

  async idle(): Promise<void> {
    const result = await this.exclusive(() => this.suspending.idle());
    if (result < 0) console.warn(`container-vm L1: idle work failed with errno ${-result}`);
  }

  async close(): Promise<void> {
    // A trapped module has nothing left to flush: the journal holds what it wrote before.
    if (this.failure) return;
    const result = await this.exclusive(() => this.suspending.close());
    if (result < 0) console.warn(`container-vm L1: closing the share failed with errno ${-result}`);
  }

  // ---- plumbing ----

  private reserve(request: number, reply: number): void {
    if (request <= this.reserved.request && reply <= this.reserved.reply) return;
    this.reserved = { request: Math.max(request, this.reserved.request), reply: Math.max(reply, this.reserved.reply) };
    this.call(() => this.wasm.l1_reserve(this.reserved.request, this.reserved.reply));
    // The buffers may have moved.
    this.requestPtr = this.wasm.l1_request_ptr();
    this.replyPtr = this.wasm.l1_reply_ptr();
  }

  /** A view of the module's whole memory, renewed when the memory grows. */
  private memoryView(): Uint8Array {
    if (this.view.buffer !== this.wasm.memory.buffer) this.view = new Uint8Array(this.wasm.memory.buffer);
    return this.view;
  }

  private copyIn(request: Uint8Array, replyCapacity: number): void {
    this.reserve(request.length, replyCapacity);
    this.memoryView().set(request, this.requestPtr);
  }

  private copyOut(length: number, reply: Uint8Array): number {
    // An Rread's data is already in `reply` (read there by sah_read_out): copy only its header.
    const n = this.wasm.l1_payload_in_place() ? Math.min(length, 11) : length;
    reply.set(this.memoryView().subarray(this.replyPtr, this.replyPtr + n));
    return length;
  }

  /** Runs `fn` when no other call into the module is running, then lets the next one go. */
  private async exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.locked) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.locked = true;
    try {
      if (this.failure) throw this.failure;
      return await this.guard(fn);
    } finally {
      const next = this.waiters.shift();
      if (next) next(); else this.locked = false;
    }
  }

  private call<T>(fn: () => T): T {
    if (this.failure) throw this.failure;
    try {
      return fn();
    } catch (e) {
      throw this.trapped(e);
    }
  }

  private async guard<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.trapped(e);
    }
  }

  /** A trap leaves the module in an unknown state: stop using it, and say why once. */
  private trapped(e: unknown): L1Failure {
    if (e instanceof L1Failure) return e;
    const reason = this.host.panicMessage ?? (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    this.failure = new L1Failure(`the L1 storage server stopped: ${reason}. The share keeps everything written before the last fsync; reload to open it again.`);
    console.error('container-vm L1:', e);
    this.onFailure?.(this.failure);
    return this.failure;
  }
}

// A session's state crosses into and out of the module in the encoding Server::export_session
// (l1/src/server.rs) documents: msize, uid, count, then per fid: fid, is_dir, is_open, flags, path.

function encodeSessionState(state: SessionState): Uint8Array {
  const paths = state.fids.map((f) => new TextEncoder().encode(f.path));
  const out = new Uint8Array(12 + paths.reduce((n, p) => n + 12 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, state.msize, true);
  view.setUint32(4, state.uid, true);
  view.setUint32(8, state.fids.length, true);
  let at = 12;
  state.fids.forEach((f, i) => {
    view.setUint32(at, f.fid, true);
    view.setUint8(at + 4, f.dir ? 1 : 0);
    view.setUint8(at + 5, f.openFlags === null ? 0 : 1);
    view.setUint32(at + 6, f.openFlags ?? 0, true);
    view.setUint16(at + 10, paths[i]!.length, true);
    out.set(paths[i]!, at + 12);
    at += 12 + paths[i]!.length;
  });
  return out;
}

function decodeSessionState(bytes: Uint8Array): SessionState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const fids: SessionState['fids'] = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    const length = view.getUint16(at + 10, true);
    fids.push({
      fid: view.getUint32(at, true),
      dir: view.getUint8(at + 4) === 1,
      openFlags: view.getUint8(at + 5) === 1 ? view.getUint32(at + 6, true) : null,
      path: new TextDecoder().decode(bytes.subarray(at + 12, at + 12 + length)),
    });
    at += 12 + length;
  }
  return { msize: view.getUint32(0, true), uid: view.getUint32(4, true), fids };
}

/**
 * Compiles while downloading, which also lets the browser cache the compiled code for the next
 * start; a server that does not send application/wasm gets the plain (slower) path.
 */
async function instantiate(url: URL, imports: WebAssembly.Imports): Promise<WebAssembly.Instance> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  if (response.headers.get('content-type')?.startsWith('application/wasm')) {
    return (await WebAssembly.instantiateStreaming(response, imports)).instance;
  }
  return (await WebAssembly.instantiate(await response.arrayBuffer(), imports)).instance;
}
