// One virtio-9p device, two storage workers: the guest of an OCI image mounts v86's only 9P device
// (tag host9p) once, and sees a small top directory made here:
//
//   root/    the image's root file system (its own storage worker, src/oci/roots.ts)
//   share/   the user's share (the element's storage worker), bind-mounted at /mnt/opfs
//   launch   what to run: a shell fragment the guest's init sources (src/oci/launch.ts)
//
// Linux lets a virtio-9p device be mounted only once, so the two trees must come through one
// session. Each fid belongs to one storage worker from the walk that made it; messages pass
// through unchanged, except walks from the top directory, which start at that worker's root fid.
// A Txattrwalk's newfid, like a walk's, belongs to the worker that answered it.
// Tlink, which the stores answer EOPNOTSUPP, becomes a copy of the file (see linkByCopy).
// The share's qid paths get bit 52 set, so that no file of the share has the inode number of a
// file of the root (the stores number inodes with 52-bit values; 2^53 is still exact in JS).

import { replyTo } from '../client/client.js';
import { Qid, Writer, decodeMessage, encodeMessage } from '../wire/codec.js';
import { Errno, FsError } from '../wire/errno.js';
import { Body, Message, MessageType, NOFID, Reply, Request, RequestMessage, RequestType, WireType, isRequest } from '../wire/messages.js';

/** Where 9P messages go: the engine's channel to one storage worker. */
export interface NinePTarget {
  handle(request: Uint8Array, reply: (r: Uint8Array) => void): void;
  drained(): Promise<void>;
}

const enum Part { Root = 0, Share = 1 }
const NAMES = ['root', 'share'];
/** The fids this mux attaches on each worker for its root (guest fids are small numbers). */
const ROOT_FIDS = [0xfffffff0, 0xfffffff1];
const TOP_QID: Qid = { type: 0x80, version: 0, path: 2 ** 53 - 1 };
const LAUNCH_QID: Qid = { type: 0, version: 0, path: 2 ** 53 - 2 };
/** The tag and fids of this mux's own requests (guest tags and fids are small numbers). */
const OWN_TAG = 0xfff0;
const COPY_FIDS = [0xffffffe0, 0xffffffe1];
const S_IFMT = 0o170000, S_IFREG = 0o100000;
const O_WRONLY_CREAT_EXCL = 0o301;
const QID_SIZE = 13;
/** Replies whose first field is a qid. */
const QID_FIRST = new Set<number>([MessageType.Rlopen, MessageType.Rlcreate, MessageType.Rsymlink, MessageType.Rmknod, MessageType.Rmkdir]);

type Synthetic = 'top' | 'launch';
type Answer = <M extends WireType>(type: M, fields: Body<M>) => void;

export class RootMux implements NinePTarget {
  private readonly parts: NinePTarget[];
  private readonly owner = new Map<number, Part>();
  private readonly synthetic = new Map<number, Synthetic>();
  private readonly tags = new Map<number, Part>();
  private rootQids: (Qid | null)[] = [null, null];
  private msize = 8192;
  /** Copies for Tlink run one at a time: they share COPY_FIDS. */
  private copying: Promise<unknown> = Promise.resolve();

  constructor(root: NinePTarget, share: NinePTarget, private readonly launch: Uint8Array) {
    this.parts = [root, share];
  }

  drained(): Promise<void> {
    return Promise.all(this.parts.map((p) => p.drained())).then(() => undefined);
  }

  handle(request: Uint8Array, reply: (r: Uint8Array) => void): void {
    const tag = request[5]! | (request[6]! << 8);
    const answer: Answer = (t, fields) => reply(encodeMessage(t, tag, fields));
    const error = (ecode: number) => answer(MessageType.Rlerror, { ecode });
    let m: Message;
    try {
      m = decodeMessage(request);
    } catch {
      return error(Errno.EINVAL); // a message that does not parse
    }
    if (!isRequest(m)) return error(Errno.EINVAL);
    switch (m.type) {
      case MessageType.Tversion: return void this.version(request, reply);
      case MessageType.Tattach: {
        const { fid } = m.fields;
        return void this.attach(m.fields).then((ok) => {
          if (!ok) return error(Errno.EPERM);
          this.synthetic.set(fid, 'top');
          answer(MessageType.Rattach, { qid: TOP_QID });
        });
      }
      case MessageType.Tflush: {
        const part = this.tags.get(m.fields.oldtag);
        return part === undefined ? answer(MessageType.Rflush, {}) : this.forward(part, request, reply);
      }
      case MessageType.Twalk: return this.walk(m.fields, request, reply, answer, error);
      case MessageType.Txattrwalk: {
        // Its newfid (to read the attribute through) belongs to the worker that made it.
        const { fid, newfid } = m.fields;
        const kind = this.synthetic.get(fid);
        if (kind) return this.syntheticCall(kind, m, fid, answer, error);
        const part = this.owner.get(fid);
        if (part === undefined) return error(Errno.EBADF);
        return this.forward(part, request, reply, (r) => { if (r[4] === MessageType.Rxattrwalk) this.owner.set(newfid, part); });
      }
      case MessageType.Trename: return this.twoFids(m.fields.fid, m.fields.dfid, request, reply, error);
      case MessageType.Trenameat: return this.twoFids(m.fields.oldDirFid, m.fields.newDirFid, request, reply, error);
      case MessageType.Tlink: {
        const { dfid, fid, name } = m.fields;
        return this.twoFids(dfid, fid, request, reply, error, (part, r) => {
          if (r[4] !== MessageType.Rlerror || new DataView(r.buffer, r.byteOffset + 7, 4).getUint32(0, true) !== Errno.EOPNOTSUPP) return false;
          const copy = this.copying.then(() => this.linkByCopy(this.parts[part]!, dfid, fid, name));
          this.copying = copy.catch(() => undefined);
          void copy.then((ecode) => (ecode ? error(ecode) : answer(MessageType.Rlink, {})));
          return true;
        });
      }
    }
    // Every other request names its fid first.
    const fid = new DataView(request.buffer, request.byteOffset + 7, 4).getUint32(0, true);
    const kind = this.synthetic.get(fid);
    if (kind) return this.syntheticCall(kind, m, fid, answer, error);
    const part = this.owner.get(fid);
    if (part === undefined) return error(Errno.EBADF);
    if (m.type === MessageType.Tclunk || m.type === MessageType.Tremove) this.owner.delete(fid);
    this.forward(part, request, reply);
  }

  /**
   * A request naming two fids (rename, renameat, link): both must be on one worker (else EXDEV).
   * `instead`, if given, sees the worker's answer first and may answer in its place.
   */
  private twoFids(a: number, b: number, request: Uint8Array, reply: (r: Uint8Array) => void, error: (e: number) => void,
    instead?: (part: Part, r: Uint8Array) => boolean): void {
    if (this.synthetic.has(a) || this.synthetic.has(b)) return error(Errno.EROFS);
    const part = this.owner.get(a);
    if (part === undefined || this.owner.get(b) === undefined) return error(Errno.EBADF);
    if (this.owner.get(b) !== part) return error(Errno.EXDEV);
    this.forward(part, request, (r) => { if (!instead?.(part, r)) reply(r); });
  }

  /** A new session: both workers get the guest's Tversion; it hears the smaller msize. */
  private async version(request: Uint8Array, reply: (r: Uint8Array) => void): Promise<void> {
    this.owner.clear();
    this.synthetic.clear();
    this.rootQids = [null, null];
    const answers = await Promise.all(this.parts.map((p) => this.call(p, request)));
    const msizes = answers.map((a) => {
      const m = decodeMessage(a);
      return m.type === MessageType.Rversion ? m.fields.msize : 0;
    });
    const smaller = answers[msizes[0]! <= msizes[1]! ? 0 : 1]!;
    this.msize = Math.min(msizes[0]!, msizes[1]!);
    reply(smaller);
  }

  /** Attaches this mux's root fid on each worker, once per session. */
  private async attach(f: Request<MessageType.Tattach>): Promise<boolean> {
    for (const part of [Part.Root, Part.Share]) {
      if (this.rootQids[part]) continue;
      const answer = decodeMessage(await this.call(this.parts[part]!, encodeMessage(MessageType.Tattach, 0, {
        fid: ROOT_FIDS[part]!, afid: NOFID, uname: f.uname, aname: '', nUname: f.nUname,
      })));
      if (answer.type !== MessageType.Rattach) return false;
      this.rootQids[part] = part === Part.Share ? shareQid(answer.fields.qid) : answer.fields.qid;
    }
    return true;
  }

  private walk({ fid, newfid, names }: Request<MessageType.Twalk>, request: Uint8Array, reply: (r: Uint8Array) => void,
    answer: Answer, error: (e: number) => void): void {
    const kind = this.synthetic.get(fid);
    if (kind === undefined) {
      const part = this.owner.get(fid);
      if (part === undefined) return error(Errno.EBADF);
      return this.forward(part, request, reply, (r) => {
        if (r[4] === MessageType.Rwalk && (r[7]! | (r[8]! << 8)) === names.length) this.owner.set(newfid, part);
      });
    }
    if (names.length === 0) {
      this.synthetic.set(newfid, kind);
      return answer(MessageType.Rwalk, { qids: [] });
    }
    if (kind === 'launch') return error(Errno.ENOTDIR);
    const [first, ...rest] = names;
    if (first === 'launch' || first === '..') {
      if (rest.length > 0) return error(first === 'launch' ? Errno.ENOTDIR : Errno.ENOENT);
      this.synthetic.set(newfid, first === 'launch' ? 'launch' : 'top');
      return answer(MessageType.Rwalk, { qids: [first === 'launch' ? LAUNCH_QID : TOP_QID] });
    }
    const part = NAMES.indexOf(first!) as Part | -1;
    if (part === -1) return error(Errno.ENOENT);
    const rootQid = this.rootQids[part]!;
    const inner = encodeMessage(MessageType.Twalk, 0, { fid: ROOT_FIDS[part]!, newfid, names: rest });
    void this.call(this.parts[part]!, inner).then((r) => {
      const m = decodeMessage(r);
      const qids: Qid[] = m.type === MessageType.Rwalk ? m.fields.qids : [];
      if (qids.length === rest.length) this.owner.set(newfid, part);
      answer(MessageType.Rwalk, { qids: [rootQid, ...(part === Part.Share ? qids.map(shareQid) : qids)] });
    });
  }

  private syntheticCall(kind: Synthetic, m: RequestMessage, fid: number, answer: Answer, error: (e: number) => void): void {
    const qid = kind === 'top' ? TOP_QID : LAUNCH_QID;
    switch (m.type) {
      case MessageType.Tclunk: this.synthetic.delete(fid); return answer(MessageType.Rclunk, {});
      case MessageType.Tgetattr: {
        const now = Math.floor(Date.now() / 1000);
        return answer(MessageType.Rgetattr, {
          valid: 0x7ff, qid, mode: kind === 'top' ? 0o40555 : 0o100444, uid: 0, gid: 0, nlink: kind === 'top' ? 4 : 1,
          rdev: 0, size: kind === 'top' ? 0 : this.launch.length, blksize: 4096, blocks: 0,
          atimeSec: now, atimeNsec: 0, mtimeSec: now, mtimeNsec: 0, ctimeSec: now, ctimeNsec: 0,
          btimeSec: 0, btimeNsec: 0, gen: 0, dataVersion: 0,
        });
      }
      case MessageType.Tlopen: return (m.fields.flags & 3) === 0 ? answer(MessageType.Rlopen, { qid, iounit: 0 }) : error(Errno.EROFS);
      case MessageType.Tread:
        if (kind !== 'launch') return error(Errno.EISDIR);
        return answer(MessageType.Rread, { data: this.launch.subarray(m.fields.offset, m.fields.offset + m.fields.count) });
      case MessageType.Treaddir:
        return kind === 'top' ? answer(MessageType.Rreaddir, { data: this.topEntries(m.fields.offset, m.fields.count) }) : error(Errno.ENOTDIR);
      case MessageType.Tstatfs: {
        const inner = encodeMessage(MessageType.Tstatfs, 0, { fid: ROOT_FIDS[Part.Root]! });
        return void this.call(this.parts[Part.Root]!, inner).then((r) => {
          try {
            answer(MessageType.Rstatfs, replyTo(r, MessageType.Tstatfs));
          } catch (e) {
            error(e instanceof FsError ? e.errno : Errno.EIO);
          }
        });
      }
      case MessageType.Txattrwalk: return error(Errno.EOPNOTSUPP);
      default: return error(Errno.EROFS);
    }
  }

  /**
   * A hard link made as a copy: the stores keep no hard links, and what dpkg and apt link (backups
   * of files they are about to replace) only needs the contents, mode and owner at that moment.
   * The two names do not share later writes. Returns an errno, or 0.
   */
  private async linkByCopy(part: NinePTarget, dfid: number, fid: number, name: string): Promise<number> {
    const [from, to] = COPY_FIDS as [number, number];
    const rpc = async <T extends RequestType>(type: T, fields: Request<T>): Promise<Reply<T>> =>
      replyTo(await this.call(part, encodeMessage<RequestType>(type, OWN_TAG, fields)), type);
    const opened: number[] = [];
    try {
      await rpc(MessageType.Twalk, { fid, newfid: from, names: [] });
      opened.push(from);
      const attr = await rpc(MessageType.Tgetattr, { fid: from, requestMask: 0x3fff });
      if ((attr.mode & S_IFMT) !== S_IFREG) return Errno.EPERM;
      await rpc(MessageType.Tlopen, { fid: from, flags: 0 });
      await rpc(MessageType.Twalk, { fid: dfid, newfid: to, names: [] });
      opened.push(to);
      await rpc(MessageType.Tlcreate, { fid: to, name, flags: O_WRONLY_CREAT_EXCL, mode: attr.mode & 0o7777, gid: attr.gid });
      const step = this.msize - 24;
      for (let offset = 0; ; ) {
        const { data } = await rpc(MessageType.Tread, { fid: from, offset, count: step });
        if (data.length === 0) break;
        await rpc(MessageType.Twrite, { fid: to, offset, data });
        offset += data.length;
      }
      await rpc(MessageType.Tsetattr, {
        fid: to, valid: 0x1 | 0x2 | 0x4, mode: attr.mode & 0o7777, uid: attr.uid, gid: attr.gid, size: 0,
        atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0,
      });
      return 0;
    } catch (e) {
      if (e instanceof FsError) return e.errno;
      throw e;
    } finally {
      for (const f of opened) await rpc(MessageType.Tclunk, { fid: f }).catch(() => undefined);
    }
  }

  /** The top directory's entries from `offset` (an entry's index), as many as fit `count`. */
  private topEntries(offset: number, count: number): Uint8Array {
    const entries: [string, Qid, number][] = [['root', this.rootQids[0]!, 4], ['share', this.rootQids[1]!, 4], ['launch', LAUNCH_QID, 8]];
    const out = new Uint8Array(count);
    const w = new Writer(out);
    for (let i = offset; i < entries.length; i++) {
      const [name, qid, dt] = entries[i]!;
      if (w.pos + QID_SIZE + 8 + 1 + 2 + name.length > count) break;
      w.qid(qid); w.u64(i + 1); w.u8(dt); w.str(name);
    }
    return out.subarray(0, w.pos);
  }

  /** Sends a message the guest made to a worker, keeping its tag for Tflush. */
  private forward(part: Part, request: Uint8Array, reply: (r: Uint8Array) => void, seen?: (r: Uint8Array) => void): void {
    const tag = request[5]! | (request[6]! << 8);
    this.tags.set(tag, part);
    this.parts[part]!.handle(request, (r) => {
      this.tags.delete(tag);
      seen?.(r);
      if (part === Part.Share) markShareQids(r);
      reply(r);
    });
  }

  /** A message of this mux's own; the answer is copied (the channel's is a view of its slot). */
  private call(part: NinePTarget, request: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve) => part.handle(request, (r) => resolve(r.slice())));
  }
}

function shareQid(q: Qid): Qid {
  return { ...q, path: q.path + 2 ** 52 };
}

/** Sets bit 52 of every qid path in a reply from the share, in place. */
function markShareQids(r: Uint8Array): void {
  const type = r[4]!;
  const mark = (qidAt: number) => { r[qidAt + 5 + 6]! |= 0x10; };
  if (QID_FIRST.has(type)) mark(7);
  else if (type === MessageType.Rgetattr) mark(15);
  else if (type === MessageType.Rwalk) {
    const n = r[7]! | (r[8]! << 8);
    for (let i = 0; i < n; i++) mark(9 + i * QID_SIZE);
  } else if (type === MessageType.Rreaddir) {
    const view = new DataView(r.buffer, r.byteOffset, r.length);
    const end = 11 + view.getUint32(7, true);
    for (let at = 11; at < end; at += QID_SIZE + 8 + 1 + 2 + view.getUint16(at + QID_SIZE + 9, true)) mark(at);
  }
}
