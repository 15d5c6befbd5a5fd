// VM snapshots with the default guest: one first start (from the snapshot the image ships), then resumes. The guest's view of the share
// after a resume matches OPFS even where the page changed it while the VM was off (its cwd and
// an open file descriptor in the share survive); the browser killed during a save leaves a
// snapshot that resumes and an intact share; a full quota gives ENOSPC in the guest and a
// quota-exceeded event, losing nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 180000;
const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/snapshot-test', snapshot: 'auto' };

/** Creates the element and waits for vm-ready; returns how long that took and whether it resumed. */
async function start(b: RunningBrowser): Promise<{ ms: number; resumed: boolean }> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: unknown };
  assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);
  const ms = await b.page.evaluate(() => vmHarness.eventTime('vm-ready')) as number;
  const resumed = await b.page.evaluate(() => vmHarness.events().some((e) => e.type === 'progress') &&
    !vmHarness.events().some((e) => e.type === 'exit')) as boolean;
  return { ms, resumed };
}

async function run(b: RunningBrowser, command: string, status = 0): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 120000), command);
  assert.equal(r.status, status, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

async function snapshotFiles(b: RunningBrowser): Promise<string[]> {
  return b.page.evaluate(async () => {
    let dir = await navigator.storage.getDirectory();
    for (const p of ['emulator', 'snapshots', encodeURIComponent('/snapshot-test')]) dir = await dir.getDirectoryHandle(p);
    const names: string[] = [];
    for await (const [name] of dir.entries()) names.push(name);
    return names.sort();
  });
}

test('snapshots: save, resume with the share true to OPFS, a kill during a save, a full quota', { timeout: 900000 }, async () => {
  assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
  const server = await startServer();
  const profile = newProfileDir();
  try {
    // 1. First start (no snapshot of the share's own yet: the image's), state in the guest, save.
    let b = await openElementPage(profile, server);
    try {
      const first = await start(b);
      console.log(`# first start to shell: ${first.ms.toFixed(0)} ms`);
      await run(b, 'echo before > /mnt/opfs/a.txt; echo kept > /mnt/opfs/keep.txt; mkdir -p /mnt/opfs/work; cd /mnt/opfs/work; exec 3< /mnt/opfs/keep.txt');
      const info = await b.page.evaluate(async () => {
        const i = await vmHarness.element().saveSnapshot();
        return { stateBytes: i.stateBytes, storedBytes: i.storedBytes };
      });
      console.log(`# snapshot: ${info.stateBytes} bytes of state stored in ${info.storedBytes}`);
      assert.ok(info.storedBytes > 0 && info.storedBytes < info.stateBytes);
      // The VM runs on after saving.
      assert.equal(await run(b, 'pwd; cat /mnt/opfs/a.txt'), '/mnt/opfs/work\nbefore\n');
      assert.equal((await snapshotFiles(b)).length, 2);
    } finally {
      await b.close();
    }

    // 2. The page changes the share while the VM is off.
    b = await openElementPage(profile, server);
    try {
      await b.page.evaluate(() => vmHarness.create({ 'opfs-root': '/snapshot-test' }));
      await b.page.evaluate(async () => {
        await vmHarness.writeText('a.txt', 'changed while off\n');
        await vmHarness.writeText('work/new.txt', 'new\n');
      });
    } finally {
      await b.close();
    }

    let before: string[] = [];
    let previous = 0;
    // 3. Resume: the shell answers, its cwd and open descriptor in the share work, and it sees
    //    the page's changes.
    b = await openElementPage(profile, server);
    try {
      const resume = await start(b);
      console.log(`# resume to shell: ${resume.ms.toFixed(0)} ms`);
      assert.ok(resume.resumed, 'expected a resume from the snapshot');
      assert.equal(await run(b, 'pwd; ls; cat /mnt/opfs/a.txt; cat <&3'), '/mnt/opfs/work\nnew.txt\nchanged while off\nkept\n');
      await run(b, 'echo after > after.txt; ls /mnt/opfs | tr "\\n" " "');
      assert.equal(await b.page.evaluate(() => vmHarness.readText('work/after.txt')), 'after\n');

      // 4. Kill the browser while a new snapshot is being written.
      before = await snapshotFiles(b);
      previous = await b.page.evaluate(async () => (await vmHarness.element().snapshotInfo())!.savedAt.getTime());
      await b.page.evaluate(() => { void vmHarness.element().saveSnapshot().catch(() => undefined); });
      await b.page.waitForFunction(async (old: string[]) => {
        let dir = await navigator.storage.getDirectory();
        for (const p of ['emulator', 'snapshots', encodeURIComponent('/snapshot-test')]) dir = await dir.getDirectoryHandle(p);
        for await (const [name] of dir.entries()) if (!old.includes(name)) return true;
        return false;
      }, { timeout: 60000, polling: 5 }, before);
      b.kill();
    } finally {
      await b.close().catch(() => undefined);
    }

    // 5. The next start resumes (the previous snapshot, or the new one if it was complete) and
    //    the share is intact; the next save clears the partial file.
    b = await openElementPage(profile, server);
    try {
      const again = await start(b);
      assert.ok(again.resumed, 'expected a resume after the kill');
      // The kill came before the new state was complete: the previous snapshot is the current one,
      // and the partial file is still there (until the next save).
      assert.equal(await b.page.evaluate(async () => (await vmHarness.element().snapshotInfo())!.savedAt.getTime()), previous);
      const files = await snapshotFiles(b);
      assert.ok(before.every((f) => files.includes(f)) && files.length > before.length, `snapshot files after the kill: ${files.join(' ')}`);
      assert.equal(await run(b, 'cat /mnt/opfs/a.txt /mnt/opfs/keep.txt /mnt/opfs/work/new.txt /mnt/opfs/work/after.txt'),
        'changed while off\nkept\nnew\nafter\n');
      await b.page.evaluate(() => vmHarness.element().saveSnapshot());
      assert.equal((await snapshotFiles(b)).length, 2);

      // 6. A full quota: the guest gets ENOSPC, the element fires quota-exceeded, nothing is lost.
      const usage = await b.page.evaluate(() => vmHarness.element().storageUsage());
      assert.ok(usage.usage > 0 && usage.quota > usage.usage);
      const cdp = await b.page.createCDPSession();
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: usage.usage + 2 * 1024 * 1024 });
      const dd = await run(b, 'dd if=/dev/zero of=/mnt/opfs/big bs=64k count=256 2>&1; echo status $?', 0);
      assert.match(dd, /No space left on device/);
      assert.match(dd, /status 1/);
      const event = await b.page.evaluate(() => vmHarness.waitForEvent('quota-exceeded-never', 10000)) as { type: string; detail: { code: string; message: string } };
      assert.equal(event.type, 'error');
      assert.equal(event.detail.code, 'quota-exceeded');
      assert.match(event.detail.message, /ENOSPC/);
      assert.equal(await b.page.evaluate(() => vmHarness.element().state), 'running');
      await run(b, 'rm /mnt/opfs/big');
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin });
      assert.equal(await run(b, 'cat /mnt/opfs/a.txt /mnt/opfs/keep.txt /mnt/opfs/work/new.txt /mnt/opfs/work/after.txt'),
        'changed while off\nkept\nnew\nafter\n');
    } finally {
      await b.close();
    }

    // 7. After a relaunch the share is as it was (the quota did not cost any stored file).
    b = await openElementPage(profile, server);
    try {
      await b.page.evaluate(() => vmHarness.create({ 'opfs-root': '/snapshot-test' }));
      assert.equal(await b.page.evaluate(() => vmHarness.readText('work/after.txt')), 'after\n');
      assert.equal(await b.page.evaluate(() => vmHarness.readText('keep.txt')), 'kept\n');
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
