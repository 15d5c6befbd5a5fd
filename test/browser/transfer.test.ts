// Files in and out of the share through the element: imports from Files, folder handles and drops,
// zip export and import (checked with an independent zip reader too), and their errors.

import { expect } from 'chai';
import { unzipSync, zipSync } from 'fflate';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { makeElement, opfsDir, wipe } from './support.js';

function make(root: string): ContainerVm {
  return makeElement({ autostart: 'false', 'opfs-root': root });
}

function record(vm: HTMLElement, type: string): CustomEvent[] {
  const seen: CustomEvent[] = [];
  vm.addEventListener(type, (e) => seen.push(e as CustomEvent));
  return seen;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

function blobUrl(bytes: Uint8Array): string {
  return URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
}

describe('files in and out of the share', function () {
  this.timeout(60000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('imports Files, keeping their bytes and mtimes, with progress events', async () => {
    await wipe('/transfer-files');
    vm = make('/transfer-files');
    const progress = record(vm, 'progress');
    const big = randomBytes(3 * 2 ** 20 + 123);
    const files = [
      new File([big as BlobPart], 'big.bin', { lastModified: Date.UTC(2024, 0, 2, 3, 4, 5) }),
      new File(['hello\n'], 'hello.txt', { lastModified: Date.UTC(2020, 5, 6) }),
    ];
    const result = await vm.importFiles(files, 'in/here');
    expect(result).to.deep.equal({ files: 2, directories: 0, symlinks: 0, bytes: big.length + 6 });
    expect(await vm.fs.readFile('in/here/big.bin')).to.deep.equal(big);
    expect(await vm.fs.readText('in/here/hello.txt')).to.equal('hello\n');
    expect((await vm.fs.stat('in/here/big.bin')).mtimeMs).to.equal(Date.UTC(2024, 0, 2, 3, 4, 5));
    const last = progress[progress.length - 1]!.detail;
    expect(last).to.deep.equal({ what: 'import files', loaded: big.length + 6, total: big.length + 6 });
    expect(progress.length).to.be.greaterThan(2);
  });

  it('imports a folder handle tree (what a dropped folder gives)', async () => {
    await wipe('/transfer-folder');
    await wipe('/transfer-source');
    const source = await opfsDir('/transfer-source/project');
    const write = async (dir: FileSystemDirectoryHandle, name: string, text: string) => {
      const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await w.write(text);
      await w.close();
    };
    await write(source, 'README', 'read me');
    const src = await source.getDirectoryHandle('src', { create: true });
    await write(src, 'main.c', 'int main(void) { return 0; }');
    await src.getDirectoryHandle('empty', { create: true });
    vm = make('/transfer-folder');
    const result = await vm.importFiles(source);
    expect(result).to.deep.include({ files: 2, directories: 3 });
    expect(await vm.fs.readText('project/README')).to.equal('read me');
    expect(await vm.fs.readText('project/src/main.c')).to.equal('int main(void) { return 0; }');
    expect((await vm.fs.stat('project/src/empty')).type).to.equal('directory');
  });

  it('copies files dropped on the element into the share root', async () => {
    await wipe('/transfer-drop');
    vm = make('/transfer-drop');
    await vm.updateComplete;
    const progress = record(vm, 'progress');
    const data = new DataTransfer();
    data.items.add(new File(['dropped text'], 'dropped.txt'));
    const over = new DragEvent('dragover', { dataTransfer: data, cancelable: true });
    vm.dispatchEvent(over);
    expect(over.defaultPrevented, 'dragover accepted').to.equal(true);
    expect(vm.hasAttribute('dropping')).to.equal(true);
    vm.dispatchEvent(new DragEvent('drop', { dataTransfer: data, cancelable: true }));
    expect(vm.hasAttribute('dropping')).to.equal(false);
    for (let i = 0; i < 200 && !(await vm.fs.exists('dropped.txt')); i++) await new Promise((r) => setTimeout(r, 25));
    // The import may still be writing when the file appears: wait for its last progress event.
    for (let i = 0; i < 200 && !progress.some((e) => e.detail.loaded === 12 && e.detail.total === 12); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await vm.fs.readText('dropped.txt')).to.equal('dropped text');
  });

  it('exports the share as a zip with modes, symlinks and mtimes, and imports it back', async () => {
    await wipe('/transfer-zip');
    vm = make('/transfer-zip');
    const binary = randomBytes(2 ** 20 + 7);
    await vm.fs.mkdir('tree/bin', { recursive: true });
    await vm.fs.mkdir('tree/empty');
    await vm.fs.writeFile('tree/bin/tool', '#!/bin/sh\necho hi\n', 0o755);
    await vm.fs.writeFile('tree/data.bin', binary, 0o600);
    await vm.fs.symlink('bin/tool', 'tree/link');
    const mtime = Date.UTC(2023, 3, 4, 5, 6, 8);
    await vm.fs.utimes('tree/data.bin', mtime, mtime);

    const progress = record(vm, 'progress');
    const zip = new Uint8Array(await (await vm.exportZip('tree')).arrayBuffer());
    expect(progress.length).to.be.greaterThan(0);
    expect(progress[progress.length - 1]!.detail.what).to.equal('export-zip tree');

    // An independent reader sees the same names and contents.
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).to.deep.equal(['bin/', 'bin/tool', 'data.bin', 'empty/', 'link']);
    expect(files['data.bin']).to.deep.equal(binary);
    expect(new TextDecoder().decode(files['link'])).to.equal('bin/tool');

    const result = await vm.importZip(blobUrl(zip), 'restored');
    expect(result).to.deep.equal({ files: 2, directories: 2, symlinks: 1, bytes: binary.length + 18 });
    expect(await vm.fs.readFile('restored/data.bin')).to.deep.equal(binary);
    expect((await vm.fs.stat('restored/data.bin')).mode & 0o7777).to.equal(0o600);
    expect((await vm.fs.stat('restored/bin/tool')).mode & 0o7777).to.equal(0o755);
    expect(await vm.fs.readlink('restored/link')).to.equal('bin/tool');
    expect((await vm.fs.stat('restored/empty')).type).to.equal('directory');
    // Zip keeps local time in 2-second steps.
    expect(Math.abs((await vm.fs.stat('restored/data.bin')).mtimeMs - mtime)).to.be.lessThan(2000);
  });

  it('imports a zip made by another tool, with plain (non-Unix) entries', async () => {
    await wipe('/transfer-zip-other');
    vm = make('/transfer-zip-other');
    const zip = zipSync({ 'docs/a.txt': new TextEncoder().encode('a'), 'docs/sub/b.txt': [new TextEncoder().encode('bb'), { level: 0 }] });
    const result = await vm.importZip(blobUrl(zip));
    expect(result).to.deep.include({ files: 2, bytes: 3 });
    expect(await vm.fs.readText('docs/sub/b.txt')).to.equal('bb');
    expect((await vm.fs.stat('docs/a.txt')).mode & 0o7777).to.equal(0o644);
  });

  it('refuses a zip whose entries would escape the destination, writing nothing', async () => {
    await wipe('/transfer-zip-evil');
    vm = make('/transfer-zip-evil');
    await vm.fs.writeFile('keep.txt', 'kept');
    const errors = record(vm, 'error');
    const zip = zipSync({ 'ok.txt': new Uint8Array([1]), '../evil.txt': new Uint8Array([2]) });
    let failure: { code?: string } | null = null;
    await vm.importZip(blobUrl(zip), 'dest').catch((e) => { failure = e; });
    expect(failure).to.have.property('code', 'bad-zip');
    expect(errors.map((e) => e.detail.code)).to.deep.equal(['bad-zip']);
    expect(errors[0]!.detail.message).to.match(/outside the destination/);
    expect(await vm.fs.exists('dest/ok.txt')).to.equal(false);
    expect(await vm.fs.readText('keep.txt')).to.equal('kept');
  });

  it('fires bad-zip for data that is not a zip, and zip-unreachable for a missing URL', async () => {
    await wipe('/transfer-zip-bad');
    vm = make('/transfer-zip-bad');
    const errors = record(vm, 'error');
    await vm.importZip(blobUrl(new TextEncoder().encode('not a zip at all'))).catch(() => undefined);
    await vm.importZip('/no/such/archive.zip').catch(() => undefined);
    expect(errors.map((e) => e.detail.code)).to.deep.equal(['bad-zip', 'zip-unreachable']);
    expect(errors[1]!.detail.message).to.match(/HTTP 404/);
    // A failed copy leaves the element usable.
    await vm.fs.writeFile('after.txt', 'still works');
    expect(await vm.fs.readText('after.txt')).to.equal('still works');
  });
});
