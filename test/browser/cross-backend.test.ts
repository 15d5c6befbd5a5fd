// M1 and L1 share one storage format: a share written by either server is read by the other with
// every byte and every attribute intact, including after journal compaction and directory renames.

import { expect } from 'chai';
import { Backend } from '../../src/storage/storage-protocol.js';
import { P9Client } from '../../src/client/client.js';
import { OpenFlag, SetattrMask } from '../../src/wire/messages.js';
import { Session, hasJspi, itRefusesL1WithoutJspi, openSession, text, untext, wipe } from './support.js';

const O_RDONLY = OpenFlag.ReadOnly;
const O_WRONLY = OpenFlag.WriteOnly;

/** Everything 9P tells about the tree below the root, except qid paths (numbered per session). */
async function snapshot(c: P9Client, root: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  async function visit(path: string[]): Promise<void> {
    const fid = await c.walkNew(root, path);
    let a = await c.getattr(fid);
    const type = a.mode & 0o170000;
    let children: string[] = [];
    if (type === 0o040000) {
      await c.lopen(fid, O_RDONLY);
      children = (await c.readdirAll(fid)).map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
      // A directory's nlink counts subdirectories once it is listed.
      a = await c.getattr(fid);
    }
    const entry: Record<string, unknown> = {
      mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, rdev: a.rdev, nlink: a.nlink,
      atime: [a.atimeSec, a.atimeNsec], mtime: [a.mtimeSec, a.mtimeNsec], ctime: [a.ctimeSec, a.ctimeNsec],
    };
    const names = c.newFid();
    await c.xattrwalk(fid, names, '');
    const list = untext(await c.read(names, 0, 65536)).split('\0').filter(Boolean);
    await c.clunk(names);
    const xattrs: Record<string, string> = {};
    for (const name of list) {
      const x = c.newFid();
      await c.xattrwalk(fid, x, name);
      xattrs[name] = untext(await c.read(x, 0, 65536));
      await c.clunk(x);
    }
    entry.xattrs = xattrs;
    if (type === 0o120000) entry.target = await c.readlink(fid);
    if (type === 0o100000) {
      await c.lopen(fid, O_RDONLY);
      entry.content = untext(await c.readAll(fid));
    }
    if (type === 0o040000) {
      entry.children = children;
      await c.clunk(fid);
      if (path.length) out[path.join('/')] = entry;
      for (const name of children) await visit([...path, name]);
      return;
    }
    await c.clunk(fid);
    out[path.join('/')] = entry;
  }
  await visit([]);
  return out;
}

async function put(c: P9Client, dir: number, name: string, content: string, mode = 0o644): Promise<void> {
  const fid = await c.walkNew(dir, []);
  await c.lcreate(fid, name, O_WRONLY, mode);
  await c.write(fid, 0, text(content));
  await c.clunk(fid);
}

/** A share with every kind of entry and attribute the format records. */
async function populate(c: P9Client, root: number, tag: string): Promise<void> {
  await c.mkdir(root, `${tag}-dir`, 0o750, 12);
  const d = await c.walkNew(root, [`${tag}-dir`]);
  await put(c, d, 'plain.txt', `hello from ${tag}`, 0o640);
  await put(c, d, 'back\\slash é ü', 'unicode and a backslash');
  await c.symlink(d, 'link', '../somewhere/else');
  await c.mknod(d, 'fifo', 0o010644, 0, 0);
  await c.mknod(d, 'tty', 0o020620, 4, 300);
  await c.mkdir(d, 'sub', 0o700);
  const sub = await c.walkNew(d, ['sub']);
  await put(c, sub, 'deep', 'x'.repeat(100000));
  await c.mkdir(sub, 'deeper', 0o755);
  const f = await c.walkNew(d, ['plain.txt']);
  await c.setattr(f, { valid: SetattrMask.Uid | SetattrMask.Gid | SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet, uid: 1000, gid: 100, atimeSec: 1400000000, atimeNsec: 7, mtimeSec: 1500000000, mtimeNsec: 999999999 });
  await c.xattrcreate(f, 'user.note', 5, 0);
  await c.write(f, 0, text('hello'));
  await c.clunk(f);
  // A directory rename moves files one by one and journals MoveBegin/MoveEnd.
  await c.renameat(d, 'sub', root, `${tag}-moved`);
  // Enough metadata records to compact the journal into tables.
  await put(c, root, `${tag}-chmod`, '');
  const g = await c.walkNew(root, [`${tag}-chmod`]);
  for (let i = 0; i < 4500; i++) await c.setattr(g, { valid: SetattrMask.Mode, mode: i & 0o777 });
  await c.clunk(g);
  await put(c, root, `${tag}-gone`, 'removed');
  await c.unlinkat(root, `${tag}-gone`);
}

describe('a share written by one backend is read by the other', function () {
  if (!hasJspi) return itRefusesL1WithoutJspi();
  this.timeout(180000);
  const root = '/cross-backend';
  let s: Session | null = null;

  afterEach(async () => {
    await s?.host.close();
    s = null;
  });

  for (const [first, second] of [['m1', 'l1'], ['l1', 'm1']] as [Backend, Backend][]) {
    it(`${first} writes, ${second} reads it exactly and adds to it, ${first} reads that back`, async () => {
      await wipe(root);
      s = await openSession(first, root);
      await populate(s.client, s.root, first);
      const written = await snapshot(s.client, s.root);
      await s.host.close();

      s = await openSession(second, root);
      expect(await snapshot(s.client, s.root)).to.deep.equal(written);
      await populate(s.client, s.root, second);
      const both = await snapshot(s.client, s.root);
      expect(Object.keys(both)).to.include.members([`${first}-dir/plain.txt`, `${second}-dir/plain.txt`, `${second}-moved/deep`]);
      await s.host.close();

      s = await openSession(first, root);
      expect(await snapshot(s.client, s.root)).to.deep.equal(both);
    });
  }
});
