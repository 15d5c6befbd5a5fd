// M1: the 9P2000.L server in TypeScript over the OPFS store. One handler per message; the wire
// layout comes from messages.ts and the file semantics from the store.

import { MalformedMessage, Qid, Writer, decodeMessage, direntSize, encodeMessage, readHeader } from '../wire/codec.js';
import { Errno, FsError, toFsError } from '../wire/errno.js';
import {
  AT_REMOVEDIR, Body, GetattrMask, HEADER_SIZE, IO_OVERHEAD, LockStatus, LockType, MAXWELEM, MessageType, NOFID, NOTAG,
  OpenFlag, QidType, Request, RequestMessage, RequestType, SetattrMask, V9FS_MAGIC, VERSION_9P2000_L, WireType, isRequest,
  isRequestType,
} from '../wire/messages.js';
import { NinePServer, SessionState } from '../storage/server-api.js';
import { NodeKind, kindOfMode, modeOf } from '../store/format.js';
import { AttributeChanges, ByteRangeLock, Inode, NAME_MAX, Store } from '../store/store.js';

/** Smallest msize we accept: enough for any fixed-size reply and a useful read. */
const MIN_MSIZE = 4096;
const XATTR_SIZE_MAX = 65536;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
/** warmUp()'s made-up listing and how often it is encoded (~2 ms of the worker's idle time). */
const WARM_UP_ENTRIES = 64;
const WARM_UP_BYTES = 8192;
const WARM_UP_ROUNDS = 30;

interface XattrRead { value: Uint8Array }
interface XattrWrite { name: string; flags: number; buf: Uint8Array; filled: number }

interface Fid {
  inode: Inode;
  /** Set by Tlopen/Tlcreate: the Linux open flags. */
  openFlags: number | null;
  /** Directory listing taken at readdir offset 0; later offsets index into it. */
  listing: { name: string; inode: Inode }[] | null;
  xattrRead: XattrRead | null;
  xattrWrite: XattrWrite | null;
}

class Session {
  msize: number;
  readonly fids = new Map<number, Fid>();
  uid = 0;

  constructor(readonly maxMessageSize: number) {
    this.msize = maxMessageSize;
  }
}

/** One handler per request type, each taking that request's fields. */
type Handlers = { [T in RequestType]: (s: Session, f: Request<T>, reply: Uint8Array, tag: number) => Promise<number> };

export class M1Server implements NinePServer {
  private readonly sessions = new Map<number, Session>();
  private nextSession = 1;
  private readonly handlers: Handlers;

  constructor(readonly store: Store) {
    this.handlers = {
      [MessageType.Tversion]: this.version, [MessageType.Tauth]: this.auth, [MessageType.Tattach]: this.attach,
      [MessageType.Tflush]: this.flush, [MessageType.Twalk]: this.walk, [MessageType.Tgetattr]: this.getattr,
      [MessageType.Tsetattr]: this.setattr, [MessageType.Tlopen]: this.lopen, [MessageType.Tlcreate]: this.lcreate,
      [MessageType.Tread]: this.read, [MessageType.Twrite]: this.write, [MessageType.Treaddir]: this.readdir,
      [MessageType.Tmkdir]: this.mkdir, [MessageType.Tsymlink]: this.symlink, [MessageType.Treadlink]: this.readlink,
      [MessageType.Tmknod]: this.mknod, [MessageType.Tlink]: this.link, [MessageType.Trename]: this.rename,
      [MessageType.Trenameat]: this.renameat, [MessageType.Tunlinkat]: this.unlinkat, [MessageType.Tremove]: this.remove,
      [MessageType.Tstatfs]: this.statfs, [MessageType.Tfsync]: this.fsync, [MessageType.Tlock]: this.lock,
      [MessageType.Tgetlock]: this.getlock, [MessageType.Txattrwalk]: this.xattrwalk,
      [MessageType.Txattrcreate]: this.xattrcreate, [MessageType.Tclunk]: this.clunk,
    };
  }

  static async open(rootPath?: string): Promise<M1Server> {
    return new M1Server(await Store.open(rootPath));
  }

  openSession(maxMessageSize: number): number {
    const id = this.nextSession++;
    this.sessions.set(id, new Session(maxMessageSize));
    return id;
  }

  async closeSession(id: number): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    await this.clunkAll(s);
    this.sessions.delete(id);
  }

  async exportSession(id: number): Promise<SessionState> {
    const s = this.session(id);
    const fids: SessionState['fids'] = [];
    for (const [fid, { inode, openFlags }] of s.fids) {
      // A file unlinked while open has no path to find it by again.
      if (!inode.unlinked) fids.push({ fid, path: this.store.pathOf(inode), dir: inode.isDir, openFlags });
    }
    return { msize: s.msize, uid: s.uid, fids };
  }

  async importSession(id: number, state: SessionState): Promise<void> {
    const s = this.session(id);
    s.msize = Math.min(state.msize, s.maxMessageSize);
    s.uid = state.uid;
    for (const { fid, path, dir, openFlags } of state.fids) {
      let inode = this.store.root;
      try {
        for (const name of path.split('/').filter(Boolean)) inode = await this.store.lookup(inode, name);
      } catch {
        continue;
      }
      if (inode.isDir !== dir) continue;
      const f = this.addFid(s, fid, inode);
      if (openFlags !== null && inode.meta.kind !== NodeKind.Symlink) {
        await this.store.open(inode, false);
        f.openFlags = openFlags;
      }
    }
  }

  private session(id: number): Session {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`no 9P session ${id}`);
    return s;
  }

  async idle(): Promise<void> {
    await this.store.idle();
  }

  async close(): Promise<void> {
    for (const id of [...this.sessions.keys()]) await this.closeSession(id);
    await this.store.close();
  }

  async handle(sessionId: number, request: Uint8Array, reply: Uint8Array): Promise<number> {
    const s = this.sessions.get(sessionId);
    if (!s) throw new Error(`no 9P session ${sessionId}`);
    let tag = NOTAG;
    try {
      const header = readHeader(request);
      tag = header.tag;
      if (request.length > s.msize) throw new FsError(Errno.EMSGSIZE, `message of ${request.length} bytes exceeds msize ${s.msize}`);
      // Checked before decoding: a message this server does not take is EOPNOTSUPP, not malformed.
      const msg = isRequestType(header.type) ? decodeMessage(request) : null;
      if (!msg || !isRequest(msg)) throw new FsError(Errno.EOPNOTSUPP, `message type ${header.type} is not a 9P2000.L request`);
      return await this.dispatch<RequestType>(s, msg, reply);
    } catch (e) {
      if (e instanceof MalformedMessage) {
        if (e.tag === undefined && request.length < HEADER_SIZE) return 0;
        return this.error(reply, e.tag ?? NOTAG, Errno.EPROTO);
      }
      const err = toFsError(e);
      if (err.errno === Errno.EIO) console.warn('container-vm M1:', e);
      return this.error(reply, tag, err.errno);
    }
  }

  private dispatch<T extends RequestType>(s: Session, m: RequestMessage<T>, reply: Uint8Array): Promise<number> {
    return this.handlers[m.type].call(this, s, m.fields, reply, m.tag);
  }

  private error(reply: Uint8Array, tag: number, errno: number): number {
    return encodeMessage(MessageType.Rlerror, tag, { ecode: errno }, reply).length;
  }

  private reply<M extends WireType>(reply: Uint8Array, type: M, tag: number, fields: Body<M>): number {
    return encodeMessage(type, tag, fields, reply).length;
  }

  // ---- fids ----

  private fid(s: Session, id: number): Fid {
    const fid = s.fids.get(id);
    if (!fid) throw new FsError(Errno.EBADF, `unknown fid ${id}`);
    return fid;
  }

  private addFid(s: Session, id: number, inode: Inode): Fid {
    if (id === NOFID) throw new FsError(Errno.EBADF, 'NOFID cannot name a file');
    if (s.fids.has(id)) throw new FsError(Errno.EBADF, `fid ${id} is in use`);
    const fid: Fid = { inode, openFlags: null, listing: null, xattrRead: null, xattrWrite: null };
    this.store.retain(inode);
    s.fids.set(id, fid);
    return fid;
  }

  private async dropFid(s: Session, id: number, fid: Fid): Promise<void> {
    s.fids.delete(id);
    await this.store.release(fid.inode);
  }

  private async clunkAll(s: Session): Promise<void> {
    for (const [id, fid] of [...s.fids]) await this.dropFid(s, id, fid);
  }

  /**
   * The version changes with the inode's ctime, which every change of content or attributes sets:
   * a Linux client that caches (cache=loose) reuses a cached inode only when path and version
   * match, so once its dentries are dropped it sees the page's changes (docs/guest-agent.md, drop).
   * Same formula as L1's.
   */
  private qid(inode: Inode): Qid {
    const type = inode.isDir ? QidType.Dir : inode.meta.kind === NodeKind.Symlink ? QidType.Symlink : QidType.File;
    return { type, version: (Math.imul(inode.meta.ctimeSec, 1000003) ^ inode.meta.ctimeNsec) >>> 0, path: inode.id };
  }

  private dirFid(s: Session, id: number): Inode {
    const inode = this.fid(s, id).inode;
    if (!inode.isDir) throw new FsError(Errno.ENOTDIR);
    return inode;
  }

  // ---- session ----

  private async version(s: Session, f: Request<MessageType.Tversion>, reply: Uint8Array, tag: number): Promise<number> {
    await this.clunkAll(s);
    if (f.msize < MIN_MSIZE) throw new FsError(Errno.EINVAL, `msize ${f.msize} is below ${MIN_MSIZE}`);
    s.msize = Math.min(f.msize, s.maxMessageSize);
    const version = f.version.startsWith(VERSION_9P2000_L) ? VERSION_9P2000_L : 'unknown';
    return this.reply(reply, MessageType.Rversion, tag, { msize: s.msize, version });
  }

  private async auth(): Promise<number> {
    throw new FsError(Errno.EOPNOTSUPP, 'no authentication: attach with afid NOFID');
  }

  private async attach(s: Session, f: Request<MessageType.Tattach>, reply: Uint8Array, tag: number): Promise<number> {
    if (f.afid !== NOFID) throw new FsError(Errno.EINVAL, 'authentication is not supported');
    this.addFid(s, f.fid, this.store.root);
    s.uid = f.nUname === NOFID ? 0 : f.nUname;
    return this.reply(reply, MessageType.Rattach, tag, { qid: this.qid(this.store.root) });
  }

  private async flush(_s: Session, _f: Request<MessageType.Tflush>, reply: Uint8Array, tag: number): Promise<number> {
    // Requests are answered in order, so the one being flushed has already been answered.
    return this.reply(reply, MessageType.Rflush, tag, {});
  }

  // ---- walking and attributes ----

  private async walk(s: Session, f: Request<MessageType.Twalk>, reply: Uint8Array, tag: number): Promise<number> {
    const from = this.fid(s, f.fid);
    const names = f.names;
    if (names.length > MAXWELEM) throw new FsError(Errno.EINVAL, `more than ${MAXWELEM} names in one walk`);
    if (f.newfid !== f.fid && s.fids.has(f.newfid)) throw new FsError(Errno.EBADF, `fid ${f.newfid} is in use`);
    const qids: Qid[] = [];
    let at = from.inode;
    for (const name of names) {
      try {
        at = await this.step(at, name);
      } catch (e) {
        if (qids.length === 0) throw e;
        // A partial walk answers with the qids that succeeded and leaves newfid unused.
        return this.reply(reply, MessageType.Rwalk, tag, { qids });
      }
      qids.push(this.qid(at));
    }
    if (f.newfid === f.fid) {
      if (at !== from.inode) {
        this.store.retain(at);
        const old = from.inode;
        from.inode = at;
        await this.store.release(old);
      }
    } else {
      this.addFid(s, f.newfid, at);
    }
    return this.reply(reply, MessageType.Rwalk, tag, { qids });
  }

  /** One walk step. '..' at the root stays at the root; symlinks are never followed. */
  private async step(dir: Inode, name: string): Promise<Inode> {
    if (!dir.isDir) throw new FsError(Errno.ENOTDIR);
    if (name === '..') return dir.parent ?? this.store.root;
    if (name === '.') return dir;
    if (name === '' || name.includes('/') || name.includes('\0')) throw new FsError(Errno.EINVAL, 'invalid name in walk');
    if (new TextEncoder().encode(name).length > NAME_MAX) throw new FsError(Errno.ENAMETOOLONG);
    return this.store.lookup(dir, name);
  }

  private async getattr(s: Session, f: Request<MessageType.Tgetattr>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    const { meta, size, nlink } = await this.store.attributes(inode);
    return this.reply(reply, MessageType.Rgetattr, tag, {
      valid: GetattrMask.Basic, qid: this.qid(inode), mode: modeOf(meta), uid: meta.uid, gid: meta.gid,
      nlink, rdev: meta.rdev, size, blksize: 4096, blocks: Math.ceil(size / 512),
      atimeSec: meta.atimeSec, atimeNsec: meta.atimeNsec, mtimeSec: meta.mtimeSec, mtimeNsec: meta.mtimeNsec,
      ctimeSec: meta.ctimeSec, ctimeNsec: meta.ctimeNsec, btimeSec: 0, btimeNsec: 0, gen: 0, dataVersion: 0,
    });
  }

  private async setattr(s: Session, f: Request<MessageType.Tsetattr>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    const v = f.valid;
    const changes: AttributeChanges = {};
    if (v & SetattrMask.Mode) changes.perm = f.mode;
    if (v & SetattrMask.Uid) changes.uid = f.uid;
    if (v & SetattrMask.Gid) changes.gid = f.gid;
    if (v & SetattrMask.Size) changes.size = f.size;
    if (v & SetattrMask.Atime) changes.atime = v & SetattrMask.AtimeSet ? [f.atimeSec, f.atimeNsec] : 'now';
    if (v & SetattrMask.Mtime) changes.mtime = v & SetattrMask.MtimeSet ? [f.mtimeSec, f.mtimeNsec] : 'now';
    if (changes.atime && changes.atime !== 'now' && changes.atime[1] >= 1e9) throw new FsError(Errno.EINVAL);
    if (changes.mtime && changes.mtime !== 'now' && changes.mtime[1] >= 1e9) throw new FsError(Errno.EINVAL);
    await this.store.setAttributes(inode, changes);
    return this.reply(reply, MessageType.Rsetattr, tag, {});
  }

  // ---- opening, reading, writing ----

  private async lopen(s: Session, f: Request<MessageType.Tlopen>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    if (fid.openFlags !== null) throw new FsError(Errno.EBADF, 'fid is already open');
    const flags = f.flags;
    const inode = fid.inode;
    const writes = (flags & OpenFlag.AccessMask) !== OpenFlag.ReadOnly;
    if (inode.isDir && writes) throw new FsError(Errno.EISDIR);
    if (!inode.isDir && flags & OpenFlag.Directory) throw new FsError(Errno.ENOTDIR);
    if (inode.meta.kind === NodeKind.Symlink) throw new FsError(Errno.ELOOP);
    if (inode.unlinked && !inode.isFile) throw new FsError(Errno.ENOENT);
    await this.store.open(inode, writes && (flags & OpenFlag.Truncate) !== 0);
    fid.openFlags = flags;
    return this.reply(reply, MessageType.Rlopen, tag, { qid: this.qid(inode), iounit: s.msize - IO_OVERHEAD });
  }

  private async lcreate(s: Session, f: Request<MessageType.Tlcreate>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    if (!fid.inode.isDir) throw new FsError(Errno.ENOTDIR);
    if (fid.openFlags !== null) throw new FsError(Errno.EBADF, 'fid is already open');
    const inode = await this.store.createFile(fid.inode, f.name, f.mode, s.uid, f.gid);
    await this.store.open(inode, false);
    this.store.retain(inode);
    const dir = fid.inode;
    fid.inode = inode;
    fid.openFlags = f.flags;
    await this.store.release(dir);
    return this.reply(reply, MessageType.Rlcreate, tag, { qid: this.qid(inode), iounit: s.msize - IO_OVERHEAD });
  }

  private async read(s: Session, f: Request<MessageType.Tread>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    const max = Math.min(f.count, s.msize - IO_OVERHEAD, reply.length - HEADER_SIZE - 4);
    const data = reply.subarray(HEADER_SIZE + 4, HEADER_SIZE + 4 + max);
    let n: number;
    if (fid.xattrRead) {
      const v = fid.xattrRead.value;
      const start = Math.min(f.offset, v.length);
      n = Math.min(max, v.length - start);
      data.set(v.subarray(start, start + n));
    } else {
      if (fid.openFlags === null || (fid.openFlags & OpenFlag.AccessMask) === OpenFlag.WriteOnly) throw new FsError(Errno.EBADF, 'fid is not open for reading');
      n = await this.store.read(fid.inode, f.offset, data);
    }
    const w = new Writer(reply);
    w.u32(HEADER_SIZE + 4 + n); w.u8(MessageType.Rread); w.u16(tag); w.u32(n);
    return HEADER_SIZE + 4 + n;
  }

  private async write(s: Session, f: Request<MessageType.Twrite>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    const data = f.data;
    let n: number;
    if (fid.xattrWrite) {
      const x = fid.xattrWrite;
      if (f.offset !== x.filled || x.filled + data.length > x.buf.length) throw new FsError(Errno.EINVAL, 'xattr value written out of order or past its declared size');
      x.buf.set(data, x.filled);
      x.filled += data.length;
      n = data.length;
    } else {
      if (fid.openFlags === null || (fid.openFlags & OpenFlag.AccessMask) === OpenFlag.ReadOnly) throw new FsError(Errno.EBADF, 'fid is not open for writing');
      n = await this.store.write(fid.inode, f.offset, data, (fid.openFlags & OpenFlag.Append) !== 0);
    }
    return this.reply(reply, MessageType.Rwrite, tag, { count: n });
  }

  private async readdir(s: Session, f: Request<MessageType.Treaddir>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    const dir = fid.inode;
    if (!dir.isDir) throw new FsError(Errno.ENOTDIR);
    if (fid.openFlags === null) throw new FsError(Errno.EBADF, 'directory is not open');
    if (f.offset === 0 || !fid.listing) {
      const children = await this.store.children(dir);
      fid.listing = [{ name: '.', inode: dir }, { name: '..', inode: dir.parent ?? dir }];
      for (const [name, inode] of children) fid.listing.push({ name, inode });
    }
    const max = Math.min(f.count, s.msize - IO_OVERHEAD, reply.length - HEADER_SIZE - 4);
    return this.encodeListing(fid.listing, f.offset, reply, max, tag);
  }

  /** An Rreaddir of `listing` from entry `from`, at most `max` bytes of entries; its length. */
  private encodeListing(listing: { name: string; inode: Inode }[], from: number, reply: Uint8Array, max: number, tag: number): number {
    const w = new Writer(reply, HEADER_SIZE + 4);
    const end = HEADER_SIZE + 4 + max;
    for (let i = from; i < listing.length; i++) {
      const { name, inode } = listing[i]!;
      if (w.pos + direntSize(name) > end) break;
      // A listing's qids are not what the client caches by: version 0, as L1 lists them.
      w.qid({ ...this.qid(inode), version: 0 });
      w.u64(i + 1);
      w.u8(direntType(inode));
      w.str(name);
    }
    const n = w.pos - HEADER_SIZE - 4;
    const h = new Writer(reply);
    h.u32(w.pos); h.u8(MessageType.Rreaddir); h.u16(tag); h.u32(n);
    return w.pos;
  }

  /**
   * Runs the readdir encoder on a made-up listing, enough rounds for V8 to compile it beyond its
   * interpreter, so that the first real readdir after a start runs it warm (a restarted worker's
   * first 100-entry Rreaddir took 0.3-0.4 ms to encode, 0.1-0.2 ms after this; the bench's cold
   * readdir). No I/O and no state: call when the worker is idle.
   */
  warmUp(): void {
    const root = this.store.root;
    const listing = Array.from({ length: WARM_UP_ENTRIES }, (_, i) => ({ name: `warm-up-${i}`, inode: root }));
    const scratch = new Uint8Array(WARM_UP_BYTES);
    for (let i = 0; i < WARM_UP_ROUNDS; i++) this.encodeListing(listing, 0, scratch, WARM_UP_BYTES - HEADER_SIZE - 4, NOTAG);
  }

  private async fsync(s: Session, f: Request<MessageType.Tfsync>, reply: Uint8Array, tag: number): Promise<number> {
    await this.store.fsync(this.fid(s, f.fid).inode);
    return this.reply(reply, MessageType.Rfsync, tag, {});
  }

  // ---- creating and removing ----

  private async mkdir(s: Session, f: Request<MessageType.Tmkdir>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = await this.store.mkdir(this.dirFid(s, f.dfid), f.name, f.mode, s.uid, f.gid);
    return this.reply(reply, MessageType.Rmkdir, tag, { qid: this.qid(inode) });
  }

  private async symlink(s: Session, f: Request<MessageType.Tsymlink>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = await this.store.symlink(this.dirFid(s, f.fid), f.name, f.target, s.uid, f.gid);
    return this.reply(reply, MessageType.Rsymlink, tag, { qid: this.qid(inode) });
  }

  private async readlink(s: Session, f: Request<MessageType.Treadlink>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    if (inode.meta.kind !== NodeKind.Symlink) throw new FsError(Errno.EINVAL, 'not a symlink');
    return this.reply(reply, MessageType.Rreadlink, tag, { target: inode.meta.target });
  }

  private async mknod(s: Session, f: Request<MessageType.Tmknod>, reply: Uint8Array, tag: number): Promise<number> {
    const kind = kindOfMode(f.mode);
    if (kind === undefined || kind === NodeKind.Dir || kind === NodeKind.Symlink) throw new FsError(Errno.EINVAL, 'mknod of an unsupported file type');
    const rdev = encodeDev(f.major, f.minor);
    const inode = await this.store.mknod(this.dirFid(s, f.dfid), f.name, kind, f.mode, rdev, s.uid, f.gid);
    return this.reply(reply, MessageType.Rmknod, tag, { qid: this.qid(inode) });
  }

  private async link(): Promise<number> {
    throw new FsError(Errno.EOPNOTSUPP, 'hard links are not supported by the OPFS store');
  }

  private async rename(s: Session, f: Request<MessageType.Trename>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    if (!inode.parent) throw new FsError(inode === this.store.root ? Errno.EBUSY : Errno.ENOENT);
    await this.store.rename(inode.parent, inode.name, this.dirFid(s, f.dfid), f.name);
    return this.reply(reply, MessageType.Rrename, tag, {});
  }

  private async renameat(s: Session, f: Request<MessageType.Trenameat>, reply: Uint8Array, tag: number): Promise<number> {
    await this.store.rename(this.dirFid(s, f.oldDirFid), f.oldName, this.dirFid(s, f.newDirFid), f.newName);
    return this.reply(reply, MessageType.Rrenameat, tag, {});
  }

  private async unlinkat(s: Session, f: Request<MessageType.Tunlinkat>, reply: Uint8Array, tag: number): Promise<number> {
    if (f.flags & ~AT_REMOVEDIR) throw new FsError(Errno.EINVAL, 'unknown unlinkat flags');
    await this.store.unlink(this.dirFid(s, f.dirFid), f.name, (f.flags & AT_REMOVEDIR) !== 0);
    return this.reply(reply, MessageType.Runlinkat, tag, {});
  }

  private async remove(s: Session, f: Request<MessageType.Tremove>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    try {
      const inode = fid.inode;
      if (!inode.parent) throw new FsError(inode === this.store.root ? Errno.EBUSY : Errno.ENOENT);
      await this.store.unlink(inode.parent, inode.name, inode.isDir);
    } finally {
      // Tremove clunks the fid whether or not the removal worked.
      await this.dropFid(s, f.fid, fid);
    }
    return this.reply(reply, MessageType.Rremove, tag, {});
  }

  private async clunk(s: Session, f: Request<MessageType.Tclunk>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    try {
      if (fid.xattrWrite) await this.commitXattr(fid.inode, fid.xattrWrite);
    } finally {
      await this.dropFid(s, f.fid, fid);
    }
    return this.reply(reply, MessageType.Rclunk, tag, {});
  }

  private async statfs(_s: Session, _f: Request<MessageType.Tstatfs>, reply: Uint8Array, tag: number): Promise<number> {
    const { quota, usage } = await this.store.statfs();
    const bsize = 4096;
    const blocks = Math.floor(quota / bsize);
    const bfree = Math.max(0, Math.floor((quota - usage) / bsize));
    return this.reply(reply, MessageType.Rstatfs, tag, {
      type: V9FS_MAGIC, bsize, blocks, bfree, bavail: bfree, files: 1 << 30, ffree: 1 << 30, fsid: 0, namelen: NAME_MAX,
    });
  }

  // ---- POSIX byte-range locks (advisory, per inode, owned by client id + process id) ----

  private async lock(s: Session, f: Request<MessageType.Tlock>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    const range = lockRange(f);
    const owner = { procId: f.procId, clientId: f.clientId };
    let locks = inode.locks ?? [];
    if (f.type !== LockType.Unlock) {
      if (f.type !== LockType.Read && f.type !== LockType.Write) throw new FsError(Errno.EINVAL, 'bad lock type');
      if (locks.some((l) => conflicts(l, f.type, range, owner))) {
        return this.reply(reply, MessageType.Rlock, tag, { status: LockStatus.Blocked });
      }
    }
    locks = subtractRange(locks, range, owner);
    if (f.type !== LockType.Unlock) locks.push({ type: f.type, ...range, ...owner });
    inode.locks = locks.length ? locks : null;
    return this.reply(reply, MessageType.Rlock, tag, { status: LockStatus.Success });
  }

  private async getlock(s: Session, f: Request<MessageType.Tgetlock>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    const range = lockRange(f);
    const owner = { procId: f.procId, clientId: f.clientId };
    const hit = (inode.locks ?? []).find((l) => conflicts(l, f.type, range, owner));
    const fields = hit
      ? { type: hit.type, start: hit.start, length: hit.end === Infinity ? 0 : hit.end - hit.start, procId: hit.procId, clientId: hit.clientId }
      : { type: LockType.Unlock, start: f.start, length: f.length, procId: f.procId, clientId: f.clientId };
    return this.reply(reply, MessageType.Rgetlock, tag, fields);
  }

  // ---- extended attributes ----

  private async xattrwalk(s: Session, f: Request<MessageType.Txattrwalk>, reply: Uint8Array, tag: number): Promise<number> {
    const inode = this.fid(s, f.fid).inode;
    const xattrs = inode.meta.xattrs;
    let value: Uint8Array;
    if (f.name === '') {
      const names = xattrs ? [...xattrs.keys()].map((n) => `${n}\0`).join('') : '';
      value = new TextEncoder().encode(names);
    } else {
      const v = xattrs?.get(f.name);
      if (!v) throw new FsError(Errno.ENODATA);
      value = v;
    }
    const fid = this.addFid(s, f.newfid, inode);
    fid.xattrRead = { value };
    return this.reply(reply, MessageType.Rxattrwalk, tag, { size: value.length });
  }

  private async xattrcreate(s: Session, f: Request<MessageType.Txattrcreate>, reply: Uint8Array, tag: number): Promise<number> {
    const fid = this.fid(s, f.fid);
    if (f.size > XATTR_SIZE_MAX) throw new FsError(Errno.E2BIG);
    if (f.name === '' || f.name.length > NAME_MAX) throw new FsError(Errno.EINVAL);
    fid.xattrWrite = { name: f.name, flags: f.flags, buf: new Uint8Array(f.size), filled: 0 };
    return this.reply(reply, MessageType.Rxattrcreate, tag, {});
  }

  private async commitXattr(inode: Inode, x: XattrWrite): Promise<void> {
    if (x.filled !== x.buf.length) throw new FsError(Errno.EINVAL, 'xattr value shorter than declared');
    const current = inode.meta.xattrs;
    const exists = current?.has(x.name) ?? false;
    if (x.flags & XATTR_CREATE && exists) throw new FsError(Errno.EEXIST);
    if (x.flags & XATTR_REPLACE && !exists) throw new FsError(Errno.ENODATA);
    const next = new Map(current ?? []);
    // Linux removes an attribute by creating it with size 0 and XATTR_REPLACE.
    if (x.buf.length === 0 && x.flags & XATTR_REPLACE) next.delete(x.name);
    else next.set(x.name, x.buf);
    const meta = { ...inode.meta, xattrs: next.size ? next : null };
    await this.store.replaceMeta(inode, meta);
  }
}

function direntType(inode: Inode): number {
  // DT_* values from <dirent.h>.
  switch (inode.meta.kind) {
    case NodeKind.Dir: return 4;
    case NodeKind.File: return 8;
    case NodeKind.Symlink: return 10;
    case NodeKind.Fifo: return 1;
    case NodeKind.CharDev: return 2;
    case NodeKind.BlockDev: return 6;
    case NodeKind.Socket: return 12;
  }
}

/** The Linux kernel's new_encode_dev(MKDEV(major, minor)), which the v9fs client decodes. */
function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

function lockRange({ start, length }: { start: number; length: number }): { start: number; end: number } {
  return { start, end: length === 0 ? Infinity : start + length };
}

type Owner = { procId: number; clientId: string };

function sameOwner(l: ByteRangeLock, o: Owner): boolean {
  return l.procId === o.procId && l.clientId === o.clientId;
}

function conflicts(l: ByteRangeLock, type: number, r: { start: number; end: number }, o: Owner): boolean {
  if (sameOwner(l, o)) return false;
  if (l.end <= r.start || r.end <= l.start) return false;
  return l.type === LockType.Write || type === LockType.Write;
}

/** The owner's locks with `r` cut out (splitting a lock that spans it); other owners' stay. */
function subtractRange(locks: ByteRangeLock[], r: { start: number; end: number }, o: Owner): ByteRangeLock[] {
  const out: ByteRangeLock[] = [];
  for (const l of locks) {
    if (!sameOwner(l, o) || l.end <= r.start || r.end <= l.start) { out.push(l); continue; }
    if (l.start < r.start) out.push({ ...l, end: r.start });
    if (r.end < l.end) out.push({ ...l, start: r.end });
  }
  return out;
}
