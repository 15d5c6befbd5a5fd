// The guest's network, with real parts on 127.0.0.1 (support/network-servers.ts): a Wisp relay
// (wisp-js's server), an HTTP server, a TCP echo server, a CORS proxy. In the default guest,
// booted cold and resumed from a snapshot: names resolved through the relay, a 4 MiB download
// with its checksum, a TCP echo with nc; then the relay's faults: a relay cut during a download
// (the download fails with a reset, the guest runs on, the network comes back with the relay), and
// one that cannot be reached at all. And the fetch backend: a same-origin download, cold, resumed,
// and through a CORS proxy. Chromium only (checked by hand in Firefox).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { RunningBrowser, newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import { Relay, freePort, startCorsProxy, startEchoServer, startFileServer, startRelay } from './support/network-servers.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const BOOT_TIMEOUT = 240000;
const NAMES = { 'files.test': '127.0.0.1', 'echo.test': '127.0.0.1', 'blocked.test': '127.0.0.1' };
/** The relay is limited to these hosts, as a relay for a site should be (README). */
const RELAY = { hosts: ['files.test', 'echo.test'] };

interface Event { type: string; detail: { code?: string; message?: string } }

/**
 * Creates the element and waits for vm-ready (not ended by an error event other than
 * network-unavailable); says whether the guest was resumed: whether /tmp (RAM) has the file a
 * cold boot leaves there.
 */
async function start(b: RunningBrowser, attributes: Record<string, string>): Promise<{ resumed: boolean }> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  await b.page.waitForFunction(() => vmHarness.events().some((e) => e.type === 'vm-ready' || (e.type === 'error' &&
    (e.detail as { code: string }).code !== 'network-unavailable')), { timeout: BOOT_TIMEOUT, polling: 100 });
  const events = await b.page.evaluate(() => vmHarness.events()) as Event[];
  const failure = events.find((e) => e.type === 'error' && e.detail.code !== 'network-unavailable');
  assert.equal(failure, undefined, `the VM did not start: ${JSON.stringify(failure)}`);
  const resumed = (await run(b, 'cat /tmp/booted-cold 2>/dev/null || echo booted > /tmp/booted-cold')).out === 'booted\n';
  return { resumed };
}

async function run(b: RunningBrowser, command: string): Promise<{ out: string; status: number }> {
  console.log(`# $ ${command}`);
  return b.page.evaluate((c) => vmHarness.run(c, 180000), command);
}

async function runOk(b: RunningBrowser, command: string): Promise<string> {
  const r = await run(b, command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

async function errorEvents(b: RunningBrowser): Promise<Event['detail'][]> {
  return (await b.page.evaluate(() => vmHarness.events()) as Event[]).filter((e) => e.type === 'error').map((e) => e.detail);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('network through a Wisp relay: cold and resumed, a relay cut mid-download, a relay that cannot be reached', { timeout: 900000 }, async () => {
  assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
  const blob = randomBytes(4 << 20);
  const files = await startFileServer(new Map([['/4m', blob]]));
  const echo = await startEchoServer();
  const closed = await freePort();
  let relay: Relay = await startRelay(NAMES, RELAY);
  const server = await startServer();
  const profile = newProfileDir();
  const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/network-wisp', snapshot: 'auto', network: relay.url };

  /** What the guest does through the relay, checked. */
  async function throughRelay(b: RunningBrowser): Promise<void> {
    const lookup = await runOk(b, 'nslookup files.test');
    assert.match(lookup, /Name:\s+files\.test\nAddress: 198\.1[89]\.\d+\.\d+/);
    assert.equal(await runOk(b, `wget -q -O - http://files.test:${files.port}/4m | sha256sum`), `${sha256(blob)}  -\n`);
    assert.equal(await runOk(b, `echo "hello through the relay" | nc echo.test ${echo.port}`), 'hello through the relay\n');
    // A port nothing listens on, and a host the relay does not connect to: the relay closes the
    // stream with an error, and the guest gets a reset.
    for (const url of [`http://files.test:${closed}/`, `http://blocked.test:${files.port}/4m`]) {
      const refused = await run(b, `wget -q -O /dev/null ${url} 2>&1`);
      assert.notEqual(refused.status, 0);
      assert.match(refused.out, /reset/i);
    }
  }

  try {
    // 1. A cold boot: the network comes up by itself; a snapshot is saved.
    let b = await openElementPage(profile, server);
    try {
      assert.equal((await start(b, attributes)).resumed, false);
      const boot = await b.page.evaluate(() => vmHarness.waitForOutput('The network is up', 1000));
      assert.match(boot, /The network is up: eth0 has 192\.168\.86\.100/);
      await throughRelay(b);
      await b.page.evaluate(() => vmHarness.element().saveSnapshot());
      assert.deepEqual(await errorEvents(b), []);
    } finally {
      await b.close();
    }

    console.log('# resumed, through the relay');
    // 2. Resumed from the snapshot: the network is back; then the relay's faults.
    b = await openElementPage(profile, server);
    try {
      assert.equal((await start(b, attributes)).resumed, true);
      await throughRelay(b);

      // The relay is cut during a download: the download ends with a reset instead of hanging,
      // the element reports it, and the guest runs on.
      console.log('# the relay is cut during a download');
      const started = files.endlessStarted();
      const download = b.page.evaluate((c) => vmHarness.run(c, 180000), `wget -q -O /dev/null http://files.test:${files.port}/endless 2>&1`);
      void download.catch(() => undefined);
      await withTimeout(started, 120000, 'the download of /endless to start');
      relay.drop();
      await relay.stop();
      const cut = await download;
      assert.notEqual(cut.status, 0, `the download went on: ${cut.out}`);
      assert.match(cut.out, /reset/i);
      const [error] = await errorEvents(b);
      assert.equal(error?.code, 'network-unavailable');
      assert.match(error!.message!, new RegExp(`${relay.url}.*closed the connection.*network attribute`));
      assert.equal(await b.page.evaluate(() => vmHarness.state()), 'running');
      assert.equal(await runOk(b, 'echo still running'), 'still running\n');
      // With the relay gone, a connection is refused at once (one error event in all).
      const refused = await run(b, `wget -q -O /dev/null http://files.test:${files.port}/4m 2>&1`);
      assert.notEqual(refused.status, 0);
      assert.match(refused.out, /reset/i);
      // The relay comes back on its port: so does the network.
      relay = await startRelay(NAMES, { ...RELAY, port: relay.port });
      assert.equal(await runOk(b, `wget -q -O - http://files.test:${files.port}/4m | sha256sum`), `${sha256(blob)}  -\n`);
      assert.equal((await errorEvents(b)).length, 1);
    } finally {
      await b.close();
    }

    console.log('# a relay that cannot be reached');
    // 3. A relay that cannot be reached: network-unavailable, and the guest runs without a network.
    b = await openElementPage(profile, server);
    try {
      const nowhere = `ws://127.0.0.1:${await freePort()}/`;
      await start(b, { ...attributes, network: nowhere });
      await b.page.waitForFunction(() => vmHarness.events().some((e) => e.type === 'error'), { timeout: 60000, polling: 100 });
      const [error] = await errorEvents(b);
      assert.equal(error?.code, 'network-unavailable');
      assert.match(error!.message!, new RegExp(`${nowhere} could not be reached`));
      assert.equal(await runOk(b, 'echo still running'), 'still running\n');
      const refused = await run(b, `wget -q -O /dev/null http://files.test:${files.port}/4m 2>&1`);
      assert.notEqual(refused.status, 0);
      assert.match(refused.out, /reset/i);
      assert.equal(await b.page.evaluate(() => vmHarness.state()), 'running');
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    await Promise.all([files.stop(), echo.stop(), relay.stop()]);
    removeProfileDir(profile);
  }
});

test('network="fetch": a same-origin download, cold and resumed, and through a CORS proxy', { timeout: 900000 }, async () => {
  assert.ok(existsSync(`${repo}guest/out/manifest.json`), 'guest/out is missing: run bash guest/build.sh (npm test does)');
  const blob = randomBytes(1 << 20);
  const files = await startFileServer(new Map([['/1m', blob]]));
  const proxy = await startCorsProxy({ 'files.test': `127.0.0.1:${files.port}` });
  const server = await startServer();
  const profile = newProfileDir();
  const attributes = { src: '/guest/out/manifest.json', 'opfs-root': '/network-fetch', snapshot: 'auto', network: 'fetch' };
  // v86's fetch backend takes the guest's HTTP requests to port 80; http://<port>.external/ is the
  // page's own host (localhost) on that port: the dev server, same-origin.
  const port = new URL(server.origin).port;
  const bios = sha256(readFileSync(`${repo}guest/out/bios.bin`));
  const sameOrigin = `wget -q -O - http://${port}.external/guest/out/bios.bin | sha256sum`;
  try {
    let b = await openElementPage(profile, server);
    try {
      assert.equal((await start(b, attributes)).resumed, false);
      assert.equal(await runOk(b, sameOrigin), `${bios}  -\n`);
      await b.page.evaluate(() => vmHarness.element().saveSnapshot());
    } finally {
      await b.close();
    }
    b = await openElementPage(profile, server);
    try {
      assert.equal((await start(b, attributes)).resumed, true);
      assert.equal(await runOk(b, sameOrigin), `${bios}  -\n`);
      assert.deepEqual(await errorEvents(b), []);
    } finally {
      await b.close();
    }
    // Another origin, through a CORS proxy (which finds files.test for the test).
    b = await openElementPage(profile, server);
    try {
      assert.equal((await start(b, { ...attributes, 'cors-proxy': `http://127.0.0.1:${proxy.port}/?url=` })).resumed, true);
      assert.equal(await runOk(b, 'wget -q -O - http://files.test/1m | sha256sum'), `${sha256(blob)}  -\n`);
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    await Promise.all([files.stop(), proxy.stop()]);
    removeProfileDir(profile);
  }
});
