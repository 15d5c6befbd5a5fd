// The boot snapshot the default guest ships (guest/out/boot-state.v86.gz, named in its manifest):
// a first visit resumes from it instead of booting, with the visitor's share connected, files
// going both ways and the guest's clock set; a stale or damaged one means a cold boot that works,
// with a console warning.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 300000;
/** How far the guest's clock may be from the page's once the agent has set it (it sets whole seconds). */
const CLOCK_SLACK_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Manifest { id: string; snapshot?: { state: string; stateBytes: number; v86: string } }

/** Creates the element on `src` with a share of its own; returns vm-ready's detail. */
async function start(b: RunningBrowser, src: string, share: string): Promise<{ start: string }> {
  await b.page.evaluate((a) => vmHarness.create(a), { src, 'opfs-root': share });
  const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: { start: string } };
  assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);
  return event.detail;
}

async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 120000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** Waits until the guest's clock is within CLOCK_SLACK_S of the page's (the agent sets it after its pong). */
async function clockSet(b: RunningBrowser): Promise<void> {
  let offset = NaN;
  for (let i = 0; i < 40; i++) {
    const sent = Date.now();
    const guest = Number((await run(b, 'date +%s')).trim());
    offset = guest + 0.5 - (sent + Date.now()) / 2000;
    if (Math.abs(offset) <= CLOCK_SLACK_S) return;
    await sleep(500);
  }
  assert.fail(`the guest's clock is ${offset.toFixed(1)} s off the page's`);
}

/** The element's console warnings from now on. */
function warnings(b: RunningBrowser): string[] {
  const seen: string[] = [];
  b.page.on('console', (m) => { if (m.type() === 'warn' && m.text().startsWith('container-vm:')) seen.push(m.text()); });
  return seen;
}

/**
 * A copy of guest/out under build/ (served by the test server) whose manifest and snapshot state
 * `spoil` changes; returns the manifest's URL.
 */
function spoiledGuest(name: string, spoil: (manifest: Manifest, state: Buffer) => Buffer): string {
  const dir = `${repo}build/test/image-snapshot/${name}/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(`${repo}guest/out/manifest.json`, 'utf8')) as Manifest;
  for (const file of ['bzImage', 'initramfs.cpio', 'bios.bin']) copyFileSync(`${repo}guest/out/${file}`, `${dir}${file}`);
  const state = spoil(manifest, readFileSync(`${repo}guest/out/${manifest.snapshot!.state}`));
  writeFileSync(`${dir}${manifest.snapshot!.state}`, state);
  writeFileSync(`${dir}manifest.json`, JSON.stringify(manifest));
  return `/build/test/image-snapshot/${name}/manifest.json`;
}

test('a first start resumes from the image\'s snapshot: shell, share both ways, clock', { timeout: 900000 }, async () => {
  const manifest = JSON.parse(readFileSync(`${repo}guest/out/manifest.json`, 'utf8')) as Manifest;
  assert.ok(manifest.snapshot && existsSync(`${repo}guest/out/${manifest.snapshot.state}`),
    'guest/out ships no boot snapshot: run node scripts/ensure.mjs snapshot (npm test does)');
  const server = await startServer();
  const profile = newProfileDir();
  try {
    const b = await openElementPage(profile, server);
    try {
      const seen = warnings(b);
      assert.deepEqual(await start(b, '/guest/out/manifest.json', '/image-snapshot-test'), { start: 'image-snapshot' });
      // The terminal shows what the boot showed.
      assert.match(await b.page.evaluate(() => vmHarness.output()), /container-vm guest: Linux/);
      assert.equal(await run(b, 'echo $((6 * 7)); pwd'), '42\n/root\n');
      // The guest's mount is the share's root: files go both ways.
      await run(b, 'echo from the guest > /mnt/opfs/guest.txt');
      assert.equal(await b.page.evaluate(() => vmHarness.readText('guest.txt')), 'from the guest\n');
      await b.page.evaluate(() => vmHarness.writeText('page.txt', 'from the page\n'));
      assert.equal(await run(b, 'cat /mnt/opfs/page.txt; ls -1 /mnt/opfs'), 'from the page\nguest.txt\npage.txt\n');
      await clockSet(b);
      assert.deepEqual(seen, []);
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});

test('a stale or damaged image snapshot: the guest boots cold and works', { timeout: 900000 }, async () => {
  const cases: { name: string; src: string; warning: RegExp }[] = [
    {
      name: 'another v86',
      src: spoiledGuest('stale', (m, state) => { m.snapshot!.v86 = '0.0.1'; return state; }),
      warning: /snapshot is stale \(v86 0\.0\.1/,
    },
    {
      name: 'a damaged file',
      src: spoiledGuest('damaged', (_, state) => {
        const bytes = Buffer.from(state);
        for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 4096; i++) bytes[i] = bytes[i]! ^ 0x5a;
        return bytes;
      }),
      warning: /snapshot .*boot-state\.v86\.gz could not be read \(.*(data|compress)/i,
    },
    {
      name: 'not a v86 state',
      src: spoiledGuest('garbage', (m) => gzipSync(Buffer.alloc(m.snapshot!.stateBytes, 0x5a))),
      warning: /image's snapshot: could not restore the snapshot/,
    },
  ];
  const server = await startServer();
  const profile = newProfileDir();
  try {
    for (const c of cases) {
      const b = await openElementPage(profile, server);
      try {
        const seen = warnings(b);
        assert.deepEqual(await start(b, c.src, `/image-snapshot-${c.src.split('/')[4]}`), { start: 'boot' }, c.name);
        assert.equal(await run(b, 'echo $((6 * 7)) > /mnt/opfs/answer; cat /mnt/opfs/answer'), '42\n', c.name);
        assert.ok(seen.some((w) => c.warning.test(w)), `${c.name}: warnings ${JSON.stringify(seen)}`);
        assert.deepEqual(await b.page.evaluate(() => vmHarness.events().filter((e) => e.type === 'error')), [], c.name);
      } finally {
        await b.close();
      }
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
