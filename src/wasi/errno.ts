// Linux errno (what 9P2000.L's Rlerror carries) to WASI errno: the two numberings differ.

import { wasi } from '@bjorn3/browser_wasi_shim';
import { Errno, FsError } from '../wire/errno.js';

const LINUX_TO_WASI: Record<number, number> = {
  [Errno.EPERM]: wasi.ERRNO_PERM, [Errno.ENOENT]: wasi.ERRNO_NOENT, [Errno.ESRCH]: wasi.ERRNO_SRCH,
  [Errno.EINTR]: wasi.ERRNO_INTR, [Errno.EIO]: wasi.ERRNO_IO, [Errno.ENXIO]: wasi.ERRNO_NXIO, [Errno.E2BIG]: wasi.ERRNO_2BIG,
  [Errno.ENOEXEC]: wasi.ERRNO_NOEXEC, [Errno.EBADF]: wasi.ERRNO_BADF, [Errno.ECHILD]: wasi.ERRNO_CHILD,
  [Errno.EAGAIN]: wasi.ERRNO_AGAIN, [Errno.ENOMEM]: wasi.ERRNO_NOMEM, [Errno.EACCES]: wasi.ERRNO_ACCES,
  [Errno.EFAULT]: wasi.ERRNO_FAULT, [Errno.EBUSY]: wasi.ERRNO_BUSY, [Errno.EEXIST]: wasi.ERRNO_EXIST,
  [Errno.EXDEV]: wasi.ERRNO_XDEV, [Errno.ENODEV]: wasi.ERRNO_NODEV, [Errno.ENOTDIR]: wasi.ERRNO_NOTDIR,
  [Errno.EISDIR]: wasi.ERRNO_ISDIR, [Errno.EINVAL]: wasi.ERRNO_INVAL, [Errno.ENFILE]: wasi.ERRNO_NFILE,
  [Errno.EMFILE]: wasi.ERRNO_MFILE, [Errno.ENOTTY]: wasi.ERRNO_NOTTY, [Errno.ETXTBSY]: wasi.ERRNO_TXTBSY,
  [Errno.EFBIG]: wasi.ERRNO_FBIG, [Errno.ENOSPC]: wasi.ERRNO_NOSPC, [Errno.ESPIPE]: wasi.ERRNO_SPIPE,
  [Errno.EROFS]: wasi.ERRNO_ROFS, [Errno.EMLINK]: wasi.ERRNO_MLINK, [Errno.EPIPE]: wasi.ERRNO_PIPE,
  [Errno.EDOM]: wasi.ERRNO_DOM, [Errno.ERANGE]: wasi.ERRNO_RANGE, [Errno.EDEADLK]: wasi.ERRNO_DEADLK,
  [Errno.ENAMETOOLONG]: wasi.ERRNO_NAMETOOLONG, [Errno.ENOLCK]: wasi.ERRNO_NOLCK, [Errno.ENOSYS]: wasi.ERRNO_NOSYS,
  [Errno.ENOTEMPTY]: wasi.ERRNO_NOTEMPTY, [Errno.ELOOP]: wasi.ERRNO_LOOP,
  // ENODATA (no such xattr) has no WASI twin; callers only see it from attribute lookups.
  [Errno.ENODATA]: wasi.ERRNO_NOENT, [Errno.EPROTO]: wasi.ERRNO_PROTO, [Errno.EBADMSG]: wasi.ERRNO_BADMSG,
  [Errno.EOVERFLOW]: wasi.ERRNO_OVERFLOW, [Errno.EILSEQ]: wasi.ERRNO_ILSEQ, [Errno.EMSGSIZE]: wasi.ERRNO_MSGSIZE,
  [Errno.EOPNOTSUPP]: wasi.ERRNO_NOTSUP, [Errno.ETIMEDOUT]: wasi.ERRNO_TIMEDOUT, [Errno.ESTALE]: wasi.ERRNO_STALE,
  [Errno.EDQUOT]: wasi.ERRNO_DQUOT, [Errno.ECANCELED]: wasi.ERRNO_CANCELED,
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
