// The 9P2000.L conformance suite, driven through the channel against a real storage worker on
// real OPFS. It takes the backend as a parameter so the same tests check M1 and L1.

import { expect } from 'chai';
import { Backend } from '../../src/storage/storage-protocol.js';
import { AsyncChannelClient } from '../../src/channel/async-client.js';
import { ChannelError } from '../../src/channel/slot.js';
import { P9Client } from '../../src/client/client.js';
import { P9File } from '../../src/client/file.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { Errno } from '../../src/wire/errno.js';
import {
  AT_REMOVEDIR, GetattrMask, LockStatus, LockType, MessageType, NOFID, OpenFlag, Qid, QidType, SetattrMask, V9FS_MAGIC,
} from '../../src/wire/messages.js';
import { File, Session, expectErrno, hasJspi, itRefusesL1WithoutJspi, openSession, opfsDir, text, untext, wipe } from './support.js';

const O_RDONLY = OpenFlag.ReadOnly;
const O_WRONLY = OpenFlag.WriteOnly;
const O_RDWR = OpenFlag.ReadWrite;

export function conformanceSuite(backend: Backend): void {
  if (backend === 'l1' && !hasJspi) {
    describe('9P2000.L conformance (l1)', itRefusesL1WithoutJspi);
    return;
  }
  describe(`9P2000.L conformance (${backend})`, function () {
    this.timeout(60000);
    const root = `/conformance-${backend}`;
    let s: Session;
    let c: P9Client;

    beforeEach(async () => {
      await wipe(root);
      s = await openSession(backend, root);
      c = s.client;
    });

    afterEach(async () => {
      await s.host.close();
    });

    /** Twalk from `from` into the fid number `newfid`, which the test manages itself; returns the qids. */
    async function walkTo(from: File | number, newfid: number, names: string[]): Promise<Qid[]> {
      return (await c.rpc(MessageType.Twalk, { fid: typeof from === 'number' ? from : from.fid, newfid, names })).qids;
    }

    /** The file for a fid number the test manages itself. */
    const fileOf = (fid: number, client: P9Client = c): File => new P9File(client, fid, null);

    /** Creates a file with content and returns nothing; the fid is clunked. */
    async function put(dir: File, name: string, content: string, mode = 0o644): Promise<void> {
      const fid = await dir.walk([]);
      await fid.create(name, O_WRONLY, mode);
      if (content) await fid.write(0, text(content));
      await fid.clunk();
    }

    async function get(path: string[]): Promise<string> {
      const fid = await s.root.walk(path);
      await fid.open(O_RDONLY);
      const data = await fid.readAll();
      await fid.clunk();
      return untext(data);
    }

    async function names(path: string[]): Promise<string[]> {
      const fid = await s.root.walk(path);
      await fid.open(O_RDONLY);
      const entries = await fid.readdirAll();
      await fid.clunk();
      return entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
    }

    async function attr(path: string[]) {
      const fid = await s.root.walk(path);
      const a = await fid.getattr();
      await fid.clunk();
      return a;
    }

    describe('version and attach', () => {
      it('negotiates msize down to what the channel carries and names 9P2000.L', async () => {
        const r = await c.version(64 * 1024 * 1024);
        expect(r.version).to.equal('9P2000.L');
        expect(r.msize).to.be.at.most(64 * 1024 * 1024).and.at.least(64 * 1024);
        const small = await c.version(8192);
        expect(small.msize).to.equal(8192);
      });

      it('answers an unknown version with "unknown"', async () => {
        const r = await c.version(8192, '9P2000.u');
        expect(r.version).to.equal('unknown');
      });

      it('refuses a tiny msize', async () => {
        await expectErrno(c.version(100), 'EINVAL');
      });

      it('resets the session on Tversion: old fids are gone', async () => {
        const fid = await s.root.walk([]);
        await c.version();
        await expectErrno(fid.getattr(), 'EBADF');
      });

      it('refuses Tauth and attach with an afid', async () => {
        await expectErrno(c.rpc(MessageType.Tauth, { afid: 7, uname: 'root', aname: '', nUname: 0 }), 'EOPNOTSUPP');
        await expectErrno(c.rpc(MessageType.Tattach, { fid: 50, afid: 7, uname: 'root', aname: '', nUname: 0 }), 'EINVAL');
      });

      it('attaches to a directory qid and refuses a fid in use', async () => {
        const attach = () => c.rpc(MessageType.Tattach, { fid: 60, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
        expect((await attach()).qid.type).to.equal(QidType.Dir);
        await expectErrno(attach(), 'EBADF');
      });
    });

    describe('walk', () => {
      it('clones with no names, walks several levels and reports a qid per step', async () => {
        await s.root.mkdir('a', 0o755);
        const a = await s.root.walk(['a']);
        await a.mkdir('b', 0o755);
        const b = await a.walk(['b']);
        await put(b, 'f', 'x');
        const clone = c.fids.take();
        expect(await walkTo(s.root, clone, [])).to.deep.equal([]);
        const f = c.fids.take();
        const qids = await walkTo(s.root, f, ['a', 'b', 'f']);
        expect(qids.map((q) => q.type)).to.deep.equal([QidType.Dir, QidType.Dir, QidType.File]);
      });

      it('answers a partial walk with the qids that succeeded and does not create newfid', async () => {
        await s.root.mkdir('a', 0o755);
        const nf = c.fids.take();
        const qids = await walkTo(s.root, nf, ['a', 'missing', 'x']);
        expect(qids).to.have.length(1);
        await expectErrno(fileOf(nf).getattr(), 'EBADF');
      });

      it('fails with ENOENT when the first name is missing', async () => {
        await expectErrno(walkTo(s.root, c.fids.take(), ['missing']), 'ENOENT');
      });

      it('keeps ".." at the root at the root', async () => {
        const rootQid = (await s.root.getattr()).qid;
        const up = c.fids.take();
        const qids = await walkTo(s.root, up, ['..', '..']);
        expect(qids[1]!.path).to.equal(rootQid.path);
        expect((await fileOf(up).getattr()).qid.path).to.equal(rootQid.path);
      });

      it('walks ".." from a subdirectory to its parent', async () => {
        await s.root.mkdir('a', 0o755);
        const rootQid = (await s.root.getattr()).qid;
        const qids = await walkTo(s.root, c.fids.take(), ['a', '..']);
        expect(qids[1]!.path).to.equal(rootQid.path);
      });

      it('cannot reach the metadata area', async () => {
        await expectErrno(walkTo(s.root, c.fids.take(), ['.container-vm']), 'ENOENT');
        // A walk failing after its first step answers with the qids that succeeded.
        expect(await walkTo(s.root, c.fids.take(), ['..', '.container-vm'])).to.have.length(1);
        expect(await names([])).to.not.include('.container-vm');
      });

      it('refuses names with "/" or NUL, and more than 16 names', async () => {
        await expectErrno(walkTo(s.root, c.fids.take(), ['a/b']), 'EINVAL');
        await expectErrno(walkTo(s.root, c.fids.take(), ['a\0b']), 'EINVAL');
        await expectErrno(walkTo(s.root, c.fids.take(), new Array(17).fill('..')), 'EINVAL');
      });

      it('does not follow symlinks', async () => {
        await s.root.mkdir('real', 0o755);
        await s.root.symlink('link', 'real');
        expect(await walkTo(s.root, c.fids.take(), ['link', 'x'])).to.have.length(1);
        const link = await s.root.walk(['link']);
        await expectErrno(walkTo(link, c.fids.take(), ['x']), 'ENOTDIR');
        await s.root.symlink('escape', '../../../../etc');
        const qids = await walkTo(s.root, c.fids.take(), ['escape']);
        expect(qids[0]!.type).to.equal(QidType.Symlink);
      });

      it('refuses an unknown fid and a newfid in use', async () => {
        await expectErrno(walkTo(999, c.fids.take(), []), 'EBADF');
        const used = await s.root.walk([]);
        await expectErrno(walkTo(s.root, used.fid, []), 'EBADF');
      });

      it('walks a fid onto itself', async () => {
        await s.root.mkdir('a', 0o755);
        const fid = await s.root.walk([]);
        await walkTo(fid, fid.fid, ['a']);
        expect((await fid.getattr()).qid.type).to.equal(QidType.Dir);
        expect((await fid.getattr()).qid.path).to.not.equal((await s.root.getattr()).qid.path);
      });
    });

    describe('files', () => {
      it('creates, writes, reads back at offsets and reports the size', async () => {
        const fid = await s.root.walk([]);
        const { qid, iounit } = await fid.create('f', O_RDWR, 0o640);
        expect(qid.type).to.equal(QidType.File);
        expect(iounit).to.be.greaterThan(4096);
        expect(await fid.write(0, text('hello world'))).to.equal(11);
        expect(await fid.write(6, text('there'))).to.equal(5);
        expect(untext(await fid.read(0, 100))).to.equal('hello there');
        expect(untext(await fid.read(6, 3))).to.equal('the');
        expect(await fid.read(11, 10)).to.have.length(0);
        expect(await fid.read(1000, 10)).to.have.length(0);
        const a = await fid.getattr();
        expect(a.size).to.equal(11);
        expect(a.mode).to.equal(0o100640);
        expect(a.nlink).to.equal(1);
        expect(a.valid & GetattrMask.Basic).to.equal(GetattrMask.Basic);
      });

      it('fills a gap with zeros when writing past the end', async () => {
        const fid = await s.root.walk([]);
        await fid.create('sparse', O_RDWR, 0o644);
        await fid.write(5, text('x'));
        expect(Array.from(await fid.read(0, 10))).to.deep.equal([0, 0, 0, 0, 0, 120]);
      });

      it('moves a large file in msize-sized pieces', async () => {
        const big = new Uint8Array(3 * 1024 * 1024 + 17);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
        const fid = await s.root.walk([]);
        await fid.create('big', O_RDWR, 0o644);
        await fid.writeAll(0, big);
        const back = await fid.readAll();
        expect(back.length).to.equal(big.length);
        expect(back.every((v, i) => v === big[i])).to.equal(true);
      });

      it('clamps a read to msize', async () => {
        await c.version(8192);
        const fid = await c.attach();
        await fid.create('f', O_RDWR, 0o644);
        await fid.writeAll(0, new Uint8Array(20000));
        expect((await fid.read(0, 20000)).length).to.be.at.most(8192 - 23);
      });

      it('truncates on open with O_TRUNC and appends with O_APPEND', async () => {
        await put(s.root, 'f', 'abcdef');
        let fid = await s.root.walk(['f']);
        await fid.open(O_WRONLY | OpenFlag.Truncate);
        await fid.clunk();
        expect(await get(['f'])).to.equal('');
        await put(s.root, 'g', 'abc');
        fid = await s.root.walk(['g']);
        await fid.open(O_WRONLY | OpenFlag.Append);
        await fid.write(0, text('def'));
        await fid.clunk();
        expect(await get(['g'])).to.equal('abcdef');
      });

      it('refuses lcreate over an existing name and bad names', async () => {
        await put(s.root, 'f', '');
        const fid = await s.root.walk([]);
        await expectErrno(fid.create('f', O_RDWR, 0o644), 'EEXIST');
        for (const bad of ['', '.', '..', 'a/b']) await expectErrno(fid.create(bad, O_RDWR, 0o644), 'EINVAL');
        await expectErrno(fid.create('x'.repeat(256), O_RDWR, 0o644), 'ENAMETOOLONG');
        await expectErrno(fid.create('.container-vm', O_RDWR, 0o644), 'EPERM');
        await fid.create('x'.repeat(255), O_RDWR, 0o644);
      });

      it('keeps names OPFS cannot hold: backslash, unicode', async () => {
        await put(s.root, 'back\\slash', 'b');
        await put(s.root, 'ünïcødé ✓', 'u');
        expect(await names([])).to.deep.equal(['back\\slash', 'ünïcødé ✓']);
        expect(await get(['back\\slash'])).to.equal('b');
      });

      it('checks open modes: EBADF for unopened or wrong-mode fids, EISDIR for directories', async () => {
        await put(s.root, 'f', 'abc');
        const fid = await s.root.walk(['f']);
        await expectErrno(fid.read(0, 1), 'EBADF');
        await fid.open(O_RDONLY);
        await expectErrno(fid.write(0, text('x')), 'EBADF');
        await expectErrno(fid.open(O_RDONLY), 'EBADF');
        const w = await s.root.walk(['f']);
        await w.open(O_WRONLY);
        await expectErrno(w.read(0, 1), 'EBADF');
        const d = await s.root.walk([]);
        await expectErrno(d.open(O_RDWR), 'EISDIR');
        await d.open(O_RDONLY);
        await expectErrno(d.read(0, 10), 'EISDIR');
        const f2 = await s.root.walk(['f']);
        await expectErrno(f2.open(O_RDONLY | OpenFlag.Directory), 'ENOTDIR');
      });

      it('fsyncs', async () => {
        const fid = await s.root.walk([]);
        await fid.create('f', O_RDWR, 0o644);
        await fid.write(0, text('durable'));
        await fid.fsync();
        await fid.fsync(1);
      });
    });

    describe('attributes', () => {
      it('sets mode, owner, size and times', async () => {
        await put(s.root, 'f', 'abcdef');
        const fid = await s.root.walk(['f']);
        await fid.setattr({ valid: SetattrMask.Mode, mode: 0o4711 });
        await fid.setattr({ valid: SetattrMask.Uid | SetattrMask.Gid, uid: 1000, gid: 100 });
        await fid.setattr({ valid: SetattrMask.Size, size: 3 });
        await fid.setattr({
          valid: SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet,
          atimeSec: 1000000000, atimeNsec: 5, mtimeSec: 1234567890, mtimeNsec: 123456789,
        });
        const a = await fid.getattr();
        expect(a.mode).to.equal(0o104711);
        expect([a.uid, a.gid]).to.deep.equal([1000, 100]);
        expect(a.size).to.equal(3);
        expect([a.mtimeSec, a.mtimeNsec]).to.deep.equal([1234567890, 123456789]);
        expect([a.atimeSec, a.atimeNsec]).to.deep.equal([1000000000, 5]);
        expect(a.ctimeSec).to.be.greaterThan(1600000000);
        await fid.setattr({ valid: SetattrMask.Size, size: 10 });
        const fid2 = await s.root.walk(['f']);
        await fid2.open(O_RDONLY);
        expect(Array.from(await fid2.read(0, 20))).to.deep.equal([97, 98, 99, 0, 0, 0, 0, 0, 0, 0]);
      });

      it('sets times to now', async () => {
        await put(s.root, 'f', '');
        const fid = await s.root.walk(['f']);
        await fid.setattr({ valid: SetattrMask.Mtime | SetattrMask.MtimeSet, mtimeSec: 5, mtimeNsec: 0 });
        await fid.setattr({ valid: SetattrMask.Mtime | SetattrMask.Atime });
        const a = await fid.getattr();
        expect(Math.abs(a.mtimeSec - Date.now() / 1000)).to.be.lessThan(60);
      });

      it('refuses to truncate a directory and an nsec past a second', async () => {
        const fid = await s.root.walk([]);
        await expectErrno(fid.setattr({ valid: SetattrMask.Size, size: 0 }), 'EISDIR');
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await expectErrno(f.setattr({ valid: SetattrMask.Mtime | SetattrMask.MtimeSet, mtimeSec: 1, mtimeNsec: 2e9 }), 'EINVAL');
      });

      it('updates mtime on write and the directory mtime on create', async () => {
        await s.root.mkdir('d', 0o755);
        const d = await s.root.walk(['d']);
        await d.setattr({ valid: SetattrMask.Mtime | SetattrMask.MtimeSet, mtimeSec: 100, mtimeNsec: 0 });
        await put(d, 'f', 'x');
        expect((await d.getattr()).mtimeSec).to.be.greaterThan(100);
        const f = await d.walk(['f']);
        await f.setattr({ valid: SetattrMask.Mtime | SetattrMask.MtimeSet, mtimeSec: 100, mtimeNsec: 0 });
        await f.open(O_WRONLY);
        await f.write(0, text('y'));
        expect((await f.getattr()).mtimeSec).to.be.greaterThan(100);
      });

      it('counts subdirectories in a directory nlink', async () => {
        await s.root.mkdir('d', 0o755);
        const d = await s.root.walk(['d']);
        await d.mkdir('x', 0o755);
        await d.mkdir('y', 0o755);
        await put(d, 'f', '');
        expect((await d.getattr()).nlink).to.equal(4);
      });
    });

    describe('directories', () => {
      it('lists with "." and "..", types, and resumes from cookies in small batches', async () => {
        await s.root.mkdir('dir', 0o755);
        const d = await s.root.walk(['dir']);
        const created: string[] = [];
        for (let i = 0; i < 40; i++) { const n = `file-${i}`; created.push(n); await put(d, n, ''); }
        await d.mkdir('sub', 0o700);
        await d.symlink('ln', 'file-0');
        const fid = await s.root.walk(['dir']);
        await fid.open(O_RDONLY);
        const seen: { name: string; type: number }[] = [];
        let offset = 0;
        for (;;) {
          const batch = await fid.readdir(offset, 120);
          if (!batch.length) break;
          expect(batch.length).to.be.lessThan(6);
          seen.push(...batch);
          offset = batch[batch.length - 1]!.offset;
        }
        const byName = new Map(seen.map((e) => [e.name, e.type]));
        expect(seen.length).to.equal(byName.size);
        expect(byName.get('.')).to.equal(4);
        expect(byName.get('..')).to.equal(4);
        expect(byName.get('sub')).to.equal(4);
        expect(byName.get('ln')).to.equal(10);
        expect(byName.get('file-7')).to.equal(8);
        expect([...byName.keys()].filter((n) => n.startsWith('file-')).sort()).to.deep.equal(created.sort());
      });

      it('requires an open directory fid for readdir', async () => {
        const fid = await s.root.walk([]);
        await expectErrno(fid.readdir(0, 1000), 'EBADF');
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await f.open(O_RDONLY);
        await expectErrno(f.readdir(0, 1000), 'ENOTDIR');
      });

      it('mkdir refuses existing names and files as parents', async () => {
        await s.root.mkdir('d', 0o750);
        expect((await attr(['d'])).mode).to.equal(0o40750);
        await expectErrno(s.root.mkdir('d', 0o755), 'EEXIST');
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await expectErrno(f.mkdir('x', 0o755), 'ENOTDIR');
      });
    });

    describe('symlinks and special files', () => {
      it('stores symlink targets verbatim', async () => {
        const qid = await s.root.symlink('l', '../some/where/..//x');
        expect(qid.type).to.equal(QidType.Symlink);
        const l = await s.root.walk(['l']);
        expect(await l.readlink()).to.equal('../some/where/..//x');
        const a = await l.getattr();
        expect(a.mode & 0o170000).to.equal(0o120000);
        expect(a.size).to.equal('../some/where/..//x'.length);
        await expectErrno(l.open(O_RDONLY), 'ELOOP');
      });

      it('readlink of a non-symlink is EINVAL; symlink over an existing name is EEXIST', async () => {
        await put(s.root, 'f', '');
        await expectErrno((await s.root.walk(['f'])).readlink(), 'EINVAL');
        await expectErrno(s.root.symlink('f', 'x'), 'EEXIST');
      });

      it('makes fifos and device nodes with their rdev', async () => {
        await s.root.mknod('fifo', 0o010644, 0, 0);
        await s.root.mknod('null', 0o020666, 1, 3);
        await s.root.mknod('sda', 0o060660, 8, 300);
        expect((await attr(['fifo'])).mode).to.equal(0o010644);
        const chr = await attr(['null']);
        expect(chr.mode).to.equal(0o020666);
        expect(chr.rdev).to.equal((1 << 8) | 3);
        const blk = await attr(['sda']);
        expect(blk.rdev).to.equal((300 & 0xff) | (8 << 8) | ((300 & ~0xff) << 12));
        await expectErrno(s.root.mknod('bad', 0o170644, 0, 0), 'EINVAL');
      });

      it('refuses hard links cleanly', async () => {
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await expectErrno(s.root.link(f, 'g'), 'EOPNOTSUPP');
      });
    });

    describe('rename', () => {
      it('renames a file, replacing an existing one', async () => {
        await put(s.root, 'a', 'A');
        await put(s.root, 'b', 'B');
        await s.root.renameat('a', s.root, 'b');
        expect(await names([])).to.deep.equal(['b']);
        expect(await get(['b'])).to.equal('A');
      });

      it('renames through Trename and keeps the fid pointing at the file', async () => {
        await s.root.mkdir('d', 0o755);
        await put(s.root, 'a', 'A');
        const a = await s.root.walk(['a']);
        const d = await s.root.walk(['d']);
        await a.rename(d, 'moved');
        expect(await get(['d', 'moved'])).to.equal('A');
        await a.open(O_RDONLY);
        expect(untext(await a.read(0, 10))).to.equal('A');
      });

      it('moves a directory tree with its contents, modes and symlinks', async () => {
        await s.root.mkdir('src', 0o700);
        const src = await s.root.walk(['src']);
        await src.mkdir('sub', 0o755);
        const sub = await src.walk(['sub']);
        for (let i = 0; i < 20; i++) await put(sub, `f${i}`, `content ${i}`, 0o600);
        await sub.symlink('ln', 'f1');
        await sub.mkdir('deeper', 0o711);
        const deeper = await sub.walk(['deeper']);
        await put(deeper, 'leaf', 'leaf!');
        // Keep a file open across the move: it must stay readable through its fid.
        const open = await sub.walk(['f3']);
        await open.open(O_RDWR);
        await s.root.mkdir('dst', 0o755);
        await s.root.renameat('src', s.root, 'moved');
        expect(await names([])).to.deep.equal(['dst', 'moved']);
        expect(await get(['moved', 'sub', 'f7'])).to.equal('content 7');
        expect(await get(['moved', 'sub', 'deeper', 'leaf'])).to.equal('leaf!');
        expect((await attr(['moved'])).mode).to.equal(0o40700);
        expect((await attr(['moved', 'sub', 'f7'])).mode).to.equal(0o100600);
        expect((await attr(['moved', 'sub', 'deeper'])).mode).to.equal(0o40711);
        expect(await (await s.root.walk(['moved', 'sub', 'ln'])).readlink()).to.equal('f1');
        expect(untext(await open.read(0, 100))).to.equal('content 3');
        await open.write(0, text('CHANGED'));
        expect(await get(['moved', 'sub', 'f3'])).to.equal('CHANGED 3');
        await s.root.renameat('moved', await s.root.walk(['dst']), 'again');
        expect(await get(['dst', 'again', 'sub', 'deeper', 'leaf'])).to.equal('leaf!');
        await expectErrno(walkTo(s.root, c.fids.take(), ['moved']), 'ENOENT');
      });

      it('moves a directory that was never listed', async () => {
        await s.root.mkdir('a', 0o755);
        const a = await s.root.walk(['a']);
        await a.mkdir('inner', 0o755);
        await put(await a.walk(['inner']), 'x', 'X');
        await s.host.close();
        s = await openSession(backend, root);
        c = s.client;
        await s.root.renameat('a', s.root, 'b');
        expect(await get(['b', 'inner', 'x'])).to.equal('X');
      });

      it('replaces an empty directory but not a full one, and checks types', async () => {
        await s.root.mkdir('a', 0o755);
        await put(await s.root.walk(['a']), 'f', 'F');
        await s.root.mkdir('empty', 0o755);
        await s.root.mkdir('full', 0o755);
        await put(await s.root.walk(['full']), 'g', 'G');
        await put(s.root, 'file', '');
        await expectErrno(s.root.renameat('a', s.root, 'full'), 'ENOTEMPTY');
        await expectErrno(s.root.renameat('a', s.root, 'file'), 'ENOTDIR');
        await expectErrno(s.root.renameat('file', s.root, 'empty'), 'EISDIR');
        await s.root.renameat('a', s.root, 'empty');
        expect(await get(['empty', 'f'])).to.equal('F');
        expect(await names([])).to.deep.equal(['empty', 'file', 'full']);
      });

      it('refuses to move a directory into itself, and missing or reserved names', async () => {
        await s.root.mkdir('a', 0o755);
        const a = await s.root.walk(['a']);
        await a.mkdir('b', 0o755);
        await expectErrno(s.root.renameat('a', await s.root.walk(['a', 'b']), 'c'), 'EINVAL');
        await expectErrno(s.root.renameat('a', a, 'self'), 'EINVAL');
        await expectErrno(s.root.renameat('missing', s.root, 'x'), 'ENOENT');
        await expectErrno(s.root.renameat('a', s.root, '.container-vm'), 'EPERM');
        await expectErrno(s.root.renameat('a', s.root, 'x/y'), 'EINVAL');
        await s.root.renameat('a', s.root, 'a');
        expect(await names([])).to.deep.equal(['a']);
      });
    });

    describe('removal', () => {
      it('unlinks files and removes empty directories', async () => {
        await put(s.root, 'f', '');
        await s.root.mkdir('d', 0o755);
        await s.root.mkdir('full', 0o755);
        await put(await s.root.walk(['full']), 'x', '');
        await expectErrno(s.root.unlinkat('d', 0), 'EISDIR');
        await expectErrno(s.root.unlinkat('f', AT_REMOVEDIR), 'ENOTDIR');
        await expectErrno(s.root.unlinkat('full', AT_REMOVEDIR), 'ENOTEMPTY');
        await expectErrno(s.root.unlinkat('missing', 0), 'ENOENT');
        await expectErrno(s.root.unlinkat('f', 0x1), 'EINVAL');
        await s.root.unlinkat('f', 0);
        await s.root.unlinkat('d', AT_REMOVEDIR);
        expect(await names([])).to.deep.equal(['full']);
      });

      it('keeps a file unlinked while open readable and writable until its last fid is clunked', async () => {
        await put(s.root, 'f', 'original');
        const fid = await s.root.walk(['f']);
        await fid.open(O_RDWR);
        await s.root.unlinkat('f', 0);
        await expectErrno(walkTo(s.root, c.fids.take(), ['f']), 'ENOENT');
        await put(s.root, 'f', 'new file');
        expect(untext(await fid.read(0, 100))).to.equal('original');
        await fid.write(8, text(' + more'));
        expect(untext(await fid.read(0, 100))).to.equal('original + more');
        expect((await fid.getattr()).nlink).to.equal(0);
        expect(await get(['f'])).to.equal('new file');
        await fid.clunk();
        const meta = await opfsDir(`${root}/.container-vm/orphans`);
        const left: string[] = [];
        for await (const n of meta.keys()) left.push(n);
        expect(left).to.deep.equal([]);
      });

      it('keeps a file replaced by rename readable through its open fid', async () => {
        await put(s.root, 'victim', 'old data');
        await put(s.root, 'other', 'new data');
        const fid = await s.root.walk(['victim']);
        await fid.open(O_RDONLY);
        await s.root.renameat('other', s.root, 'victim');
        expect(untext(await fid.read(0, 100))).to.equal('old data');
        expect(await get(['victim'])).to.equal('new data');
      });

      it('Tremove removes and always clunks', async () => {
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await f.remove();
        await expectErrno(f.getattr(), 'EBADF');
        await s.root.mkdir('full', 0o755);
        await put(await s.root.walk(['full']), 'x', '');
        const d = await s.root.walk(['full']);
        await expectErrno(d.remove(), 'ENOTEMPTY');
        await expectErrno(d.getattr(), 'EBADF');
        const r = await s.root.walk([]);
        await expectErrno(r.remove(), 'EBUSY');
      });
    });

    describe('statfs, locks, xattrs, flush', () => {
      it('reports statfs for v9fs', async () => {
        const st = await s.root.statfs();
        expect(st.type).to.equal(V9FS_MAGIC);
        expect(st.namelen).to.equal(255);
        expect(st.bsize).to.equal(4096);
        expect(st.blocks).to.be.greaterThan(0);
        expect(st.bfree).to.be.at.most(st.blocks);
      });

      it('grants, refuses and releases POSIX byte-range locks', async () => {
        await put(s.root, 'f', '0123456789');
        const f = await s.root.walk(['f']);
        await f.open(O_RDWR);
        const a = { procId: 1, clientId: 'host-a' };
        const b = { procId: 2, clientId: 'host-a' };
        expect(await f.lock({ type: LockType.Write, start: 0, length: 5, ...a })).to.equal(LockStatus.Success);
        expect(await f.lock({ type: LockType.Read, start: 4, length: 2, ...b })).to.equal(LockStatus.Blocked);
        expect(await f.lock({ type: LockType.Read, start: 5, length: 2, ...b })).to.equal(LockStatus.Success);
        const g = await f.getlock({ type: LockType.Write, start: 0, length: 0, ...b });
        expect(g.type).to.equal(LockType.Write);
        expect([g.start, g.length, g.procId]).to.deep.equal([0, 5, 1]);
        expect(await f.lock({ type: LockType.Read, start: 0, length: 0, ...a })).to.equal(LockStatus.Success);
        expect(await f.lock({ type: LockType.Read, start: 0, length: 3, ...b })).to.equal(LockStatus.Success);
        expect(await f.lock({ type: LockType.Unlock, start: 0, length: 0, ...a })).to.equal(LockStatus.Success);
        expect(await f.lock({ type: LockType.Write, start: 0, length: 0, ...b })).to.equal(LockStatus.Success);
        const free = await f.getlock({ type: LockType.Write, start: 0, length: 0, ...b });
        expect(free.type).to.equal(LockType.Unlock);
      });

      it('stores, lists and removes extended attributes', async () => {
        await put(s.root, 'f', '');
        const f = await s.root.walk(['f']);
        await expectErrno(f.xattrwalk('user.missing'), 'ENODATA');
        const w = await s.root.walk(['f']);
        await w.xattrcreate('user.color', 4, 0);
        await w.write(0, text('blue'));
        await w.clunk();
        const r = await f.xattrwalk('user.color');
        expect(r.size).to.equal(4);
        expect(untext(await r.file.read(0, 100))).to.equal('blue');
        const list = await f.xattrwalk('');
        expect(untext(await list.file.read(0, list.size))).to.equal('user.color\0');
        const again = await s.root.walk(['f']);
        await again.xattrcreate('user.color', 3, 1 /* XATTR_CREATE */);
        await again.write(0, text('red'));
        await expectErrno(again.clunk(), 'EEXIST');
        const rm = await s.root.walk(['f']);
        await rm.xattrcreate('user.color', 0, 2 /* XATTR_REPLACE */);
        await rm.clunk();
        await expectErrno(f.xattrwalk('user.color'), 'ENODATA');
      });

      it('answers Tflush', async () => {
        await c.rpc(MessageType.Tflush, { oldtag: 12 });
      });

      it('refuses unknown fids everywhere with EBADF', async () => {
        const unknown = fileOf(4242);
        await expectErrno(unknown.getattr(), 'EBADF');
        await expectErrno(c.rpc(MessageType.Tclunk, { fid: 4242 }), 'EBADF');
        await expectErrno(unknown.open(O_RDONLY), 'EBADF');
        await expectErrno(unknown.mkdir('x', 0o755), 'EBADF');
      });
    });

    describe('bad input', () => {
      const errnoOf = (reply: Uint8Array) => {
        const m = decodeMessage(reply);
        expect(m.type).to.equal(MessageType.Rlerror);
        if (m.type !== MessageType.Rlerror) throw new Error('not an Rlerror');
        return m.fields.ecode;
      };

      it('answers a truncated message with Rlerror carrying its tag', async () => {
        const good = encodeMessage(MessageType.Twalk, 77, { fid: s.root.fid, newfid: 9, names: ['abc'] });
        const cut = good.slice(0, good.length - 2);
        new DataView(cut.buffer).setUint32(0, cut.length, true);
        const reply = await c.raw(cut);
        expect(decodeMessage(reply).tag).to.equal(77);
        expect(errnoOf(reply)).to.equal(Errno.EPROTO);
      });

      it('answers a size field that disagrees with the message length', async () => {
        const m = encodeMessage(MessageType.Tclunk, 5, { fid: 1 });
        new DataView(m.buffer).setUint32(0, 9999, true);
        expect(errnoOf(await c.raw(m))).to.equal(Errno.EPROTO);
      });

      it('answers an unknown type and a 9P2000 (non-.L) type with EOPNOTSUPP', async () => {
        const unknown = new Uint8Array([7, 0, 0, 0, 250, 1, 0]);
        expect(errnoOf(await c.raw(unknown))).to.equal(Errno.EOPNOTSUPP);
        const topen = new Uint8Array([12, 0, 0, 0, 112, 2, 0, 1, 0, 0, 0, 0]);
        expect(errnoOf(await c.raw(topen))).to.equal(Errno.EOPNOTSUPP);
      });

      it('answers trailing garbage, a string running past the end and invalid UTF-8', async () => {
        const extra = encodeMessage(MessageType.Tclunk, 5, { fid: 1 });
        const withTail = new Uint8Array(extra.length + 3);
        withTail.set(extra);
        new DataView(withTail.buffer).setUint32(0, withTail.length, true);
        expect(errnoOf(await c.raw(withTail))).to.equal(Errno.EPROTO);
        const longStr = new Uint8Array([13, 0, 0, 0, 100, 1, 0, 0, 32, 0, 0, 200, 0]);
        expect(errnoOf(await c.raw(longStr))).to.equal(Errno.EPROTO);
        const badUtf8 = encodeMessage(MessageType.Tmkdir, 3, { dfid: s.root.fid, name: 'ab', mode: 0o755, gid: 0 });
        badUtf8[13] = 0xff;
        expect(errnoOf(await c.raw(badUtf8))).to.equal(Errno.EPROTO);
      });

      it('drops a message too short to carry a tag and keeps serving', async () => {
        let err: unknown;
        try { await c.raw(new Uint8Array([1, 2, 3])); } catch (e) { err = e; }
        expect(err).to.be.instanceOf(ChannelError);
        expect((await s.root.getattr()).qid.type).to.equal(QidType.Dir);
      });

      it('survives random garbage and leaves the share intact', async () => {
        await put(s.root, 'keep', 'precious');
        let seed = 12345;
        const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
        for (let i = 0; i < 300; i++) {
          const len = 7 + Math.floor(rand() * 60);
          const m = new Uint8Array(len);
          for (let j = 0; j < len; j++) m[j] = Math.floor(rand() * 256);
          new DataView(m.buffer).setUint32(0, len, true);
          // Real message types with random bodies reach the handlers' own checks.
          m[4] = [6, 8, 12, 14, 16, 18, 20, 22, 24, 26, 30, 32, 40, 50, 52, 54, 70, 72, 74, 76, 100, 104, 108, 110, 116, 118, 120, 122][i % 28]!;
          // Keep Tversion out: it would legitimately reset the session.
          if (m[4] === 100) m[4] = 24;
          const reply = await c.raw(m);
          expect(reply.length).to.be.at.least(7);
        }
        expect(await get(['keep'])).to.equal('precious');
        expect(await names([])).to.include('keep');
      });
    });

    describe('sessions and persistence', () => {
      it('serves several connections, each its own session, on one storage worker', async () => {
        const other = await openSession(backend, root, s.host);
        await put(s.root, 'shared', 'from one');
        const f = await other.root.walk(['shared']);
        await f.open(O_RDONLY);
        expect(untext(await f.read(0, 100))).to.equal('from one');
        // fids are per session
        await expectErrno(fileOf(s.root.fid + 1000, other.client).getattr(), 'EBADF');
        await s.host.disconnect(other.endpoint);
        expect((await s.root.getattr()).qid.type).to.equal(QidType.Dir);
      });

      it('keeps everything across a restart of the storage worker', async () => {
        await s.root.mkdir('d', 0o751);
        const d = await s.root.walk(['d']);
        await put(d, 'f', 'persist me', 0o604);
        await d.symlink('ln', 'f');
        await d.mknod('fifo', 0o010600, 0, 0);
        const f = await d.walk(['f']);
        await f.setattr({ valid: SetattrMask.Mtime | SetattrMask.MtimeSet | SetattrMask.Uid, mtimeSec: 1500000000, mtimeNsec: 42, uid: 7 });
        const x = await d.walk(['f']);
        await x.xattrcreate('user.k', 1, 0);
        await x.write(0, text('v'));
        await x.clunk();
        await s.host.close();
        s = await openSession(backend, root);
        c = s.client;
        expect(await names(['d'])).to.deep.equal(['f', 'fifo', 'ln']);
        expect(await get(['d', 'f'])).to.equal('persist me');
        const a = await attr(['d', 'f']);
        expect([a.mode, a.uid, a.mtimeSec, a.mtimeNsec]).to.deep.equal([0o100604, 7, 1500000000, 42]);
        expect((await attr(['d'])).mode).to.equal(0o40751);
        expect((await attr(['d', 'fifo'])).mode).to.equal(0o010600);
        expect(await (await s.root.walk(['d', 'ln'])).readlink()).to.equal('f');
        const r = await (await s.root.walk(['d', 'f'])).xattrwalk('user.k');
        expect(untext(await r.file.read(0, 10))).to.equal('v');
      });

      it('keeps metadata through journal compaction', async () => {
        await s.root.mkdir('many', 0o755);
        const d = await s.root.walk(['many']);
        // Each chmod journals a record of ~60 bytes: enough of them forces compaction (256 KiB).
        await put(d, 'f', '');
        const f = await d.walk(['f']);
        for (let i = 0; i < 5000; i++) await f.setattr({ valid: SetattrMask.Mode, mode: i & 0o777 });
        await s.host.close();
        s = await openSession(backend, root);
        c = s.client;
        expect((await attr(['many', 'f'])).mode).to.equal(0o100000 | (4999 & 0o777));
        const journal = await (await (await opfsDir(`${root}/.container-vm`)).getFileHandle('journal')).getFile();
        expect(journal.size).to.be.lessThan(300 * 1024);
      });
    });

    describe('a session carried over a VM snapshot (exportSession / importSession)', () => {
      it('gives a resumed session its fids by path, true to what the share holds now', async () => {
        await put(s.root, 'a.txt', 'before');
        await put(s.root, 'gone.txt', 'x');
        await s.root.mkdir('d', 0o755);
        const dirFid = await s.root.walk(['d']);
        const openFid = await s.root.walk(['a.txt']);
        await openFid.open(O_RDWR);
        const goneFid = await s.root.walk(['gone.txt']);
        const state = await s.host.exportSession(s.endpoint);
        expect(state.fids.map((f) => f.path).sort()).to.deep.equal(['', 'a.txt', 'd', 'gone.txt']);
        expect(state.fids.find((f) => f.fid === openFid.fid)!.openFlags).to.equal(O_RDWR);
        await s.host.close();

        // While the VM is off, the page changes the share.
        s = await openSession(backend, root);
        await s.root.unlinkat('gone.txt');
        const w = await s.root.walk(['a.txt']);
        await w.open(O_WRONLY | OpenFlag.Truncate);
        await w.write(0, text('after'));
        await w.clunk();

        // The resumed guest sends no Tversion or Tattach: its fids must just work.
        const endpoint = await s.host.connect(4, undefined, state);
        const resumed = new P9Client(new AsyncChannelClient(endpoint));
        resumed.msize = state.msize;
        const open = fileOf(openFid.fid, resumed);
        expect(untext(await open.read(0, 100))).to.equal('after');
        await open.write(5, text('!'));
        expect((await fileOf(dirFid.fid, resumed).getattr()).mode & 0o170000).to.equal(0o040000);
        await expectErrno(fileOf(goneFid.fid, resumed).getattr(), 'EBADF');
        // The new client's fid numbers start where the resumed ones are: skip to a free one.
        const inUse = new Set(state.fids.map((f) => f.fid));
        let spare = resumed.fids.take();
        while (inUse.has(spare)) spare = resumed.fids.take();
        resumed.fids.give(spare);
        const rootFid = state.fids.find((f) => f.path === '')!.fid;
        const fresh = await fileOf(rootFid, resumed).walk(['a.txt']);
        expect(fresh.fid).to.equal(spare);
        await fresh.open(O_RDONLY);
        expect(untext(await fresh.readAll())).to.equal('after!');
      });
    });
  });
}
