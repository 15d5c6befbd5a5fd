// S1 against the oracle: a C program making TinyEMU's 9p backend's POSIX calls (test/wasi/fsops.c)
// runs on the OPFS share in Chromium (browser_wasi_shim + S1 + the storage worker) and under node:wasi
// on a real temporary directory; their outputs must agree line for line.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningBrowser, Server, launch, newProfileDir, removeProfileDir, startServer } from './support/browser.js';
import { compileWasi, runUnderNode } from './support/wasi.js';
import type { WasiHarness } from '../browser/pages/wasi-harness.js';

declare const wasiHarness: WasiHarness;

/**
 * Lines where node:wasi (uvwasi, Node 20) answers differently from a POSIX file system, and what
 * POSIX answers. The test checks that node still answers as recorded, so a fixed oracle shows up
 * here, and expects S1 to answer as POSIX does. (Debian's wasi-libc itself rejects utimensat with
 * UTIME_OMIT/UTIME_NOW with EINVAL, under both: the program also makes those calls at the WASI level.)
 */
const ORACLE_DEVIATIONS: { node: string; posix: string; why: string }[] = [
  { node: 'times: atime=1000000000.000000000 mtime=1200000000.000000000', posix: 'times: atime=1000000000.000000500 mtime=1200000000.123456789', why: 'uvwasi sets times through doubles and drops the nanoseconds' },
  { node: 'after omit/now: atime kept=0 mtime recent=0', posix: 'after omit/now: atime kept=1 mtime recent=0', why: 'the atime it kept lost its nanoseconds (above)' },
  { node: 'wasi mtim: 0 mtime=7000000000.000000000', posix: 'wasi mtim: 0 mtime=7000000000.000000123', why: 'nanoseconds again' },
  { node: 'getfl append: 0', posix: 'getfl append: 1', why: 'uvwasi does not report the fd flags set with fd_fdstat_set_flags' },
  { node: 'readlink short: -1 []', posix: 'readlink short: 3 [a.t]', why: 'uvwasi fails when the buffer is short; readlink(2) truncates' },
];

/**
 * Where the share differs from a POSIX file system by design (docs/storage-format.md): OPFS has one
 * name per file, so hard links fail with EOPNOTSUPP, and the WASI program sees ENOTSUP.
 */
const STORE_DIFFERENCES: { posix: string; share: string }[] = [
  { posix: 'link: OK', share: 'link: ENOTSUP' },
  { posix: 'stat after link: file size=6 nlink=2', share: 'stat after link: file size=6 nlink=1' },
  { posix: 'link exists: EEXIST', share: 'link exists: ENOTSUP' },
];

function expectedFromOracle(nodeOutput: string): string[] {
  const lines = nodeOutput.split('\n');
  const replace = (from: string, to: string, why: string) => {
    const i = lines.indexOf(from);
    assert.notEqual(i, -1, `node:wasi no longer prints "${from}" (${why}): update the lists above`);
    lines[i] = to;
  };
  for (const d of ORACLE_DEVIATIONS) replace(d.node, d.posix, d.why);
  for (const d of STORE_DIFFERENCES) replace(d.posix, d.share, 'hard links');
  return lines;
}

describe('S1: TinyEMU fs_disk.c calls, OPFS preopen vs node:wasi', { timeout: 300_000 }, () => {
  let server: Server;
  let profile: string;
  let b: RunningBrowser;
  let wasm: string;

  before(async () => {
    wasm = compileWasi('fsops');
    server = await startServer();
    profile = newProfileDir();
    b = await launch(profile, `${server.origin}/test/pages/wasi.html`);
    await b.page.waitForFunction('globalThis.wasiHarness !== undefined', { timeout: 30000 });
  });

  after(async () => {
    await b?.close();
    await server?.stop();
    if (profile) removeProfileDir(profile);
  });

  test('same output as node:wasi on a real directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'container-vm-wasi-oracle-'));
    let oracle: { code: number; stdout: string };
    try {
      oracle = await runUnderNode(wasm, ['fsops', '/mnt/opfs'], dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(oracle.code, 0);
    const ours = await b.page.evaluate((url) => wasiHarness.run(url, ['fsops', '/mnt/opfs'], '/wasi-fsops'), wasm);
    assert.equal(ours.error, undefined, ours.error);
    assert.equal(ours.stderr, '');
    assert.deepEqual(ours.stdout.split('\n'), expectedFromOracle(oracle.stdout));
    assert.equal(ours.code, 0);
  });

  test('a third-party WASI program (Rust std, from @wasmer/wasi\'s fixtures) lists the share', async () => {
    // mapdir.wasm prints the entries of "." through std::fs::read_dir (path_open, fd_readdir with
    // cookies, fd_prestat_*), finding "." among the preopens; so the share is preopened as ".".
    // It exits 71 whenever it is given any environment variable (under node:wasi too), so it runs
    // here without one, rather than in the element, whose engine passes the terminal's size.
    const url = '/node_modules/@wasmer/wasi/tests/mapdir.wasm';
    const first = await b.page.evaluate((u) => wasiHarness.run(u, ['mapdir'], '/wasi-mapdir', '.'), url);
    assert.deepEqual(first, { code: 0, stdout: '', stderr: '' });
    // The fsops program fills the share through S1; mapdir then lists it.
    await b.page.evaluate((w) => wasiHarness.run(w, ['fsops', '.'], '/wasi-mapdir', '.'), wasm);
    const listed = await b.page.evaluate((u) => wasiHarness.run(u, ['mapdir'], '/wasi-mapdir', '.'), url);
    assert.deepEqual(listed, { code: 0, stdout: '"./t"\n', stderr: '' });
  });

  test('the program\'s files are in the share, seen by a second run', async () => {
    // The first run left t/sub/moved.txt ("bbb") and t/dangling; a second run over them finds "t" taken.
    const again = await b.page.evaluate((url) => wasiHarness.run(url, ['fsops', '/mnt/opfs'], '/wasi-fsops'), wasm);
    assert.match(again.stdout, /^mkdir t: EEXIST$/m);
  });
});
