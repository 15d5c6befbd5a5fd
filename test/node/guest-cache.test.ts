// The page changes the share while the default guest runs (real Chromium, OPFS, M1 and the guest
// kernel's 9p client): the guest reads the new state at once, whatever it read or cached before,
// with the share mounted cache=none (the default) and cache=loose (the guest keeps names,
// attributes and pages; the element has the guest agent drop them after each change). Covered:
// an overwrite of a file the guest read, a new file whose name the guest looked up before, a
// mode change, a removal, a rename, importFiles and importZip. With the cache, the page also
// reads what the guest just wrote (the agent writes it back first), and before a pause.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { zipSync } from 'fflate';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, setPageHidden, startServer } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 180000;
const SHARE = '/mnt/opfs';

async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 120000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** What the guest sees at `path` (relative to the share): its mode and content, or "absent". */
const seen = (b: RunningBrowser, path: string) =>
  run(b, `f=${SHARE}/${path}; if [ -e $f ]; then stat -c %a $f; cat $f; else echo absent; fi`);

const write = (b: RunningBrowser, path: string, text: string) =>
  b.page.evaluate((p, t) => vmHarness.writeText(p, t), path, text);

async function pageChangesReachTheGuest(b: RunningBrowser, dir: string): Promise<void> {
  for (const d of [dir, `${dir}/imp`, `${dir}/zip`]) await b.page.evaluate((p) => vmHarness.mkdir(p), d);

  // An overwrite of a file the guest has read (and, with a cache, holds): longer, then shorter.
  await write(b, `${dir}/a.txt`, 'one\n');
  assert.equal(await seen(b, `${dir}/a.txt`), '644\none\n');
  await write(b, `${dir}/a.txt`, 'two, longer\n');
  assert.equal(await seen(b, `${dir}/a.txt`), '644\ntwo, longer\n');
  await write(b, `${dir}/a.txt`, '3\n');
  assert.equal(await seen(b, `${dir}/a.txt`), '644\n3\n');

  // A mode change.
  await b.page.evaluate((p) => vmHarness.element().fs.chmod(p, 0o600), `${dir}/a.txt`);
  assert.equal(await seen(b, `${dir}/a.txt`), '600\n3\n');

  // A new file whose name the guest looked up while it did not exist.
  assert.equal(await seen(b, `${dir}/new.txt`), 'absent\n');
  await write(b, `${dir}/new.txt`, 'new\n');
  assert.equal(await seen(b, `${dir}/new.txt`), '644\nnew\n');
  assert.equal(await run(b, `ls -1 ${SHARE}/${dir}`), 'a.txt\nimp\nnew.txt\nzip\n');

  // A removal and a rename.
  await b.page.evaluate((p) => vmHarness.element().fs.remove(p), `${dir}/a.txt`);
  assert.equal(await seen(b, `${dir}/a.txt`), 'absent\n');
  await b.page.evaluate((from, to) => vmHarness.element().fs.rename(from, to), `${dir}/new.txt`, `${dir}/moved.txt`);
  assert.equal(await seen(b, `${dir}/new.txt`), 'absent\n');
  assert.equal(await seen(b, `${dir}/moved.txt`), '644\nnew\n');

  // importFiles over a file the guest has read.
  await write(b, `${dir}/imp/f.txt`, 'before the import\n');
  assert.equal(await seen(b, `${dir}/imp/f.txt`), '644\nbefore the import\n');
  await b.page.evaluate((d) => vmHarness.element().importFiles([new File(['imported\n'], 'f.txt')], d).then(() => undefined), `${dir}/imp`);
  assert.equal(await seen(b, `${dir}/imp/f.txt`), '644\nimported\n');

  // importZip over a file the guest has read, and a file new to it.
  await write(b, `${dir}/zip/z.txt`, 'before the zip\n');
  assert.equal(await seen(b, `${dir}/zip/z.txt`), '644\nbefore the zip\n');
  assert.equal(await seen(b, `${dir}/zip/y.txt`), 'absent\n');
  const zip = Array.from(zipSync({ 'z.txt': new TextEncoder().encode('from the zip\n'), 'y.txt': new TextEncoder().encode('y\n') }));
  await b.page.evaluate(async (bytes, d) => {
    const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/zip' }));
    await vmHarness.element().importZip(url, d);
  }, zip, `${dir}/zip`);
  assert.equal(await run(b, `cat ${SHARE}/${dir}/zip/z.txt ${SHARE}/${dir}/zip/y.txt`), 'from the zip\ny\n');
}

test('chromium: the guest reads what the page just changed in the share, with cache=none and share-cache="loose"', { timeout: 600000 }, async () => {
  assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
  const server = await startServer();
  const profile = newProfileDir();
  try {
    const b = await openElementPage(profile, server, 'chromium');
    try {
      await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': '/guest-cache-test', backend: 'm1' });
      const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string };
      assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);

      // cache=none shows as no cache option at all.
      assert.doesNotMatch(await run(b, `grep ' ${SHARE} ' /proc/mounts`), /loose|fscache|mmap/);
      await pageChangesReachTheGuest(b, 'none');

      // share-cache: a value it does not know is an error event that names the right ones.
      await b.page.evaluate(() => vmHarness.stop());
      await b.page.evaluate(() => { vmHarness.clearEvents(); vmHarness.setAttribute('share-cache', 'lazy'); });
      await b.page.evaluate(() => vmHarness.start());
      const bad = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 30000)) as { type: string; detail: { code: string; message: string } };
      assert.equal(bad.type, 'error');
      assert.equal(bad.detail.code, 'bad-arguments');
      assert.match(bad.detail.message, /share-cache "lazy".*none.*loose/);

      // share-cache="loose": the guest mounts the share with a cache, booting (the image's
      // snapshot was made with cache=none).
      await b.page.evaluate(() => { vmHarness.clearEvents(); vmHarness.setAttribute('share-cache', 'loose'); });
      await b.page.evaluate(() => vmHarness.start());
      const loose = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: { start: string } };
      assert.equal(loose.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(loose)}`);
      assert.equal(loose.detail.start, 'boot');
      assert.match(await run(b, `grep ' ${SHARE} ' /proc/mounts`), /\bcache=loose\b|\bloose\b/);
      await pageChangesReachTheGuest(b, 'loose');

      // The other way: what the guest wrote to the cached share, still in its RAM, is what the
      // page reads (the agent writes it back first), a new file and an overwrite.
      const read = (path: string) => b.page.evaluate((p) => vmHarness.readText(p), path);
      await run(b, `echo from the guest > ${SHARE}/loose/g.txt`);
      assert.equal(await read('loose/g.txt'), 'from the guest\n');
      await run(b, `echo 2 > ${SHARE}/loose/g.txt`);
      assert.equal(await read('loose/g.txt'), '2\n');
      // Hidden at once after a write: the agent writes it back before the VM pauses, so the page
      // (which might be closing) reads it while the VM is paused.
      await run(b, `echo before the pause > ${SHARE}/loose/h.txt`);
      await setPageHidden(b.page, true);
      await b.page.waitForFunction(() => (vmHarness.element() as unknown as { held: boolean }).held, { timeout: 30000, polling: 100 });
      assert.equal(await read('loose/h.txt'), 'before the pause\n');
      await setPageHidden(b.page, false);
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
