import { chromeLauncher } from '@web/test-runner-chrome';
import { crossOriginIsolation, chromiumPath, chromiumFlags } from './web-server-common.mjs';

export default {
  nodeResolve: true,
  rootDir: '.',
  files: ['build/test/browser/**/*.test.js'],
  concurrency: 1,
  testFramework: { config: { timeout: 60000 } },
  testsFinishTimeout: 600000,
  browsers: [chromeLauncher({ launchOptions: { executablePath: chromiumPath, headless: true, args: chromiumFlags } })],
  middleware: [crossOriginIsolation],
};
