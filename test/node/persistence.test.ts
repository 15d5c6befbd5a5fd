// Persistence across a browser relaunch with the same profile: what one browser session writes
// through 9P (contents, modes, symlinks, directories, times, renames, removals) is there after
// the browser is closed and started again; a file unlinked while open dies with the session that
// held it; and files other code put into the OPFS tree while no server ran show up with default
// metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RunningBrowser, newProfileDir, openHarness, removeProfileDir, startServer } from './support/browser.js';
import type { Harness } from '../browser/pages/harness.js';

declare const harness: Harness;

type HarnessCall = Exclude<keyof Harness, 'fs' | 'toBase64' | 'fromBase64'>;

/** Calls window.harness[name](...args) in the page. */
async function call<K extends HarnessCall>(b: RunningBrowser, name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  const result = await b.page.evaluate(
    (name: string, args: unknown[]) => (harness as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args),
    name, args as unknown[]);
  return result as Awaited<ReturnType<Harness[K]>>;
}

function isError(r: unknown): r is { error: string } {
  return typeof r === 'object' && r !== null && 'error' in r;
}

/** Calls a harness function that must succeed. */
async function must<K extends HarnessCall>(b: RunningBrowser, name: K, ...args: Parameters<Harness[K]>): Promise<Exclude<Awaited<ReturnType<Harness[K]>>, { error: string }>> {
  const r = await call(b, name, ...args);
  if (isError(r)) throw new Error(`harness.${name}(${JSON.stringify(args).slice(0, 200)}) failed: ${r.error}`);
  return r as Exclude<Awaited<ReturnType<Harness[K]>>, { error: string }>;
}

const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64');

async function readBytes(b: RunningBrowser, path: string): Promise<Buffer> {
  return Buffer.from(await must(b, 'readFile', path) as string, 'base64');
}

interface ShareStat { type: string; mode: number; size: number; mtimeMs: number; uid: number; gid: number; nlink: number }

async function stat(b: RunningBrowser, path: string): Promise<ShareStat> {
  return await must(b, 'stat', path) as ShareStat;
}

async function names(b: RunningBrowser, path: string): Promise<string[]> {
  return (await must(b, 'readDir', path) as { name: string }[]).map((e) => e.name).sort();
}

/** Every entry under an OPFS directory, as "dir/" and "file:size", read with the raw OPFS API in the page. */
async function rawOpfsTree(b: RunningBrowser, path: string): Promise<string[]> {
  return b.page.evaluate(async (path: string) => {
    let dir = await navigator.storage.getDirectory();
    for (const p of path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(p);
    const out: string[] = [];
    const walk = async (d: FileSystemDirectoryHandle, rel: string) => {
      for await (const [name, h] of (d as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        const p = rel ? `${rel}/${name}` : name;
        if (h.kind === 'directory') {
          out.push(`${p}/`);
          await walk(h as FileSystemDirectoryHandle, p);
        } else {
          out.push(`${p}:${(await (h as FileSystemFileHandle).getFile()).size}`);
        }
      }
    };
    await walk(dir, '');
    return out.sort();
  }, path);
}

const ROOT = '/persist';
const MTIME = 1_234_567_890_123;
const DIR_MTIME = 1_111_111_111_111;
const LINK_MTIME = 1_500_000_000_007;

test('a share survives a browser relaunch with the same profile', { timeout: 180000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  let b: RunningBrowser | null = null;
  const big = randomBytes(3 * 1024 * 1024);
  const victim = randomBytes(70000);
  const victimTail = randomBytes(5000);
  try {
    // ---- first session ----
    b = await openHarness(profile, server);
    await b.page.evaluate((root: string) => harness.open(root), ROOT);
    await must(b, 'mkdir', 'docs');
    await must(b, 'writeFile', 'docs/readme.txt', b64('read me\n'));
    await must(b, 'writeFile', 'big.bin', b64(big));
    await must(b, 'writeFile', 'empty', '');
    await must(b, 'writeFile', 'secret', b64('s3cr3t'));
    await must(b, 'chmod', 'secret', 0o600);
    await must(b, 'writeFile', 'script.sh', b64('#!/bin/sh\necho hi\n'), 0o600);
    await must(b, 'chmod', 'script.sh', 0o755);
    await must(b, 'mkdir', 'private', 0o700);
    await must(b, 'mkdir', 'sticky');
    await must(b, 'chmod', 'sticky', 0o1777);
    await must(b, 'mkdir', 'a');
    await must(b, 'mkdir', 'a/b');
    await must(b, 'mkdir', 'a/b/c');
    await must(b, 'writeFile', 'a/b/c/deep.txt', b64('deep'));
    await must(b, 'symlink', '../../docs', 'a/b/up');
    await must(b, 'symlink', 'docs/readme.txt', 'link-rel');
    await must(b, 'symlink', '/etc/hostname', 'link-abs');
    await must(b, 'symlink', 'nowhere/at/all', 'link-dangling');
    await must(b, 'writeFile', 'shrunk', b64(randomBytes(100000)));
    await must(b, 'writeFile', 'shrunk', b64('short'));
    await must(b, 'writeFile', 'grown', b64('abc'));
    await must(b, 'truncate', 'grown', 5000);
    await must(b, 'writeFile', 'old-name', b64('renamed file'));
    await must(b, 'rename', 'old-name', 'new-name');
    await must(b, 'mkdir', 'old-dir');
    await must(b, 'writeFile', 'old-dir/inside', b64('moved with its directory'));
    await must(b, 'rename', 'old-dir', 'a/new-dir');
    await must(b, 'writeFile', 'gone', b64('removed'));
    await must(b, 'remove', 'gone');
    await must(b, 'utimes', 'docs/readme.txt', MTIME - 5000, MTIME);
    await must(b, 'utimes', 'a/b', DIR_MTIME - 5000, DIR_MTIME);
    await must(b, 'utimes', 'link-rel', LINK_MTIME - 5000, LINK_MTIME);

    // A file unlinked while a fid holds it open: still readable and writable through the fid.
    await must(b, 'writeFile', 'victim', b64(victim));
    const held = await b.page.evaluate((tail: string) => harness.openAndUnlink('victim', tail), b64(victimTail));
    assert.deepEqual(Buffer.from(held.contents, 'base64'), Buffer.concat([victim, victimTail]), 'the unlinked file reads back through its fid');
    assert.equal(held.size, victim.length + victimTail.length);
    assert.equal(held.nlink, 0, 'an unlinked file has no links');
    assert.deepEqual(await call(b, 'stat', 'victim'), { error: 'ENOENT' }, 'the unlinked file has no name');
    const orphansWhileOpen = await rawOpfsTree(b, `${ROOT}/.container-vm/orphans`);
    assert.equal(orphansWhileOpen.length, 1, `one orphan while the fid is open: ${orphansWhileOpen.join(', ')}`);
    assert.ok(orphansWhileOpen[0]!.endsWith(`:${victim.length + victimTail.length}`), `the orphan holds the file: ${orphansWhileOpen[0]}`);

    // Close the browser without closing the share: the fid is still open when the session ends.
    await b.close();
    b = null;

    // ---- second session, same profile ----
    b = await openHarness(profile, server);
    const orphansBeforeOpen = await rawOpfsTree(b, `${ROOT}/.container-vm/orphans`);
    assert.equal(orphansBeforeOpen.length, 1, 'the orphan outlived the browser (so the check below tests the clean-up at open)');
    await b.page.evaluate((root: string) => harness.open(root), ROOT);

    assert.deepEqual(await names(b, ''), [
      'a', 'big.bin', 'docs', 'empty', 'grown', 'link-abs', 'link-dangling', 'link-rel', 'new-name', 'private', 'script.sh',
      'secret', 'shrunk', 'sticky',
    ]);
    assert.deepEqual(await names(b, 'a'), ['b', 'new-dir']);
    assert.deepEqual(await names(b, 'a/b'), ['c', 'up']);
    assert.deepEqual(await names(b, 'a/b/c'), ['deep.txt']);
    assert.deepEqual(await names(b, 'a/new-dir'), ['inside']);
    assert.deepEqual(await names(b, 'private'), []);

    // Contents.
    assert.ok((await readBytes(b, 'big.bin')).equals(big), 'the 3 MiB file is intact');
    assert.equal((await stat(b, 'big.bin')).size, big.length);
    assert.equal((await readBytes(b, 'docs/readme.txt')).toString(), 'read me\n');
    assert.equal((await readBytes(b, 'a/b/c/deep.txt')).toString(), 'deep');
    assert.equal((await readBytes(b, 'empty')).length, 0);
    assert.equal((await readBytes(b, 'shrunk')).toString(), 'short');
    assert.deepEqual(await readBytes(b, 'grown'), Buffer.concat([Buffer.from('abc'), Buffer.alloc(4997)]));
    assert.equal((await readBytes(b, 'new-name')).toString(), 'renamed file');
    assert.equal((await readBytes(b, 'a/new-dir/inside')).toString(), 'moved with its directory');

    // Modes (type and permission bits).
    const modes: [string, number][] = [
      ['secret', 0o100600], ['script.sh', 0o100755], ['docs/readme.txt', 0o100644], ['big.bin', 0o100644],
      ['private', 0o40700], ['sticky', 0o41777], ['a/b', 0o40755], ['link-rel', 0o120777], ['a/b/up', 0o120777],
    ];
    for (const [path, mode] of modes) assert.equal((await stat(b, path)).mode.toString(8), mode.toString(8), `mode of ${path}`);

    // Symlink targets.
    assert.equal(await must(b, 'readlink', 'link-rel'), 'docs/readme.txt');
    assert.equal(await must(b, 'readlink', 'link-abs'), '/etc/hostname');
    assert.equal(await must(b, 'readlink', 'link-dangling'), 'nowhere/at/all');
    assert.equal(await must(b, 'readlink', 'a/b/up'), '../../docs');
    assert.equal((await stat(b, 'link-dangling')).size, 'nowhere/at/all'.length);

    // Times set with utimes, to the millisecond.
    assert.equal((await stat(b, 'docs/readme.txt')).mtimeMs, MTIME);
    assert.equal((await stat(b, 'a/b')).mtimeMs, DIR_MTIME);
    assert.equal((await stat(b, 'link-rel')).mtimeMs, LINK_MTIME);

    // What was removed stays removed; the unlinked-while-open file died with its session.
    assert.deepEqual(await call(b, 'stat', 'gone'), { error: 'ENOENT' });
    assert.deepEqual(await call(b, 'stat', 'old-name'), { error: 'ENOENT' });
    assert.deepEqual(await call(b, 'stat', 'old-dir'), { error: 'ENOENT' });
    assert.deepEqual(await call(b, 'stat', 'victim'), { error: 'ENOENT' });

    await b.page.evaluate(() => harness.close());
    assert.deepEqual(await rawOpfsTree(b, `${ROOT}/.container-vm/orphans`), [], 'the orphans folder is empty');
    // The share mirrors the guest tree in OPFS: regular files and directories are real OPFS entries.
    const raw = (await rawOpfsTree(b, ROOT)).filter((e) => !e.startsWith('.container-vm'));
    assert.deepEqual(raw, [
      'a/', 'a/b/', 'a/b/c/', 'a/b/c/deep.txt:4', 'a/new-dir/', 'a/new-dir/inside:24', `big.bin:${big.length}`,
      'docs/', 'docs/readme.txt:8', 'empty:0', 'grown:5000', 'new-name:12', 'private/', 'script.sh:18', 'secret:6', 'shrunk:5',
      'sticky/',
    ]);
  } finally {
    await b?.close().catch(() => undefined);
    await server.stop();
    removeProfileDir(profile);
  }
});

test('entries other code put into OPFS while no server ran get default metadata', { timeout: 180000 }, async () => {
  const server = await startServer();
  const profile = newProfileDir();
  let b: RunningBrowser | null = null;
  const bin = randomBytes(100 * 1024);
  try {
    b = await openHarness(profile, server);
    const before = Date.now();
    // Raw OPFS and happy-opfs write into the share's directory before any server has opened it.
    await b.page.evaluate(async (binB64: string) => {
      const opfs = await navigator.storage.getDirectory();
      const root = await opfs.getDirectoryHandle('ext', { create: true });
      const write = async (dir: FileSystemDirectoryHandle, name: string, data: Uint8Array | string) => {
        const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
        await w.write(data as FileSystemWriteChunkType);
        await w.close();
      };
      await write(root, 'raw.txt', 'written with raw OPFS');
      const nested = await (await root.getDirectoryHandle('rawdir', { create: true })).getDirectoryHandle('nested', { create: true });
      await write(nested, 'n.bin', harness.fromBase64(binB64));
      await root.getDirectoryHandle('emptydir', { create: true });
      await write(root, 'zero', new Uint8Array(0));
      const url = '/node_modules/happy-opfs/dist/main.mjs';
      const happy = await import(url) as {
        writeFile(path: string, data: string): Promise<{ isErr(): boolean; unwrapErr(): unknown }>;
        mkdir(path: string): Promise<{ isErr(): boolean; unwrapErr(): unknown }>;
      };
      for (const r of [await happy.mkdir('/ext/happy/sub'), await happy.writeFile('/ext/happy/h.txt', 'hello from happy-opfs')]) {
        if (r.isErr()) throw new Error(`happy-opfs: ${String(r.unwrapErr())}`);
      }
    }, b64(bin));
    const after = Date.now();

    await b.page.evaluate(() => harness.open('/ext'));
    assert.deepEqual(await names(b, ''), ['emptydir', 'happy', 'raw.txt', 'rawdir', 'zero']);
    assert.deepEqual(await names(b, 'rawdir'), ['nested']);
    assert.deepEqual(await names(b, 'rawdir/nested'), ['n.bin']);
    assert.deepEqual(await names(b, 'happy'), ['h.txt', 'sub']);
    assert.deepEqual(await names(b, 'emptydir'), []);

    const files: [string, Buffer][] = [
      ['raw.txt', Buffer.from('written with raw OPFS')], ['rawdir/nested/n.bin', bin], ['zero', Buffer.alloc(0)],
      ['happy/h.txt', Buffer.from('hello from happy-opfs')],
    ];
    for (const [path, data] of files) {
      const st = await stat(b, path);
      assert.equal(st.mode.toString(8), '100644', `mode of ${path}`);
      assert.equal(st.size, data.length, `size of ${path}`);
      assert.equal(st.uid, 0);
      assert.equal(st.gid, 0);
      assert.ok(st.mtimeMs >= before - 2000 && st.mtimeMs <= after + 2000, `mtime of ${path} (${st.mtimeMs}) is when it was written (${before}..${after})`);
      assert.ok((await readBytes(b, path)).equals(data), `contents of ${path}`);
    }
    for (const path of ['rawdir', 'rawdir/nested', 'emptydir', 'happy', 'happy/sub']) {
      assert.equal((await stat(b, path)).mode.toString(8), '40755', `mode of ${path}`);
    }

    // The share now has metadata; give one file a mode of its own, then let other code change
    // the tree again while no server runs.
    await must(b, 'chmod', 'raw.txt', 0o600);
    await must(b, 'chmod', 'rawdir', 0o700);
    await b.page.evaluate(() => harness.close());
    await b.page.evaluate(async () => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('ext');
      const write = async (dir: FileSystemDirectoryHandle, name: string, data: string) => {
        const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
        await w.write(data);
        await w.close();
      };
      await write(root, 'raw.txt', 'rewritten by other code');
      await write(root, 'later.txt', 'added later');
      const nested = await (await root.getDirectoryHandle('rawdir')).getDirectoryHandle('nested');
      await write(nested, 'n.bin', '0123456789');
      await write(await root.getDirectoryHandle('rawdir'), 'sibling', 'next to nested');
      await root.removeEntry('zero');
      await (await root.getDirectoryHandle('happy')).removeEntry('sub');
    });
    await b.page.evaluate(() => harness.open('/ext'));
    assert.deepEqual(await names(b, ''), ['emptydir', 'happy', 'later.txt', 'raw.txt', 'rawdir']);
    assert.deepEqual(await names(b, 'rawdir'), ['nested', 'sibling']);
    assert.deepEqual(await names(b, 'happy'), ['h.txt']);
    // Recorded metadata stays with the name; new entries get the defaults; sizes come from OPFS.
    assert.equal((await stat(b, 'raw.txt')).mode.toString(8), '100600');
    assert.equal((await readBytes(b, 'raw.txt')).toString(), 'rewritten by other code');
    assert.equal((await stat(b, 'raw.txt')).size, 'rewritten by other code'.length);
    assert.equal((await stat(b, 'rawdir')).mode.toString(8), '40700');
    assert.equal((await stat(b, 'later.txt')).mode.toString(8), '100644');
    assert.equal((await stat(b, 'rawdir/sibling')).mode.toString(8), '100644');
    assert.equal((await readBytes(b, 'rawdir/sibling')).toString(), 'next to nested');
    assert.equal((await stat(b, 'rawdir/nested/n.bin')).size, 10);
    assert.equal((await readBytes(b, 'rawdir/nested/n.bin')).toString(), '0123456789');
    assert.deepEqual(await call(b, 'stat', 'zero'), { error: 'ENOENT' });
    assert.deepEqual(await call(b, 'stat', 'happy/sub'), { error: 'ENOENT' });
    await b.page.evaluate(() => harness.close());
  } finally {
    await b?.close().catch(() => undefined);
    await server.stop();
    removeProfileDir(profile);
  }
});
