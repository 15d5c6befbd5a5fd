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
    const b = await launch(profile, 'about:blank');
    try {
      // Every document of the tab, the first (not yet isolated) one included, records the
      // element's error events where the reloaded document can read them.
      await b.page.evaluateOnNewDocument(() => {
        document.addEventListener('error', (e) => {
          const detail = (e as unknown as CustomEvent<{ code?: string }>).detail;
          if (!detail?.code) return;
          sessionStorage.setItem('errors', JSON.stringify([...JSON.parse(sessionStorage.getItem('errors') ?? '[]'), detail.code]));
        }, true);
      });
      await b.page.goto(`${server.origin}/site/static-host.html`);
      await b.page.waitForFunction('globalThis.crossOriginIsolated === true', { timeout: 60000 });
      const loads = await b.page.evaluate(() => performance.getEntriesByType('navigation').map((e) => (e as PerformanceNavigationTiming).type));
      assert.deepEqual(loads, ['reload']);
      // While the reload was coming, the first document waited instead of reporting not-isolated.
      assert.equal(await b.page.evaluate(() => sessionStorage.getItem('errors')), null);
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

test('a write beyond the quota fails with ENOSPC and a quota-exceeded event, and loses nothing', { timeout: 120000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  try {
    await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
    await b.page.evaluate(() => vmHarness.create({ 'opfs-root': '/quota-test' }));
    await b.page.evaluate(async () => {
      await vmHarness.writeText('kept.txt', 'stored before the quota ran out\n');
      await vmHarness.element().fs.mkdir('dir');
    });
    const usage = await b.page.evaluate(() => vmHarness.element().storageUsage());
    // Chromium enforces this override on OPFS writes as it would a real quota.
    const cdp = await b.page.createCDPSession();
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: usage.usage + 1024 * 1024 });
    const failure = await b.page.evaluate(async () => {
      try {
        await vmHarness.element().fs.writeFile('dir/big.bin', new Uint8Array(4 * 1024 * 1024));
        return 'written';
      } catch (e) {
        return (e as { code?: string }).code ?? String(e);
      }
    });
    assert.equal(failure, 'ENOSPC');
    const event = await b.page.evaluate(() => vmHarness.waitForEvent('never', 10000)) as { type: string; detail: { code: string; message: string } };
    assert.equal(event.type, 'error');
    assert.equal(event.detail.code, 'quota-exceeded');
    assert.match(event.detail.message, /quota is full.*Files stored before are intact/s);
    assert.match(await b.page.evaluate(() => vmHarness.element().shadowRoot!.querySelector('[part="status"]')!.textContent!), /quota is full/);

    // Small writes and metadata still work within what is left; earlier files are intact.
    await b.page.evaluate(() => vmHarness.element().fs.remove('dir/big.bin').catch(() => undefined));
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin });
    await b.page.evaluate(() => vmHarness.writeText('dir/after.txt', 'after\n'));
    assert.equal(await b.page.evaluate(() => vmHarness.readText('kept.txt')), 'stored before the quota ran out\n');
    await b.page.evaluate(() => vmHarness.remove());
  } finally {
    await b.close();
  }
  // After a relaunch too (the journal and tables survived the failed writes).
  const again = await launch(profile, `${server.origin}/test/pages/element.html`);
  try {
    await again.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
    await again.page.evaluate(() => vmHarness.create({ 'opfs-root': '/quota-test' }));
    assert.equal(await again.page.evaluate(() => vmHarness.readText('kept.txt')), 'stored before the quota ran out\n');
    assert.equal(await again.page.evaluate(() => vmHarness.readText('dir/after.txt')), 'after\n');
    assert.deepEqual(await again.page.evaluate(async () => (await vmHarness.element().fs.readDir('dir')).map((e) => e.name)), ['after.txt']);
  } finally {
    await again.close();
    await server.stop();
    removeProfileDir(profile);
  }
});

test('a snapshot save beyond the quota fails, keeps the previous snapshot and leaves no partial file', { timeout: 120000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  try {
    const store = `${server.origin}/build/src/element/snapshot-store.js`;
    const image = { kernel: 'k', bios: 'b', cmdline: 'c', memory: 1 };
    const session = { msize: 8192, uid: 0, fids: [] };
    const first = await b.page.evaluate(async (url, image, session) => {
      const { SnapshotStore } = await import(url) as typeof import('../../src/element/snapshot-store.js');
      const s = await SnapshotStore.open('/quota-snapshot');
      await s.clear();
      return (await s.save(new Uint8Array(1024).buffer as ArrayBuffer, session, image)).savedAt.getTime();
    }, store, image, session);
    const { usage } = await b.page.evaluate(() => navigator.storage.estimate());
    const cdp = await b.page.createCDPSession();
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: usage! + 1024 * 1024 });
    const outcome = await b.page.evaluate(async (url, image, session) => {
      const { SnapshotStore } = await import(url) as typeof import('../../src/element/snapshot-store.js');
      const s = await SnapshotStore.open('/quota-snapshot');
      // Random bytes do not compress: 4 MiB of them cannot fit in 1 MiB.
      const state = new Uint8Array(4 * 1024 * 1024);
      for (let i = 0; i < state.length; i += 65536) crypto.getRandomValues(state.subarray(i, i + 65536));
      const error = await s.save(state.buffer, session, image).then(() => 'saved', (e: Error) => e.name);
      let dir = await navigator.storage.getDirectory();
      for (const p of ['emulator', 'snapshots', encodeURIComponent('/quota-snapshot')]) dir = await dir.getDirectoryHandle(p);
      const names: string[] = [];
      for await (const [name] of dir.entries()) names.push(name);
      return { error, names, current: (await s.info())!.savedAt.getTime(), bytes: (await s.load(() => undefined))!.stateBytes };
    }, store, image, session);
    assert.equal(outcome.error, 'QuotaExceededError');
    assert.equal(outcome.current, first);
    assert.equal(outcome.bytes, 1024);
    assert.equal(outcome.names.length, 2, `files left: ${outcome.names.join(' ')}`);
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
  }
});
