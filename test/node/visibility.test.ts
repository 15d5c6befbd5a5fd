// The default guest while its page is hidden, and its clock: the guest agent answers a ping; a
// v86 VM pauses while the page is hidden (a command typed then is answered only once the page is
// shown) and the agent sets the guest's clock when it runs on; keep-running keeps it running
// while hidden; after a snapshot resume the agent sets the clock too. Hidden is what minimizing
// the window gives (document.hidden, visibilitychange), as in headless Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, setPageHidden, startServer } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 180000;
const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/visibility-test', snapshot: 'auto' };
/** How far the guest's clock may be from the page's: `date +%s` counts whole seconds, and commands take time. */
const CLOCK_SLACK_S = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(b: RunningBrowser): Promise<void> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: unknown };
  assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);
}

async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 60000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** The guest's clock minus the page's, in seconds (`date +%s` against the middle of the command's round trip). */
async function clockOffset(b: RunningBrowser): Promise<number> {
  const sent = Date.now();
  const guest = Number((await run(b, 'date +%s')).trim());
  return guest + 0.5 - (sent + Date.now()) / 2000;
}

/**
 * Waits until the guest's clock is within CLOCK_SLACK_S of the page's: the agent sets it once it
 * answers the element's ping, at the start of the next second. Returns the last offset seen.
 */
async function clockSet(b: RunningBrowser, what: string): Promise<number> {
  let offset = NaN;
  for (let i = 0; i < 20; i++) {
    offset = await clockOffset(b);
    if (Math.abs(offset) <= CLOCK_SLACK_S) return offset;
    await sleep(500);
  }
  assert.fail(`${what}: the guest's clock is ${offset.toFixed(1)} s off the page's`);
}

/** Types a command and returns the marker its output will carry (the shell computes it: the echo of the typed line does not match). */
async function type(b: RunningBrowser, name: string): Promise<{ marker: string; from: number }> {
  const from = await b.page.evaluate(() => vmHarness.outputLength());
  await b.page.evaluate((n) => vmHarness.send(`echo "@@${n.slice(0, 2)}""${n.slice(2)}@@"\n`), name);
  return { marker: `@@${name}@@`, from };
}

async function answered(b: RunningBrowser, typed: { marker: string; from: number }, timeoutMs: number): Promise<boolean> {
  return b.page.evaluate((t, ms) => vmHarness.waitForOutput(t.marker, ms, t.from).then(() => true, () => false), typed, timeoutMs);
}

test('hidden page: the VM pauses and its clock is set when shown; keep-running; the clock after a snapshot resume; ping', { timeout: 900000 }, async () => {
  assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
  const server = await startServer();
  const profile = newProfileDir();
  try {
    let b = await openElementPage(profile, server);
    try {
      await start(b);
      assert.ok(await b.page.evaluate(() => vmHarness.agentPing(30000)), 'the guest agent did not answer a ping');
      console.log(`# after boot the guest's clock is ${(await clockSet(b, 'after boot')).toFixed(1)} s off the page's`);

      // Hidden: the VM pauses, so what is typed is answered only once the page is shown.
      const uptime = async () => ({ guest: Number(await run(b, 'cut -d" " -f1 /proc/uptime')), page: Date.now() / 1000 });
      const before = await uptime();
      await setPageHidden(b.page, true);
      const typed = await type(b, 'WHILEHIDDEN');
      assert.equal(await answered(b, typed, 5000), false, 'the VM answered while the page was hidden: it did not pause');
      await setPageHidden(b.page, false);
      assert.ok(await answered(b, typed, 30000), 'the VM did not run on when the page was shown');
      // Its clock stood still while hidden: the uptime (which date -s does not move) missed the
      // 5 s it was hidden. Then the agent set the time of day.
      const after = await uptime();
      const ran = after.guest - before.guest;
      const passed = after.page - before.page;
      console.log(`# the guest's uptime moved ${ran.toFixed(1)} s while ${passed.toFixed(1)} s passed, 5 s of them hidden`);
      assert.ok(ran < passed - 3, `the guest's uptime moved ${ran.toFixed(1)} s of ${passed.toFixed(1)}: its clock ran while paused`);
      console.log(`# after hidden and shown the guest's clock is ${(await clockSet(b, 'after the page was shown again')).toFixed(1)} s off the page's`);

      // keep-running: the VM answers while the page is hidden.
      await b.page.evaluate(() => vmHarness.setAttribute('keep-running', ''));
      await setPageHidden(b.page, true);
      const typedKeep = await type(b, 'KEEPRUNNING');
      assert.ok(await answered(b, typedKeep, 30000), 'with keep-running the VM did not answer while the page was hidden');
      // Turned off while hidden, it pauses.
      await b.page.evaluate(() => vmHarness.element().removeAttribute('keep-running'));
      const typedOff = await type(b, 'KEEPOFF');
      assert.equal(await answered(b, typedOff, 5000), false, 'the VM answered while hidden after keep-running was removed');
      await setPageHidden(b.page, false);
      assert.ok(await answered(b, typedOff, 30000), 'the VM did not run on when the page was shown');
      await clockSet(b, 'after keep-running was removed and the page shown');

      await b.page.evaluate(() => vmHarness.element().saveSnapshot());
    } finally {
      await b.close();
    }

    // A snapshot resume: the clock in the snapshot is the one of the moment it was saved.
    await sleep(5000);
    b = await openElementPage(profile, server);
    try {
      await start(b);
      const resumed = await b.page.evaluate(() => vmHarness.events().some((e) => e.type === 'progress'));
      assert.ok(resumed, 'the VM booted instead of resuming from the snapshot');
      console.log(`# after the snapshot resume the guest's clock is ${(await clockSet(b, 'after the snapshot resume')).toFixed(1)} s off the page's`);
      assert.ok(await b.page.evaluate(() => vmHarness.agentPing(30000)), 'the guest agent did not answer a ping after the resume');
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
