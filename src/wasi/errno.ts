// Linux errno (what 9P2000.L's Rlerror carries) to WASI errno: the two numberings differ.

import { wasi } from '@bjorn3/browser_wasi_shim';
import { FsError } from '../wire/errno.js';

const LINUX_TO_WASI: Record<number, number> = {
  1: wasi.ERRNO_PERM, 2: wasi.ERRNO_NOENT, 3: wasi.ERRNO_SRCH, 4: wasi.ERRNO_INTR, 5: wasi.ERRNO_IO,
  6: wasi.ERRNO_NXIO, 7: wasi.ERRNO_2BIG, 8: wasi.ERRNO_NOEXEC, 9: wasi.ERRNO_BADF, 10: wasi.ERRNO_CHILD,
  11: wasi.ERRNO_AGAIN, 12: wasi.ERRNO_NOMEM, 13: wasi.ERRNO_ACCES, 14: wasi.ERRNO_FAULT, 16: wasi.ERRNO_BUSY,
  17: wasi.ERRNO_EXIST, 18: wasi.ERRNO_XDEV, 19: wasi.ERRNO_NODEV, 20: wasi.ERRNO_NOTDIR, 21: wasi.ERRNO_ISDIR,
  22: wasi.ERRNO_INVAL, 23: wasi.ERRNO_NFILE, 24: wasi.ERRNO_MFILE, 25: wasi.ERRNO_NOTTY, 26: wasi.ERRNO_TXTBSY,
  27: wasi.ERRNO_FBIG, 28: wasi.ERRNO_NOSPC, 29: wasi.ERRNO_SPIPE, 30: wasi.ERRNO_ROFS, 31: wasi.ERRNO_MLINK,
  32: wasi.ERRNO_PIPE, 33: wasi.ERRNO_DOM, 34: wasi.ERRNO_RANGE, 35: wasi.ERRNO_DEADLK, 36: wasi.ERRNO_NAMETOOLONG,
  37: wasi.ERRNO_NOLCK, 38: wasi.ERRNO_NOSYS, 39: wasi.ERRNO_NOTEMPTY, 40: wasi.ERRNO_LOOP,
  // ENODATA (no such xattr) has no WASI twin; callers only see it from attribute lookups.
  61: wasi.ERRNO_NOENT, 71: wasi.ERRNO_PROTO, 74: wasi.ERRNO_BADMSG, 75: wasi.ERRNO_OVERFLOW, 84: wasi.ERRNO_ILSEQ,
  90: wasi.ERRNO_MSGSIZE, 95: wasi.ERRNO_NOTSUP, 110: wasi.ERRNO_TIMEDOUT, 116: wasi.ERRNO_STALE,
  122: wasi.ERRNO_DQUOT, 125: wasi.ERRNO_CANCELED,
};

export function wasiErrno(linuxErrno: number): number {
  return LINUX_TO_WASI[linuxErrno] ?? wasi.ERRNO_IO;
}

/** The WASI errno for anything a 9P call threw: the server's errno, or EIO when the channel itself failed. */
export function wasiErrnoOf(e: unknown): number {
  if (e instanceof WasiError) return e.errno;
  if (e instanceof FsError) return wasiErrno(e.errno);
  return wasi.ERRNO_IO;
}

/** A failure decided on the WASI side (bad path, wrong file type), already in WASI numbering. */
export class WasiError extends Error {
  constructor(readonly errno: number, detail = '') {
    super(`WASI errno ${errno}${detail ? `: ${detail}` : ''}`);
  }
}
