// The element driven from JavaScript as a web developer would, with the default guest: `src` set
// after the element is in the page starts it; a new `src` restarts it with the new image; removed
// and added back, it starts again with a terminal that takes typing; and the guest learns every
// new terminal size by itself (the guest agent on the second serial port), programs redrawing to it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, startServer, testBrowsers } from './support/browser.js';
import { compileWasi } from './support/wasi.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const GUEST = '/guest/out/manifest.json';

async function waitEvent(b: RunningBrowser, type: string, timeout = 180000): Promise<{ type: string; detail: unknown }> {
  return await b.page.evaluate((t, ms) => vmHarness.waitForEvent(t, ms), type, timeout) as { type: string; detail: unknown };
}

async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 60000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** Types a line into the terminal with the keyboard; resolves with the output once `reply` shows. */
async function type(b: RunningBrowser, line: string, reply: string): Promise<string> {
  const from = await b.page.evaluate(() => vmHarness.outputLength());
  await b.page.evaluate(() => vmHarness.focusTerminal());
  await b.page.keyboard.type(line);
  await b.page.keyboard.press('Enter');
  return b.page.evaluate((p, f) => vmHarness.waitForOutput(p, 30000, f), reply, from);
}

/** Waits until the guest's console size is the terminal's; returns it as "rows cols". */
async function guestSizeFollows(b: RunningBrowser): Promise<string> {
  const term = await b.page.evaluate(() => vmHarness.terminalSize());
  assert.ok(term, 'the element has no terminal');
  const want = `${term.rows} ${term.cols}\n`;
  let seen = '';
  for (const started = Date.now(); Date.now() - started < 10000;) {
    seen = await run(b, 'stty size');
    if (seen === want) return want.trim();
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(seen, want, 'the guest did not take the terminal\'s size');
  return want.trim();
}

for (const browser of testBrowsers) {
  test(`${browser}: src set from JavaScript starts the element, a new src restarts it, re-adding gives a working terminal, the guest follows resizes`, { timeout: 600000 }, async () => {
    const mainloop = compileWasi('mainloop');
    const server = await startServer();
    const profile = newProfileDir();
    try {
      const b = await openElementPage(profile, server, browser);
      try {
        // createElement, append, then src: it starts, as an <img> loads.
        await b.page.evaluate(() => vmHarness.create({ 'opfs-root': '/lifecycle' }));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await b.page.evaluate(() => vmHarness.state()), 'idle');
        await b.page.evaluate((src) => vmHarness.setAttribute('src', src), GUEST);
        const ready = await waitEvent(b, 'vm-ready');
        assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));

        // The guest has the terminal's size, and follows it when the element is resized: a
        // full-screen program redraws to the new size (vi puts its status line on the last row).
        const before = await guestSizeFollows(b);
        await b.page.evaluate(() => vmHarness.send('vi /tmp/resize.txt\n'));
        await b.page.evaluate(() => vmHarness.waitForOutput('resize.txt', 10000, 0));
        const from = await b.page.evaluate(() => vmHarness.outputLength());
        await b.page.evaluate(() => vmHarness.resize(520, 300));
        // The terminal refits when the browser reports the new size (ResizeObserver).
        let term = (await b.page.evaluate(() => vmHarness.terminalSize()))!;
        for (const started = Date.now(); `${term.rows} ${term.cols}` === before && Date.now() - started < 5000;) {
          await new Promise((r) => setTimeout(r, 100));
          term = (await b.page.evaluate(() => vmHarness.terminalSize()))!;
        }
        assert.notEqual(`${term.rows} ${term.cols}`, before, 'the terminal did not change size');
        // vi redraws: its status line goes to the new last row (CSI rows;1 H).
        await b.page.evaluate((rows, f) => vmHarness.waitForOutput(`\\x1b\\[${rows};1H`, 10000, f), term.rows, from);
        // Escape on its own, or vi takes it and what follows for one key sequence.
        await b.page.evaluate(() => vmHarness.send('\x1b'));
        await new Promise((r) => setTimeout(r, 500));
        await b.page.evaluate(() => vmHarness.send(':q!\n'));
        assert.equal(await guestSizeFollows(b), `${term.rows} ${term.cols}`);

        // A new src while it runs: the VM stops (exit) and the new image starts (a WASI program here).
        await b.page.evaluate(() => vmHarness.clearEvents());
        await b.page.evaluate((src) => vmHarness.setAttribute('src', src), mainloop);
        const exit = await waitEvent(b, 'exit', 30000);
        assert.deepEqual(exit, { type: 'exit', detail: { code: null, reason: 'stopped' } });
        await b.page.evaluate(() => vmHarness.waitForOutput('mainloop 1 ready', 60000));
        assert.match(await type(b, 'hello again', 'echo: hello again'), /echo: hello again/);

        // Back to the guest, then out of the page and back in: a new terminal that takes typing.
        await b.page.evaluate(() => vmHarness.clearEvents());
        await b.page.evaluate((src) => vmHarness.setAttribute('src', src), GUEST);
        assert.equal((await waitEvent(b, 'vm-ready')).type, 'vm-ready');
        await b.page.evaluate(() => vmHarness.clearEvents());
        await b.page.evaluate(() => vmHarness.removeAndAddBack());
        assert.equal((await waitEvent(b, 'vm-ready')).type, 'vm-ready');
        assert.match(await type(b, 'echo typed-$((6*7))', 'typed-42'), /typed-42/);
        await guestSizeFollows(b);
        const errors = (await b.page.evaluate(() => vmHarness.events())).filter((e) => e.type === 'error');
        assert.deepEqual(errors, []);
        await b.page.evaluate(() => vmHarness.remove());
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });
}
