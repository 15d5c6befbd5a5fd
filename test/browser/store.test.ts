// The store's on-OPFS format under damage and outside interference: torn journal tails, damaged
// tables, interrupted directory moves, and entries put into the share by other code.

import { expect } from 'chai';
import { writeFile as happyWriteFile, mkdir as happyMkdir } from 'happy-opfs';
import { OpCode, defaultMeta, encodeRecord, NodeKind } from '../../src/store/format.js';
import { Session, openSession, opfsDir, untext, wipe } from './support.js';
import { OpenFlag, SetattrMask } from '../../src/wire/messages.js';

const root = '/store-tests';

async function journalHandle(): Promise<FileSystemFileHandle> {
  return (await opfsDir(`${root}/.container-vm`)).getFileHandle('journal');
}

/** Appends raw bytes to the journal while no server runs (as a torn write would leave them). */
async function appendToJournal(bytes: Uint8Array): Promise<void> {
  const w = await (await journalHandle()).createWritable({ keepExistingData: true });
  const size = (await (await journalHandle()).getFile()).size;
  await w.write({ type: 'write', position: size, data: new Uint8Array(bytes) });
  await w.close();
}

describe('store format', function () {
  this.timeout(60000);
  let s: Session;

  beforeEach(async () => {
    await wipe(root);
    s = await openSession('m1', root);
  });

  afterEach(async () => {
    await s.host.close().catch(() => undefined);
  });

  async function reopen(): Promise<void> {
    await s.host.close();
    s = await openSession('m1', root);
  }

  async function modeOf(path: string[]): Promise<number> {
    const fid = await s.root.walk(path);
    const a = await fid.getattr();
    await fid.clunk();
    return a.mode;
  }

  async function create(name: string, mode: number, content = ''): Promise<void> {
    const fid = await s.root.walk([]);
    await fid.create(name, OpenFlag.WriteOnly, mode);
    if (content) await fid.write(0, new TextEncoder().encode(content));
    await fid.fsync();
    await fid.clunk();
  }

  it('ignores a torn journal tail and keeps appending after the good records', async () => {
    await create('a', 0o600, 'A');
    await reopen();
    await s.host.close();
    // Half of a real record, then random bytes: both must be ignored.
    const record = encodeRecord([{ op: OpCode.Put, dirId: 0, name: 'a', meta: { ...defaultMeta(NodeKind.File), perm: 0o777 } }]);
    await appendToJournal(record.subarray(0, record.length - 5));
    s = await openSession('m1', root);
    expect(await modeOf(['a'])).to.equal(0o100600);
    await create('b', 0o640);
    await reopen();
    expect(await modeOf(['a'])).to.equal(0o100600);
    expect(await modeOf(['b'])).to.equal(0o100640);
    await s.host.close();
    await appendToJournal(crypto.getRandomValues(new Uint8Array(300)));
    s = await openSession('m1', root);
    expect(await modeOf(['b'])).to.equal(0o100640);
  });

  it('ignores a record whose checksum fails', async () => {
    await create('a', 0o600);
    await s.host.close();
    const record = encodeRecord([{ op: OpCode.Put, dirId: 0, name: 'a', meta: { ...defaultMeta(NodeKind.File), perm: 0o777 } }]);
    record[record.length - 1] ^= 0xff;
    await appendToJournal(record);
    s = await openSession('m1', root);
    expect(await modeOf(['a'])).to.equal(0o100600);
  });

  it('falls back to default metadata for a damaged table, keeping the files', async () => {
    await create('a', 0o600, 'data');
    // Force compaction so the root's entries land in its table.
    const fid = await s.root.walk(['a']);
    for (let i = 0; i < 4500; i++) await fid.setattr({ valid: SetattrMask.Mode, mode: 0o600 });
    await fid.clunk();
    await s.host.close();
    // Drop the journal's records since the last compaction: what remains is in the table alone.
    const journal = await (await journalHandle()).createWritable({ keepExistingData: true });
    await journal.truncate(8);
    await journal.close();
    s = await openSession('m1', root);
    expect(await modeOf(['a'])).to.equal(0o100600);
    await s.host.close();
    const tables = await opfsDir(`${root}/.container-vm/tables`);
    const table = await tables.getFileHandle('0');
    const bytes = new Uint8Array(await (await table.getFile()).arrayBuffer());
    bytes[bytes.length - 3] ^= 0x55;
    const w = await table.createWritable();
    await w.write(bytes);
    await w.close();
    s = await openSession('m1', root);
    expect(await modeOf(['a'])).to.equal(0o100644);
    const f = await s.root.walk(['a']);
    await f.open(OpenFlag.ReadOnly);
    expect(untext(await f.read(0, 10))).to.equal('data');
  });

  it('finishes a directory move that a crash interrupted', async () => {
    await s.root.mkdir('src', 0o710);
    const src = await s.root.walk(['src']);
    for (let i = 0; i < 10; i++) {
      const f = await src.walk([]);
      await f.create(`f${i}`, OpenFlag.WriteOnly, 0o600);
      await f.write(0, new TextEncoder().encode(`file ${i}`));
      await f.clunk();
    }
    await s.host.close();
    // What the store does first when renaming src -> dst, cut short after moving four files.
    const shareDir = await opfsDir(root);
    const srcDir = await shareDir.getDirectoryHandle('src');
    const dstDir = await shareDir.getDirectoryHandle('dst', { create: true });
    for (let i = 0; i < 4; i++) await (await srcDir.getFileHandle(`f${i}`)).move(dstDir, `f${i}`);
    const meta = { ...defaultMeta(NodeKind.Dir), perm: 0o710, dirId: 424242 };
    await appendToJournal(encodeRecord([{
      op: OpCode.MoveBegin, srcPath: 'src', dstPath: 'dst', srcDirId: 0, srcName: 'src', dstDirId: 0, dstName: 'dst', meta,
    }]));
    s = await openSession('m1', root);
    const rootFid = await s.root.walk([]);
    await rootFid.open(OpenFlag.ReadOnly);
    const names = (await rootFid.readdirAll()).map((e) => e.name).filter((n) => !n.startsWith('.'));
    expect(names).to.deep.equal(['dst']);
    expect(await modeOf(['dst'])).to.equal(0o40710);
    for (let i = 0; i < 10; i++) {
      const f = await s.root.walk(['dst', `f${i}`]);
      await f.open(OpenFlag.ReadOnly);
      expect(untext(await f.read(0, 100))).to.equal(`file ${i}`);
      await f.clunk();
    }
  });

  it('shows entries that other code put into the share, with default metadata', async () => {
    await s.host.close();
    // happy-opfs works on OPFS paths from the page, as an application would while no VM runs.
    (await happyMkdir(`${root}/from-page/nested`)).unwrap();
    (await happyWriteFile(`${root}/from-page/hello.txt`, 'written by happy-opfs')).unwrap();
    const shareDir = await opfsDir(root);
    const raw = await shareDir.getFileHandle('raw.bin', { create: true });
    const w = await raw.createWritable();
    await w.write(new Uint8Array(12345));
    await w.close();
    s = await openSession('m1', root);
    expect(await modeOf(['from-page'])).to.equal(0o40755);
    expect(await modeOf(['from-page', 'nested'])).to.equal(0o40755);
    expect(await modeOf(['raw.bin'])).to.equal(0o100644);
    const f = await s.root.walk(['from-page', 'hello.txt']);
    const a = await f.getattr();
    expect(a.size).to.equal('written by happy-opfs'.length);
    expect(Math.abs(a.mtimeSec * 1000 - Date.now())).to.be.lessThan(120000);
    await f.open(OpenFlag.ReadOnly);
    expect(untext(await f.read(0, 100))).to.equal('written by happy-opfs');
    const r = await s.root.walk(['raw.bin']);
    expect((await r.getattr()).size).to.equal(12345);
    // A directory the store has only seen as a guest keeps its mode once it is given one.
    const d = await s.root.walk(['from-page']);
    await d.setattr({ valid: SetattrMask.Mode, mode: 0o700 });
    await reopen();
    expect(await modeOf(['from-page'])).to.equal(0o40700);
  });
});
