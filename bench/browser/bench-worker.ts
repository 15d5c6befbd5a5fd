// The benchmark's client worker: drives the storage worker with the blocking SyncP9Client (as S1
// will), and measures the floor beside it in the same run: raw SharedArrayBuffer round trips to
// the echo workers and raw OPFS calls. Each floor is measured right before the 9P operation it is
// compared with, so both see the same machine load.

import { ChannelEndpoint, connectionBytes } from '../../src/channel/layout.js';
import { slotsOf } from '../../src/channel/slot.js';
import { SyncChannelClient } from '../../src/channel/sync-client.js';
import { SyncP9Client, replyTo } from '../../src/client/client.js';
import { decodeDirEntries, encodeMessage } from '../../src/wire/codec.js';
import { L1Server } from '../../src/l1/l1-server.js';
import { M1Server } from '../../src/m1/m1-server.js';
import { NinePServer } from '../../src/storage/server-api.js';
import { GetattrMask, IO_OVERHEAD, MessageType, NOFID, OpenFlag, Reply, Request, RequestType } from '../../src/wire/messages.js';
import {
  BIG_ROOT, BenchOptions, INPROC_ROOT, INPROC_ROOT_L1, KiB, Measurement, MiB, RAW_HEADER_BYTES, RAW_ROOT, RawOp, RawState, SHARE_ROOT,
  SPIN_MS, microsPerOp, microsPerOpAsync, opfsDir, pollFor,
} from './protocol.js';

// Fixed fids of the benchmark's 9P session.
const ROOT = 1, DATA = 2, D100 = 3, SCRATCH = 10, SCRATCH2 = 11;
const FILES_PER_DIR = 100;
const O_DIR_READ = OpenFlag.ReadOnly | OpenFlag.Directory;

/** A 9P session over the channel, with the few messages the benchmark needs. */
class P9 {
  readonly c: SyncP9Client;

  constructor(endpoint: ChannelEndpoint) {
    this.c = new SyncP9Client(new SyncChannelClient(endpoint));
    this.c.version();
    this.c.rpc(MessageType.Tattach, { fid: ROOT, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  }

  rpc<T extends RequestType>(type: T, f: Request<T>): Reply<T> { return this.c.rpc(type, f); }
  walk(fid: number, newfid: number, names: string[]): void { this.rpc(MessageType.Twalk, { fid, newfid, names }); }
  lopen(fid: number, flags: number): void { this.rpc(MessageType.Tlopen, { fid, flags }); }
  clunk(fid: number): void { this.rpc(MessageType.Tclunk, { fid }); }
  mkdir(dfid: number, name: string): void { this.rpc(MessageType.Tmkdir, { dfid, name, mode: 0o755, gid: 0 }); }
  write(fid: number, offset: number, data: Uint8Array): void { this.rpc(MessageType.Twrite, { fid, offset, data }); }

  /** Clone of `dir` + Tlcreate + Twrite + Tclunk: what creating and writing a small file costs a client. */
  createFile(dir: number, name: string, data: Uint8Array): void {
    this.walk(dir, SCRATCH2, []);
    this.rpc(MessageType.Tlcreate, { fid: SCRATCH2, name, flags: OpenFlag.ReadWrite | OpenFlag.Create, mode: 0o644, gid: 0 });
    this.write(SCRATCH2, 0, data);
    this.clunk(SCRATCH2);
  }

  /** Treaddir from offset 0 until an empty reply, like getdents; returns the entry count. */
  readdirAll(fid: number): number {
    let offset = 0, count = 0;
    for (;;) {
      const entries = decodeDirEntries(this.rpc(MessageType.Treaddir, { fid, offset, count: this.c.msize - IO_OVERHEAD }).data);
      if (entries.length === 0) return count;
      count += entries.length;
      offset = entries[entries.length - 1]!.offset;
    }
  }
}

/**
 * An M1 or L1 server called directly in this worker, without the channel: how much of a 9P
 * operation is encoding, decoding and handle() itself. Messages live in a SharedArrayBuffer as
 * they do in a slot.
 */
class InProcess {
  private readonly msize = MiB + 4096;
  /** A real channel slot's data area, so messages sit at the same alignment as through the channel. */
  private readonly buf = slotsOf({ connection: new SharedArrayBuffer(connectionBytes(1, this.msize)), slots: 1, slotBytes: this.msize })[0]!.data;

  private constructor(private readonly server: NinePServer, private readonly session: number) {}

  static async open(root: string, backend: 'm1' | 'l1'): Promise<InProcess> {
    const server: NinePServer = backend === 'l1'
      ? await L1Server.open(root, new URL('../../src/l1.wasm', import.meta.url))
      : await M1Server.open(root);
    const p = new InProcess(server, server.openSession(MiB + 4096));
    await p.rpc(MessageType.Tversion, { msize: p.msize, version: '9P2000.L' });
    await p.rpc(MessageType.Tattach, { fid: ROOT, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
    return p;
  }

  async rpc<T extends RequestType>(type: T, fields: Request<T>): Promise<Reply<T>> {
    const n = encodeMessage<RequestType>(type, 1, fields, this.buf).length;
    const length = await this.server.handle(this.session, this.buf.subarray(0, n), this.buf);
    return replyTo(this.buf.subarray(0, length), type, false);
  }

  /** Like SyncP9Client.readInto: one copy out of the (shared) reply buffer. */
  async readInto(fid: number, offset: number, dest: Uint8Array): Promise<void> {
    dest.set((await this.rpc(MessageType.Tread, { fid, offset, count: dest.length })).data);
  }

  async readdirAll(fid: number): Promise<number> {
    let offset = 0, count = 0;
    for (;;) {
      const entries = decodeDirEntries((await this.rpc(MessageType.Treaddir, { fid, offset, count: this.msize - IO_OVERHEAD })).data);
      if (entries.length === 0) return count;
      count += entries.length;
      offset = entries[entries.length - 1]!.offset;
    }
  }

  async createFile(dir: number, name: string, data: Uint8Array): Promise<void> {
    await this.rpc(MessageType.Twalk, { fid: dir, newfid: SCRATCH2, names: [] });
    await this.rpc(MessageType.Tlcreate, { fid: SCRATCH2, name, flags: OpenFlag.ReadWrite | OpenFlag.Create, mode: 0o644, gid: 0 });
    await this.rpc(MessageType.Twrite, { fid: SCRATCH2, offset: 0, data });
    await this.rpc(MessageType.Tclunk, { fid: SCRATCH2 });
  }
}

/** Client side of the raw channel to an echo worker (Atomics.wait while waiting, like SyncChannelClient). */
class RawChannel {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;

  constructor(sab: SharedArrayBuffer, private readonly spin = false) {
    this.ctrl = new Int32Array(sab, 0, 4);
    this.data = new Uint8Array(sab, RAW_HEADER_BYTES);
  }

  call(op: RawOp, n = 0, at = 0): void {
    const ctrl = this.ctrl;
    ctrl[1] = op; ctrl[2] = n; ctrl[3] = at;
    Atomics.store(ctrl, 0, RawState.Request);
    Atomics.notify(ctrl, 0);
    if (this.spin) pollFor(SPIN_MS, () => Atomics.load(ctrl, 0) === RawState.Response);
    for (let s = Atomics.load(ctrl, 0); s !== RawState.Response; s = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, s);
    Atomics.store(ctrl, 0, RawState.Idle);
  }

  /** A read served by the echo worker, copied out as the 9P client copies out of its slot. */
  read(dest: Uint8Array, at: number): void {
    this.call(RawOp.Read, dest.length, at);
    dest.set(this.data.subarray(0, dest.length));
  }

  fill(dest: Uint8Array): void {
    this.call(RawOp.Fill, dest.length);
    dest.set(this.data.subarray(0, dest.length));
  }

  write(src: Uint8Array, at: number): void {
    this.data.set(src);
    this.call(RawOp.Write, src.length, at);
  }
}

// ---- state kept between tasks ----

let opts: BenchOptions;
let p9: P9 | null = null;
/** The same session against an L1 server on its own share, measured beside M1 in every run. */
let l1: P9 | null = null;
let inProcess: InProcess;
let inProcessL1: InProcess | null = null;
let echo: RawChannel;
let echoAsync: RawChannel;
let echoSpin: RawChannel;
let rawFile: FileSystemSyncAccessHandle;
let rawRoot: FileSystemDirectoryHandle;
let rawRenameFiles: FileSystemFileHandle[] = [];
/** Current names of the renamed directories (they alternate between -a and -b). */
let rawRenameName = 'ren-a';
const p9RenameName: Record<string, string> = { p9: 'ren-a', l1: 'ren-a' };
const measurements: Record<string, Measurement> = {};

const buf4k = new Uint8Array(4 * KiB).map((_, i) => i * 7);
const dest4k = new Uint8Array(4 * KiB);
const dest1m = new Uint8Array(MiB);
/** 4 KiB-aligned offsets in a 1 MiB file, in a fixed pseudo-random order shared by 9P and raw runs. */
const offsets = Array.from({ length: 256 }, (_, i) => ((i * 97) % 256) * 4 * KiB);
const off = (i: number) => offsets[((i % offsets.length) + offsets.length) % offsets.length]!;

function record(key: string, iterations: number, microsPerOperation: number): void {
  const m = (measurements[key] ??= { runs: [], iterations });
  m.runs.push(microsPerOperation);
}

const iters = (n: number) => Math.max(1, Math.round(n * opts.scale));

/** Warm-up (a tenth as many, untimed) then one timed batch, recorded under `key`. */
function measure(key: string, n: number, op: (i: number) => void): void {
  const count = iters(n);
  for (let i = 0; i < Math.max(1, Math.ceil(count / 10)); i++) op(i);
  record(key, count, microsPerOp(count, op));
}

async function measureAsync(key: string, n: number, warmUp: number, op: (i: number) => Promise<void>): Promise<void> {
  const count = iters(n);
  for (let i = 0; i < warmUp; i++) await op(-1 - i);
  record(key, count, await microsPerOpAsync(count, op));
}

// ---- tasks ----

const tasks = {
  /** Creates the raw side's files (before the echo workers open theirs). */
  async setupRaw(options: BenchOptions): Promise<void> {
    opts = options;
    rawRoot = await opfsDir(RAW_ROOT);
    for (const name of ['raw.bin', 'served-wait.bin', 'served-async.bin', 'served-spin.bin']) {
      const h = await (await rawRoot.getFileHandle(name, { create: true })).createSyncAccessHandle();
      h.write(new Uint8Array(MiB).fill(1), { at: 0 });
      h.flush();
      if (name === 'raw.bin') rawFile = h; else h.close();
    }
    const ren = await rawRoot.getDirectoryHandle(rawRenameName, { create: true });
    for (let i = 0; i < FILES_PER_DIR; i++) rawRenameFiles.push(await ren.getFileHandle(`file-${i}`, { create: true }));
  },

  attachEcho(sabWait: SharedArrayBuffer, sabAsync: SharedArrayBuffer, sabSpin: SharedArrayBuffer): void {
    echo = new RawChannel(sabWait);
    echoAsync = new RawChannel(sabAsync);
    echoSpin = new RawChannel(sabSpin, true);
  },

  /** Fills a share through 9P: a 1 MiB file, a directory of 100 files, one to rename. */
  setupShare(endpoint: ChannelEndpoint, backend: 'm1' | 'l1' = 'm1'): void {
    const s = new P9(endpoint);
    if (backend === 'l1') l1 = s; else p9 = s;
    const fill = new Uint8Array(MiB).fill(2);
    s.createFile(ROOT, 'data.bin', fill);
    for (const dir of ['d100', 'ren-a']) {
      s.mkdir(ROOT, dir);
      s.walk(ROOT, SCRATCH, [dir]);
      for (let i = 0; i < FILES_PER_DIR; i++) s.createFile(SCRATCH, `file-${i}`, buf4k.subarray(0, 100));
      s.clunk(SCRATCH);
    }
    openFixedFids(s);
  },

  /** The same files as the share, served by an M1 and (with JSPI) an L1 server inside this worker. */
  async setupInProcess(withL1: boolean): Promise<void> {
    inProcess = await InProcess.open(`/${INPROC_ROOT}`, 'm1');
    inProcessL1 = withL1 ? await InProcess.open(`/${INPROC_ROOT_L1}`, 'l1') : null;
    for (const s of inProcessL1 ? [inProcess, inProcessL1] : [inProcess]) {
      await s.createFile(ROOT, 'data.bin', new Uint8Array(MiB).fill(2));
      await s.rpc(MessageType.Tmkdir, { dfid: ROOT, name: 'd100', mode: 0o755, gid: 0 });
      await s.rpc(MessageType.Twalk, { fid: ROOT, newfid: SCRATCH, names: ['d100'] });
      for (let i = 0; i < FILES_PER_DIR; i++) await s.createFile(SCRATCH, `file-${i}`, buf4k.subarray(0, 100));
      await s.rpc(MessageType.Tclunk, { fid: SCRATCH });
      await s.rpc(MessageType.Twalk, { fid: ROOT, newfid: DATA, names: ['data.bin'] });
      await s.rpc(MessageType.Tlopen, { fid: DATA, flags: OpenFlag.ReadWrite });
      await s.rpc(MessageType.Twalk, { fid: ROOT, newfid: D100, names: ['d100'] });
      await s.rpc(MessageType.Tlopen, { fid: D100, flags: O_DIR_READ });
    }
  },

  /** Every warm measurement, floor first, repeated `runs` times; M1 ("p9.*") and L1 ("l1.*") back to back. */
  async suite(): Promise<void> {
    for (let run = 0; run < opts.runs; run++) {
      // M1 first in even runs, L1 first in odd ones: under load, whichever goes second in a pair
      // of batches was measurably disadvantaged (the first server's worker still spinning or idling).
      const servers: [string, P9][] = l1 ? [['p9', p9!], ['l1', l1]] : [['p9', p9!]];
      const inProcesses: [string, InProcess][] = inProcessL1 ? [['inproc', inProcess], ['inprocl1', inProcessL1]] : [['inproc', inProcess]];
      if (run % 2 === 1) { servers.reverse(); inProcesses.reverse(); }
      // Round trips with no file system at all.
      measure('sab.empty', 2000, () => echo.call(RawOp.Empty));
      measure('sab.4k', 2000, () => echo.fill(dest4k));
      measure('sab.1m', 300, () => echo.fill(dest1m));
      measure('sabAsync.empty', 2000, () => echoAsync.call(RawOp.Empty));
      measure('sabSpin.empty', 2000, () => echoSpin.call(RawOp.Empty));

      measure('raw.read4k', 2000, (i) => rawFile.read(dest4k, { at: off(i) }));
      measure('served.read4k', 2000, (i) => echo.read(dest4k, off(i)));
      measure('servedAsync.read4k', 2000, (i) => echoAsync.read(dest4k, off(i)));
      measure('servedSpin.read4k', 2000, (i) => echoSpin.read(dest4k, off(i)));
      for (const [k, s] of servers) measure(`${k}.read4k`, 2000, (i) => { s.c.readInto(DATA, off(i), dest4k); });
      for (const [k, p] of inProcesses) await measureAsync(`${k}.read4k`, 2000, 200, (i) => p.readInto(DATA, off(i), dest4k));

      measure('raw.read1m', 300, () => rawFile.read(dest1m, { at: 0 }));
      measure('served.read1m', 300, () => echo.read(dest1m, 0));
      for (const [k, s] of servers) measure(`${k}.read1m`, 300, () => { s.c.readInto(DATA, 0, dest1m); });
      for (const [k, p] of inProcesses) await measureAsync(`${k}.read1m`, 300, 30, () => p.readInto(DATA, 0, dest1m));

      measure('raw.write4k', 2000, (i) => rawFile.write(buf4k, { at: off(i) }));
      measure('served.write4k', 2000, (i) => echo.write(buf4k, off(i)));
      for (const [k, s] of servers) measure(`${k}.write4k`, 2000, (i) => s.write(DATA, off(i), buf4k));
      for (const [k, p] of inProcesses) await measureAsync(`${k}.write4k`, 2000, 200, async (i) => { await p.rpc(MessageType.Twrite, { fid: DATA, offset: off(i), data: buf4k }); });

      for (const [k, s] of servers) measure(`${k}.getattr`, 2000, () => { s.rpc(MessageType.Tgetattr, { fid: DATA, requestMask: GetattrMask.Basic }); });
      for (const [k, p] of inProcesses) await measureAsync(`${k}.getattr`, 2000, 200, async () => { await p.rpc(MessageType.Tgetattr, { fid: DATA, requestMask: GetattrMask.Basic }); });

      for (const [k, s] of servers) measure(`${k}.readdir100`, 1000, () => { if (s.readdirAll(D100) !== FILES_PER_DIR + 2) throw new Error('d100 lost entries'); });
      for (const [k, p] of inProcesses) await measureAsync(`${k}.readdir100`, 1000, 100, async () => { await p.readdirAll(D100); });
      for (const [k, p] of inProcesses) {
        await measureAsync(`${k}.opendir100`, 500, 50, async () => {
          await p.rpc(MessageType.Twalk, { fid: ROOT, newfid: SCRATCH, names: ['d100'] });
          await p.rpc(MessageType.Tlopen, { fid: SCRATCH, flags: O_DIR_READ });
          await p.readdirAll(SCRATCH);
          await p.rpc(MessageType.Tclunk, { fid: SCRATCH });
        });
      }
      for (const [k, s] of servers) {
        measure(`${k}.opendir100`, 500, () => {
          s.walk(ROOT, SCRATCH, ['d100']);
          s.lopen(SCRATCH, O_DIR_READ);
          s.readdirAll(SCRATCH);
          s.clunk(SCRATCH);
        });
      }

      // Creating files: a fresh directory per run on every side.
      const rawDir = await rawRoot.getDirectoryHandle(`create-${run}`, { create: true });
      await measureAsync('raw.create', 50, 3, async (i) => {
        const h = await (await rawDir.getFileHandle(`f${i}`, { create: true })).createSyncAccessHandle();
        h.write(buf4k, { at: 0 });
        h.close();
      });
      for (const [k, s] of servers) {
        s.mkdir(ROOT, `create-${run}`);
        s.walk(ROOT, SCRATCH, [`create-${run}`]);
        await measureAsync(`${k}.create`, 50, 3, async (i) => s.createFile(SCRATCH, `f${i}`, buf4k));
        s.clunk(SCRATCH);
      }

      // Renaming a directory of 100 files (OPFS moves directories file by file).
      await measureAsync('raw.renameDir100', 3, 1, async () => {
        const to = rawRenameName === 'ren-a' ? 'ren-b' : 'ren-a';
        const dst = await rawRoot.getDirectoryHandle(to, { create: true });
        for (let i = 0; i < rawRenameFiles.length; i++) await rawRenameFiles[i]!.move(dst, `file-${i}`);
        await rawRoot.removeEntry(rawRenameName);
        rawRenameName = to;
      });
      for (const [k, s] of servers) {
        await measureAsync(`${k}.renameDir100`, 3, 1, async () => {
          const to = p9RenameName[k] === 'ren-a' ? 'ren-b' : 'ren-a';
          s.rpc(MessageType.Trenameat, { oldDirFid: ROOT, oldName: p9RenameName[k]!, newDirFid: ROOT, newName: to });
          p9RenameName[k] = to;
        });
      }
    }
  },

  /**
   * After a restart of the storage worker: the first readdir of d100 through 9P (walk and open
   * untimed) and a raw listing of the same OPFS directory on a fresh handle, in the given order.
   */
  async cold(endpoint: ChannelEndpoint, rawFirst: boolean): Promise<{ p9: number; raw: number }> {
    const s = p9 = new P9(endpoint);
    s.walk(ROOT, D100, ['d100']);
    s.lopen(D100, O_DIR_READ);
    // Let the restart settle (the old worker's teardown, the new one's idle flush) so the
    // timing is of the readdir, not of a busy CPU; a guest's first `ls` comes later than this too.
    await new Promise((r) => setTimeout(r, 300));
    const viaP9 = () => {
      const t0 = performance.now();
      const n = s.readdirAll(D100);
      const t = performance.now() - t0;
      if (n !== FILES_PER_DIR + 2) throw new Error(`cold readdir saw ${n} entries`);
      return t * 1000;
    };
    const raw = async () => {
      const dir = await opfsDir(`${SHARE_ROOT}/d100`, false);
      let n = 0;
      const t0 = performance.now();
      for await (const _ of dir.entries()) n++;
      const t = performance.now() - t0;
      if (n !== FILES_PER_DIR) throw new Error(`raw listing saw ${n} entries`);
      return t * 1000;
    };
    let result: { p9: number; raw: number };
    if (rawFirst) { const r = await raw(); result = { raw: r, p9: viaP9() }; }
    else { const p = viaP9(); result = { p9: p, raw: await raw() }; }
    record('p9.readdir100.cold', 1, result.p9);
    record('raw.list100.cold', 1, result.raw);
    return result;
  },

  /** The cold readdir of d100 on a restarted L1 storage worker (walk and open untimed). */
  async coldL1(endpoint: ChannelEndpoint): Promise<number> {
    const s = l1 = new P9(endpoint);
    s.walk(ROOT, D100, ['d100']);
    s.lopen(D100, O_DIR_READ);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const n = s.readdirAll(D100);
    const t = (performance.now() - t0) * 1000;
    if (n !== FILES_PER_DIR + 2) throw new Error(`cold readdir (L1) saw ${n} entries`);
    record('l1.readdir100.cold', 1, t);
    return t;
  },

  /** A share of 100 directories x 100 empty files made with raw OPFS (9P would take minutes). */
  async populateBig(): Promise<number> {
    const t0 = performance.now();
    const root = await opfsDir(BIG_ROOT);
    const fillDir = async (d: number) => {
      const dir = await root.getDirectoryHandle(`dir-${d}`, { create: true });
      for (let f = 0; f < FILES_PER_DIR; f++) await dir.getFileHandle(`file-${f}`, { create: true });
    };
    // Several directories at once: OPFS calls are served off-thread, so they overlap.
    const dirs = Array.from({ length: 100 }, (_, d) => d);
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let d = dirs.shift(); d !== undefined; d = dirs.shift()) await fillDir(d);
    }));
    return performance.now() - t0;
  },

  results(): Record<string, Measurement> {
    return measurements;
  },
};

function openFixedFids(s: P9): void {
  s.walk(ROOT, DATA, ['data.bin']);
  s.lopen(DATA, OpenFlag.ReadWrite);
  s.walk(ROOT, D100, ['d100']);
  s.lopen(D100, O_DIR_READ);
}

export type BenchTasks = typeof tasks;
export interface TaskRequest { id: number; task: keyof BenchTasks; args: unknown[] }
export interface TaskReply { id: number; ok: boolean; result?: unknown; error?: string }

self.onmessage = async (e: MessageEvent<TaskRequest>) => {
  const { id, task, args } = e.data;
  let reply: TaskReply;
  try {
    reply = { id, ok: true, result: await (tasks[task] as (...a: unknown[]) => unknown)(...args) };
  } catch (err) {
    reply = { id, ok: false, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) };
  }
  self.postMessage(reply);
};
