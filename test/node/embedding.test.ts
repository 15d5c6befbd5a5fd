// Embedding safety without booting a guest: two tabs on one share, hosting without COOP/COEP
// through the service-worker option, and a full storage quota.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Server, launch, newProfileDir, removeProfileDir, startServer, RunningBrowser } from './support/browser.js';
import type { VmHarness } from '../browser/pages/element-harness.js';
import type { ContainerVm } from '../../src/element/container-vm.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;

async function openElementPage(b: RunningBrowser, server: Server) {
  const page = await b.browser.newPage();
  await page.goto(`${server.origin}/test/pages/element.html`);
  await page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
  return page;
}

test('a second tab on the same opfs-root gets share-busy, and the share once the first tab closes', { timeout: 120000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  const b = await launch(profile, 'about:blank');
  try {
    const first = await openElementPage(b, server);
    const second = await openElementPage(b, server);
    const attributes = { 'opfs-root': '/tabs-test' };
    await first.evaluate((a) => vmHarness.create(a), attributes);
    await first.evaluate(() => vmHarness.writeText('from-first.txt', 'first tab\n'));

    await second.evaluate((a) => vmHarness.create(a), attributes);
    const failed = await second.evaluate(() => vmHarness.writeText('from-second.txt', 'second tab\n').then(() => 'written', (e: Error) => e.message));
    assert.match(failed, /another tab/);
    const event = await second.evaluate(() => vmHarness.waitForEvent('opfs-ready', 10000)) as { type: string; detail: { code: string; message: string } };
    assert.equal(event.type, 'error');
    assert.equal(event.detail.code, 'share-busy');
    assert.match(event.detail.message, /Close that tab.*another opfs-root/s);
    // Another root is free meanwhile.
    const other = await second.evaluate(async () => {
      const vm = document.createElement('container-vm');
      vm.setAttribute('opfs-root', '/tabs-test-other');
      document.body.append(vm);
      await vm.fs.writeFile('ok.txt', 'ok');
      const text = await vm.fs.readText('ok.txt');
      vm.remove();
      return text;
    });
    assert.equal(other, 'ok');

    // The first tab still owns the share, untouched by the second.
    assert.equal(await first.evaluate(() => vmHarness.readText('from-first.txt')), 'first tab\n');
    await first.close();
    // Closing the tab released the lock: the second tab's next call opens the share.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await second.evaluate(() => vmHarness.readText('from-first.txt')), 'first tab\n');
    await second.evaluate(() => vmHarness.writeText('from-second.txt', 'second tab\n'));
    assert.equal(await second.evaluate(() => vmHarness.readText('from-second.txt')), 'second tab\n');
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
  }
});

test('on a host without COOP/COEP, container-vm-sw.js reloads the page once, isolated, and the element works', { timeout: 180000 }, async () => {
  assert.ok(existsSync(`${repo}dist/container-vm-sw.js`), 'dist/ is missing: npm test builds it with npm run build');
  // The page, dist/ and the guest in one folder, as a static site would have them; no headers.
  const server = await startServer({
    isolation: false,
    rewrite: [['/site/static-host.html', '/demo/static-host.html'], ['/site/guest/', '/guest/out/'], ['/site/', '/dist/']],
  });
  const profile = newProfileDir();
  try {
    const b = await launch(profile, `${server.origin}/site/static-host.html`);
    try {
      await b.page.waitForFunction('globalThis.crossOriginIsolated === true', { timeout: 60000 });
      const loads = await b.page.evaluate(() => performance.getEntriesByType('navigation').map((e) => (e as PerformanceNavigationTiming).type));
      assert.deepEqual(loads, ['reload']);
      // The share works (SharedArrayBuffer channel to the storage worker) and v86 starts.
      await b.page.waitForFunction(() => ['booting', 'running'].includes(document.querySelector('container-vm')!.state), { timeout: 120000 });
      const text = await b.page.evaluate(async () => {
        const vm = document.querySelector('container-vm') as ContainerVm;
        await vm.fs.writeFile('sw.txt', 'isolated');
        return vm.fs.readText('sw.txt');
      });
      assert.equal(text, 'isolated');
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
});
