// The element loaded as a page loads it from a CDN: dist/ on one site (127.0.0.1, sending CORS
// and Cross-Origin-Resource-Policy headers as public CDNs do), the page on another (localhost,
// cross-origin isolated). Workers, chunks, v86.wasm and l1.wasm all come from the CDN, and so do a c2w
// image and an OCI image with its guest in two of the tests. A CDN
// without those headers gets one assets-unreachable error that says which headers fix it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser, Server, hasJspi, newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import { chunkedImage, commandStatus, fixtureMissing } from './support/c2w.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const CDN_HEADERS = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' };

/** Runs `body` with a page on one site and dist/ on a CDN; `cdnRequests` lists what the CDN answered ("GET /path 200"). */
async function withSites(cdnHeaders: Record<string, string>, body: (page: Server, cdn: Server, b: RunningBrowser, cdnRequests: string[]) => Promise<void>, module?: (cdn: Server) => string): Promise<void> {
  assert.ok(existsSync(`${repo}dist/container-vm.js`), 'dist/ is missing: npm test builds it with npm run build');
  const cdnRequests: string[] = [];
  const cdn = await startServer({
    isolation: false, host: '127.0.0.1', headers: cdnHeaders, rewrite: [['/cdn/container-vm/', '/dist/']],
    onResponse: (url, status, _bytes, method) => cdnRequests.push(`${method} ${url} ${status}`),
  });
  const page = await startServer();
  const profile = newProfileDir();
  try {
    const query = module ? `?module=${encodeURIComponent(module(cdn))}` : '';
    const b = await openElementPage(profile, page, 'chromium', query);
    try {
      await body(page, cdn, b, cdnRequests);
    } finally {
      await b.close();
    }
  } finally {
    await page.stop();
    await cdn.stop();
    removeProfileDir(profile);
  }
}

test('from a CDN with CORS headers: the guest boots with every file from the other origin, L1 included, and its network reaches the page\'s site', { timeout: 300000 }, async () => {
  const fromCdn: string[] = [];
  await withSites(CDN_HEADERS, async (page, cdn, b) => {
    b.page.on('request', (r) => { if (r.url().startsWith(cdn.origin)) fromCdn.push(new URL(r.url()).pathname); });
    const backend = await hasJspi(b) ? 'l1' : 'm1';
    await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': '/cdn-test', backend, network: 'fetch' });
    const ready = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 180000)) as { type: string; detail: unknown };
    assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));
    const r = await b.page.evaluate(() => vmHarness.run('echo from-cdn > /mnt/opfs/c; cat /mnt/opfs/c'));
    assert.deepEqual(r, { out: 'from-cdn\n', status: 0 });
    // The v86 worker came from the CDN; its fetch() backend still speaks for the page's origin.
    const port = new URL(page.origin).port;
    const fetched = await b.page.evaluate((c) => vmHarness.run(c), `wget -q -O - http://${port}.external/package.json | grep -c '"name": "container-vm"'`);
    assert.deepEqual(fetched, { out: '1\n', status: 0 });
    assert.equal(await b.page.evaluate(() => vmHarness.readText('c')), 'from-cdn\n');
    const events = await b.page.evaluate(() => vmHarness.events());
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  }, (cdn) => `${cdn.origin}/cdn/container-vm/container-vm.js`);
  // The page's own requests: the entry module and its chunks (workers and wasm load in workers).
  assert.ok(fromCdn.includes('/cdn/container-vm/container-vm.js'), `nothing came from the CDN: ${fromCdn.join(' ')}`);
});

test('asset-base naming a CDN folder: the workers come from there', { timeout: 120000 }, async () => {
  await withSites(CDN_HEADERS, async (_page, cdn, b) => {
    await b.page.evaluate((a) => vmHarness.create(a), { 'opfs-root': '/cdn-asset-base', 'asset-base': `${cdn.origin}/cdn/container-vm` });
    await b.page.evaluate(() => vmHarness.writeText('a.txt', 'through the CDN worker'));
    assert.equal(await b.page.evaluate(() => vmHarness.readText('a.txt')), 'through the CDN worker');
  });
});

test('a CDN without CORS headers: one assets-unreachable error naming the headers', { timeout: 120000 }, async () => {
  await withSites({}, async (_page, cdn, b) => {
    await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': '/cdn-no-cors', 'asset-base': `${cdn.origin}/cdn/container-vm/` });
    const event = await b.page.evaluate(() => vmHarness.waitForEvent('opfs-ready', 60000)) as { type: string; detail: { code: string; message: string } };
    assert.equal(event.type, 'error');
    assert.equal(event.detail.code, 'assets-unreachable');
    assert.match(event.detail.message, /storage worker/);
    assert.match(event.detail.message, /Access-Control-Allow-Origin/);
    assert.match(event.detail.message, /Cross-Origin-Resource-Policy: cross-origin/);
    await new Promise((r) => setTimeout(r, 500));
    const errors = (await b.page.evaluate(() => vmHarness.events())).filter((e) => e.type === 'error');
    assert.equal(errors.length, 1, JSON.stringify(errors));
  });
});

test('from a CDN: a container2wasm image in chunks, served by the CDN too, runs, is cached, and is revalidated without a preflight', { timeout: 300000, skip: fixtureMissing() ?? false }, async () => {
  const image = chunkedImage('cdn-c2w', 24 * 2 ** 20, 8 * 2 ** 20);
  // jsDelivr-style: the ETag is exposed to the page (or a Last-Modified is sent), so a cached copy can be revalidated.
  await withSites({ ...CDN_HEADERS, 'Access-Control-Expose-Headers': 'ETag' }, async (_page, cdn, b, cdnRequests) => {
    await b.page.evaluate((a) => vmHarness.create(a), {
      src: `${cdn.origin}${image.manifest}`, 'opfs-root': '/cdn-c2w', args: "-- sh -c 'echo from-the-container > /mnt/opfs/c2w.txt; exit 4'",
    });
    const exit = await b.page.evaluate(() => vmHarness.waitForEvent('exit', 180000));
    assert.deepEqual(exit, { type: 'exit', detail: { code: 0, reason: 'exited' } });
    assert.equal(commandStatus(await b.page.evaluate(() => vmHarness.waitForOutput('C2WTEST', 1000))), 4);
    assert.equal(await b.page.evaluate(() => vmHarness.readText('c2w.txt')), 'from-the-container\n');
    // Again, from the OPFS cache: the page revalidates with HEAD requests (simple requests: a
    // conditional GET's If-None-Match would need a CORS preflight, which the CDN does not answer).
    const before = cdnRequests.length;
    await b.page.evaluate(() => { vmHarness.clearEvents(); return vmHarness.start(); });
    assert.deepEqual(await b.page.evaluate(() => vmHarness.waitForEvent('exit', 180000)), exit);
    const revalidation = () => cdnRequests.slice(before).filter((r) => r.includes('/build/c2w/cdn-c2w/'));
    for (let i = 0; i < 100 && revalidation().length < 1 + image.chunks.length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(revalidation().sort(), [image.manifest, ...image.chunks].map((u) => `HEAD ${u} 200`).sort());
    assert.deepEqual(cdnRequests.filter((r) => r.startsWith('OPTIONS')), []);
  }, (cdn) => `${cdn.origin}/cdn/container-vm/container-vm.js`);
});

test('from a CDN: an OCI image and the guest that boots it, served by the CDN too, boot without a preflight', { timeout: 600000, skip: !existsSync(`${repo}test/oci/out/stamp`) && 'run bash test/oci/build.sh (npm test does)' }, async () => {
  await withSites(CDN_HEADERS, async (_page, cdn, b, cdnRequests) => {
    await b.page.evaluate((a) => vmHarness.create(a), {
      src: `${cdn.origin}/test/oci/out/busybox/`, guest: `${cdn.origin}/guest/out/manifest.json`, 'opfs-root': '/cdn-oci',
    });
    const ready = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 400000)) as { type: string; detail: unknown };
    assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));
    await b.page.evaluate(() => vmHarness.waitForOutput('cmd ran in /home/app', 60000));
    const r = await b.page.evaluate(() => vmHarness.run('cat /etc/kept.txt; echo from-the-image > /mnt/opfs/oci.txt', 120000));
    assert.deepEqual(r, { status: 0, out: 'kept from the lower layer\n' });
    assert.equal(await b.page.evaluate(() => vmHarness.readText('oci.txt')), 'from-the-image\n');
    assert.ok(cdnRequests.some((q) => q.startsWith('GET /test/oci/out/busybox/index.json')), cdnRequests.join('\n'));
    assert.ok(cdnRequests.some((q) => q.startsWith('GET /guest/out/bzImage')), cdnRequests.join('\n'));
    assert.deepEqual(cdnRequests.filter((q) => q.startsWith('OPTIONS')), []);
  }, (cdn) => `${cdn.origin}/cdn/container-vm/container-vm.js`);
});
