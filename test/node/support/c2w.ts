// The container2wasm-style test image in ../shared/fixtures/c2w/ beside the repository (its README
// says how it was made and how it differs from an image made by the c2w tool): unpacked into
// build/c2w for the dev server, padded and split into chunked images of any size, and run under
// node:wasi on a real directory, the reference host.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runUnderNode } from './wasi.js';

const repoRoot = new URL('../../../../', import.meta.url).pathname;
export const fixtureFile = join(repoRoot, '..', 'shared', 'fixtures', 'c2w', 'c2w-riscv64-busybox.wasm.gz');
const outDir = join(repoRoot, 'build', 'c2w');

/** Why the fixture cannot be used, for a skipped test to say; null when it is there. */
export function fixtureMissing(): string | null {
  return existsSync(fixtureFile) ? null : `the container2wasm fixture ${fixtureFile} is missing (its README in that folder describes it)`;
}

/** Unpacks the fixture (once per build) into build/c2w/c2w.wasm; returns its URL path on the dev server. */
export function c2wImage(): string {
  const out = join(outDir, 'c2w.wasm');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(fixtureFile).mtimeMs) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(out, gunzipSync(readFileSync(fixtureFile)));
  }
  return '/build/c2w/c2w.wasm';
}

/** A u32 as LEB128 padded to five bytes (valid in WebAssembly), so its length is known beforehand. */
function leb5(n: number): Uint8Array {
  const out = new Uint8Array(5);
  for (let i = 0; i < 5; i++) out[i] = ((n >>> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0);
  return out;
}

export interface ChunkedImage {
  /** The manifest's URL path on the dev server. */
  manifest: string;
  chunks: string[];
  size: number;
}

/**
 * The fixture padded with a custom section (which engines skip) to `size` bytes, split into pieces
 * of `chunkBytes` named as container2wasm's demo names them (NAME00.wasm, NAME01.wasm, ...), with
 * the manifest NAME.wasm.json. Written into build/c2w/NAME/ unless already there.
 */
export function chunkedImage(name: string, size: number, chunkBytes: number): ChunkedImage {
  const base = readFileSync(join(repoRoot, c2wImage()));
  const dir = join(outDir, name);
  const count = Math.ceil(size / chunkBytes);
  const chunks = Array.from({ length: count }, (_, i) => `${name}${String(i).padStart(2, '0')}.wasm`);
  const manifestPath = join(dir, `${name}.wasm.json`);
  const manifest = JSON.stringify({ size, chunks });
  const result = { manifest: `/build/c2w/${name}/${name}.wasm.json`, chunks: chunks.map((c) => `/build/c2w/${name}/${c}`), size };
  if (existsSync(manifestPath) && readFileSync(manifestPath, 'utf8') === manifest && chunks.every((c) => existsSync(join(dir, c)))) return result;

  const sectionName = new TextEncoder().encode('container-vm-padding');
  const payload = size - base.length - 1 - 5;
  if (payload < 1 + sectionName.length) throw new Error(`a padded image must be larger than the fixture (${base.length} bytes)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let fd = -1;
  let written = 0;
  const write = (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) {
      if (written % chunkBytes === 0) {
        if (fd >= 0) closeSync(fd);
        fd = openSync(join(dir, chunks[written / chunkBytes]!), 'w');
      }
      const n = Math.min(bytes.length - at, chunkBytes - (written % chunkBytes));
      writeSync(fd, bytes, at, n);
      at += n;
      written += n;
    }
  };
  write(base);
  write(Uint8Array.of(0));
  write(leb5(payload));
  write(Uint8Array.of(sectionName.length));
  write(sectionName);
  const zeros = new Uint8Array(1024 * 1024);
  for (let left = payload - 1 - sectionName.length; left > 0; left -= zeros.length) write(zeros.subarray(0, Math.min(left, zeros.length)));
  closeSync(fd);
  writeFileSync(manifestPath, manifest);
  return result;
}

/**
 * Runs the fixture under node:wasi with `dir` preopened as /mnt/opfs, `args` after argv[0] (a
 * command is `['--', 'sh', '-c', '...']`), stdin at end of file. Returns the console output.
 */
export async function runC2wUnderNode(args: string[], dir: string): Promise<string> {
  const { stdout } = await runUnderNode(c2wImage(), ['c2w.wasm', ...args], dir, '/mnt/opfs', '/dev/null');
  return stdout;
}

/** The container command's status that the fixture prints (`C2WTEST: exit=N`), or null when it printed none. */
export function commandStatus(output: string): number | null {
  const m = /C2WTEST: exit=(\d+)/.exec(output);
  return m ? Number(m[1]) : null;
}

/** The console output without the kernel's lines (their times differ from run to run) and carriage returns. */
export function consoleLines(output: string): string[] {
  return output.replace(/\r/g, '').split('\n').filter((l) => !/^\[\s*\d+\.\d+\]/.test(l));
}
