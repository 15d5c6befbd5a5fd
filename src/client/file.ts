// One object per fid (after gVisor's p9 client_file.go): a P9File is a fid of one session, and its
// methods are the requests that name it. Written once for both clients: each method runs on the
// file's client, which answers at once (SyncP9Client) or with a promise (P9Client).

import { DirEntry, decodeDirEntries } from '../wire/codec.js';
import { Errno, FsError } from '../wire/errno.js';
import { GetattrMask, MAXWELEM, MessageType, Qid, QidType, Reply, Request, RequestType } from '../wire/messages.js';
import type { Client, Mode, Result } from './client.js';
import { Op, call, map } from './op.js';

/** Rgetattr's fields. */
export type Attr = Reply<MessageType.Tgetattr>;

/** What Tsetattr changes: the `valid` bits (SetattrMask) say which of the others count. */
export interface SetAttr {
  valid: number; mode?: number; uid?: number; gid?: number; size?: number;
  atimeSec?: number; atimeNsec?: number; mtimeSec?: number; mtimeNsec?: number;
}

export interface LockRequest { type: number; flags?: number; start: number; length: number; procId: number; clientId: string }

export class P9File<M extends Mode> {
  /**
   * @param qid what the walk (or attach) that made this fid reached; null for a clone
   */
  constructor(readonly client: Client<M>, readonly fid: number, readonly qid: Qid | null) {}

  /**
   * A new fid for the path `names` below this one (a clone when empty), walked 16 names per Twalk
   * as 9P allows. Fails, leaving nothing behind, with ENOENT, or ENOTDIR where a name is not a
   * directory, unless the whole path walks.
   */
  walk(names: readonly string[]): Result<M, P9File<M>> {
    return this.client.run(walk(this, names));
  }

  /** Lets the fid go; its number is reused once the server has (never clunk a file twice). */
  clunk(): Result<M, void> {
    return this.client.clunk(this.fid);
  }

  /** Removes the file and lets the fid go, whether or not the removal worked. */
  remove(): Result<M, void> {
    return this.client.run(releasing(this.client, this.fid, map(call(MessageType.Tremove, { fid: this.fid }), () => undefined)));
  }

  open(flags: number): Result<M, Reply<MessageType.Tlopen>> {
    return this.client.rpc(MessageType.Tlopen, { fid: this.fid, flags });
  }

  /** Creates `name` in this directory and opens it: this fid then stands for the new file. */
  create(name: string, flags: number, mode: number, gid = 0): Result<M, Reply<MessageType.Tlcreate>> {
    return this.client.rpc(MessageType.Tlcreate, { fid: this.fid, name, flags, mode, gid });
  }

  getattr(requestMask = GetattrMask.All): Result<M, Attr> {
    return this.client.rpc(MessageType.Tgetattr, { fid: this.fid, requestMask });
  }

  setattr(a: SetAttr): Result<M, void> {
    return this.done(MessageType.Tsetattr, {
      fid: this.fid, valid: a.valid, mode: a.mode ?? 0, uid: a.uid ?? 0, gid: a.gid ?? 0, size: a.size ?? 0,
      atimeSec: a.atimeSec ?? 0, atimeNsec: a.atimeNsec ?? 0, mtimeSec: a.mtimeSec ?? 0, mtimeNsec: a.mtimeNsec ?? 0,
    });
  }

  read(offset: number, count: number): Result<M, Uint8Array> {
    return this.client.run(map(call(MessageType.Tread, { fid: this.fid, offset, count }), (r) => r.data));
  }

  write(offset: number, data: Uint8Array): Result<M, number> {
    return this.client.run(map(call(MessageType.Twrite, { fid: this.fid, offset, data }), (r) => r.count));
  }

  /** The whole file from an open fid, read in pieces of the message size. */
  readAll(): Result<M, Uint8Array> {
    return this.client.run(readAll(this));
  }

  /** Writes all of `data` at `offset` of an open fid, in pieces of the message size. */
  writeAll(offset: number, data: Uint8Array): Result<M, void> {
    return this.client.run(writeAll(this, offset, data));
  }

  readdir(offset: number, count: number): Result<M, DirEntry[]> {
    return this.client.run(map(call(MessageType.Treaddir, { fid: this.fid, offset, count }), (r) => decodeDirEntries(r.data)));
  }

  /** Every entry of an open directory, "." and ".." included, following readdir offsets. */
  readdirAll(): Result<M, DirEntry[]> {
    return this.client.run(readdirAll(this));
  }

  mkdir(name: string, mode: number, gid = 0): Result<M, Qid> {
    return this.client.run(map(call(MessageType.Tmkdir, { dfid: this.fid, name, mode, gid }), (r) => r.qid));
  }

  symlink(name: string, target: string, gid = 0): Result<M, Qid> {
    return this.client.run(map(call(MessageType.Tsymlink, { fid: this.fid, name, target, gid }), (r) => r.qid));
  }

  mknod(name: string, mode: number, major: number, minor: number, gid = 0): Result<M, Qid> {
    return this.client.run(map(call(MessageType.Tmknod, { dfid: this.fid, name, mode, major, minor, gid }), (r) => r.qid));
  }

  readlink(): Result<M, string> {
    return this.client.run(map(call(MessageType.Treadlink, { fid: this.fid }), (r) => r.target));
  }

  /** A hard link `name` in this directory to `target`. */
  link(target: P9File<M>, name: string): Result<M, void> {
    return this.done(MessageType.Tlink, { dfid: this.fid, fid: target.fid, name });
  }

  /** Moves this file to `name` in the directory `dir`. */
  rename(dir: P9File<M>, name: string): Result<M, void> {
    return this.done(MessageType.Trename, { fid: this.fid, dfid: dir.fid, name });
  }

  /** Moves `oldName` of this directory to `newName` in `newDir`. */
  renameat(oldName: string, newDir: P9File<M>, newName: string): Result<M, void> {
    return this.done(MessageType.Trenameat, { oldDirFid: this.fid, oldName, newDirFid: newDir.fid, newName });
  }

  /** Removes `name` from this directory (flags: AT_REMOVEDIR for a directory). */
  unlinkat(name: string, flags = 0): Result<M, void> {
    return this.done(MessageType.Tunlinkat, { dirFid: this.fid, name, flags });
  }

  statfs(): Result<M, Reply<MessageType.Tstatfs>> {
    return this.client.rpc(MessageType.Tstatfs, { fid: this.fid });
  }

  fsync(datasync = 0): Result<M, void> {
    return this.done(MessageType.Tfsync, { fid: this.fid, datasync });
  }

  /** A POSIX byte-range lock (or unlock); returns the LockStatus. */
  lock(l: LockRequest): Result<M, number> {
    return this.client.run(map(call(MessageType.Tlock, { flags: 0, ...l, fid: this.fid }), (r) => r.status));
  }

  getlock(l: Omit<LockRequest, 'flags'>): Result<M, Reply<MessageType.Tgetlock>> {
    return this.client.rpc(MessageType.Tgetlock, { ...l, fid: this.fid });
  }

  /** A new fid from which the extended attribute `name` ("" for the list of names) reads; and its size. */
  xattrwalk(name: string): Result<M, { file: P9File<M>; size: number }> {
    return this.client.run(xattrwalk(this, name));
  }

  /** Turns this fid into one that sets the attribute `name` to the `size` bytes written to it (set at clunk). */
  xattrcreate(name: string, size: number, flags: number): Result<M, void> {
    return this.done(MessageType.Txattrcreate, { fid: this.fid, name, size, flags });
  }

  /** Sends a request whose reply has no fields. */
  private done<T extends RequestType>(type: T, fields: Request<T>): Result<M, void> {
    return this.client.run(map(call(type, fields), () => undefined));
  }
}

function* walk<M extends Mode>(from: P9File<M>, names: readonly string[]): Op<P9File<M>> {
  const { client } = from;
  const fid = client.fids.take();
  let bound = false;
  try {
    let qid: Qid | null = null;
    let at = from.fid;
    let i = 0;
    do {
      const part = names.slice(i, i + MAXWELEM);
      const { qids } = yield* call(MessageType.Twalk, { fid: at, newfid: fid, names: part });
      if (qids.length !== part.length) {
        // A walk that stops at a non-directory is ENOTDIR, as path resolution reports it.
        const last = qids[qids.length - 1];
        throw new FsError(last && !(last.type & QidType.Dir) ? Errno.ENOTDIR : Errno.ENOENT, names.join('/'));
      }
      bound = true;
      if (part.length) qid = qids[qids.length - 1]!;
      at = fid;
      i += MAXWELEM;
    } while (i < names.length);
    return new P9File(client, fid, qid);
  } catch (e) {
    // Past the first Twalk the new fid exists (a later partial walk leaves it where it was).
    if (bound) {
      try { yield* call(MessageType.Tclunk, { fid }); } catch { /* nothing more to do */ }
    }
    client.fids.give(fid);
    throw e;
  }
}

/** `op`, after which `fid` is gone on the server whatever the outcome (Tclunk, Tremove). */
export function* releasing<M extends Mode, R>(client: Client<M>, fid: number, op: Op<R>): Op<R> {
  try {
    return yield* op;
  } finally {
    client.fids.give(fid);
  }
}

function* readAll<M extends Mode>(file: P9File<M>): Op<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const { data } = yield* call(MessageType.Tread, { fid: file.fid, offset, count: file.client.ioSize });
    if (data.length === 0) break;
    chunks.push(data);
    offset += data.length;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function* writeAll<M extends Mode>(file: P9File<M>, offset: number, data: Uint8Array): Op<void> {
  const step = file.client.ioSize;
  for (let at = 0; at < data.length;) {
    const { count } = yield* call(MessageType.Twrite, { fid: file.fid, offset: offset + at, data: data.subarray(at, at + step) });
    if (count <= 0) throw new FsError(Errno.EIO, 'short write');
    at += count;
  }
}

function* readdirAll<M extends Mode>(dir: P9File<M>): Op<DirEntry[]> {
  const out: DirEntry[] = [];
  let offset = 0;
  for (;;) {
    const { data } = yield* call(MessageType.Treaddir, { fid: dir.fid, offset, count: dir.client.ioSize });
    const batch = decodeDirEntries(data);
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset;
  }
}

function* xattrwalk<M extends Mode>(from: P9File<M>, name: string): Op<{ file: P9File<M>; size: number }> {
  const { client } = from;
  const fid = client.fids.take();
  try {
    const { size } = yield* call(MessageType.Txattrwalk, { fid: from.fid, newfid: fid, name });
    return { file: new P9File(client, fid, null), size };
  } catch (e) {
    client.fids.give(fid);
    throw e;
  }
}
