// Linux errno values. 9P2000.L carries them as is in Rlerror, so the store raises them too.

export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29,
  EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38,
  ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, EPROTO: 71, EBADMSG: 74, EOVERFLOW: 75, EILSEQ: 84, EMSGSIZE: 90,
  EOPNOTSUPP: 95, ETIMEDOUT: 110, ESTALE: 116, EDQUOT: 122, ECANCELED: 125,
} as const;

export type ErrnoName = keyof typeof Errno;

const names = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

/** A POSIX failure with its Linux errno; the server turns it into Rlerror, clients rethrow it. */
export class FsError extends Error {
  constructor(readonly errno: number, detail?: string) {
    super(detail ? `${errnoName(errno)}: ${detail}` : errnoName(errno));
  }
  get code(): string { return errnoName(this.errno); }
}

/** Maps what OPFS throws to the errno a POSIX caller expects. */
export function errnoFromDomError(e: unknown): number {
  if (e instanceof FsError) return e.errno;
  const name = (e as { name?: string } | null)?.name;
  switch (name) {
    case 'QuotaExceededError': return Errno.ENOSPC;
    case 'NotFoundError': return Errno.ENOENT;
    case 'TypeMismatchError': return Errno.ENOTDIR;
    case 'InvalidModificationError': return Errno.ENOTEMPTY;
    case 'NoModificationAllowedError': return Errno.EBUSY;
    case 'NotAllowedError': case 'SecurityError': return Errno.EACCES;
    case 'TypeError': return Errno.EINVAL;
    default: return Errno.EIO;
  }
}

export function toFsError(e: unknown): FsError {
  if (e instanceof FsError) return e;
  return new FsError(errnoFromDomError(e), e instanceof Error ? `${e.name}: ${e.message}` : String(e));
}
