// The container2wasm fixture under node:wasi, in a process of its own so that the benchmark can
// measure its CPU time and talk to its console through pipes:
//   node --no-warnings build/bench/node/c2w-wasi-child.js IMAGE DIR [ARGS...]
// DIR is preopened as /mnt/opfs; stdin, stdout and stderr are this process's.

import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [image, dir, ...args] = process.argv.slice(2);
if (!image || !dir) {
  console.error('usage: c2w-wasi-child.js IMAGE DIR [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: ['c2w.wasm', ...args], env: {}, preopens: { '/mnt/opfs': dir }, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(image));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
process.exit(wasi.start(instance));
