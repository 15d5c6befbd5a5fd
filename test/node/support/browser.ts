// Launching Debian's Chromium and the dev server for tests and benchmarks that run from node:
// ones that relaunch the browser with the same profile, kill it, or compare with node's fs.

import { startDevServer } from '@web/dev-server';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs module shared with the web-dev-server and test-runner configs.
import { crossOriginIsolation, chromiumPath, chromiumFlags, firefoxPath } from '../../../../web-server-common.mjs';

export type BrowserName = 'chromium' | 'firefox';

/**
 * The browsers the node tests that matter most to users run in (guest boot, page and guest files,
 * relaunch, the wasi engine): Debian's Chromium and Firefox ESR. BROWSERS=chromium picks one.
 */
export const testBrowsers = (process.env.BROWSERS ?? 'chromium,firefox').split(',') as BrowserName[];

const repoRoot = new URL('../../../../', import.meta.url).pathname;

export interface Server {
  origin: string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Send COOP/COEP (default true); false serves the page as a plain static host would. */
  isolation?: boolean;
  /** URL prefixes served from other folders of the repository: [['/apps/vm/', '/dist/']]. */
  rewrite?: [from: string, to: string][];
  /** Called for every request once answered, with the status and the body's length when known. */
  onResponse?: (url: string, status: number, bytes: number | undefined, method: string) => void;
  /** Headers added to every response (a CDN's CORS headers, say). */
  headers?: Record<string, string>;
  /** The folder served (default: the repository). */
  rootDir?: string;
  /** The host name in `origin` (default localhost; 127.0.0.1 makes a second site). */
  host?: string;
}

/** Serves the repository (built files included), by default with COOP/COEP, on a free port. */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const rewrite = async (ctx: { url: string }, next: () => Promise<unknown>) => {
    for (const [from, to] of options.rewrite ?? []) if (ctx.url.startsWith(from)) ctx.url = to + ctx.url.slice(from.length);
    return next();
  };
  const log = async (ctx: { url: string; method: string; status: number; length?: number }, next: () => Promise<unknown>) => {
    const url = ctx.url;
    await next();
    options.onResponse?.(url, ctx.status, ctx.length, ctx.method);
  };
  const addHeaders = async (ctx: { set(name: string, value: string): void }, next: () => Promise<unknown>) => {
    await next();
    for (const [name, value] of Object.entries(options.headers ?? {})) ctx.set(name, value);
  };
  const middleware = [log, rewrite, addHeaders, ...(options.isolation === false ? [] : [crossOriginIsolation])];
  const server = await startDevServer({
    config: { rootDir: options.rootDir ?? repoRoot, port: 0, nodeResolve: true, middleware },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  const address = server.server!.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { origin: `http://${options.host ?? 'localhost'}:${port}`, stop: async () => { await server.stop(); } };
}

export function newProfileDir(): string {
  return mkdtempSync(join(tmpdir(), 'container-vm-profile-'));
}

export function removeProfileDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RunningBrowser {
  browser: Browser;
  page: Page;
  /** Closes the browser normally (profile written out). */
  close(): Promise<void>;
  /** SIGKILLs the browser's whole process group, as a crash would. */
  kill(): void;
}

// Browsers still running when this process exits (a test that failed or timed out before it
// closed its own) are killed with their process groups, so none outlives the test run.
const running = new Set<Browser>();
process.on('exit', () => { for (const browser of running) killProcessGroup(browser); });

function killProcessGroup(browser: Browser): void {
  const pid = browser.process()?.pid;
  if (!pid) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ } }
}

/**
 * Launches Chromium (or Firefox, over WebDriver BiDi) headless on `profileDir` (reuse it to test
 * persistence) and opens `url`.
 */
export async function launch(profileDir: string, url: string, name: BrowserName = 'chromium'): Promise<RunningBrowser> {
  const signals = { handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false };
  const browser = name === 'firefox'
    ? await puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath, headless: true, userDataDir: profileDir, ...signals })
    : await puppeteer.launch({
        executablePath: chromiumPath,
        ignoreDefaultArgs: true,
        args: ['--headless', ...chromiumFlags, `--user-data-dir=${profileDir}`, 'about:blank'],
        ...signals,
      });
  running.add(browser);
  browser.on('disconnected', () => running.delete(browser));
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') console.error('page console:', m.text()); });
  await page.goto(url);
  return {
    browser,
    page,
    close: () => browser.close(),
    kill: () => killProcessGroup(browser),
  };
}

/** Opens the test harness page and waits until window.harness is there. */
export async function openHarness(profileDir: string, server: Server, name: BrowserName = 'chromium'): Promise<RunningBrowser> {
  const b = await launch(profileDir, `${server.origin}/test/pages/harness.html`, name);
  await b.page.waitForFunction('globalThis.harness !== undefined', { timeout: 30000 });
  return b;
}

/** Opens the element test page (window.vmHarness); `query` as in test/pages/element.html. */
export async function openElementPage(profileDir: string, server: Server, name: BrowserName = 'chromium', query = ''): Promise<RunningBrowser> {
  const b = await launch(profileDir, `${server.origin}/test/pages/element.html${query}`, name);
  await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
  return b;
}

/**
 * Hides or shows the page as minimizing its window does: document.hidden changes and
 * visibilitychange fires (Chromium; headless too). Resolves once the page sees it.
 */
export async function setPageHidden(page: Page, hidden: boolean): Promise<void> {
  const cdp = await page.createCDPSession();
  try {
    const { windowId } = await cdp.send('Browser.getWindowForTarget');
    await cdp.send('Browser.setWindowBounds', { windowId, bounds: { windowState: hidden ? 'minimized' : 'normal' } });
  } finally {
    await cdp.detach();
  }
  await page.waitForFunction((h) => document.hidden === h, { timeout: 10000 }, hidden);
}

/** Whether the page's browser has JSPI, which backend="l1" needs (Firefox ESR 140 has none). */
export function hasJspi(b: RunningBrowser): Promise<boolean> {
  return b.page.evaluate(() => typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function');
}
