// The element loaded as a page loads it from a CDN: dist/ on one site (127.0.0.1, sending CORS
// and Cross-Origin-Resource-Policy headers as public CDNs do), the page on another (localhost,
// cross-origin isolated). Workers, chunks, v86.wasm and l1.wasm all come from the CDN. A CDN
// without those headers gets one assets-unreachable error that says which headers fix it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser, Server, hasJspi, newProfileDir, openElementPage, removeProfileDir, startServer } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const CDN_HEADERS = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' };

async function withSites(cdnHeaders: Record<string, string>, body: (page: Server, cdn: Server, b: RunningBrowser) => Promise<void>, module?: (cdn: Server) => string): Promise<void> {
  assert.ok(existsSync(`${repo}dist/container-vm.js`), 'dist/ is missing: npm test builds it with npm run build');
  const cdn = await startServer({ isolation: false, host: '127.0.0.1', headers: cdnHeaders, rewrite: [['/cdn/container-vm/', '/dist/']] });
  const page = await startServer();
  const profile = newProfileDir();
  try {
    const query = module ? `?module=${encodeURIComponent(module(cdn))}` : '';
    const b = await openElementPage(profile, page, 'chromium', query);
    try {
      await body(page, cdn, b);
    } finally {
      await b.close();
    }
  } finally {
    await page.stop();
    await cdn.stop();
    removeProfileDir(profile);
  }
}

test('from a CDN with CORS headers: the guest boots with every file from the other origin, L1 included', { timeout: 300000 }, async () => {
  const fromCdn: string[] = [];
  await withSites(CDN_HEADERS, async (_page, cdn, b) => {
    b.page.on('request', (r) => { if (r.url().startsWith(cdn.origin)) fromCdn.push(new URL(r.url()).pathname); });
    const backend = await hasJspi(b) ? 'l1' : 'm1';
    await b.page.evaluate((a) => vmHarness.create(a), { src: '/guest/out/manifest.json', 'opfs-root': '/cdn-test', backend });
    const ready = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 180000)) as { type: string; detail: unknown };
    assert.equal(ready.type, 'vm-ready', JSON.stringify(ready));
    const r = await b.page.evaluate(() => vmHarness.run('echo from-cdn > /mnt/opfs/c; cat /mnt/opfs/c'));
    assert.deepEqual(r, { out: 'from-cdn\n', status: 0 });
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
