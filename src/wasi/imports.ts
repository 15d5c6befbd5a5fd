// Our own wasiImport entries for the calls @bjorn3/browser_wasi_shim 0.4 gets wrong or cannot route
// to an Fd: fd numbers reused after close, rename/link/symlink/readlink on the OPFS share, and a
// poll_oneoff that takes any number of clock and fd subscriptions and sleeps instead of spinning.
// They also keep the shares' sessions coherent (session.ts): writes gathered for a moment are sent
// and what was remembered is forgotten whenever the program sleeps or exits.

import { Fd, WASI, wasi } from '@bjorn3/browser_wasi_shim';
import { OpfsDirectory, OpfsFile } from './opfs-fd.js';
import { wasiErrnoOf } from './errno.js';
import { P9Session } from './session.js';

/** An fd that can say whether a read would block, and sleep until it would not (stdin). */
export interface PollableFd {
  /** Bytes readable now without blocking (or 1 at end of input, where a read returns 0 at once). */
  readableBytes(): number;
  /** Sleeps until something is readable or `timeoutMs` passes (Infinity: no limit). */
  waitReadable(timeoutMs: number): void;
}

function isPollable(fd: Fd | undefined): fd is Fd & PollableFd {
  return !!fd && typeof (fd as Partial<PollableFd>).waitReadable === 'function';
}

const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
/** What poll_oneoff sleeps on when no polled fd can wake it; made on first use, since a page without
 * COOP/COEP has no SharedArrayBuffer and must still be able to load this module. */
let sleepCell: Int32Array | null = null;

const decoder = new TextDecoder();
const monotonicNs = () => BigInt(Math.round(performance.now() * 1e6));
// performance.timeOrigin + now() rather than Date.now(): microseconds, not milliseconds.
const realtimeNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

/**
 * Replaces the shim's entries on `w.wasiImport`; call before instantiating the module, with the
 * shares already among `w.fds` (as preopens).
 */
export function installOpfsImports(w: WASI): void {
  const imports = w.wasiImport;
  const memory = () => w.inst.exports.memory.buffer;
  const sessions = sessionsOf(w.fds);
  const tick = () => { for (const s of sessions) s.tick(); };
  const settle = () => { for (const s of sessions) s.settle(); };
  // A view of the memory, made again when the memory grows (its buffer changes).
  let view: DataView | null = null;
  const dataView = () => (view?.buffer === memory() ? view : view = new DataView(memory()));
  const text = (ptr: number, len: number) => decoder.decode(new Uint8Array(memory(), ptr, len));
  const dir = (fd: number): OpfsDirectory | null => {
    const f = w.fds[fd];
    return f instanceof OpfsDirectory ? f : null;
  };
  const shim = { ...imports };

  // The shim always appends, so a program that opens and closes files in a loop runs out of fd numbers.
  imports.path_open = (fd: number, dirflags: number, pathPtr: number, pathLen: number, oflags: number,
    rightsBase: bigint, rightsInheriting: bigint, fdflags: number, openedPtr: number): number => {
    const parent = w.fds[fd];
    if (!parent) return wasi.ERRNO_BADF;
    const { ret, fd_obj } = parent.path_open(dirflags, text(pathPtr, pathLen), oflags, rightsBase, rightsInheriting, fdflags);
    if (ret !== wasi.ERRNO_SUCCESS || !fd_obj) return ret;
    let slot = w.fds.findIndex((f, i) => i > 2 && f === undefined);
    if (slot < 0) slot = w.fds.push(fd_obj) - 1;
    else w.fds[slot] = fd_obj;
    new DataView(memory()).setUint32(openedPtr, slot, true);
    return wasi.ERRNO_SUCCESS;
  };

  imports.path_rename = (fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number => {
    const from = dir(fd);
    const to = dir(newFd);
    if (!from && !to) return (shim.path_rename as typeof imports.path_rename)(fd, oldPtr, oldLen, newFd, newPtr, newLen) as number;
    if (!from || !to) return w.fds[fd] && w.fds[newFd] ? wasi.ERRNO_XDEV : wasi.ERRNO_BADF;
    if (!from.sameSession(to)) return wasi.ERRNO_XDEV;
    return from.rename(text(oldPtr, oldLen), to, text(newPtr, newLen));
  };

  imports.path_link = (oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number => {
    const from = dir(oldFd);
    const to = dir(newFd);
    if (!from && !to) return (shim.path_link as typeof imports.path_link)(oldFd, oldFlags, oldPtr, oldLen, newFd, newPtr, newLen) as number;
    if (!from || !to) return w.fds[oldFd] && w.fds[newFd] ? wasi.ERRNO_XDEV : wasi.ERRNO_BADF;
    if (!from.sameSession(to)) return wasi.ERRNO_XDEV;
    return to.link(from, text(oldPtr, oldLen), (oldFlags & 1) !== 0, text(newPtr, newLen));
  };

  imports.path_symlink = (targetPtr: number, targetLen: number, fd: number, pathPtr: number, pathLen: number): number => {
    const d = dir(fd);
    if (!d) return w.fds[fd] ? wasi.ERRNO_NOTSUP : wasi.ERRNO_BADF;
    return d.symlink(text(targetPtr, targetLen), text(pathPtr, pathLen));
  };

  // readlink(2) truncates to the buffer; the shim fails with EBADF instead.
  imports.path_readlink = (fd: number, pathPtr: number, pathLen: number, bufPtr: number, bufLen: number, nreadPtr: number): number => {
    const f = w.fds[fd];
    if (!f) return wasi.ERRNO_BADF;
    const { ret, data } = f.path_readlink(text(pathPtr, pathLen));
    if (ret !== wasi.ERRNO_SUCCESS || data === null) return ret;
    const bytes = new TextEncoder().encode(data).subarray(0, bufLen);
    new Uint8Array(memory()).set(bytes, bufPtr);
    new DataView(memory()).setUint32(nreadPtr, bytes.length, true);
    return wasi.ERRNO_SUCCESS;
  };

  // Reads and writes on the share go between the shared slot and the program's memory directly:
  // the shim would copy each buffer once more on the way.
  const transfer = (write: boolean, positional: boolean) => (fd: number, iovsPtr: number, iovsLen: number, ...rest: (number | bigint)[]): number => {
    const file = w.fds[fd];
    const name = `fd_${positional ? 'p' : ''}${write ? 'write' : 'read'}`;
    if (!(file instanceof OpfsFile)) {
      // A read that will block (stdin with nothing typed) is a sleep, as in poll_oneoff.
      if (!write && isPollable(file) && file.readableBytes() === 0) settle();
      return (shim[name] as (...a: unknown[]) => number)(fd, iovsPtr, iovsLen, ...rest);
    }
    let offset = positional ? Number(rest[0] as bigint) : null;
    const donePtr = rest[positional ? 1 : 0] as number;
    const view = new DataView(memory());
    let done = 0;
    try {
      for (let i = 0; i < iovsLen; i++) {
        const buf = view.getUint32(iovsPtr + i * 8, true);
        const len = view.getUint32(iovsPtr + i * 8 + 4, true);
        const bytes = new Uint8Array(memory(), buf, len);
        const n = write ? file.writeFrom(bytes, offset) : file.readInto(bytes, offset);
        done += n;
        if (offset !== null) offset += n;
        if (n < len) break;
      }
    } catch (e) {
      if (done === 0) return wasiErrnoOf(e);
    }
    view.setUint32(donePtr, done, true);
    return wasi.ERRNO_SUCCESS;
  };
  imports.fd_read = transfer(false, false);
  imports.fd_pread = transfer(false, true);
  imports.fd_write = transfer(true, false);
  imports.fd_pwrite = transfer(true, true);

  imports.poll_oneoff = (inPtr: number, outPtr: number, count: number, neventsPtr: number): number => {
    tick();
    return pollOneoff(w.fds, dataView(), inPtr, outPtr, count, neventsPtr, settle);
  };

  // Emulators read the clock thousands of times a second: no allocation but the BigInt.
  imports.clock_time_get = (id: number, _precision: bigint, timePtr: number): number => {
    tick();
    if (id === wasi.CLOCKID_REALTIME) dataView().setBigUint64(timePtr, realtimeNs(), true);
    else if (id === wasi.CLOCKID_MONOTONIC) dataView().setBigUint64(timePtr, monotonicNs(), true);
    else return wasi.ERRNO_INVAL;
    return wasi.ERRNO_SUCCESS;
  };

  // Gathered writes reach the share before the program ends, however it ends.
  imports.proc_exit = (code: number): never => {
    settle();
    return (shim.proc_exit as (c: number) => never)(code);
  };
  const start = w.start.bind(w);
  w.start = (instance) => {
    try {
      return start(instance);
    } finally {
      settle();
    }
  };
}

/** Every P9Session behind these fds (the shares preopened for a program). */
function sessionsOf(fds: (Fd | undefined)[]): P9Session[] {
  return [...new Set(fds.filter((f): f is OpfsDirectory => f instanceof OpfsDirectory).map((d) => d.session))];
}

interface ClockSub { userdata: bigint; deadline: bigint }
interface FdSub { userdata: bigint; fd: number; type: number }

/**
 * poll_oneoff: reports every subscription that is ready, else sleeps (Atomics.wait, on stdin when
 * one is polled) until the earliest clock deadline or input, whichever comes first.
 */
export function pollOneoff(fds: (Fd | undefined)[], view: DataView, inPtr: number, outPtr: number, count: number, neventsPtr: number, beforeSleep?: () => void): number {
  if (count === 0) return wasi.ERRNO_INVAL;
  const clocks: ClockSub[] = [];
  const fdSubs: FdSub[] = [];
  for (let i = 0; i < count; i++) {
    const p = inPtr + i * SUBSCRIPTION_SIZE;
    const userdata = view.getBigUint64(p, true);
    const type = view.getUint8(p + 8);
    if (type === wasi.EVENTTYPE_CLOCK) {
      const clockId = view.getUint32(p + 16, true);
      const timeout = view.getBigUint64(p + 24, true);
      const absolute = (view.getUint16(p + 40, true) & wasi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
      let deadline: bigint;
      if (!absolute) deadline = monotonicNs() + timeout;
      else if (clockId === wasi.CLOCKID_REALTIME) deadline = monotonicNs() + (timeout - realtimeNs());
      else if (clockId === wasi.CLOCKID_MONOTONIC) deadline = timeout;
      else return wasi.ERRNO_INVAL;
      clocks.push({ userdata, deadline });
    } else {
      fdSubs.push({ userdata, fd: view.getUint32(p + 16, true), type });
    }
  }
  const waitOn = fdSubs.map((s) => fds[s.fd]).find((f) => isPollable(f)) as (Fd & PollableFd) | undefined;
  for (;;) {
    let n = 0;
    const put = (userdata: bigint, error: number, type: number, nbytes: bigint) => {
      const p = outPtr + n++ * EVENT_SIZE;
      view.setBigUint64(p, userdata, true);
      view.setUint16(p + 8, error, true);
      view.setUint8(p + 10, type);
      view.setBigUint64(p + 16, nbytes, true);
      view.setUint16(p + 24, 0, true);
    };
    for (const s of fdSubs) {
      const f = fds[s.fd];
      if (!f) put(s.userdata, wasi.ERRNO_BADF, s.type, 0n);
      else if (s.type === wasi.EVENTTYPE_FD_READ && isPollable(f)) {
        const ready = f.readableBytes();
        if (ready > 0) put(s.userdata, 0, s.type, BigInt(ready));
      } else put(s.userdata, 0, s.type, 0n); // files and output never block
    }
    const now = monotonicNs();
    let earliest: bigint | null = null;
    for (const c of clocks) {
      if (c.deadline <= now) put(c.userdata, 0, wasi.EVENTTYPE_CLOCK, 0n);
      else if (earliest === null || c.deadline < earliest) earliest = c.deadline;
    }
    if (n > 0) {
      view.setUint32(neventsPtr, n, true);
      return wasi.ERRNO_SUCCESS;
    }
    const timeoutMs = earliest === null ? Infinity : Math.max(0, Number(earliest - now) / 1e6);
    beforeSleep?.();
    if (waitOn) waitOn.waitReadable(timeoutMs);
    else Atomics.wait(sleepCell ??= new Int32Array(new SharedArrayBuffer(4)), 0, 0, timeoutMs);
  }
}
