// WASI test programs: C sources in test/wasi, compiled when a test needs them with Debian's clang and
// wasi-libc (sysroot /usr: headers in /usr/include/wasm32-wasi, libc in /usr/lib/wasm32-wasi), into
// build/test/wasi. Also runs them under node:wasi, the oracle.

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

const repoRoot = new URL('../../../../', import.meta.url).pathname;

/**
 * Compiles <dir>/<name>.c (if newer than its .wasm) into build/<dir>/<outName>.wasm, with extra
 * clang `flags`; returns the .wasm's URL path on the dev server.
 */
export function compileWasi(name: string, outName = name, flags: string[] = [], dir = 'test/wasi'): string {
  const source = join(repoRoot, dir, `${name}.c`);
  const outDir = join(repoRoot, 'build', dir);
  const wasm = join(outDir, `${outName}.wasm`);
  mkdirSync(outDir, { recursive: true });
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < statSync(source).mtimeMs) {
    try {
      execFileSync('clang', ['--target=wasm32-wasi', '--sysroot=/usr', '-O2', '-Wall -Wno-unused-result', ...flags, '-o', wasm, source], { stdio: 'pipe' });
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`could not compile ${source} for wasm32-wasi (needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32):\n${stderr || e}`);
    }
  }
  return `/build/${dir}/${outName}.wasm`;
}

export function wasmPath(urlPath: string): string {
  return join(repoRoot, urlPath);
}

/**
 * Runs a compiled program under node:wasi with `dir` preopened as `preopen`, stdin read from the
 * file `stdin` (else this process's); returns its exit code and stdout.
 */
export async function runUnderNode(urlPath: string, args: string[], dir: string, preopen = '/mnt/opfs', stdin?: string): Promise<{ code: number; stdout: string }> {
  const outDir = mkdtempSync(join(tmpdir(), 'container-vm-wasi-out-'));
  const outFile = join(outDir, 'stdout.txt');
  const fd = openSync(outFile, 'w');
  const input = stdin === undefined ? 0 : openSync(stdin, 'r');
  try {
    const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: { [preopen]: dir }, stdin: input, stdout: fd, returnOnExit: true });
    const module = await WebAssembly.compile(readFileSync(wasmPath(urlPath)));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    const code = wasi.start(instance);
    return { code, stdout: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(fd);
    if (input !== 0) closeSync(input);
    rmSync(outDir, { recursive: true, force: true });
  }
}
