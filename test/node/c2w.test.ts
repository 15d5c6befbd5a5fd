// A container2wasm image in the element, on real OPFS in real Chromium, over M1 and over L1: the
// fixture in ../shared/fixtures/c2w/ (TinyEMU compiled to WASI booting a riscv64 Linux with a
// BusyBox container, pre-initialized as c2w images are). A command run through `args`; a workload
// on /mnt/opfs (test/c2w/workload.sh) compared with the same workload under node:wasi on a real
// directory, the reference host; the page's `fs` and the container reading each other's files;
// the share and the image cache across a browser relaunch; the interactive shell typed at through
// the terminal; and a 300 MB chunked image that is cached, restarted from the cache and not
// downloaded again on the next page load. Skipped, saying why, when the fixture is missing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningBrowser, Server, launch, newProfileDir, removeProfileDir, startServer } from './support/browser.js';
import { c2wImage, chunkedImage, commandStatus, consoleLines, fixtureMissing, runC2wUnderNode } from './support/c2w.js';
import type { ShareEntry, VmHarness } from '../browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;
const workload = readFileSync(join(repo, 'test/c2w/workload.sh'), 'utf8');
const fromPage = 'written by the page\n';
/** Files whose times the workload sets (touch -d): the same on every host, to the second. */
const explicitTimes = new Set(['w/a/lines.txt', 'w/renamed/inner/f']);
/** How far an mtime set by "now" may lie outside the run that set it (clocks tick in ms here). */
const SLACK_MS = 2000;

interface Served { url: string; status: number }

async function openPage(profile: string, server: Server): Promise<RunningBrowser> {
  const b = await launch(profile, `${server.origin}/test/pages/element.html`);
  await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
  return b;
}

/** Creates the element without starting it (its `fs` opens the share when first used). */
async function create(b: RunningBrowser, attributes: Record<string, string>): Promise<void> {
  await b.page.evaluate((a) => vmHarness.create({ ...a, autostart: 'false' }), attributes);
}

/** Starts the program with `args` and waits for it to exit; returns the console output of this run. */
async function run(b: RunningBrowser, args: string, timeout = 300000): Promise<string> {
  const from = await b.page.evaluate((a) => {
    vmHarness.clearEvents();
    vmHarness.element().setAttribute('args', a);
    return vmHarness.outputLength();
  }, args);
  await b.page.evaluate(() => vmHarness.start());
  const exit = await b.page.evaluate((ms) => vmHarness.waitForEvent('exit', ms), timeout);
  // A c2w image exits 0 whatever the container's status: c2w's init powers the machine off.
  assert.deepEqual(exit, { type: 'exit', detail: { code: 0, reason: 'exited' } });
  return (await b.page.evaluate((f) => vmHarness.waitForOutput('', 1000, f), from));
}

/** Types a line into the terminal with the keyboard and waits for `reply` (a regular expression) after it. */
async function type(b: RunningBrowser, line: string, reply: string): Promise<string> {
  const from = await b.page.evaluate(() => vmHarness.outputLength());
  await b.page.evaluate(() => vmHarness.focusTerminal());
  await b.page.keyboard.type(line);
  await b.page.keyboard.press('Enter');
  return (await b.page.evaluate((p, f) => vmHarness.waitForOutput(p, 60000, f), reply, from)).replace(/\r/g, '');
}

/** The same listing as vmHarness.listShare, of a real directory. */
function listDir(root: string, rel: string): ShareEntry[] {
  const out: ShareEntry[] = [];
  for (const name of readdirSync(join(root, rel))) {
    const p = `${rel}/${name}`;
    const st = lstatSync(join(root, p));
    const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'file';
    const entry: ShareEntry = { path: p, type, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    if (type === 'symlink') entry.target = readlinkSync(join(root, p));
    if (type === 'file') entry.sha256 = createHash('sha256').update(readFileSync(join(root, p))).digest('hex');
    out.push(entry);
    if (type === 'directory') out.push(...listDir(root, p));
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * What must agree between hosts: names, types, sizes (not of directories, whose size is the file
 * system's business), link targets, contents, and the times the workload set.
 */
function comparable(entries: ShareEntry[]): object[] {
  return entries.map((e) => ({
    path: e.path, type: e.type, ...(e.type === 'directory' ? {} : { size: e.size }),
    ...(e.target !== undefined ? { target: e.target } : {}), ...(e.sha256 ? { sha256: e.sha256 } : {}),
    ...(explicitTimes.has(e.path) ? { mtimeMs: e.mtimeMs } : {}),
  }));
}

/** Every time the workload did not set lies within the run that wrote it. */
function assertTimesWithin(entries: ShareEntry[], startMs: number, endMs: number, host: string): void {
  for (const e of entries) {
    if (explicitTimes.has(e.path)) continue;
    assert.ok(e.mtimeMs >= startMs - SLACK_MS && e.mtimeMs <= endMs + SLACK_MS,
      `${host}: ${e.path} has mtime ${new Date(e.mtimeMs).toISOString()}, outside its run (${new Date(startMs).toISOString()} to ${new Date(endMs).toISOString()})`);
  }
}

describe('a container2wasm image (the c2w fixture)', { skip: fixtureMissing() ?? false, timeout: 1_800_000 }, () => {
  let server: Server;
  const served: Served[] = [];
  let image: string;
  /** The workload under node:wasi: its console lines and the directory it left. */
  let oracle: { lines: string[]; entries: ShareEntry[] };

  before(async () => {
    image = c2wImage();
    server = await startServer({ onResponse: (url, status) => served.push({ url: url.split('?')[0]!, status }) });
    const dir = mkdtempSync(join(tmpdir(), 'container-vm-c2w-oracle-'));
    try {
      writeFileSync(join(dir, 'w.sh'), workload);
      writeFileSync(join(dir, 'from-page.txt'), fromPage);
      const start = Date.now();
      const output = await runC2wUnderNode(['--', 'sh', '/mnt/opfs/w.sh'], dir);
      const entries = listDir(dir, 'w');
      assertTimesWithin(entries, start, Date.now(), 'node:wasi');
      assert.equal(commandStatus(output), 7, `node:wasi ran the workload: ${output.slice(-2000)}`);
      oracle = { lines: consoleLines(output), entries };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The workload's own checks, under the reference host: a broken fixture fails here, not later.
    assert.ok(!oracle.lines.some((l) => l.startsWith('FAILED')), oracle.lines.join('\n'));
    const big = Buffer.from(Array.from({ length: 1000000 }, (_, i) => `${i + 1}\n`).join('')).subarray(0, 4 * 1024 * 1024);
    assert.ok(oracle.lines.includes(`${createHash('sha256').update(big).digest('hex')}  big`), 'the 4 MiB file\'s checksum');
    assert.ok(oracle.lines.includes('read after unlink'));
  });

  after(async () => {
    await server?.stop();
  });

  for (const backend of ['m1', 'l1']) {
    test(`${backend}: a command through args, the workload beside node:wasi, the share and the image after a relaunch, the interactive shell`, async () => {
      const profile = newProfileDir();
      const root = `/c2w-${backend}`;
      try {
        let b = await openPage(profile, server);
        let first: ShareEntry[];
        try {
          await create(b, { src: image, backend, 'opfs-root': root });

          // A command: its status comes back through the fixture's C2WTEST line, its file through `fs`.
          const out = await run(b, `-- sh -c 'echo hi > /mnt/opfs/x; exit 3'`);
          assert.equal(commandStatus(out), 3, out);
          assert.equal(await b.page.evaluate(() => vmHarness.readText('x')), 'hi\n');

          // The workload, on files the page put there, beside node:wasi's run of it.
          await b.page.evaluate((w, p) => Promise.all([vmHarness.writeText('w.sh', w), vmHarness.writeText('from-page.txt', p)]), workload, fromPage);
          const start = Date.now();
          const output = await run(b, '-- sh /mnt/opfs/w.sh');
          const end = Date.now();
          assert.equal(commandStatus(output), 7, output.slice(-2000));
          assert.deepEqual(consoleLines(output), oracle.lines);
          first = await b.page.evaluate(() => vmHarness.listShare('w'));
          assert.deepEqual(comparable(first), comparable(oracle.entries));
          assertTimesWithin(first, start, end, backend);
          await b.page.evaluate(() => vmHarness.remove());
        } finally {
          await b.close();
        }

        // A new browser on the same profile: the same share, and the image from the OPFS cache.
        const before = served.length;
        b = await openPage(profile, server);
        try {
          await create(b, { src: image, backend, 'opfs-root': root });
          assert.deepEqual(await b.page.evaluate(() => vmHarness.listShare('w')), first);
          const out = await run(b, `-- sh -c 'cd /mnt/opfs/w && sha256sum big && cat renamed/inner/f link-to-dir/deeper/g && readlink dangling'`);
          assert.equal(commandStatus(out), 0, out);
          const big = first.find((e) => e.path === 'w/big')!.sha256;
          assert.deepEqual(consoleLines(out).filter((l) => l && !l.startsWith('C2WTEST')), [`${big}  big`, 'inside', 'deeper', 'nowhere']);
          assert.equal(await b.page.evaluate(() => vmHarness.progressEvents()), 0, 'no download: the image came from the OPFS cache');
          for (let t = Date.now(); !served.slice(before).some((s) => s.url === image) && Date.now() - t < 30000;) await new Promise((r) => setTimeout(r, 50));
          assert.deepEqual(served.slice(before).filter((s) => s.url === image).map((s) => s.status), [304], 'revalidated, not downloaded');

          // The interactive shell through the terminal, and files both ways while it runs.
          const shellFrom = await b.page.evaluate(() => { vmHarness.clearEvents(); vmHarness.element().setAttribute('args', ''); return vmHarness.outputLength(); });
          await b.page.evaluate(() => vmHarness.start());
          await b.page.evaluate((f) => vmHarness.waitForOutput('~ # $', 60000, f), shellFrom);
          await type(b, 'echo $((6*7)) > /mnt/opfs/typed.txt; echo "typed-$((1+1))"', 'typed-2\\r?\\n');
          assert.equal(await b.page.evaluate(() => vmHarness.readText('typed.txt')), '42\n');
          await b.page.evaluate(() => vmHarness.writeText('note.txt', 'the page wrote this while the shell ran\n'));
          assert.match(await type(b, 'cat /mnt/opfs/note.txt', 'shell ran\\r?\\n'), /^the page wrote this while the shell ran$/m);
          await type(b, 'exit', 'Power down');
          assert.deepEqual(await b.page.evaluate(() => vmHarness.waitForEvent('exit')), { type: 'exit', detail: { code: 0, reason: 'exited' } });
          await b.page.evaluate(() => vmHarness.remove());
        } finally {
          await b.close();
        }
      } finally {
        removeProfileDir(profile);
      }
    });
  }

  test('a 300 MB image in 50 MB chunks: downloaded with progress across the chunks, restarted from the OPFS cache, not downloaded on the next page load', async () => {
    const big = chunkedImage('c2w-300m', 300 * 1024 * 1024, 50 * 1024 * 1024);
    const urls = [big.manifest, ...big.chunks];
    const requests = (from: number) => served.slice(from).filter((s) => urls.includes(s.url));
    const profile = newProfileDir();
    try {
      const b = await openPage(profile, server);
      try {
        let from = served.length;
        await create(b, { src: big.manifest, 'opfs-root': '/c2w-big' });
        let t = Date.now();
        assert.equal(commandStatus(await run(b, `-- sh -c 'exit 5'`)), 5);
        console.log(`300 MB image, downloaded, compiled and run: ${Date.now() - t} ms`);
        assert.deepEqual(requests(from).map((s) => `${s.url} ${s.status}`), urls.map((u) => `${u} 200`));
        const progress = await b.page.evaluate(() => vmHarness.progressDetails());
        assert.ok(progress.length > big.chunks.length, `${progress.length} progress events`);
        assert.ok(progress.every((p, i) => p.total === big.size && p.what.endsWith(big.manifest) && (i === 0 || p.loaded >= progress[i - 1]!.loaded)));
        assert.equal(progress.at(-1)!.loaded, big.size);

        // Again on this page: compiled from OPFS; the page revalidates the manifest and the chunks.
        from = served.length;
        t = Date.now();
        assert.equal(commandStatus(await run(b, `-- sh -c 'exit 6'`)), 6);
        console.log(`300 MB image, from the OPFS cache: ${Date.now() - t} ms`);
        assert.equal(await b.page.evaluate(() => vmHarness.progressEvents()), 0);
        for (t = Date.now(); requests(from).length < urls.length && Date.now() - t < 30000;) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(requests(from).map((s) => s.status), urls.map(() => 304));

        // The next page load: no download either.
        await b.page.reload();
        await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
        from = served.length;
        await create(b, { src: big.manifest, 'opfs-root': '/c2w-big' });
        assert.equal(commandStatus(await run(b, `-- sh -c 'exit 8'`)), 8);
        assert.equal(await b.page.evaluate(() => vmHarness.progressEvents()), 0);
        for (t = Date.now(); requests(from).length < urls.length && Date.now() - t < 30000;) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(requests(from).map((s) => s.status), urls.map(() => 304));
      } finally {
        await b.close();
      }
    } finally {
      removeProfileDir(profile);
    }
  });
});
