// A WASI program under node:wasi, in a process of its own (the oracle for tests, the reference host
// for benchmarks). Started by wasiChild() in wasi.ts, which adds the flags it needs:
//   node --no-turbo-fast-api-calls wasi-child.js WASM PREOPEN DIR ARGV0 [ARGS...]
// DIR is preopened as PREOPEN; stdin, stdout and stderr are this process's; the exit code is the
// program's.

import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [wasm, preopen, dir, ...args] = process.argv.slice(2);
if (!wasm || !preopen || !dir || args.length === 0) {
  console.error('usage: wasi-child.js WASM PREOPEN DIR ARGV0 [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: { [preopen]: dir }, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(wasm));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
process.exit(wasi.start(instance));
