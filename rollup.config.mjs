// `npm run build`: dist/ for hosting. Modules keep their relative layout, so the storage worker is
// found beside the code that starts it (new URL(..., import.meta.url)) from any base URL; npm
// packages are bundled in, since workers cannot use import maps.
import { nodeResolve } from '@rollup/plugin-node-resolve';

export default {
  input: { index: 'build/src/index.js', 'storage-worker': 'build/src/storage-worker.js' },
  output: {
    dir: 'dist',
    format: 'es',
    preserveModules: true,
    preserveModulesRoot: 'build/src',
    sourcemap: true,
  },
  plugins: [nodeResolve({ browser: true })],
};
