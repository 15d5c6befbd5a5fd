// The 9P mux that serves an OCI image's root, the share and the launch file through v86's one
// virtio-9p device (src/engines/root-mux.ts), against two in-memory fake servers: walks from the
// top directory, the synthetic entries, fids routed to their worker, the share's inode numbers
// apart from the root's, EXDEV between the two, and Tlink made as a copy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Qid, decodeDirEntries, decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { Body, Message, MessageType, NOFID, WireType } from '../../src/wire/messages.js';
import { NinePTarget, RootMux } from '../../src/engines/root-mux.js';

/** A flat 9P server: a root directory holding files by name; Tlink answers EOPNOTSUPP. */
class FakeServer implements NinePTarget {
  readonly files = new Map<string, { data: Uint8Array; mode: number; uid: number; gid: number; path: number }>();
  readonly fids = new Map<number, string>(); // '' is the root
  readonly seen: number[] = [];
  private nextPath = 10;

  constructor(private readonly msize: number) {}

  add(name: string, text: string): void {
    this.files.set(name, { data: new TextEncoder().encode(text), mode: 0o100640, uid: 7, gid: 8, path: this.nextPath++ });
  }

  private qid(name: string): Qid {
    return name === '' ? { type: 0x80, version: 0, path: 0 } : { type: 0, version: 0, path: this.files.get(name)!.path };
  }

  drained(): Promise<void> { return Promise.resolve(); }

  handle(request: Uint8Array, reply: (r: Uint8Array) => void): void {
    const m = decodeMessage(request);
    this.seen.push(m.type);
    const answer = <M extends WireType>(type: M, fields = {} as Body<M>): void => { setTimeout(() => reply(encodeMessage(type, m.tag, fields)), 0); };
    const error = (ecode: number) => answer(MessageType.Rlerror, { ecode });
    switch (m.type) {
      case MessageType.Tversion: return answer(MessageType.Rversion, { msize: Math.min(m.fields.msize, this.msize), version: m.fields.version });
      case MessageType.Tattach: this.fids.set(m.fields.fid, ''); return answer(MessageType.Rattach, { qid: this.qid('') });
      case MessageType.Twalk: {
        const from = this.fids.get(m.fields.fid);
        if (from === undefined) return error(9);
        if (m.fields.names.length === 0) { this.fids.set(m.fields.newfid, from); return answer(MessageType.Rwalk, { qids: [] }); }
        if (from !== '' || !this.files.has(m.fields.names[0])) return error(2);
        this.fids.set(m.fields.newfid, m.fields.names[0]);
        return answer(MessageType.Rwalk, { qids: [this.qid(m.fields.names[0])] });
      }
      case MessageType.Tgetattr: {
        const name = this.fids.get(m.fields.fid)!;
        const file = this.files.get(name);
        return answer(MessageType.Rgetattr, {
          valid: 0x7ff, qid: this.qid(name), mode: file?.mode ?? 0o40755, uid: file?.uid ?? 0, gid: file?.gid ?? 0, nlink: 1, rdev: 0,
          size: file?.data.length ?? 0, blksize: 4096, blocks: 0, atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0,
          ctimeSec: 0, ctimeNsec: 0, btimeSec: 0, btimeNsec: 0, gen: 0, dataVersion: 0,
        });
      }
      case MessageType.Tlopen: return answer(MessageType.Rlopen, { qid: this.qid(this.fids.get(m.fields.fid)!), iounit: 0 });
      case MessageType.Tlcreate: {
        if (this.files.has(m.fields.name)) return error(17);
        this.files.set(m.fields.name, { data: new Uint8Array(0), mode: 0o100000 | m.fields.mode, uid: 0, gid: m.fields.gid, path: this.nextPath++ });
        this.fids.set(m.fields.fid, m.fields.name);
        return answer(MessageType.Rlcreate, { qid: this.qid(m.fields.name), iounit: 0 });
      }
      case MessageType.Tread: {
        const data = this.files.get(this.fids.get(m.fields.fid)!)!.data;
        return answer(MessageType.Rread, { data: data.slice(m.fields.offset, m.fields.offset + m.fields.count) });
      }
      case MessageType.Twrite: {
        const file = this.files.get(this.fids.get(m.fields.fid)!)!;
        const data = new Uint8Array(Math.max(file.data.length, m.fields.offset + m.fields.data.length));
        data.set(file.data);
        data.set(m.fields.data, m.fields.offset);
        file.data = data;
        return answer(MessageType.Rwrite, { count: m.fields.data.length });
      }
      case MessageType.Tsetattr: {
        const file = this.files.get(this.fids.get(m.fields.fid)!)!;
        if (m.fields.valid & 2) file.uid = m.fields.uid;
        return answer(MessageType.Rsetattr);
      }
      case MessageType.Txattrwalk: {
        const from = this.fids.get(m.fields.fid);
        if (from === undefined) return error(9);
        this.fids.set(m.fields.newfid, from);
        return answer(MessageType.Rxattrwalk, { size: 0 });
      }
      case MessageType.Tclunk: this.fids.delete(m.fields.fid); return answer(MessageType.Rclunk);
      case MessageType.Tlink: return error(95);
      default: return error(38);
    }
  }
}

function setUp() {
  const root = new FakeServer(65536);
  const share = new FakeServer(8192 + 24);
  root.add('etc-file', 'in the root');
  share.add('notes', 'x'.repeat(20000));
  const mux = new RootMux(root, share, new TextEncoder().encode('cvm_user=\'\'\n'));
  let tag = 1;
  const call = <M extends WireType>(type: M, fields: Body<M>) => new Promise<Message>((resolve) => {
    mux.handle(encodeMessage(type, tag++, fields), (r) => resolve(decodeMessage(r.slice())));
  });
  return { root, share, call };
}

/** The fields of a reply that must be of `type`. */
function fieldsOf<M extends WireType>(m: Message, type: M): Body<M> {
  assert.equal(m.type, type, `expected message type ${type}, got ${m.type}`);
  return m.fields as Body<M>;
}

const ecode = (m: Message) => fieldsOf(m, MessageType.Rlerror).ecode;

test('RootMux: version, attach and the top directory: root/, share/ and launch', async () => {
  const { call } = setUp();
  assert.equal(fieldsOf(await call(MessageType.Tversion, { msize: 512000, version: '9P2000.L' }), MessageType.Rversion).msize, 8192 + 24, 'the smaller msize');
  const top = await call(MessageType.Tattach, { fid: 1, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  assert.equal(fieldsOf(top, MessageType.Rattach).qid.type, 0x80);
  assert.equal((await call(MessageType.Tlopen, { fid: 1, flags: 0 })).type, MessageType.Rlopen);
  const listing = await call(MessageType.Treaddir, { fid: 1, offset: 0, count: 4096 });
  assert.deepEqual(decodeDirEntries(fieldsOf(listing, MessageType.Rreaddir).data).map((e) => e.name), ['root', 'share', 'launch']);
  assert.deepEqual(decodeDirEntries(fieldsOf(await call(MessageType.Treaddir, { fid: 1, offset: 2, count: 4096 }), MessageType.Rreaddir).data).map((e) => e.name), ['launch']);

  const launch = await call(MessageType.Twalk, { fid: 1, newfid: 2, names: ['launch'] });
  assert.equal(fieldsOf(launch, MessageType.Rwalk).qids.length, 1);
  assert.equal(new TextDecoder().decode(fieldsOf(await call(MessageType.Tread, { fid: 2, offset: 0, count: 100 }), MessageType.Rread).data), 'cvm_user=\'\'\n');
  assert.equal(ecode(await call(MessageType.Twalk, { fid: 1, newfid: 3, names: ['nothing'] })), 2);
  assert.equal(ecode(await call(MessageType.Tmkdir, { dfid: 1, name: 'x', mode: 0o755, gid: 0 })), 30, 'the top is read-only');
});

test('RootMux: walks reach each worker from its root fid; the share\'s inode numbers are apart', async () => {
  const { root, share, call } = setUp();
  await call(MessageType.Tversion, { msize: 512000, version: '9P2000.L' });
  await call(MessageType.Tattach, { fid: 1, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  const inRoot = await call(MessageType.Twalk, { fid: 1, newfid: 2, names: ['root', 'etc-file'] });
  const inShare = await call(MessageType.Twalk, { fid: 1, newfid: 3, names: ['share', 'notes'] });
  assert.deepEqual(fieldsOf(inRoot, MessageType.Rwalk).qids.map((q: Qid) => q.path), [0, 10]);
  assert.deepEqual(fieldsOf(inShare, MessageType.Rwalk).qids.map((q: Qid) => q.path), [2 ** 52, 2 ** 52 + 10]);
  assert.equal(root.fids.get(2), 'etc-file');
  assert.equal(share.fids.get(3), 'notes');
  const attr = fieldsOf(await call(MessageType.Tgetattr, { fid: 3, requestMask: 0x3fff }), MessageType.Rgetattr);
  assert.deepEqual([attr.qid.path, attr.size], [2 ** 52 + 10, 20000]);
  // A failed walk past root/ is a partial walk: the guest sees ENOENT, the new fid is not bound.
  const partial = await call(MessageType.Twalk, { fid: 1, newfid: 4, names: ['root', 'missing'] });
  assert.equal(fieldsOf(partial, MessageType.Rwalk).qids.length, 1);
  assert.equal(ecode(await call(MessageType.Tgetattr, { fid: 4, requestMask: 0x3fff })), 9);
  // Between the two trees: EXDEV.
  const shareDir = await call(MessageType.Twalk, { fid: 1, newfid: 5, names: ['share'] });
  assert.equal(fieldsOf(shareDir, MessageType.Rwalk).qids.length, 1);
  assert.equal(ecode(await call(MessageType.Tlink, { dfid: 5, fid: 2, name: 'x' })), 18);
});

test('RootMux: Tlink, which the stores refuse, becomes a copy with the mode and owner', async () => {
  const { share, call } = setUp();
  await call(MessageType.Tversion, { msize: 512000, version: '9P2000.L' });
  await call(MessageType.Tattach, { fid: 1, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  await call(MessageType.Twalk, { fid: 1, newfid: 2, names: ['share'] });
  await call(MessageType.Twalk, { fid: 1, newfid: 3, names: ['share', 'notes'] });
  assert.equal((await call(MessageType.Tlink, { dfid: 2, fid: 3, name: 'notes-old' })).type, MessageType.Rlink);
  const copy = share.files.get('notes-old')!;
  assert.equal(new TextDecoder().decode(copy.data), 'x'.repeat(20000), 'copied in msize pieces');
  assert.deepEqual([copy.mode, copy.uid, copy.gid], [0o100640, 7, 8]);
  assert.equal(ecode(await call(MessageType.Tlink, { dfid: 2, fid: 3, name: 'notes-old' })), 17, 'EEXIST as link() gives');
  assert.equal([...share.fids.keys()].filter((fid) => fid > 0xffff0000).length, 1, "only the mux's root fid stays");
});

test('RootMux: a Txattrwalk\'s newfid belongs to its worker: clunked there, so the guest can use the number again', async () => {
  const { root, call } = setUp();
  await call(MessageType.Tversion, { msize: 512000, version: '9P2000.L' });
  await call(MessageType.Tattach, { fid: 1, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
  await call(MessageType.Twalk, { fid: 1, newfid: 2, names: ['root', 'etc-file'] });
  // listxattr: the size first, then the fid is clunked.
  assert.equal(fieldsOf(await call(MessageType.Txattrwalk, { fid: 2, newfid: 3, name: '' }), MessageType.Rxattrwalk).size, 0);
  assert.equal(root.fids.get(3), 'etc-file');
  assert.equal((await call(MessageType.Tclunk, { fid: 3 })).type, MessageType.Rclunk);
  assert.equal(root.fids.has(3), false);
  assert.equal(fieldsOf(await call(MessageType.Twalk, { fid: 1, newfid: 3, names: ['root', 'etc-file'] }), MessageType.Rwalk).qids.length, 2);
  assert.equal(ecode(await call(MessageType.Txattrwalk, { fid: 1, newfid: 4, name: '' })), 95, 'the top directory has no attributes');
});
