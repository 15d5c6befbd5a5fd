// What the OCI image tests share (oci.test.ts, oci-debian.test.ts): where the fixtures are, and
// booting an image in the element harness and running commands in its console.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RunningBrowser } from './browser.js';
import type { VmHarness } from '../../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

export const repo = new URL('../../../../', import.meta.url).pathname;
export const BOOT_TIMEOUT = 400000;
const fixtures = existsSync(`${repo}test/oci/out/stamp`) && existsSync(`${repo}guest/out/manifest.json`);
/** Why the OCI tests skip, or false: they need the guest and the fixtures. */
export const skip = !fixtures && 'run bash guest/build.sh and bash test/oci/build.sh (npm test does)';
export const backends = (process.env.BACKENDS ?? 'm1,l1').split(',');
/** The v86 guest that boots the images (OCI_GUEST: another guest manifest). */
export const guest = process.env.OCI_GUEST ?? '/guest/out/manifest.json';

/** Creates the element with `attributes` (and the guest) and waits for vm-ready. */
export async function boot(b: RunningBrowser, attributes: Record<string, string>): Promise<void> {
  await b.page.evaluate((a) => vmHarness.create(a), { guest, ...attributes });
  const event = await b.page.evaluate((t) => vmHarness.waitForEvent('vm-ready', t), BOOT_TIMEOUT) as { type: string; detail: unknown };
  assert.equal(event.type, 'vm-ready', `expected vm-ready, got ${JSON.stringify(event)}`);
}

/** Runs `command` in the guest's console; it must exit 0. Returns its output. */
export async function run(b: RunningBrowser, command: string): Promise<string> {
  const r = await b.page.evaluate((c) => vmHarness.run(c, 120000), command);
  assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}
