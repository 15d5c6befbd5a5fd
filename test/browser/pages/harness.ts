// window.harness: the share's file API for node-driven tests (relaunch, crash, differential),
// which cannot run inside the test runner because they restart or kill the browser.
// Bytes cross the puppeteer boundary as base64.

import { StorageHost } from '../../../src/storage/storage-host.js';
import { Backend } from '../../../src/storage/storage-protocol.js';
import { FsError } from '../../../src/wire/errno.js';
import { OpenFlag } from '../../../src/wire/messages.js';
import { P9File } from '../../../src/client/file.js';
import { ShareFs, splitPath } from '../../../src/client/share-fs.js';
import { exposeHarness } from './held-promises.js';

let host: StorageHost | null = null;
let fs: ShareFs | null = null;
/** Files that openAndUnlink keeps open on purpose. */
const held: P9File<'async'>[] = [];

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Runs an fs call; FsErrors come back as { error: 'ENOENT' } so the node side can compare errnos. */
async function guarded<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FsError) return { error: e.code };
    throw e;
  }
}

const harness = {
  async open(root: string, backend: Backend = 'm1'): Promise<void> {
    host = await StorageHost.start({ root, backend });
    fs = await ShareFs.connect(await host.connect());
  },
  async close(): Promise<void> {
    await host?.close();
    host = null;
    fs = null;
  },
  fs(): ShareFs {
    if (!fs) throw new Error('harness.open() first');
    return fs;
  },
  readFile: (path: string) => guarded(async () => toBase64(await harness.fs().readFile(path))),
  writeFile: (path: string, b64: string, mode?: number) => guarded(() => harness.fs().writeFile(path, fromBase64(b64), mode)),
  stat: (path: string) => guarded(() => harness.fs().stat(path)),
  readDir: (path: string) => guarded(() => harness.fs().readDir(path)),
  mkdir: (path: string, mode?: number) => guarded(() => harness.fs().mkdir(path, mode)),
  remove: (path: string, recursive = false) => guarded(() => harness.fs().remove(path, { recursive })),
  rename: (from: string, to: string) => guarded(() => harness.fs().rename(from, to)),
  symlink: (target: string, path: string) => guarded(() => harness.fs().symlink(target, path)),
  readlink: (path: string) => guarded(() => harness.fs().readlink(path)),
  chmod: (path: string, mode: number) => guarded(() => harness.fs().chmod(path, mode)),
  truncate: (path: string, size: number) => guarded(() => harness.fs().truncate(path, size)),
  utimes: (path: string, atimeMs: number, mtimeMs: number) => guarded(() => harness.fs().utimes(path, atimeMs, mtimeMs)),
  /**
   * Opens a file read-write through a fid of its own, unlinks it, appends `appendB64` through the
   * fid and reads the whole file back through it. The fid is deliberately never clunked, so the
   * file stays unlinked-while-open until the session ends (or the browser dies).
   */
  async openAndUnlink(path: string, appendB64: string): Promise<{ contents: string; nlink: number; size: number }> {
    const c = harness.fs().client;
    const parts = splitPath(path);
    const name = parts.pop()!;
    const root = await c.attach();
    const dir = await root.walk(parts);
    const file = await dir.walk([name]);
    await file.open(OpenFlag.ReadWrite);
    await dir.unlinkat(name, 0);
    const before = await file.getattr();
    await file.writeAll(before.size, fromBase64(appendB64));
    const contents = await file.readAll();
    const after = await file.getattr();
    await dir.clunk();
    await root.clunk();
    held.push(file);
    return { contents: toBase64(contents), nlink: after.nlink, size: after.size };
  },
  toBase64,
  fromBase64,
};

export type Harness = typeof harness;
exposeHarness('harness', harness);
