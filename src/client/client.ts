// 9P2000.L clients over the channel. P9Client (async) serves the page's file API and the tests;
// SyncP9Client (blocking, in a worker) serves S1. Both encode straight into the shared slot and
// raise FsError with the server's errno.

import { Fields, Qid, decodeDirEntries, DirEntry, decodeMessage, encodeMessage } from '../wire/codec.js';
import { FsError } from '../wire/errno.js';
import { IO_OVERHEAD, MessageType, NOFID, VERSION_9P2000_L } from '../wire/messages.js';
import { AsyncChannelClient } from '../channel/async-client.js';
import { SyncChannelClient } from '../channel/sync-client.js';

/** Checks a reply's type and returns its fields; `data` fields are views into the slot until copied. */
function replyFields(reply: Uint8Array, expected: number): Fields {
  const m = decodeMessage(reply);
  if (m.type === MessageType.Rlerror) throw new FsError(m.fields.ecode);
  if (m.type !== expected) throw new FsError(71 /* EPROTO */, `expected reply type ${expected}, got ${m.type}`);
  return m.fields;
}

function copyData(f: Fields): Fields {
  if (f.data instanceof Uint8Array) f.data = f.data.slice();
  return f;
}

export interface Attr {
  valid: number; qid: Qid; mode: number; uid: number; gid: number; nlink: number; rdev: number; size: number;
  blksize: number; blocks: number; atimeSec: number; atimeNsec: number; mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number;
}

export interface SetAttr {
  valid: number; mode?: number; uid?: number; gid?: number; size?: number;
  atimeSec?: number; atimeNsec?: number; mtimeSec?: number; mtimeNsec?: number;
}

class Ids {
  private next = 1;
  private readonly freed: number[] = [];
  take(): number { return this.freed.pop() ?? this.next++; }
  give(id: number): void { this.freed.push(id); }
}

export class P9Client {
  msize = 0;
  private nextTag = 0;
  private readonly fids = new Ids();

  constructor(private readonly channel: AsyncChannelClient) {}

  /** Raw request: sends `type` with `fields`, returns the reply's fields (data copied out). */
  rpc(type: MessageType, fields: Fields): Promise<Fields> {
    const tag = this.nextTag = (this.nextTag + 1) % 0xffff;
    return this.channel.call(
      (out) => encodeMessage(type, tag, fields, out).length,
      (reply) => copyData(replyFields(reply, type + 1)),
    );
  }

  /** Sends raw bytes (tests use it for malformed messages) and returns the raw reply. */
  raw(bytes: Uint8Array): Promise<Uint8Array> {
    return this.channel.call((out) => { out.set(bytes); return bytes.length; }, (reply) => reply.slice());
  }

  newFid(): number { return this.fids.take(); }

  async version(msize = this.channel.maxMessage, version = VERSION_9P2000_L): Promise<{ msize: number; version: string }> {
    const f = await this.rpc(MessageType.Tversion, { msize, version });
    this.msize = f.msize;
    return f as { msize: number; version: string };
  }

  /** Tversion + Tattach; returns the root fid. */
  async connect(uid = 0): Promise<number> {
    await this.version();
    const fid = this.newFid();
    await this.attach(fid, uid);
    return fid;
  }

  async attach(fid: number, uid = 0, uname = 'root', aname = ''): Promise<Qid> {
    return (await this.rpc(MessageType.Tattach, { fid, afid: NOFID, uname, aname, nUname: uid })).qid;
  }

  async walk(fid: number, newfid: number, names: string[]): Promise<Qid[]> {
    return (await this.rpc(MessageType.Twalk, { fid, newfid, names })).qids;
  }

  /** Walks to `names` into a fresh fid; throws ENOENT-style errors unless the whole walk succeeds. */
  async walkNew(fid: number, names: string[]): Promise<number> {
    const newfid = this.newFid();
    try {
      const qids = await this.walk(fid, newfid, names);
      // A partial walk leaves newfid unbound (nothing to clunk); the catch below frees the id once.
      if (qids.length !== names.length) throw new FsError(2, `no such file: ${names.join('/')}`);
      return newfid;
    } catch (e) {
      this.fids.give(newfid);
      throw e;
    }
  }

  async clunk(fid: number): Promise<void> {
    try {
      await this.rpc(MessageType.Tclunk, { fid });
    } finally {
      this.fids.give(fid);
    }
  }

  async remove(fid: number): Promise<void> {
    try {
      await this.rpc(MessageType.Tremove, { fid });
    } finally {
      this.fids.give(fid);
    }
  }

  async getattr(fid: number, requestMask = 0x3fff): Promise<Attr> {
    return (await this.rpc(MessageType.Tgetattr, { fid, requestMask })) as Attr;
  }

  async setattr(fid: number, a: SetAttr): Promise<void> {
    await this.rpc(MessageType.Tsetattr, {
      fid, valid: a.valid, mode: a.mode ?? 0, uid: a.uid ?? 0, gid: a.gid ?? 0, size: a.size ?? 0,
      atimeSec: a.atimeSec ?? 0, atimeNsec: a.atimeNsec ?? 0, mtimeSec: a.mtimeSec ?? 0, mtimeNsec: a.mtimeNsec ?? 0,
    });
  }

  async lopen(fid: number, flags: number): Promise<{ qid: Qid; iounit: number }> {
    return (await this.rpc(MessageType.Tlopen, { fid, flags })) as { qid: Qid; iounit: number };
  }

  async lcreate(fid: number, name: string, flags: number, mode: number, gid = 0): Promise<{ qid: Qid; iounit: number }> {
    return (await this.rpc(MessageType.Tlcreate, { fid, name, flags, mode, gid })) as { qid: Qid; iounit: number };
  }

  async read(fid: number, offset: number, count: number): Promise<Uint8Array> {
    return (await this.rpc(MessageType.Tread, { fid, offset, count })).data;
  }

  async write(fid: number, offset: number, data: Uint8Array): Promise<number> {
    return (await this.rpc(MessageType.Twrite, { fid, offset, data })).count;
  }

  /** Reads a whole file from an open fid, in msize-sized pieces. */
  async readAll(fid: number): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const d = await this.read(fid, offset, this.msize - IO_OVERHEAD);
      if (d.length === 0) break;
      chunks.push(d);
      offset += d.length;
    }
    const out = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  /** Writes all of `data` at `offset`, in msize-sized pieces. */
  async writeAll(fid: number, offset: number, data: Uint8Array): Promise<void> {
    const step = this.msize - IO_OVERHEAD;
    for (let at = 0; at < data.length;) {
      const n = await this.write(fid, offset + at, data.subarray(at, at + step));
      if (n <= 0) throw new FsError(5, 'short write');
      at += n;
    }
  }

  async readdir(fid: number, offset: number, count: number): Promise<DirEntry[]> {
    return decodeDirEntries((await this.rpc(MessageType.Treaddir, { fid, offset, count })).data);
  }

  /** Every entry of an open directory fid, following readdir cookies. */
  async readdirAll(fid: number): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    let offset = 0;
    for (;;) {
      const batch = await this.readdir(fid, offset, this.msize - IO_OVERHEAD);
      if (batch.length === 0) return out;
      out.push(...batch);
      offset = batch[batch.length - 1]!.offset;
    }
  }

  async mkdir(dfid: number, name: string, mode: number, gid = 0): Promise<Qid> {
    return (await this.rpc(MessageType.Tmkdir, { dfid, name, mode, gid })).qid;
  }

  async symlink(fid: number, name: string, target: string, gid = 0): Promise<Qid> {
    return (await this.rpc(MessageType.Tsymlink, { fid, name, target, gid })).qid;
  }

  async readlink(fid: number): Promise<string> {
    return (await this.rpc(MessageType.Treadlink, { fid })).target;
  }

  async mknod(dfid: number, name: string, mode: number, major: number, minor: number, gid = 0): Promise<Qid> {
    return (await this.rpc(MessageType.Tmknod, { dfid, name, mode, major, minor, gid })).qid;
  }

  async link(dfid: number, fid: number, name: string): Promise<void> {
    await this.rpc(MessageType.Tlink, { dfid, fid, name });
  }

  async rename(fid: number, dfid: number, name: string): Promise<void> {
    await this.rpc(MessageType.Trename, { fid, dfid, name });
  }

  async renameat(oldDirFid: number, oldName: string, newDirFid: number, newName: string): Promise<void> {
    await this.rpc(MessageType.Trenameat, { oldDirFid, oldName, newDirFid, newName });
  }

  async unlinkat(dirFid: number, name: string, flags = 0): Promise<void> {
    await this.rpc(MessageType.Tunlinkat, { dirFid, name, flags });
  }

  async statfs(fid: number): Promise<Fields> {
    return this.rpc(MessageType.Tstatfs, { fid });
  }

  async fsync(fid: number, datasync = 0): Promise<void> {
    await this.rpc(MessageType.Tfsync, { fid, datasync });
  }

  async lock(fid: number, l: { type: number; flags?: number; start: number; length: number; procId: number; clientId: string }): Promise<number> {
    return (await this.rpc(MessageType.Tlock, { flags: 0, ...l, fid })).status;
  }

  async getlock(fid: number, l: { type: number; start: number; length: number; procId: number; clientId: string }): Promise<Fields> {
    return this.rpc(MessageType.Tgetlock, { ...l, fid });
  }

  async xattrwalk(fid: number, newfid: number, name: string): Promise<number> {
    return (await this.rpc(MessageType.Txattrwalk, { fid, newfid, name })).size;
  }

  async xattrcreate(fid: number, name: string, size: number, flags: number): Promise<void> {
    await this.rpc(MessageType.Txattrcreate, { fid, name, size, flags });
  }

  async flush(oldtag: number): Promise<void> {
    await this.rpc(MessageType.Tflush, { oldtag });
  }
}

/** The blocking client: same messages, answered synchronously (only in a worker). */
export class SyncP9Client {
  msize = 0;
  private tag = 0;

  constructor(private readonly channel: SyncChannelClient) {}

  rpc(type: MessageType, fields: Fields): Fields {
    const tag = this.tag = (this.tag + 1) % 0xffff;
    return this.channel.call(
      (out) => encodeMessage(type, tag, fields, out).length,
      (reply) => copyData(replyFields(reply, type + 1)),
    );
  }

  /** Tread straight into `dest` (for example WebAssembly memory): one copy from the shared slot. */
  readInto(fid: number, offset: number, dest: Uint8Array): number {
    const tag = this.tag = (this.tag + 1) % 0xffff;
    return this.channel.call(
      (out) => encodeMessage(MessageType.Tread, tag, { fid, offset, count: Math.min(dest.length, this.msize - IO_OVERHEAD) }, out).length,
      (reply) => {
        const data = replyFields(reply, MessageType.Rread).data as Uint8Array;
        dest.set(data);
        return data.length;
      },
    );
  }

  /**
   * Sends Tclunk without waiting for its answer, on the connection's second slot (false when it has
   * none). The fid may be reused only after settleClunk().
   */
  postClunk(fid: number): boolean {
    const tag = this.tag = (this.tag + 1) % 0xffff;
    return this.channel.post((out) => encodeMessage(MessageType.Tclunk, tag, { fid }, out).length);
  }

  /** Waits for the answer to the last postClunk; true when there was one. */
  settleClunk(): boolean {
    return this.channel.settle();
  }

  version(msize = this.channel.maxMessage): Fields {
    const f = this.rpc(MessageType.Tversion, { msize, version: VERSION_9P2000_L });
    this.msize = f.msize;
    return f;
  }
}
