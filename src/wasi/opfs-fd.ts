// S1: WASI file descriptors for @bjorn3/browser_wasi_shim whose every call is a 9P request to the
// storage worker (through the blocking client), so a WASI program's files land in the OPFS share
// with the same metadata the v86 guest sees. Put an OpfsPreopen in a WASI's fds, and call
// installOpfsImports (imports.ts) for the calls the shim cannot route to an Fd (rename, link, symlink).

import { Fd, wasi } from '@bjorn3/browser_wasi_shim';
import { Attr, SetAttr } from '../client/file.js';
import { DirEntry, direntSize } from '../wire/codec.js';
import { Errno, FsError } from '../wire/errno.js';
import { AT_REMOVEDIR, OpenFlag, QidType, SetattrMask } from '../wire/messages.js';
import { WasiError, wasiErrnoOf } from './errno.js';
import { P9Session, S1File, WriteOwner } from './session.js';

const LOOKUP_SYMLINK_FOLLOW = 1;
/** Symlinks followed in one lookup before ELOOP, as Linux's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;
/** Every right: WASI rights are advisory here, and wasi-libc masks a new fd's rights by its directory's. */
const ALL_RIGHTS = (1n << 29n) - 1n;

const FILETYPE_BY_FMT: Record<number, number> = {
  0o100000: wasi.FILETYPE_REGULAR_FILE, 0o040000: wasi.FILETYPE_DIRECTORY, 0o120000: wasi.FILETYPE_SYMBOLIC_LINK,
  0o020000: wasi.FILETYPE_CHARACTER_DEVICE, 0o060000: wasi.FILETYPE_BLOCK_DEVICE, 0o140000: wasi.FILETYPE_SOCKET_STREAM,
};
const FILETYPE_BY_DT: Record<number, number> = {
  8: wasi.FILETYPE_REGULAR_FILE, 4: wasi.FILETYPE_DIRECTORY, 10: wasi.FILETYPE_SYMBOLIC_LINK,
  2: wasi.FILETYPE_CHARACTER_DEVICE, 6: wasi.FILETYPE_BLOCK_DEVICE, 12: wasi.FILETYPE_SOCKET_STREAM,
};

/** The shim's Filestat writes atim/mtim/ctim at the wrong offsets: this one writes WASI's layout. */
export class Filestat extends wasi.Filestat {
  override write_bytes(view: DataView, ptr: number): void {
    view.setBigUint64(ptr, this.dev, true);
    view.setBigUint64(ptr + 8, this.ino, true);
    view.setUint8(ptr + 16, this.filetype);
    view.setBigUint64(ptr + 24, this.nlink, true);
    view.setBigUint64(ptr + 32, this.size, true);
    view.setBigUint64(ptr + 40, this.atim, true);
    view.setBigUint64(ptr + 48, this.mtim, true);
    view.setBigUint64(ptr + 56, this.ctim, true);
  }

  static fromAttr(a: Attr): Filestat {
    const st = new Filestat(BigInt(a.qid.path), FILETYPE_BY_FMT[a.mode & 0o170000] ?? wasi.FILETYPE_UNKNOWN, BigInt(a.size));
    const ns = (sec: number, nsec: number) => BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    st.dev = 1n;
    st.nlink = BigInt(a.nlink);
    st.atim = ns(a.atimeSec, a.atimeNsec);
    st.mtim = ns(a.mtimeSec, a.mtimeNsec);
    st.ctim = ns(a.ctimeSec, a.ctimeNsec);
    return st;
  }
}

function fdstat(filetype: number, flags: number): wasi.Fdstat {
  const st = new wasi.Fdstat(filetype, flags);
  st.fs_rights_base = ALL_RIGHTS;
  st.fs_rights_inherited = ALL_RIGHTS;
  return st;
}

/** Runs a 9P-backed call and turns any failure into the WASI errno the caller returns. */
function errnoOf(fn: () => void): number {
  try {
    fn();
    return wasi.ERRNO_SUCCESS;
  } catch (e) {
    return wasiErrnoOf(e);
  }
}

/** Like errnoOf for the Fd calls that return a value: `failed` holds what goes with a nonzero ret. */
function attempt<T extends object, F extends object>(fn: () => T, failed: F): (T | F) & { ret: number } {
  try {
    return { ret: wasi.ERRNO_SUCCESS, ...fn() };
  } catch (e) {
    return { ...failed, ret: wasiErrnoOf(e) };
  }
}

/** The Tsetattr for WASI's fst_flags (ATIM, ATIM_NOW, MTIM, MTIM_NOW). */
function timesToSetattr(atim: bigint, mtim: bigint, flags: number): SetAttr {
  if ((flags & wasi.FSTFLAGS_ATIM && flags & wasi.FSTFLAGS_ATIM_NOW) || (flags & wasi.FSTFLAGS_MTIM && flags & wasi.FSTFLAGS_MTIM_NOW)) {
    throw new WasiError(wasi.ERRNO_INVAL, 'a time cannot be both given and now');
  }
  const sec = (t: bigint) => Number(t / 1_000_000_000n);
  const nsec = (t: bigint) => Number(t % 1_000_000_000n);
  const a: SetAttr = { valid: 0 };
  if (flags & wasi.FSTFLAGS_ATIM) {
    a.valid |= SetattrMask.Atime | SetattrMask.AtimeSet;
    a.atimeSec = sec(atim);
    a.atimeNsec = nsec(atim);
  }
  if (flags & wasi.FSTFLAGS_ATIM_NOW) a.valid |= SetattrMask.Atime;
  if (flags & wasi.FSTFLAGS_MTIM) {
    a.valid |= SetattrMask.Mtime | SetattrMask.MtimeSet;
    a.mtimeSec = sec(mtim);
    a.mtimeNsec = nsec(mtim);
  }
  if (flags & wasi.FSTFLAGS_MTIM_NOW) a.valid |= SetattrMask.Mtime;
  return a;
}

/** A path resolved against a directory fd: walk `names` from `from`; `parts` is its place in the share. */
interface Resolved { from: S1File; names: string[]; parts: string[]; mustBeDir: boolean }

/** Bytes read ahead when a program reads a file sequentially in smaller pieces. */
const READ_AHEAD = 256 * 1024;

/**
 * An open regular file (or other non-directory) on the share. Sequential reads are served from
 * data read ahead, and writes are gathered by the session (session.ts says for how long).
 */
export class OpfsFile extends Fd implements WriteOwner {
  private position = 0n;
  private flags: number;
  /** Where the last read ended: a read that starts there is sequential. */
  private lastEnd = 0;
  /** Data read ahead from `offset`; `end`: the file ended within it. */
  private ahead: { offset: number; data: Uint8Array; end: boolean; stamp: P9Session['stamp'] } | null = null;
  failedWrite: unknown = null;

  constructor(private readonly session: P9Session, readonly file: S1File, private readonly filetype: number, fdflags: number) {
    super();
    this.flags = fdflags;
  }

  /** A failure of this file's gathered writes, thrown once, by the call after them. */
  private throwFailedWrite(): void {
    const e = this.failedWrite;
    if (e === null) return;
    this.failedWrite = null;
    throw e;
  }

  override fd_close(): number {
    return errnoOf(() => {
      this.session.sendGathered();
      try {
        this.throwFailedWrite();
      } finally {
        this.file.clunk();
      }
    });
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: fdstat(this.filetype, this.flags) };
  }

  override fd_fdstat_set_flags(flags: number): number {
    this.flags = flags;
    return wasi.ERRNO_SUCCESS;
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return attempt(() => ({ filestat: Filestat.fromAttr(this.file.getattr()) }), { filestat: null });
  }

  override fd_filestat_set_size(size: bigint): number {
    return errnoOf(() => this.file.setattr({ valid: SetattrMask.Size, size: Number(size) }));
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    return errnoOf(() => {
      const t = timesToSetattr(atim, mtim, fstFlags);
      if (t.valid) this.file.setattr(t);
    });
  }

  override fd_allocate(offset: bigint, len: bigint): number {
    return errnoOf(() => {
      const end = Number(offset + len);
      if (this.file.getattr().size < end) this.file.setattr({ valid: SetattrMask.Size, size: end });
    });
  }

  override fd_sync(): number {
    return errnoOf(() => {
      this.session.sendGathered();
      this.throwFailedWrite();
      this.file.fsync();
    });
  }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    return attempt(() => {
      const out = new Uint8Array(size);
      const n = this.readInto(out, Number(offset));
      return { data: n === size ? out : out.slice(0, n) };
    }, { data: new Uint8Array() });
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    return attempt(() => {
      const out = new Uint8Array(size);
      const n = this.readInto(out, null);
      return { data: n === size ? out : out.slice(0, n) };
    }, { data: new Uint8Array() });
  }

  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    return attempt(() => ({ nwritten: this.writeFrom(data, Number(offset)) }), { nwritten: 0 });
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    return attempt(() => ({ nwritten: this.writeFrom(data, null) }), { nwritten: 0 });
  }

  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    return attempt(() => {
      let base: bigint;
      switch (whence) {
        case wasi.WHENCE_SET: base = 0n; break;
        case wasi.WHENCE_CUR: base = this.position; break;
        case wasi.WHENCE_END: base = BigInt(this.file.getattr().size); break;
        default: throw new WasiError(wasi.ERRNO_INVAL, 'bad whence');
      }
      if (base + offset < 0n) throw new WasiError(wasi.ERRNO_INVAL, 'seek before the start');
      this.position = base + offset;
      return { offset: this.position };
    }, { offset: 0n });
  }

  override fd_tell(): { ret: number; offset: bigint } {
    return { ret: 0, offset: this.position };
  }

  /**
   * Reads into `dest` (for example the program's memory) at `offset`, or at the file position when
   * offset is null. Returns the count. A sequential read smaller than READ_AHEAD reads that much
   * ahead, and the reads after it are served from there while it is valid.
   */
  readInto(dest: Uint8Array, offset: number | null): number {
    const at = offset ?? Number(this.position);
    let got = this.fromAhead(dest, at);
    if (got < 0) {
      if (dest.length < READ_AHEAD && at === this.lastEnd) {
        const data = new Uint8Array(Math.min(READ_AHEAD, this.session.ioSize));
        const n = this.readFromServer(data, at);
        this.ahead = { offset: at, data: data.subarray(0, n), end: n < data.length, stamp: this.session.stamp };
        got = this.fromAhead(dest, at);
      } else {
        got = this.readFromServer(dest, at);
      }
    }
    this.lastEnd = at + got;
    if (offset === null) this.position += BigInt(got);
    return got;
  }

  /** Copies from the data read ahead; -1 when it does not hold the whole read (nor its end of file). */
  private fromAhead(dest: Uint8Array, at: number): number {
    const a = this.ahead;
    if (!a || at < a.offset || !this.session.valid(a.stamp)) return -1;
    const from = at - a.offset;
    if (from + dest.length > a.data.length && !a.end) return -1;
    const piece = a.data.subarray(Math.min(from, a.data.length), from + dest.length);
    dest.set(piece);
    return piece.length;
  }

  /** Reads into `dest` at `at`, in as many Treads as the message size needs; stops at the end of the file. */
  private readFromServer(dest: Uint8Array, at: number): number {
    const step = this.session.ioSize;
    let got = 0;
    while (got < dest.length) {
      const n = this.session.readInto(this.file.fid, at + got, dest.subarray(got, Math.min(dest.length, got + step)));
      got += n;
      if (n === 0) break;
    }
    return got;
  }

  /** Writes `src` (a view of the program's memory) at `offset`, or at the file position when null. */
  writeFrom(src: Uint8Array, offset: number | null): number {
    this.throwFailedWrite();
    if (offset === null && this.flags & wasi.FDFLAGS_APPEND) this.position = BigInt(this.file.getattr().size);
    const n = this.session.write(this.file, offset ?? Number(this.position), src, this);
    if (offset === null) this.position += BigInt(n);
    return n;
  }
}

/**
 * An open directory on the share: path calls resolve against it; readdir lists its names without
 * "." and "..", as node:wasi does. A container2wasm emulator (TinyEMU) answers the guest's stat of a
 * preopen's root without asking the host, with whatever its previous stat left, so a listed "." of
 * the share root, or ".." of a directory in it, showed another file's size and link count.
 * Cookies count the names: entry k (from 1) has cookie k, and the next listing resumes after it;
 * TinyEMU relies on this, since it skips `cookie` entries of a fresh listing to resume one.
 */
export class OpfsDirectory extends Fd {
  /** An opened clone of `dir` for Treaddir (a fid that is open cannot be walked from). */
  private list: S1File | null = null;
  /** The last Treaddir batch: entries[i] has cookie start + i + 1; `last`: the listing ends with it. */
  private batch: { start: bigint; entries: DirEntry[]; last: boolean } | null = null;
  /** 9P offset minus cookie: the "." and ".." that M1 and L1 list before the names (learnt again at cookie 0). */
  private skew = 2;

  /**
   * @param parts where this directory is in the share (path components from its root)
   * @param floor how many of `parts` belong to the preopen: lookups may not climb above it
   */
  constructor(readonly session: P9Session, readonly dir: S1File, readonly parts: string[], protected readonly floor: number) {
    super();
  }

  override fd_close(): number {
    return errnoOf(() => {
      this.closeList();
      this.dir.clunk();
    });
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: fdstat(wasi.FILETYPE_DIRECTORY, 0) };
  }

  override fd_fdstat_set_flags(): number {
    return wasi.ERRNO_SUCCESS;
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return attempt(() => ({ filestat: Filestat.fromAttr(this.dir.getattr()) }), { filestat: null });
  }

  override fd_filestat_set_times(atim: bigint, mtim: bigint, fstFlags: number): number {
    return errnoOf(() => {
      const t = timesToSetattr(atim, mtim, fstFlags);
      if (t.valid) this.dir.setattr(t);
    });
  }

  override fd_sync(): number {
    return wasi.ERRNO_SUCCESS;
  }

  override fd_readdir_single(cookie: bigint): { ret: number; dirent: wasi.Dirent | null } {
    return attempt(() => {
      let b = this.batch;
      // Cookie 0 starts a new listing (rewinddir): always ask again so new entries show.
      const covered = b && cookie !== 0n && cookie >= b.start && (cookie < b.start + BigInt(b.entries.length) || b.last);
      if (!covered) b = this.fetchBatch(cookie);
      const entry = b!.entries[Number(cookie - b!.start)];
      if (!entry) return { dirent: null };
      const type = FILETYPE_BY_DT[entry.type] ?? wasi.FILETYPE_UNKNOWN;
      return { dirent: new wasi.Dirent(cookie + 1n, BigInt(entry.qid.path), entry.name, type) };
    }, { dirent: null });
  }

  private fetchBatch(cookie: bigint): NonNullable<OpfsDirectory['batch']> {
    if (this.list === null) {
      const list = this.dir.walk([]);
      try {
        list.open(OpenFlag.ReadOnly | OpenFlag.Directory);
      } catch (e) {
        list.clunk();
        throw e;
      }
      this.list = list;
    }
    const count = this.session.ioSize;
    const offset = cookie === 0n ? 0 : Number(cookie) + this.skew;
    const all = this.list.readdir(offset, count);
    const bytes = all.reduce((n, e) => n + direntSize(e.name), 0);
    const entries = all.filter((e) => e.name !== '.' && e.name !== '..');
    if (cookie === 0n && entries.length) this.skew = entries[0]!.offset - 1;
    this.prefetchAttributes(entries);
    // A reply with room left for the longest entry (13 + 8 + 1 + 2 + 255 bytes) ended the listing.
    return this.batch = { start: cookie, entries, last: bytes + 279 <= count };
  }

  /**
   * A program that lists a directory usually stats its entries next (ls -l, or TinyEMU looking up
   * each name the guest's readdir returned): their attributes are fetched in batches now and
   * remembered for the lookups (path_filestat_get) that follow.
   */
  private prefetchAttributes(entries: DirEntry[]): void {
    const listed = `listed:${this.parts.join('/')}`;
    if (!entries.length || this.session.recall(listed)) return;
    const attrs = this.session.statMany(this.dir, entries.map((e) => e.name));
    if (!attrs) return;
    this.session.remember(listed, true);
    attrs.forEach((a, i) => {
      if (a instanceof FsError) return;
      const path = [...this.parts, entries[i]!.name].join('/');
      const answer = { ret: wasi.ERRNO_SUCCESS, filestat: Filestat.fromAttr(a) };
      this.session.remember(`lstat:${path}`, answer);
      if ((a.mode & 0o170000) !== 0o120000) this.session.remember(`stat:${path}`, answer);
    });
  }

  private closeList(): void {
    this.batch = null;
    if (this.list !== null) {
      const list = this.list;
      this.list = null;
      list.clunk();
    }
  }

  // ---- path resolution ----

  /** Resolves a WASI path (relative to this directory) without touching the server. */
  resolve(path: string): Resolved {
    return this.resolveAt(this.dir, this.parts, path);
  }

  /**
   * Resolves `path` against the directory at `baseParts` in the share, walking from `base` when
   * the path stays below it, else from the share root (null: always from the root, for symlink targets).
   */
  private resolveAt(base: S1File | null, baseParts: string[], path: string): Resolved {
    if (path.startsWith('/')) throw new WasiError(wasi.ERRNO_NOTCAPABLE, `absolute path ${path}`);
    if (path === '') throw new WasiError(wasi.ERRNO_NOENT, 'empty path');
    const mustBeDir = path.endsWith('/');
    const names: string[] = [];
    let climbed = 0;
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part !== '..') names.push(part);
      else if (names.length) names.pop();
      else climbed++;
    }
    // Never above the preopen, whatever the '..'s.
    if (baseParts.length - climbed < this.floor) throw new WasiError(wasi.ERRNO_NOTCAPABLE, `${path} leaves the preopened directory`);
    const parts = [...baseParts.slice(0, baseParts.length - climbed), ...names];
    if (climbed === 0 && base !== null) return { from: base, names, parts, mustBeDir };
    return { from: this.session.root, names: parts, parts, mustBeDir };
  }

  /** Resolves and walks; follows a final symlink when `follow`. The caller clunks the file. */
  lookup(path: string, follow: boolean): { file: S1File; parts: string[] } {
    let r = this.resolve(path);
    for (let hops = 0; ; hops++) {
      const file = r.from.walk(r.names);
      const { qid } = file;
      const isLink = qid !== null && (qid.type & QidType.Symlink) !== 0;
      if (!isLink || (!follow && !r.mustBeDir)) {
        if (r.mustBeDir && qid && !(qid.type & QidType.Dir)) {
          file.clunk();
          throw new WasiError(wasi.ERRNO_NOTDIR, path);
        }
        return { file, parts: r.parts };
      }
      let target: string;
      try {
        target = file.readlink();
      } finally {
        file.clunk();
      }
      if (hops >= MAX_SYMLINKS) throw new WasiError(wasi.ERRNO_LOOP, path);
      // Absolute targets cannot be followed inside a preopen (the program sees other paths than the share).
      r = this.resolveAt(null, r.parts.slice(0, -1), target + (r.mustBeDir ? '/' : ''));
    }
  }

  /** Walks to the directory that holds the path's last component; `fn` gets it and the name. */
  withParent<T>(path: string, fn: (dir: S1File, name: string) => T): T {
    const r = this.resolve(path);
    const name = r.names[r.names.length - 1];
    if (name === undefined || r.names.length === 0) throw new WasiError(wasi.ERRNO_EXIST, `${path} names the directory itself`);
    return this.session.at(r.from, r.names.slice(0, -1), (dir) => fn(dir, name));
  }

  // ---- path calls the shim routes to the directory fd ----

  override path_open(dirflags: number, path: string, oflags: number, rightsBase: bigint, _rightsInheriting: bigint, fdflags: number): { ret: number; fd_obj: Fd | null } {
    return attempt(() => ({ fd_obj: this.open(dirflags, path, oflags, rightsBase, fdflags) }), { fd_obj: null });
  }

  private open(dirflags: number, path: string, oflags: number, rightsBase: bigint, fdflags: number): Fd {
    const wantsWrite = (rightsBase & BigInt(wasi.RIGHTS_FD_WRITE)) !== 0n;
    const wantsRead = (rightsBase & (BigInt(wasi.RIGHTS_FD_READ) | BigInt(wasi.RIGHTS_FD_READDIR))) !== 0n;
    const access = wantsWrite ? (wantsRead ? OpenFlag.ReadWrite : OpenFlag.WriteOnly) : OpenFlag.ReadOnly;
    const truncate = oflags & wasi.OFLAGS_TRUNC ? OpenFlag.Truncate : 0;
    if (oflags & wasi.OFLAGS_CREAT) {
      const created = this.createIfMissing(path, access | truncate, (oflags & wasi.OFLAGS_EXCL) !== 0, fdflags);
      if (created) return created;
    }
    const { file, parts } = this.lookup(path, (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const { qid } = file;
    try {
      const isDir = qid === null || (qid.type & QidType.Dir) !== 0;
      if (isDir) {
        if (wantsWrite || truncate) throw new WasiError(wasi.ERRNO_ISDIR, path);
        return new OpfsDirectory(this.session, file, parts, this.floor);
      }
      if (oflags & wasi.OFLAGS_DIRECTORY) throw new WasiError(wasi.ERRNO_NOTDIR, path);
      if (qid.type & QidType.Symlink) throw new WasiError(wasi.ERRNO_LOOP, `${path} is a symlink`);
      file.open(access | truncate);
      return new OpfsFile(this.session, file, wasi.FILETYPE_REGULAR_FILE, fdflags);
    } catch (e) {
      file.clunk();
      throw e;
    }
  }

  /** O_CREAT: creates the file unless it exists (EEXIST with O_EXCL); null means open the existing one. */
  private createIfMissing(path: string, flags: number, exclusive: boolean, fdflags: number): OpfsFile | null {
    const r = this.resolve(path);
    if (r.names.length === 0 || r.mustBeDir) throw new WasiError(r.names.length ? wasi.ERRNO_ISDIR : wasi.ERRNO_EXIST, path);
    return this.withParent(path, (dir, name) => {
      if (!exclusive) {
        try {
          dir.walk([name]).clunk();
          return null;
        } catch (e) {
          if (!(e instanceof FsError && e.errno === Errno.ENOENT)) throw e;
        }
      }
      const file = dir.walk([]);
      try {
        file.create(name, flags | OpenFlag.Create | OpenFlag.Exclusive, 0o644);
      } catch (e) {
        file.clunk();
        throw e;
      }
      return new OpfsFile(this.session, file, wasi.FILETYPE_REGULAR_FILE, fdflags);
    });
  }

  /**
   * stat/lstat. TinyEMU looks a path up three to five times for one guest system call, so the
   * answer (or the errno) is remembered by the session for a moment.
   */
  override path_filestat_get(flags: number, path: string): { ret: number; filestat: wasi.Filestat | null } {
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    let key: string;
    try {
      key = `${follow ? 'stat' : 'lstat'}:${this.resolve(path).parts.join('/')}${path.endsWith('/') ? '/' : ''}`;
    } catch (e) {
      return { ret: wasiErrnoOf(e), filestat: null };
    }
    const known = this.session.recall<{ ret: number; filestat: wasi.Filestat | null }>(key);
    if (known) return known;
    const answer = attempt(() => {
      const { file } = this.lookup(path, follow);
      try {
        return { filestat: Filestat.fromAttr(file.getattr()) };
      } finally {
        file.clunk();
      }
    }, { filestat: null });
    this.session.remember(key, answer);
    return answer;
  }

  override path_filestat_set_times(flags: number, path: string, atim: bigint, mtim: bigint, fstFlags: number): number {
    return errnoOf(() => {
      const t = timesToSetattr(atim, mtim, fstFlags);
      const { file } = this.lookup(path, (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
      try {
        if (t.valid) file.setattr(t);
      } finally {
        file.clunk();
      }
    });
  }

  override path_create_directory(path: string): number {
    return errnoOf(() => this.withParent(path, (dir, name) => dir.mkdir(name, 0o755)));
  }

  override path_unlink_file(path: string): number {
    return errnoOf(() => {
      if (path.endsWith('/')) {
        // unlink("x/"): a directory is EISDIR, anything else ENOTDIR.
        const { file } = this.lookup(path.replace(/\/+$/, ''), false);
        file.clunk();
        throw new WasiError(file.qid && file.qid.type & QidType.Dir ? wasi.ERRNO_ISDIR : wasi.ERRNO_NOTDIR, path);
      }
      this.withParent(path, (dir, name) => dir.unlinkat(name));
    });
  }

  override path_remove_directory(path: string): number {
    return errnoOf(() => this.withParent(path, (dir, name) => dir.unlinkat(name, AT_REMOVEDIR)));
  }

  override path_readlink(path: string): { ret: number; data: string | null } {
    return attempt(() => {
      const { file } = this.lookup(path, false);
      try {
        if (!file.qid || !(file.qid.type & QidType.Symlink)) throw new WasiError(wasi.ERRNO_INVAL, `${path} is not a symlink`);
        return { data: file.readlink() };
      } finally {
        file.clunk();
      }
    }, { data: null });
  }

  // ---- calls the shim cannot route here; installOpfsImports calls them ----

  symlink(target: string, path: string): number {
    return errnoOf(() => this.withParent(path, (dir, name) => dir.symlink(name, target)));
  }

  /** link(2): `from` (in `fromDir`) gets the new name `path` here. Both must be on this session. */
  link(fromDir: OpfsDirectory, fromPath: string, follow: boolean, path: string): number {
    return errnoOf(() => {
      const { file } = fromDir.lookup(fromPath, follow);
      try {
        if (file.qid === null || file.qid.type & QidType.Dir) throw new WasiError(wasi.ERRNO_PERM, 'hard links to directories are not allowed');
        this.withParent(path, (dir, name) => dir.link(file, name));
      } finally {
        file.clunk();
      }
    });
  }

  /** rename(2) from `fromPath` in this directory to `toPath` in `toDir`. */
  rename(fromPath: string, toDir: OpfsDirectory, toPath: string): number {
    return errnoOf(() => this.withParent(fromPath, (oldDir, oldName) =>
      toDir.withParent(toPath, (newDir, newName) => oldDir.renameat(oldName, newDir, newName))));
  }

  /** Whether `other` is served by the same 9P session (rename and link work only within one). */
  sameSession(other: OpfsDirectory): boolean {
    return this.session === other.session;
  }
}

/** The preopened directory: the share (or a directory in it) under a name such as /mnt/opfs. */
export class OpfsPreopen extends OpfsDirectory {
  /**
   * @param name the path the program sees, for example "/mnt/opfs"
   * @param session a 9P session on the storage worker (P9Session.connect(endpoint))
   * @param dir the directory in the share to expose ("" for its root)
   */
  constructor(readonly name: string, session: P9Session, dir = '') {
    const parts = dir.split('/').filter((p) => p !== '' && p !== '.');
    super(session, session.root.walk(parts), parts, parts.length);
  }

  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    return { ret: 0, prestat: wasi.Prestat.dir(this.name) };
  }
}
