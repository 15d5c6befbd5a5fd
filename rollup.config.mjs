// `npm run build`: dist/ for hosting on any base URL.
//   container-vm.js   the one module a page loads (defines <container-vm>)
//   index.js          the library API alone (StorageHost, ShareFs, S1, ...), for code that runs no element
//   storage-worker.js, v86-worker.js, v86.wasm, wasi-worker.js   found beside it through import.meta.url
//   l1.wasm           the L1 server, loaded by storage-worker.js from beside itself
//   chunk-*.js        code the entries share
//   container-vm-sw.js  optional classic script/service worker adding COOP/COEP on header-less hosts
// npm packages are bundled in: workers cannot use import maps.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { readFileSync } from 'node:fs';

/** Emits files the code loads by URL (not by import) next to the entries. */
function assets(files) {
  return {
    name: 'container-vm-assets',
    generateBundle() {
      for (const [fileName, from] of Object.entries(files)) this.emitFile({ type: 'asset', fileName, source: readFileSync(from) });
    },
  };
}

export default {
  input: {
    'container-vm': 'build/src/container-vm.js',
    index: 'build/src/index.js',
    'storage-worker': 'build/src/storage-worker.js',
    'v86-worker': 'build/src/v86-worker.js',
    'wasi-worker': 'build/src/wasi-worker.js',
  },
  output: {
    dir: 'dist',
    format: 'es',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunk-[hash].js',
    sourcemap: true,
  },
  plugins: [
    nodeResolve({ browser: true }),
    terser({ format: { comments: false } }),
    assets({ 'v86.wasm': 'node_modules/v86/build/v86.wasm', 'l1.wasm': 'build/src/l1.wasm', 'container-vm-sw.js': 'build/src/container-vm-sw.js' }),
  ],
};
