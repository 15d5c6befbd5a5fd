// The Debian 12 i386 image (minbase + python3-minimal, test/oci/build.sh) as the v86 guest's root
// file system, in Chromium on M1 and L1: /etc/os-release, python3, dpkg -i of a local .deb that a
// browser relaunch still lists, and an edit in /etc kept across the relaunch. Its timings are
// measured by npm run bench:oci, not here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import { backends, boot, repo, run, skip } from './support/oci.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

for (const backend of backends) {
  test(`${backend}: Debian 12: os-release, python3, dpkg -i of a local .deb and an edit in /etc that a relaunch still has`, { skip, timeout: 1800000 }, async () => {
    const server = await startServer();
    const profile = newProfileDir();
    const attributes = { src: '/test/oci/out/debian/', 'opfs-root': `/debian-${backend}`, backend };
    try {
      let b = await openElementPage(profile, server, 'chromium');
      try {
        await boot(b, attributes);
        assert.match(await run(b, 'cat /etc/os-release'), /PRETTY_NAME="Debian GNU\/Linux 12 \(bookworm\)"/);
        assert.equal(await run(b, "python3 -c 'print(6*7)'"), '42\n');
        assert.ok(Number(await run(b, 'dpkg -l | wc -l')) > 100, 'dpkg lists the installed packages');
        // cp -a lists each file's extended attributes through a fid of its own, which must be
        // clunked on the root's worker: else the guest's next use of that fid number fails (EBADF).
        assert.equal(await run(b, 'cp -a /etc/os-release /tmp/ && ls / >/dev/null && cmp /etc/os-release /tmp/os-release && rm /tmp/os-release && echo copied'), 'copied\n');
        const deb = Array.from(readFileSync(`${repo}test/oci/out/hello_1.0_all.deb`));
        await b.page.evaluate((bytes) => vmHarness.element().fs.writeFile('hello.deb', new Uint8Array(bytes)), deb);
        await run(b, 'dpkg -i /mnt/opfs/hello.deb >/dev/null && echo "edited in /etc" >> /etc/issue');
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }
      b = await openElementPage(profile, server, 'chromium');
      try {
        await boot(b, attributes);
        assert.match(await run(b, 'dpkg -s cvm-hello'), /Status: install ok installed/);
        assert.equal(await run(b, 'cat /usr/share/cvm-hello/hello.txt; tail -n 1 /etc/issue'), 'installed by dpkg -i\nedited in /etc\n');
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });
}
