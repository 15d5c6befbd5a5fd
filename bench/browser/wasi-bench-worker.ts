// Runs bench/wasi/iobench.wasm on one kind of preopen (S1 on OPFS, browser_wasi_shim in memory,
// or the happy-opfs adapter), and times the wasi engine's start from the OPFS image cache against
// a start from an image already in memory.

import { ConsoleStdout, Fd, File, OpenFile, PreopenDirectory, WASI } from '@bjorn3/browser_wasi_shim';
import { SyncChannel, mkdirSync } from 'happy-opfs';
import { ChannelEndpoint } from '../../src/channel/layout.js';
import { cachedImageFile, compileCached, loadModule } from '../../src/engines/image-cache.js';
import { installOpfsImports } from '../../src/wasi/imports.js';
import { OpfsPreopen } from '../../src/wasi/opfs-fd.js';
import { P9Session } from '../../src/wasi/session.js';
import { OpenFlag } from '../../src/wire/messages.js';
import { HappyDirectory } from './happy-opfs-fd.js';

export type WasiBenchRequest =
  | { task: 'io'; wasmUrl: string; kind: 'opfs' | 'memory' | 'happy'; endpoint?: ChannelEndpoint; happyBuffer?: SharedArrayBuffer; happyRoot?: string; runs: number; scale: number }
  | { task: 'start'; imageUrl: string; runs: number };

async function runProgram(module: WebAssembly.Module, args: string[], dir: Fd): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new TextDecoder();
  const err = new TextDecoder();
  const fds: Fd[] = [
    new OpenFile(new File([])),
    new ConsoleStdout((b) => { stdout += out.decode(b, { stream: true }); }),
    new ConsoleStdout((b) => { stderr += err.decode(b, { stream: true }); }),
    dir,
  ];
  const w = new WASI(args, [], fds, { debug: false });
  installOpfsImports(w);
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: w.wasiImport });
  const code = w.start(instance as unknown as Parameters<WASI['start']>[0]);
  return { code, stdout, stderr };
}

async function io(r: Extract<WasiBenchRequest, { task: 'io' }>): Promise<string> {
  const module = await WebAssembly.compileStreaming(fetch(r.wasmUrl));
  let dir: Fd;
  if (r.kind === 'opfs') dir = new OpfsPreopen('/mnt/share', P9Session.connect(r.endpoint!));
  else if (r.kind === 'memory') dir = new PreopenDirectory('/mnt/share', new Map());
  else {
    SyncChannel.attach(r.happyBuffer!).unwrap();
    mkdirSync(r.happyRoot!).unwrap();
    dir = new HappyDirectory(r.happyRoot!, '/mnt/share');
  }
  const result = await runProgram(module, ['iobench', '/mnt/share', String(r.runs), String(r.scale)], dir);
  if (result.code !== 0) throw new Error(`iobench on ${r.kind} exited ${result.code}: ${result.stderr}`);
  return result.stdout + (dir instanceof OpfsPreopen ? channelFloor(dir, r.runs, r.scale) : '');
}

/**
 * The floor under S1, in the same worker and run: bare 9P requests from JavaScript on the file
 * iobench left (Tread of 4 KiB, Tgetattr), in iobench's output format.
 */
function channelFloor(dir: OpfsPreopen, runs: number, scale: number): string {
  const { file } = dir.lookup('bench/big', false);
  file.open(OpenFlag.ReadOnly);
  const n = Math.floor(500 * scale) + 1;
  const read: number[] = [];
  const getattr: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    for (let i = 0; i < n; i++) file.read(((i * 37) % 256) * 4096, 4096);
    read.push(((performance.now() - t) * 1e6) / n);
    t = performance.now();
    for (let i = 0; i < n; i++) file.getattr();
    getattr.push(((performance.now() - t) * 1e6) / n);
  }
  file.clunk();
  return `floor.tread4k ${read.map(Math.round).join(' ')}\nfloor.tgetattr ${getattr.map(Math.round).join(' ')}\n`;
}

/** Start to exit of a trivial program with an 8 MiB data section: from the OPFS cache vs from memory. */
async function start(r: Extract<WasiBenchRequest, { task: 'start' }>): Promise<{ cached: number[]; memory: number[]; revalidate: number[]; read: number[]; bytes: number }> {
  await loadModule(r.imageUrl, () => undefined); // fills the cache
  const inMemory = await (await fetch(r.imageUrl, { cache: 'no-store' })).arrayBuffer();
  const cached: number[] = [];
  const memory: number[] = [];
  const empty = () => new PreopenDirectory('/mnt/share', new Map());
  for (let i = 0; i < r.runs; i++) {
    let t = performance.now();
    // What the engine does on a hit: compile the cached copy and run it (the page revalidates meanwhile).
    const module = await compileCached(r.imageUrl);
    if (!module) throw new Error('the image is not in the cache');
    await runProgram(module, ['hello'], empty());
    cached.push((performance.now() - t) * 1000);
    t = performance.now();
    await runProgram(await WebAssembly.compile(inMemory), ['hello'], empty());
    memory.push((performance.now() - t) * 1000);
  }
  // Where a cache hit's time goes: the revalidation (a 304), reading the OPFS copy, compiling.
  const revalidate: number[] = [];
  const etag = (await fetch(r.imageUrl, { cache: 'no-store' })).headers.get('ETag') ?? '';
  for (let i = 0; i < r.runs; i++) {
    const t = performance.now();
    await fetch(r.imageUrl, { cache: 'no-store', headers: { 'Cache-Control': 'max-age=0', 'If-None-Match': etag } });
    revalidate.push((performance.now() - t) * 1000);
  }
  // The floor of a hit: reading the cached copy out of OPFS, with nothing else.
  const read: number[] = [];
  for (let i = 0; i < r.runs; i++) {
    const t = performance.now();
    const file = await cachedImageFile(r.imageUrl);
    if (!file) throw new Error('the image is not in the cache');
    const sync = await file.createSyncAccessHandle({ mode: 'read-only' });
    sync.read(new Uint8Array(sync.getSize()), { at: 0 });
    sync.close();
    read.push((performance.now() - t) * 1000);
  }
  return { cached, memory, revalidate, read, bytes: inMemory.byteLength };
}

self.onmessage = async (e: MessageEvent<WasiBenchRequest>) => {
  try {
    const result = e.data.task === 'io' ? await io(e.data) : await start(e.data);
    self.postMessage({ ok: true, result });
  } catch (x) {
    self.postMessage({ ok: false, error: x instanceof Error ? `${x.message}\n${x.stack}` : String(x) });
  }
};
