// M1 and L1 share one storage format: a share written by either server is read by the other with
// every byte and every attribute intact, including after journal compaction and directory renames.

import { expect } from 'chai';
import { Backend } from '../../src/storage/storage-protocol.js';
import { OpenFlag, SetattrMask } from '../../src/wire/messages.js';
import { File, Session, hasJspi, itRefusesL1WithoutJspi, openSession, text, untext, wipe } from './support.js';

const O_RDONLY = OpenFlag.ReadOnly;
const O_WRONLY = OpenFlag.WriteOnly;

/** Everything 9P tells about the tree below the root, except qid paths (numbered per session). */
async function snapshot(root: File): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  async function visit(path: string[]): Promise<void> {
    const fid = await root.walk(path);
    let a = await fid.getattr();
    const type = a.mode & 0o170000;
    let children: string[] = [];
    if (type === 0o040000) {
      await fid.open(O_RDONLY);
      children = (await fid.readdirAll()).map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
      // A directory's nlink counts subdirectories once it is listed.
      a = await fid.getattr();
    }
    const entry: Record<string, unknown> = {
      mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, rdev: a.rdev, nlink: a.nlink,
      atime: [a.atimeSec, a.atimeNsec], mtime: [a.mtimeSec, a.mtimeNsec], ctime: [a.ctimeSec, a.ctimeNsec],
    };
    const names = (await fid.xattrwalk('')).file;
    const list = untext(await names.read(0, 65536)).split('\0').filter(Boolean);
    await names.clunk();
    const xattrs: Record<string, string> = {};
    for (const name of list) {
      const x = (await fid.xattrwalk(name)).file;
      xattrs[name] = untext(await x.read(0, 65536));
      await x.clunk();
    }
    entry.xattrs = xattrs;
    if (type === 0o120000) entry.target = await fid.readlink();
    if (type === 0o100000) {
      await fid.open(O_RDONLY);
      entry.content = untext(await fid.readAll());
    }
    if (type === 0o040000) {
      entry.children = children;
      await fid.clunk();
      if (path.length) out[path.join('/')] = entry;
      for (const name of children) await visit([...path, name]);
      return;
    }
    await fid.clunk();
    out[path.join('/')] = entry;
  }
  await visit([]);
  return out;
}

async function put(dir: File, name: string, content: string, mode = 0o644): Promise<void> {
  const fid = await dir.walk([]);
  await fid.create(name, O_WRONLY, mode);
  await fid.write(0, text(content));
  await fid.clunk();
}

/** A share with every kind of entry and attribute the format records. */
async function populate(root: File, tag: string): Promise<void> {
  await root.mkdir(`${tag}-dir`, 0o750, 12);
  const d = await root.walk([`${tag}-dir`]);
  await put(d, 'plain.txt', `hello from ${tag}`, 0o640);
  await put(d, 'back\\slash é ü', 'unicode and a backslash');
  await d.symlink('link', '../somewhere/else');
  await d.mknod('fifo', 0o010644, 0, 0);
  await d.mknod('tty', 0o020620, 4, 300);
  await d.mkdir('sub', 0o700);
  const sub = await d.walk(['sub']);
  await put(sub, 'deep', 'x'.repeat(100000));
  await sub.mkdir('deeper', 0o755);
  const f = await d.walk(['plain.txt']);
  await f.setattr({ valid: SetattrMask.Uid | SetattrMask.Gid | SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet, uid: 1000, gid: 100, atimeSec: 1400000000, atimeNsec: 7, mtimeSec: 1500000000, mtimeNsec: 999999999 });
  await f.xattrcreate('user.note', 5, 0);
  await f.write(0, text('hello'));
  await f.clunk();
  // A directory rename moves files one by one and journals MoveBegin/MoveEnd.
  await d.renameat('sub', root, `${tag}-moved`);
  // Enough metadata records to compact the journal into tables.
  await put(root, `${tag}-chmod`, '');
  const g = await root.walk([`${tag}-chmod`]);
  for (let i = 0; i < 4500; i++) await g.setattr({ valid: SetattrMask.Mode, mode: i & 0o777 });
  await g.clunk();
  await put(root, `${tag}-gone`, 'removed');
  await root.unlinkat(`${tag}-gone`);
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
      await populate(s.root, first);
      const written = await snapshot(s.root);
      await s.host.close();

      s = await openSession(second, root);
      expect(await snapshot(s.root)).to.deep.equal(written);
      await populate(s.root, second);
      const both = await snapshot(s.root);
      expect(Object.keys(both)).to.include.members([`${first}-dir/plain.txt`, `${second}-dir/plain.txt`, `${second}-moved/deep`]);
      await s.host.close();

      s = await openSession(first, root);
      expect(await snapshot(s.root)).to.deep.equal(both);
    });
  }
});
