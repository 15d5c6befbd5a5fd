// Downloads from the element in real Chromium: one file, and the whole share as a zip, land in the
// browser's download folder with the share's bytes (the zip checked with an independent reader).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { launch, newProfileDir, removeProfileDir, startServer } from './support/browser.js';

async function waitForDownload(dir: string, name: string): Promise<Buffer> {
  for (let i = 0; i < 600; i++) {
    // Chromium writes to "<name>.crdownload" and renames it when done.
    if (existsSync(join(dir, name)) && !readdirSync(dir).some((f) => f.endsWith('.crdownload'))) return readFileSync(join(dir, name));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no download named ${name} in ${dir}: ${readdirSync(dir).join(', ')}`);
}

test('downloadFile and downloadZip save the share\'s files through the browser', { timeout: 120000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  const downloads = mkdtempSync(join(tmpdir(), 'container-vm-downloads-'));
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  try {
    const cdp = await b.browser.target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    const expected = await b.page.evaluate(async (module) => {
      await import(module);
      const vm = document.createElement('container-vm');
      vm.setAttribute('autostart', 'false');
      vm.setAttribute('opfs-root', '/downloads-test');
      document.body.append(vm);
      const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
      await vm.fs.mkdir('notes/deep', { recursive: true });
      await vm.fs.writeFile('notes/deep/data.bin', bytes);
      await vm.fs.writeFile('notes/todo.txt', 'buy milk\n');
      await vm.downloadFile('notes/deep/data.bin');
      return Array.from(bytes);
    }, '/build/src/container-vm.js');
    assert.deepEqual([...(await waitForDownload(downloads, 'data.bin'))], expected);

    await b.page.evaluate(() => document.querySelector('container-vm')!.downloadZip('share.zip'));
    const files = unzipSync(new Uint8Array(await waitForDownload(downloads, 'share.zip')));
    assert.deepEqual(Object.keys(files).sort(), ['notes/', 'notes/deep/', 'notes/deep/data.bin', 'notes/todo.txt']);
    assert.deepEqual([...files['notes/deep/data.bin']!], expected);
    assert.equal(new TextDecoder().decode(files['notes/todo.txt']), 'buy milk\n');
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
    rmSync(downloads, { recursive: true, force: true });
  }
});
