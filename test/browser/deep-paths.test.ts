// Paths as deep and names as long as Linux allows, through the element on both backends: 40
// levels of directories (9P walks at most 16 names per message), names of 255 bytes (NAME_MAX,
// in ASCII and in 3-byte UTF-8) and a 4,000-byte path, through `fs`, importFiles, importZip and
// exportZip.

import { expect } from 'chai';
import { unzipSync, zipSync } from 'fflate';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import type { Backend } from '../../src/storage/storage-protocol.js';
import { hasJspi, itRefusesL1WithoutJspi, makeElement, opfsDir, wipe } from './support.js';

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** 40 directories, then a file: a path of 41 names. */
const deepDirs = Array.from({ length: 40 }, (_, i) => `level-${i}`);
const deepFile = [...deepDirs, 'bottom.txt'].join('/');
const longAscii = 'a'.repeat(255);
const longUtf8 = '€'.repeat(85);
/** 15 directories of 250 bytes and a file of 235: with the slashes, 4,000 bytes. */
const longParts = [...Array.from({ length: 15 }, (_, i) => `${String(i).padStart(2, '0')}${'p'.repeat(248)}`), 'f'.repeat(235)];
const longPath = longParts.join('/');

/** What every test puts somewhere and reads back: path (under its base) and contents. */
const tree: [string, string][] = [
  [deepFile, 'at the bottom of 40 directories'],
  [`${longAscii}/${longUtf8}`, 'two names of 255 bytes'],
  [longPath, 'at the end of 4,000 bytes'],
];

for (const backend of ['m1', 'l1'] as Backend[]) {
  if (backend === 'l1' && !hasJspi) {
    describe('deep paths and long names (l1)', itRefusesL1WithoutJspi);
    continue;
  }
  describe(`deep paths and long names (${backend})`, function () {
    this.timeout(180000);
    let vm: ContainerVm | null = null;

    afterEach(() => {
      vm?.remove();
      vm = null;
    });

    async function make(root: string): Promise<ContainerVm> {
      await wipe(root);
      return vm = makeElement({ autostart: 'false', 'opfs-root': root, backend });
    }

    async function expectTree(v: ContainerVm, base: string): Promise<void> {
      for (const [path, text] of tree) expect(await v.fs.readText(`${base}/${path}`), path.slice(0, 40)).to.equal(text);
    }

    it('has the sizes it says', () => {
      expect(deepFile.split('/')).to.have.length(41);
      expect([bytes(longAscii), bytes(longUtf8)]).to.deep.equal([255, 255]);
      expect(bytes(longPath)).to.equal(4000);
    });

    it('fs: creates, lists, stats, renames and removes 40 levels deep', async () => {
      const v = await make(`/deep-fs-${backend}`);
      await v.fs.mkdir(`top/${deepDirs.join('/')}`, { recursive: true });
      await v.fs.writeFile(`top/${deepFile}`, tree[0]![1]);
      expect(await v.fs.readText(`top/${deepFile}`)).to.equal(tree[0]![1]);
      expect((await v.fs.stat(`top/${deepFile}`)).size).to.equal(bytes(tree[0]![1]));
      expect(await v.fs.readDir(`top/${deepDirs.join('/')}`)).to.deep.equal([{ name: 'bottom.txt', type: 'file' }]);
      // mkdir -p of a path that exists, and of one more level under it.
      await v.fs.mkdir(`top/${deepDirs.join('/')}`, { recursive: true });
      await v.fs.mkdir(`top/${deepDirs.join('/')}/one-more`, { recursive: true });
      await v.fs.rename(`top/${deepFile}`, `top/${deepDirs.join('/')}/one-more/moved.txt`);
      expect(await v.fs.exists(`top/${deepFile}`)).to.equal(false);
      expect(await v.fs.readText(`top/${deepDirs.join('/')}/one-more/moved.txt`)).to.equal(tree[0]![1]);
      // A missing name deep down is ENOENT, a file in the way ENOTDIR, whichever Twalk they fall in.
      const missing = await v.fs.readText(`top/${deepDirs.slice(0, 30).join('/')}/nothing/x`).catch((e: { code?: string }) => e.code);
      expect(missing).to.equal('ENOENT');
      const notDir = await v.fs.readText(`top/${deepDirs.join('/')}/one-more/moved.txt/x`).catch((e: { code?: string }) => e.code);
      expect(notDir).to.equal('ENOTDIR');
      await v.fs.remove('top', { recursive: true });
      expect(await v.fs.readDir('')).to.deep.equal([]);
    });

    it('fs: names of 255 bytes (ASCII and UTF-8) work, 256 bytes is ENAMETOOLONG', async () => {
      const v = await make(`/deep-names-${backend}`);
      await v.fs.mkdir(longAscii);
      await v.fs.writeFile(`${longAscii}/${longUtf8}`, tree[1]![1]);
      await v.fs.symlink(longUtf8, `${longAscii}/${'l'.repeat(255)}`);
      expect((await v.fs.readDir(longAscii)).map((e) => e.name).sort()).to.deep.equal([longUtf8, 'l'.repeat(255)].sort());
      expect(await v.fs.readlink(`${longAscii}/${'l'.repeat(255)}`)).to.equal(longUtf8);
      expect(await v.fs.readText(`${longAscii}/${longUtf8}`)).to.equal(tree[1]![1]);
      for (const name of ['a'.repeat(256), `${'€'.repeat(85)}a`]) {
        const code = await v.fs.writeFile(name, 'x').then(() => 'created', (e: { code?: string }) => e.code);
        expect(code, `${bytes(name)} bytes`).to.equal('ENAMETOOLONG');
      }
    });

    it('fs: a 4,000-byte path', async () => {
      const v = await make(`/deep-long-${backend}`);
      await v.fs.mkdir(longParts.slice(0, -1).join('/'), { recursive: true });
      await v.fs.writeFile(longPath, tree[2]![1]);
      expect(await v.fs.readText(longPath)).to.equal(tree[2]![1]);
      expect((await v.fs.stat(longPath)).type).to.equal('file');
      await v.fs.truncate(longPath, 2);
      expect(await v.fs.readText(longPath)).to.equal('at');
    });

    it('importFiles: a folder with all three, as a dropped folder gives it', async () => {
      const v = await make(`/deep-import-${backend}`);
      const sourceRoot = `/deep-source-${backend}`;
      await wipe(sourceRoot);
      const source = await opfsDir(`${sourceRoot}/project`);
      for (const [path, text] of tree) {
        const parts = path.split('/');
        let dir = source;
        for (const name of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(name, { create: true });
        const w = await (await dir.getFileHandle(parts[parts.length - 1]!, { create: true })).createWritable();
        await w.write(text);
        await w.close();
      }
      const result = await v.importFiles(source, 'in');
      expect(result).to.deep.include({ files: 3, directories: 1 + 40 + 1 + 15 });
      await expectTree(v, 'in/project');
    });

    it('importZip and exportZip: a deep tree goes out and comes back', async () => {
      const v = await make(`/deep-zip-${backend}`);
      const zip = zipSync(Object.fromEntries(tree.map(([path, text]) => [`src/${path}`, new TextEncoder().encode(text)])));
      const imported = await v.importZip(URL.createObjectURL(new Blob([zip as BlobPart])), 'unzipped');
      expect(imported).to.deep.include({ files: 3 });
      await expectTree(v, 'unzipped/src');

      const exported = new Uint8Array(await (await v.exportZip('unzipped')).arrayBuffer());
      const names = Object.keys(unzipSync(exported));
      for (const [path] of tree) expect(names).to.include(`src/${path}`);
      expect(names).to.include(`src/${deepDirs.join('/')}/`);
      const back = await v.importZip(URL.createObjectURL(new Blob([exported as BlobPart])), 'round-trip');
      expect(back).to.deep.equal({ files: 3, directories: 1 + 40 + 1 + 15, symlinks: 0, bytes: tree.reduce((n, [, t]) => n + bytes(t), 0) });
      await expectTree(v, 'round-trip/src');
    });
  });
}
