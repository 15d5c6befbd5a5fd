// WASI test programs: C sources in test/wasi, compiled when a test needs them with Debian's clang and
// wasi-libc (sysroot /usr: headers in /usr/include/wasm32-wasi, libc in /usr/lib/wasm32-wasi), into
// build/test/wasi. Also runs them under node:wasi, the oracle, in a child process (wasi-child.ts).

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 * The node command line that runs `wasm` under node:wasi in a child process, `dir` preopened as
 * `preopen`, with `args` (ARGV0 first). node:wasi's V8 fast calls are off: with them node 20
 * sometimes dies of SIGSEGV mid-run, depending on when the JIT optimizes (nodejs/node#53087),
 * as c2w.test.js's oracle did in CI and under load here.
 */
export function wasiChild(wasm: string, preopen: string, dir: string, args: string[]): string[] {
  return ['--no-warnings', '--no-turbo-fast-api-calls', join(repoRoot, 'build/test/node/support/wasi-child.js'), wasm, preopen, dir, ...args];
}

/**
 * Runs a compiled program under node:wasi with `dir` preopened as `preopen`, stdin read from the
 * file `stdin` (else this process's); returns its exit code and stdout.
 */
export async function runUnderNode(urlPath: string, args: string[], dir: string, preopen = '/mnt/opfs', stdin?: string): Promise<{ code: number; stdout: string }> {
  const outDir = mkdtempSync(join(tmpdir(), 'container-vm-wasi-out-'));
  const outFile = join(outDir, 'stdout.txt');
  const out = openSync(outFile, 'w');
  const input = stdin === undefined ? 'inherit' : openSync(stdin, 'r');
  try {
    const child = spawn(process.execPath, wasiChild(wasmPath(urlPath), preopen, dir, args), { stdio: [input, out, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    });
    if (code === null) throw new Error(`node:wasi running ${urlPath} died of ${signal}: ${stderr.slice(-2000)}`);
    return { code, stdout: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(out);
    if (typeof input === 'number') closeSync(input);
    rmSync(outDir, { recursive: true, force: true });
  }
}
