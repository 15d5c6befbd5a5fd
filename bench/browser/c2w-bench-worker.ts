// The container2wasm benchmark's worker: the fixture under browser_wasi_shim with an in-memory
// directory holding the workload's files (the comparison beside S1 and node:wasi); floors under the
// workload (raw OPFS opening and reading the small files; a 9P round trip back to back and after the
// pause an emulator leaves between requests); and floors under a big image (fetching its parts and
// dropping the bytes, writing and reading that many bytes through an OPFS sync access handle,
// compiling it from memory).

import { ConsoleStdout, Directory, File, Inode, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim';
import { ChannelEndpoint } from '../../src/channel/layout.js';
import { installOpfsImports } from '../../src/wasi/imports.js';
import { P9Session } from '../../src/wasi/session.js';
import { StdinFd, createStdinBuffer } from '../../src/wasi/stdin.js';

export type C2wWorkerRequest =
  | { task: 'memory'; imageUrl: string; args: string[]; script: string; small: number; dirs: number; perDir: number }
  | { task: 'io-floors'; root: string; small: number; endpoint: ChannelEndpoint }
  | { task: 'big-floors'; urls: string[] };

export type C2wWorkerReply = { ok: true; result: unknown } | { ok: false; error: string };

export interface BigFloors { bytes: number; fetchMs: number; opfsWriteMs: number; opfsReadMs: number; compileMs: number }

export interface IoFloors {
  /** Raw OPFS, for each small file: getFileHandle, createSyncAccessHandle, read, close (ms, all files). */
  openReadCloseMs: number;
  /** Tgetattr through the channel, back to back (µs each). */
  getattrUs: number;
  /** Tgetattr after GAP_US of other work, as an emulator leaves between requests (µs each, gap excluded). */
  getattrAfterGapUs: number;
  gapUs: number;
}

/** The pause between two requests in the floor: TinyEMU computes about this long between lookups. */
const GAP_US = 200;

/** The console output of the image run with the workload's files in memory at /mnt/opfs. */
async function memory(r: Extract<C2wWorkerRequest, { task: 'memory' }>): Promise<string> {
  const module = await WebAssembly.compileStreaming(fetch(r.imageUrl));
  const encoder = new TextEncoder();
  const small = new Map<string, Inode>();
  for (let i = 0; i < r.small; i++) small.set(`f${i}`, new File(encoder.encode(`small file ${i}\n`)));
  const tree = new Map<string, Inode>();
  for (let d = 0; d < r.dirs; d++) {
    const files = new Map<string, Inode>();
    for (let i = 0; i < r.perDir; i++) files.set(`e${i}`, new File(new Uint8Array()));
    tree.set(`d${d}`, new Directory(files));
  }
  const bench = new Directory(new Map<string, Inode>([['bench.sh', new File(encoder.encode(r.script))], ['small', new Directory(small)], ['tree', new Directory(tree)]]));
  let output = '';
  const decoder = new TextDecoder();
  const out = new ConsoleStdout((b) => { output += decoder.decode(b, { stream: true }); });
  // stdin never gets input: the emulator waits on it as it would at a prompt nobody types at.
  const fds = [new StdinFd(createStdinBuffer()), out, out, new PreopenDirectory('/mnt/opfs', new Map([['bench', bench]]))];
  const w = new WASI(['c2w.wasm', ...r.args], [], fds, { debug: false });
  installOpfsImports(w);
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: w.wasiImport });
  w.start(instance as unknown as Parameters<WASI['start']>[0]);
  return output;
}

async function ioFloors(r: Extract<C2wWorkerRequest, { task: 'io-floors' }>): Promise<IoFloors> {
  let dir = await navigator.storage.getDirectory();
  for (const part of [...r.root.split('/').filter(Boolean), 'bench', 'small']) dir = await dir.getDirectoryHandle(part);
  let t = performance.now();
  for (let i = 0; i < r.small; i++) {
    const h = await (await dir.getFileHandle(`f${i}`)).createSyncAccessHandle({ mode: 'readwrite-unsafe' });
    h.read(new Uint8Array(h.getSize()), { at: 0 });
    h.close();
  }
  const openReadCloseMs = performance.now() - t;

  const session = P9Session.connect(r.endpoint);
  const file = session.root.walk(['bench', 'small', 'f0']);
  const n = 500;
  t = performance.now();
  for (let i = 0; i < n; i++) file.getattr();
  const getattrUs = ((performance.now() - t) * 1000) / n;
  let inCalls = 0;
  for (let i = 0; i < n; i++) {
    for (const until = performance.now() + GAP_US / 1000; performance.now() < until;) { /* other work */ }
    t = performance.now();
    file.getattr();
    inCalls += performance.now() - t;
  }
  file.clunk();
  return { openReadCloseMs, getattrUs, getattrAfterGapUs: (inCalls * 1000) / n, gapUs: GAP_US };
}

async function bigFloors(r: Extract<C2wWorkerRequest, { task: 'big-floors' }>): Promise<BigFloors> {
  let t = performance.now();
  let bytes = 0;
  for (const url of r.urls) {
    const reader = (await fetch(url, { cache: 'no-store' })).body!.getReader();
    for (let p = await reader.read(); !p.done; p = await reader.read()) bytes += p.value.length;
  }
  const fetchMs = performance.now() - t;

  const root = await navigator.storage.getDirectory();
  const handle = await root.getFileHandle('c2w-bench-floor', { create: true });
  const sync = await handle.createSyncAccessHandle();
  const piece = new Uint8Array(64 * 1024);
  t = performance.now();
  for (let at = 0; at < bytes; at += piece.length) sync.write(piece.subarray(0, Math.min(piece.length, bytes - at)), { at });
  sync.flush();
  const opfsWriteMs = performance.now() - t;
  t = performance.now();
  const all = new Uint8Array(bytes);
  sync.read(all, { at: 0 });
  const opfsReadMs = performance.now() - t;
  sync.close();
  await root.removeEntry('c2w-bench-floor');

  // The image itself, from memory: concatenated parts.
  let at = 0;
  for (const url of r.urls) {
    const part = new Uint8Array(await (await fetch(url, { cache: 'no-store' })).arrayBuffer());
    all.set(part, at);
    at += part.length;
  }
  t = performance.now();
  await WebAssembly.compile(all);
  const compileMs = performance.now() - t;
  return { bytes, fetchMs, opfsWriteMs, opfsReadMs, compileMs };
}

self.onmessage = async (e: MessageEvent<C2wWorkerRequest>) => {
  try {
    const task = e.data;
    const result = task.task === 'memory' ? await memory(task) : task.task === 'io-floors' ? await ioFloors(task) : await bigFloors(task);
    self.postMessage({ ok: true, result } satisfies C2wWorkerReply);
  } catch (x) {
    self.postMessage({ ok: false, error: x instanceof Error ? `${x.message}\n${x.stack}` : String(x) } satisfies C2wWorkerReply);
  }
};
