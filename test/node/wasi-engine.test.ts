// The element's wasi engine in real Chromium and Firefox, with WASI programs compiled from test/wasi at test
// time: an emulator-like main loop typed at through the element's terminal (stdin, poll_oneoff with
// several clocks, args, env, terminal size, files in the share, exit code), the OPFS image cache
// (revalidated, replaced when the image changes), and the share across a browser relaunch and
// across engines (the v86 guest reads what the WASI program wrote and the other way round).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { RunningBrowser, Server, newProfileDir, openElementPage, removeProfileDir, startServer, testBrowsers } from './support/browser.js';
import { compileWasi, wasmPath } from './support/wasi.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 180000;

interface Served { url: string; status: number; bytes: number | undefined }

/** Types a line into the element's terminal with the keyboard and waits for `reply` after it. */
async function type(b: RunningBrowser, line: string, reply: string): Promise<string> {
  const from = await b.page.evaluate(() => vmHarness.outputLength());
  await b.page.evaluate(() => vmHarness.focusTerminal());
  await b.page.keyboard.type(line);
  await b.page.keyboard.press('Enter');
  const out = await b.page.evaluate((p, f) => vmHarness.waitForOutput(p, 30000, f), reply, from);
  return out.replace(/\r/g, '');
}

async function waitEvent(b: RunningBrowser, type: string, timeout = 60000): Promise<{ type: string; detail: unknown }> {
  return await b.page.evaluate((t, ms) => vmHarness.waitForEvent(t, ms), type, timeout) as { type: string; detail: unknown };
}

async function startMainloop(b: RunningBrowser, attributes: Record<string, string>): Promise<void> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const ready = await waitEvent(b, 'vm-ready');
  assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));
  await b.page.evaluate(() => vmHarness.waitForOutput('mainloop \\d ready'));
}

/** Waits until the server has answered `count` more requests for `url` than `before`; returns their statuses. */
async function fetchesOf(served: Served[], url: string, before: number, count: number): Promise<number[]> {
  const of = () => served.slice(before).filter((s) => s.url.split('?')[0] === url).map((s) => s.status);
  for (const started = Date.now(); of().length < count && Date.now() - started < 30000;) await new Promise((r) => setTimeout(r, 50));
  return of();
}

async function quit(b: RunningBrowser, code: number): Promise<void> {
  await type(b, `quit ${code}`, 'bye');
  const exit = await waitEvent(b, 'exit');
  assert.deepEqual(exit, { type: 'exit', detail: { code, reason: 'exited' } });
}

for (const browser of testBrowsers) describe(`wasi engine (${browser})`, { timeout: 900_000 }, () => {
  let server: Server;
  const served: Served[] = [];
  let mainloop: string;

  before(async () => {
    mainloop = compileWasi('mainloop');
    compileWasi('mainloop', 'mainloop-v2', ['-DVARIANT=2']);
    server = await startServer({ onResponse: (url, status, bytes) => served.push({ url, status, bytes }) });
  });

  after(async () => {
    await server?.stop();
  });

  test('a main loop typed at through the terminal; image cache revalidated and replaced', async () => {
    const profile = newProfileDir();
    // A copy the test can change under the same URL.
    const image = '/build/test/wasi/cache-image.wasm';
    copyFileSync(wasmPath(mainloop), wasmPath(image));
    const fetches = () => served.filter((s) => s.url.split('?')[0] === image);
    const b = await openElementPage(profile, server, browser);
    try {
      await startMainloop(b, { src: image, args: '/mnt/opfs "two words"', env: 'FOO=bar', 'opfs-root': '/wasi-engine' });
      const banner = await b.page.evaluate(() => vmHarness.waitForOutput('ready.*\\n'));
      assert.match(banner, /mainloop 1 ready: argc=3 \[\/mnt\/opfs\] \[two words\] FOO=bar size=\d+x\d+ tty=1/);
      const [, cols, rows] = /size=(\d+)x(\d+)/.exec(banner)!;
      assert.ok(Number(cols) > 20 && Number(rows) > 5, `terminal size ${cols}x${rows}`);
      assert.equal(fetches().at(-1)?.status, 200);
      const progress = await b.page.evaluate(() => vmHarness.progressEvents());
      assert.ok(progress > 0, 'progress events while downloading the image');

      assert.match(await type(b, 'hello there', 'echo: hello there\n'), /echo: hello there/);
      await type(b, 'write note.txt typed in the terminal', 'wrote note.txt');
      assert.equal(await b.page.evaluate(() => vmHarness.readText('note.txt')), 'typed in the terminal\n');
      // A write of a program that works on without sleeping, its file still open, reaches the
      // share within S1's 100 ms (src/wasi/session.ts), long before the program lets go of it.
      const hold = b.page.evaluate(() => vmHarness.waitForOutput('released held.txt', 30000));
      await type(b, 'hold held.txt 3000 written while busy', 'holding held.txt');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await b.page.evaluate(() => vmHarness.readText('held.txt')), 'written while busy\n');
      assert.doesNotMatch(await b.page.evaluate(() => vmHarness.waitForOutput('holding held.txt')), /released held.txt/, 'read while the program held the file');
      await hold;
      await b.page.evaluate(() => vmHarness.writeText('from-page.txt', 'the page wrote this'));
      assert.match(await type(b, 'cat from-page.txt', 'cat from-page.txt: .*'), /cat from-page.txt: the page wrote this/);

      // Let the clocks run: the 30 ms tick and the 100 ms absolute deadline both fire, never early,
      // and poll_oneoff returns only with something that fired (it sleeps in between, never spins back empty).
      await new Promise((r) => setTimeout(r, 1500));
      const stats = await type(b, 'ticks', 'ticks: .*\n');
      const [, ticks, deadlines, early, polls, inputs] = /ticks: (\d+) deadlines: (\d+) early: (\d+) polls: (\d+) inputs: (\d+)/.exec(stats)!.map(Number);
      assert.ok(ticks! > 10, `ticks ${ticks}`);
      assert.ok(deadlines! >= 5, `deadlines ${deadlines}`);
      assert.equal(early, 0);
      assert.ok(polls! <= ticks! + deadlines! + inputs!, `polls ${polls} for ${ticks} ticks, ${deadlines} deadlines and ${inputs} inputs`);

      await quit(b, 7);
      assert.equal(await b.page.evaluate(() => vmHarness.state()), 'stopped');

      // Second start: runs from the cache at once; the page revalidates it (304): no image bytes.
      let before = served.length;
      await b.page.evaluate(() => { vmHarness.clearEvents(); return vmHarness.start(); });
      await b.page.evaluate(() => vmHarness.waitForOutput('mainloop 1 ready[^]*mainloop 1 ready'));
      assert.deepEqual(await fetchesOf(served, image, before, 1), [304]);
      await quit(b, 0);

      // The image changes on the server: this start still runs the cached one while the page
      // fetches the new one (200) into the cache; the next start runs the new one (and gets a 304).
      copyFileSync(wasmPath('/build/test/wasi/mainloop-v2.wasm'), wasmPath(image));
      before = served.length;
      await b.page.evaluate(() => { vmHarness.clearEvents(); return vmHarness.start(); });
      await b.page.evaluate(() => vmHarness.waitForOutput('(mainloop 1 ready[^]*){3}'));
      assert.deepEqual(await fetchesOf(served, image, before, 1), [200]);
      await quit(b, 3);
      // The download was written to the cache on the page, after the 200; give it a moment.
      await new Promise((r) => setTimeout(r, 1000));
      before = served.length;
      await b.page.evaluate(() => { vmHarness.clearEvents(); return vmHarness.start(); });
      await b.page.evaluate(() => vmHarness.waitForOutput('mainloop 2 ready'));
      assert.deepEqual(await fetchesOf(served, image, before, 1), [304]);
      await quit(b, 4);
      await b.page.evaluate(() => vmHarness.remove());
    } finally {
      await b.close();
      removeProfileDir(profile);
    }
  });

  test('a full quota: the program\'s write fails with ENOSPC though S1 gathered it, quota-exceeded fires, files stored before are intact', async () => {
    const profile = newProfileDir();
    const b = await openElementPage(profile, server);
    try {
      await startMainloop(b, { src: mainloop, 'opfs-root': '/wasi-quota' });
      await type(b, 'write kept.txt stored before the quota ran out', 'wrote kept.txt');
      const usage = await b.page.evaluate(() => vmHarness.element().storageUsage());
      const cdp = await b.page.createCDPSession();
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: usage.usage + 1024 * 1024 });
      // S1 sends 4 KiB writes 256 KiB at a time: the failure comes back through a later write or the close.
      assert.match(await type(b, 'fill big.bin 8', 'fill big.bin: .*\\n|filled big.bin'), /fill big.bin: (write|close): No space left on device/);
      const event = await b.page.evaluate(() => vmHarness.waitForEvent('never', 10000)) as { type: string; detail: { code: string } };
      assert.deepEqual([event.type, event.detail.code], ['error', 'quota-exceeded']);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin });
      assert.equal(await b.page.evaluate(() => vmHarness.readText('kept.txt')), 'stored before the quota ran out\n');
      assert.match(await type(b, 'cat kept.txt', 'cat kept.txt: .*\\n'), /cat kept.txt: stored before the quota ran out/);
      // The quota-exceeded events are checked: quit's wait for `exit` must not take one of them instead.
      await b.page.evaluate(() => vmHarness.clearEvents());
      await quit(b, 0);
      await b.page.evaluate(() => vmHarness.remove());
    } finally {
      await b.close();
      removeProfileDir(profile);
    }
  });

  test('the share across a browser relaunch and between the wasi and v86 engines', async () => {
    assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
    const profile = newProfileDir();
    const wasiAttributes = { src: mainloop, 'opfs-root': '/wasi-cross' };
    try {
      let b = await openElementPage(profile, server, browser);
      try {
        await startMainloop(b, wasiAttributes);
        await type(b, 'write from-wasi.txt hello from wasi', 'wrote from-wasi.txt');
        await quit(b, 0);
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }

      // Relaunched: the v86 guest on the same share (one cold boot) reads it and writes its own.
      b = await openElementPage(profile, server, browser);
      try {
        await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': '/wasi-cross' });
        const ready = await waitEvent(b, 'vm-ready', BOOT_TIMEOUT);
        assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));
        const r = await b.page.evaluate(() => vmHarness.run('cat /mnt/opfs/from-wasi.txt; echo hello from v86 > /mnt/opfs/from-v86.txt; sync', 120000));
        assert.deepEqual(r, { out: 'hello from wasi\n', status: 0 });
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }

      // A new browser on the same profile: the wasi engine sees both files, and the image comes
      // from the OPFS cache (revalidated: 304, no bytes).
      const before = served.length;
      b = await openElementPage(profile, server, browser);
      try {
        await startMainloop(b, wasiAttributes);
        assert.deepEqual(await fetchesOf(served, mainloop, before, 1), [304]);
        await type(b, 'cat from-v86.txt', 'cat from-v86.txt: .*\n');
        assert.match(await type(b, 'cat from-wasi.txt', 'cat from-wasi.txt: .*\n'), /cat from-wasi.txt: hello from wasi\n/);
        assert.match(await b.page.evaluate(() => vmHarness.waitForOutput('cat from-v86.txt: .*\n')), /cat from-v86.txt: hello from v86\r?\n/);
        await quit(b, 0);
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }
    } finally {
      removeProfileDir(profile);
    }
  });
});
