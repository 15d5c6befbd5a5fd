import { crossOriginIsolation } from './web-server-common.mjs';

export default {
  nodeResolve: true,
  open: false,
  port: Number(process.env.PORT ?? 8000),
  rootDir: '.',
  appIndex: 'demo/index.html',
  middleware: [crossOriginIsolation],
};
