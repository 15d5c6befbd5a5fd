// OCI images as the v86 guest's root file system (test/oci/build.sh makes the fixtures): the
// two-layer busybox image (whiteout, opaque directory, hard link as a copy, the config's
// Entrypoint, Cmd, Env and WorkingDir, `args` replacing Cmd), a change in the root surviving a
// browser relaunch, reset(); User; bad images. In Chromium, on M1 and L1. The Debian 12 image is
// in oci-debian.test.ts (a file of its own: each file must end within the suite's time limit).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import { BOOT_TIMEOUT, backends, boot, guest, run, skip } from './support/oci.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

for (const backend of backends) {
  test(`${backend}: a two-layer busybox image: whiteouts, its config, args, persistence across a relaunch, reset()`, { skip, timeout: 900000 }, async () => {
    const server = await startServer();
    const profile = newProfileDir();
    const attributes = { src: '/test/oci/out/busybox/', 'opfs-root': `/oci-${backend}`, backend };
    try {
      let b = await openElementPage(profile, server, 'chromium');
      try {
        await boot(b, attributes);
        // Entrypoint ["/bin/sh", "-c"] with Cmd, in WorkingDir /home/app, with Env.
        await b.page.evaluate(() => vmHarness.waitForOutput('cmd ran in /home/app as 0 with hello from Env', 30000));
        assert.equal(await run(b, 'cat /etc/kept.txt /etc/hard.txt; ls /opq; [ -e /etc/gone.txt ] || echo gone'),
          'kept from the lower layer\nkept from the lower layer\nupper.txt\ngone\n');
        assert.equal(await run(b, 'stat -c "%a %u:%g %F" /bin/busybox /tmp /home/app /etc/fifo; readlink /bin/sh'),
          '4755 0:0 regular file\n1777 0:0 directory\n755 1000:1000 directory\n644 0:0 fifo\nbusybox\n');
        assert.equal(await run(b, 'echo "$GREETING|$PATH|$HOME"; hostname'), 'hello from Env|/bin|/root\ncontainer-vm\n');
        // The share beside the root, and a change in the root.
        await run(b, 'echo kept > /mnt/opfs/share.txt; echo edited > /etc/kept.txt; mkdir /new; echo x > /new/file');
        assert.equal(await b.page.evaluate(() => vmHarness.readText('share.txt')), 'kept\n');
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }

      // Relaunched, with args replacing Cmd: the root as the guest left it.
      b = await openElementPage(profile, server, 'chromium');
      try {
        // One word (quoted, as a shell would split it): the Entrypoint is sh -c.
        await boot(b, { ...attributes, args: `'echo "args ran in $(pwd)"; exec sh'` });
        await b.page.evaluate(() => vmHarness.waitForOutput('args ran in /home/app', 30000));
        assert.equal(await run(b, 'cat /etc/kept.txt /new/file /mnt/opfs/share.txt'), 'edited\nx\nkept\n');
        // reset(): the image's pristine root again; the share is untouched.
        await b.page.evaluate(() => { vmHarness.clearEvents(); return vmHarness.element().reset(); });
        const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string };
        assert.equal(event.type, 'vm-ready');
        assert.equal(await run(b, 'cat /etc/kept.txt /mnt/opfs/share.txt; [ -e /new ] || echo no-new'), 'kept from the lower layer\nkept\nno-new\n');
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });
}

test('bad images: another platform, no guest to boot it, a layer that does not match its digest, the quota running out while unpacking', { skip, timeout: 600000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  try {
    const b = await openElementPage(profile, server, 'chromium');
    try {
      const failure = async (attributes: Record<string, string>, then?: () => Promise<void>) => {
        await b.page.evaluate(() => vmHarness.clearEvents());
        await b.page.evaluate((a) => vmHarness.create(a), { guest, ...attributes });
        await then?.();
        const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 120000)) as { type: string; detail: { code: string; message: string } };
        // What is left of the share's image roots in OPFS: nothing half-unpacked.
        const left = await b.page.evaluate(async (share) => {
          const names: string[] = [];
          try {
            let dir = await navigator.storage.getDirectory();
            for (const part of ['emulator', 'roots', encodeURIComponent(share)]) dir = await dir.getDirectoryHandle(part);
            for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
          } catch { /* no folder: nothing left */ }
          return names;
        }, attributes['opfs-root']!);
        await b.page.evaluate(() => vmHarness.remove());
        return { ...event, left };
      };
      const platform = await failure({ src: '/test/oci/out/busybox-amd64/', 'opfs-root': '/bad-platform' });
      assert.equal(platform.type, 'error');
      assert.equal(platform.detail.code, 'bad-image');
      assert.match(platform.detail.message, /linux\/amd64.*runs linux\/386 images only.*container2wasm/s);

      // No guest to boot it: said before the share opens.
      const noGuest = await failure({ src: '/test/oci/out/busybox/', 'opfs-root': '/no-guest', guest: '' });
      assert.equal(noGuest.type, 'error');
      assert.equal(noGuest.detail.code, 'bad-arguments');
      assert.match(noGuest.detail.message, /set the guest attribute/);

      const digest = await failure({ src: '/test/oci/out/busybox-bad-digest/', 'opfs-root': '/bad-digest' });
      assert.equal(digest.type, 'error', 'a damaged image is never booted');
      assert.equal(digest.detail.code, 'bad-image');
      assert.match(digest.detail.message, /does not match its digest/);
      assert.deepEqual(digest.left, []);

      // Chromium enforces this override on OPFS writes as it would a real quota.
      // The share open first, then a quota that leaves less than busybox's 2.1 MB.
      const quota = await failure({ src: '/test/oci/out/busybox.tar', 'opfs-root': '/bad-quota', autostart: 'false' }, async () => {
        await b.page.evaluate(() => vmHarness.element().fs.exists('x'));
        const usage = await b.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
        const cdp = await b.page.createCDPSession();
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: usage + 1800 * 1024 });
        void b.page.evaluate(() => vmHarness.start().catch(() => undefined));
      });
      assert.equal(quota.type, 'error');
      assert.equal(quota.detail.code, 'quota-exceeded', quota.detail.message);
      assert.match(quota.detail.message, /what was unpacked is removed/);
      const unpacked = await b.page.evaluate(() => vmHarness.progressDetails().filter((p) => p.what === 'unpack').map((p) => p.loaded));
      assert.ok(Math.max(...unpacked) > 0, 'the quota ran out while layers were unpacked');
      assert.deepEqual(quota.left, []);
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});

test('User: the entrypoint runs as the config\'s user, looked up in the image\'s passwd, in its home', { skip, timeout: 600000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  try {
    const b = await openElementPage(profile, server, 'chromium');
    try {
      await boot(b, { src: '/test/oci/out/busybox-user/', 'opfs-root': '/oci-user' });
      await b.page.evaluate(() => vmHarness.waitForOutput('user 1000:1000 home /home/app in /home/app', 30000));
      // (New files are the 9P session's, root's: docs/oci.md, Limits.)
      assert.equal(await run(b, 'id -u; touch /home/app/mine && echo made; touch /etc/x 2>/dev/null || echo denied'), '1000\nmade\ndenied\n');
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
