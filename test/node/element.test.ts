// The element booting the default guest (guest/out) in real Chromium and Firefox: what the guest writes to
// /mnt/opfs survives a browser relaunch (served by M1, then by L1, which reads M1's share and
// keeps its own writes across another relaunch), the page's fs and the guest see each other's
// files, and the built dist/ works from a sub-path. Cold boots are ~25 s each, so the suite keeps
// them few.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser, hasJspi, newProfileDir, openElementPage, removeProfileDir, startServer, testBrowsers } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 180000;

async function boot(b: RunningBrowser, attributes: Record<string, string>): Promise<void> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: unknown };
  assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);
}

async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 120000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** A listing of a tree with each entry's mode, mtime, size and symlink target, as the guest sees it. */
const describeTree = (dir: string) =>
  `cd ${dir} && find . | sort | while read -r f; do stat -c '%n %a %Y %s %F' "$f"; [ -L "$f" ] && readlink "$f"; done | md5sum; ` +
  `find . -type f | sort | xargs md5sum | md5sum; find . | wc -l; cd /`;

for (const browser of testBrowsers) {
  test(`${browser}: the guest share survives browser relaunches with M1 then L1, and page and guest see each other's files`, { timeout: 900000 }, async () => {
    assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
    const server = await startServer();
    const profile = newProfileDir();
    const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/element-test', backend: 'm1' };
    // A browser without JSPI (Firefox ESR 140) has no L1: its relaunches use M1 again.
    let l1Attributes = { ...attributes, backend: 'l1' };
    try {
      let b = await openElementPage(profile, server, browser);
      if (!await hasJspi(b)) l1Attributes = attributes;
      let tree: string;
      let tar: string;
      try {
        await boot(b, attributes);
        await run(b, 'echo data > /mnt/opfs/x; sync');

        // The page writes, the guest reads; the guest writes, the page reads.
        await b.page.evaluate(() => vmHarness.writeText('from-page.txt', 'hello guest\n', 0o640));
        assert.equal(await run(b, 'cat /mnt/opfs/from-page.txt; stat -c %a /mnt/opfs/from-page.txt'), 'hello guest\n640\n');
        await run(b, 'echo from guest > /mnt/opfs/from-guest.txt');
        assert.equal(await b.page.evaluate(() => vmHarness.readText('from-guest.txt')), 'from guest\n');

        // Modes, symlinks and mtimes as the guest sets them.
        await run(b, 'mkdir -p /mnt/opfs/t/d && cd /mnt/opfs/t && echo a > a && chmod 751 a && ln -s a link && ' +
          'ln -s ../x up && touch -d "2001-02-03 04:05:06" a && chmod 700 d && mkfifo pipe && cd /');
        tree = await run(b, describeTree('/mnt/opfs/t'));

        // A real tree through busybox tar: the initramfs's own /bin, /lib and /etc.
        await run(b, 'mkdir /mnt/opfs/copy && tar -C / -cf - bin etc lib | tar -C /mnt/opfs/copy -xf - && sync');
        tar = await run(b, describeTree('/mnt/opfs/copy'));
        assert.equal(tar, await run(b, describeTree('/mnt/opfs/copy')));
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }

      // Relaunched with L1: the share M1 served, exactly; then L1 writes a tree of its own.
      let l1Tree: string;
      b = await openElementPage(profile, server, browser);
      try {
        await boot(b, l1Attributes);
        assert.equal(await run(b, 'cat /mnt/opfs/x'), 'data\n');
        assert.equal(await run(b, 'cat /mnt/opfs/from-guest.txt /mnt/opfs/from-page.txt'), 'from guest\nhello guest\n');
        assert.equal(await run(b, describeTree('/mnt/opfs/t')), tree);
        assert.equal(await run(b, describeTree('/mnt/opfs/copy')), tar);
        assert.equal(await run(b, 'stat -c "%a %Y %F" /mnt/opfs/t/a /mnt/opfs/t/d /mnt/opfs/t/pipe; readlink /mnt/opfs/t/link'),
          '751 981173106 regular file\n700 ' + (await run(b, 'stat -c %Y /mnt/opfs/t/d')).trim() + ' directory\n644 ' +
          (await run(b, 'stat -c %Y /mnt/opfs/t/pipe')).trim() + ' fifo\na\n');
        await run(b, 'mkdir /mnt/opfs/l1 && tar -C / -cf - bin etc | tar -C /mnt/opfs/l1 -xf - && cd /mnt/opfs/l1 && echo b > b && ' +
          'chmod 604 b && ln -s b lb && touch -d "2002-03-04 05:06:07" b && mv etc etc2 && rm -r bin && cd / && sync');
        l1Tree = await run(b, describeTree('/mnt/opfs/l1'));
      } finally {
        await b.close();
      }

      // Relaunched with L1 again: its own writes are there, and M1's still are.
      b = await openElementPage(profile, server, browser);
      try {
        await boot(b, l1Attributes);
        assert.equal(await run(b, describeTree('/mnt/opfs/l1')), l1Tree);
        assert.equal(await run(b, 'stat -c "%a %Y" /mnt/opfs/l1/b; readlink /mnt/opfs/l1/lb'), '604 1015218367\nb\n');
        assert.equal(await run(b, describeTree('/mnt/opfs/copy')), tar);
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });

  test(`${browser}: the built dist/ works when served from a sub-path, L1 included`, { timeout: 300000 }, async () => {
    assert.ok(existsSync(`${repo}dist/container-vm.js`), 'dist/ is missing: npm test builds it with npm run build');
    // /apps/vm/* is served from dist/: the element must find its workers and wasm beside itself.
    const server = await startServer({ rewrite: [['/apps/vm/', '/dist/']] });
    const profile = newProfileDir();
    try {
      const b = await openElementPage(profile, server, browser, '?module=/apps/vm/container-vm.js');
      try {
        // backend="l1": the storage worker must find l1.wasm beside itself in dist/ too (where the browser has JSPI).
        await boot(b, { src: '/guest/out/manifest.json', 'opfs-root': '/dist-test', backend: await hasJspi(b) ? 'l1' : 'm1' });
        assert.equal(await run(b, 'echo works > /mnt/opfs/w; cat /mnt/opfs/w'), 'works\n');
        assert.equal(await b.page.evaluate(() => vmHarness.readText('w')), 'works\n');
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });

  test(`${browser}: without COOP/COEP headers the element fires an error naming them`, { timeout: 120000 }, async () => {
    const server = await startServer({ isolation: false });
    const profile = newProfileDir();
    try {
      const b = await openElementPage(profile, server, browser);
      try {
        await b.page.evaluate(() => vmHarness.create({ src: '/guest/out/manifest.json' }));
        const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 30000)) as { type: string; detail: { code: string; message: string } };
        assert.equal(event.type, 'error');
        assert.equal(event.detail.code, 'not-isolated');
        assert.match(event.detail.message, /Cross-Origin-Opener-Policy: same-origin/);
        assert.match(event.detail.message, /Cross-Origin-Embedder-Policy: require-corp/);
        assert.match(event.detail.message, /container-vm-sw\.js/);
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });
}
