import { chromeLauncher, puppeteerCore } from '@web/test-runner-chrome';
import { crossOriginIsolation, chromiumPath, chromiumFlags, firefoxPath } from './web-server-common.mjs';

// Every browser test file runs in Debian's Chromium and in Debian's Firefox ESR (driven by
// puppeteer-core over WebDriver BiDi). BROWSERS=chromium or BROWSERS=firefox runs one of them.
const wanted = (process.env.BROWSERS ?? 'chromium,firefox').split(',');
const launchers = {
  chromium: () => chromeLauncher({ launchOptions: { executablePath: chromiumPath, headless: true, args: chromiumFlags } }),
  firefox: () => chromeLauncher({
    puppeteer: puppeteerCore,
    launchOptions: { browser: 'firefox', executablePath: firefoxPath, headless: true },
    createPage: firefoxPage,
  }),
};

// The launcher sizes each page with setViewport, which Firefox ESR 140's WebDriver BiDi cannot do
// (no emulation.setScreenOrientationOverride); its headless window size is used instead.
async function firefoxPage({ context }) {
  const page = await context.newPage();
  page.setViewport = async () => undefined;
  return page;
}

export default {
  nodeResolve: true,
  rootDir: '.',
  files: ['build/test/browser/**/*.test.js'],
  concurrency: 1,
  concurrentBrowsers: 1,
  testFramework: { config: { timeout: 60000 } },
  testsFinishTimeout: 600000,
  browsers: wanted.map((name) => launchers[name]()),
  middleware: [crossOriginIsolation],
};
