// Makes the default guest's boot snapshot: boots guest/out once in headless Chromium (as a first
// visit would, with the element's default mount and no network), waits for the shell's prompt and
// the guest agent, saves the machine state and the 9P session with saveSnapshot(), and ships them
// beside the image: guest/out/boot-state.v86.gz (gzip -9) and a `snapshot` entry in
// guest/out/manifest.json naming what the state depends on (src/element/image-snapshot.ts). A
// first start then resumes in about a second instead of booting.
// `node scripts/ensure.mjs snapshot` runs this when the snapshot is missing or stale.
//
//   npm run build:ts && node build/scripts/boot-snapshot.js

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { newProfileDir, openElementPage, removeProfileDir, startServer } from '../test/node/support/browser.js';
import type { VmHarness } from '../test/browser/pages/element-harness.js';
import { IMAGE_SNAPSHOT_FORMAT, ImageSnapshotEntry } from '../src/element/image-snapshot.js';
import type { SessionState } from '../src/storage/server-api.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../', import.meta.url).pathname;
const out = `${repo}guest/out/`;
const STATE_FILE = 'boot-state.v86.gz';
const SHARE = '/boot-snapshot';

interface Saved { gzip: string; stateBytes: number; session: SessionState; cmdline: string; memory: number; console: string }

async function main(): Promise<void> {
  const manifestText = readFileSync(`${out}manifest.json`, 'utf8');
  const manifest = JSON.parse(manifestText) as { id?: string; snapshot?: unknown };
  if (!manifest.id) throw new Error('guest/out/manifest.json has no id: rebuild the guest (bash guest/build.sh)');
  const v86 = (JSON.parse(readFileSync(`${repo}node_modules/v86/package.json`, 'utf8')) as { version: string }).version;
  const server = await startServer();
  const profile = newProfileDir();
  let saved: Saved;
  try {
    const b = await openElementPage(profile, server);
    try {
      // snapshot="off": a cold boot, whatever snapshot the manifest names now.
      await b.page.evaluate((share) => vmHarness.create({ src: '/guest/out/manifest.json', 'opfs-root': share, snapshot: 'off' }), SHARE);
      const ready = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 300000)) as { type: string; detail: unknown };
      if (ready.type !== 'vm-ready') throw new Error(`the guest did not boot: ${JSON.stringify(ready)}`);
      if (!await b.page.evaluate(() => vmHarness.agentPing(60000))) throw new Error('the guest agent did not answer');
      saved = await b.page.evaluate(async (share) => {
        const text = vmHarness.output();
        const element = vmHarness.element();
        // The command line the element booted with (the manifest's, plus its mount point).
        const { image } = (element as unknown as { vm: { image: { cmdline: string; memory: number } } }).vm;
        await element.saveSnapshot();
        let dir = await navigator.storage.getDirectory();
        for (const part of ['emulator', 'snapshots', encodeURIComponent(share)]) dir = await dir.getDirectoryHandle(part);
        const index = JSON.parse(await (await (await dir.getFileHandle('snapshot.json')).getFile()).text()) as { file: string; stateBytes: number; session: SessionState };
        const bytes = new Uint8Array(await (await (await dir.getFileHandle(index.file)).getFile()).arrayBuffer());
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { gzip: btoa(binary), stateBytes: index.stateBytes, session: index.session, cmdline: image.cmdline, memory: image.memory, console: text };
      }, SHARE);
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }

  const state = gunzipSync(Buffer.from(saved.gzip, 'base64'));
  if (state.length !== saved.stateBytes) throw new Error(`the saved state holds ${state.length} bytes, ${saved.stateBytes} expected`);
  const gzip = gzipSync(state, { level: 9 });
  writeFileSync(`${out}${STATE_FILE}.tmp`, gzip);
  renameSync(`${out}${STATE_FILE}.tmp`, `${out}${STATE_FILE}`);
  const entry: ImageSnapshotEntry = {
    format: IMAGE_SNAPSHOT_FORMAT, state: STATE_FILE, stateBytes: state.length,
    manifest: manifest.id, cmdline: saved.cmdline, memory: saved.memory, v86,
    session: saved.session, console: saved.console,
  };
  // Named last: a build stopped half way leaves a manifest naming no snapshot, or the previous one
  // (which the ensure step finds stale).
  writeFileSync(`${out}manifest.json.tmp`, JSON.stringify({ ...manifest, snapshot: entry }, null, 2) + '\n');
  renameSync(`${out}manifest.json.tmp`, `${out}manifest.json`);
  const MiB = 2 ** 20;
  console.error(`boot snapshot: ${(state.length / MiB).toFixed(1)} MiB of state, ${(gzip.length / MiB).toFixed(2)} MiB gzip'd in guest/out/${STATE_FILE}; ` +
    `${saved.session.fids.length} fids (${saved.session.fids.map((f) => `"/${f.path}"`).join(' ')})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
