// WebAssembly modules the wasi engine cannot run get one bad-image error that says what the
// module is and what would run, not a LinkError: a reactor (no _start), and a module that imports
// from a host other than wasi_snapshot_preview1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newProfileDir, openElementPage, removeProfileDir, startServer, testBrowsers } from './support/browser.js';
import { compileWasi } from './support/wasi.js';
import type { VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

for (const browser of testBrowsers) {
  test(`${browser}: a reactor and a module needing another host get bad-image naming what they need`, { timeout: 120000 }, async () => {
    const reactor = compileWasi('not-a-command', 'reactor', ['-mexec-model=reactor']);
    const needsHost = compileWasi('not-a-command', 'needs-host', ['-DNEEDS_HOST', '-Wl,--allow-undefined']);
    const server = await startServer();
    const profile = newProfileDir();
    try {
      const b = await openElementPage(profile, server, browser);
      try {
        for (const [src, pattern] of [[reactor, /not a WASI command module: it exports no _start function \(it is a reactor/], [needsHost, /imports from "env" \(env\.host_callback\).*provides only "wasi_snapshot_preview1"/]] as const) {
          await b.page.evaluate((a) => vmHarness.create(a), { src, 'opfs-root': '/wasi-images' });
          const event = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 60000)) as { type: string; detail: { code: string; message: string } };
          assert.equal(event.type, 'error', JSON.stringify(event));
          assert.equal(event.detail.code, 'bad-image');
          assert.match(event.detail.message, pattern);
          await new Promise((r) => setTimeout(r, 300));
          assert.equal((await b.page.evaluate(() => vmHarness.events())).filter((e) => e.type === 'error').length, 1);
          await b.page.evaluate(() => vmHarness.remove());
          await b.page.evaluate(() => vmHarness.clearEvents());
        }
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
      removeProfileDir(profile);
    }
  });
}
