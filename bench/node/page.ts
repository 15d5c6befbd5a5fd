// What a page with <container-vm> downloads: the files the browser fetches from dist/ and guest/out
// before the terminal shows, and before the guest's prompt (vm-ready), with their sizes raw and
// gzip-compressed (as a server or CDN would send them). Cold: a fresh profile, no HTTP cache.
//
//   npm run build && node build/bench/node/page.js [--browser chromium|firefox]

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BrowserName, launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import type { VmHarness } from '../../test/browser/pages/element-harness.js';

declare const vmHarness: VmHarness;

const repo = new URL('../../../', import.meta.url).pathname;

interface Fetched { path: string; at: number; raw: number; gzip: number }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { browser: { type: 'string' } } });
  const browser = (values.browser ?? 'chromium') as BrowserName;
  if (!existsSync(`${repo}dist/container-vm.js`)) throw new Error('dist/ is missing: run npm run build first');
  const fetched: Fetched[] = [];
  const server = await startServer({
    onResponse: (url, status) => {
      const path = url.split('?')[0]!;
      if (status !== 200 || !/^\/(dist|guest\/out)\//.test(path)) return;
      const body = readFileSync(`${repo}${path.slice(1)}`);
      fetched.push({ path, at: Date.now(), raw: body.length, gzip: gzipSync(body).length });
    },
  });
  const profile = newProfileDir();
  try {
    const b = await launch(profile, `${server.origin}/test/pages/element.html?module=/dist/container-vm.js`, browser);
    try {
      await b.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 30000 });
      const started = Date.now();
      await b.page.evaluate(() => vmHarness.create({ src: '/guest/out/manifest.json', 'opfs-root': '/page-bench' }));
      await b.page.waitForFunction('document.querySelector("container-vm")?.shadowRoot?.querySelector(".xterm-screen") != null', { polling: 10 });
      const terminalAt = Date.now();
      const ready = await b.page.evaluate(() => vmHarness.waitForEvent('vm-ready', 180000)) as { type: string };
      if (ready.type !== 'vm-ready') throw new Error(`the guest did not boot: ${JSON.stringify(ready)}`);
      const readyAt = Date.now();
      console.log(report(await b.browser.version(), fetched, started, terminalAt, readyAt));
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
    removeProfileDir(profile);
  }
}

function report(version: string, fetched: Fetched[], started: number, terminalAt: number, readyAt: number): string {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  const sum = (fs: Fetched[], k: 'raw' | 'gzip') => fs.reduce((s, f) => s + f[k], 0);
  const beforeTerminal = fetched.filter((f) => f.at <= terminalAt);
  const beforePrompt = fetched.filter((f) => f.at <= readyAt);
  const cpu = os.cpus();
  const lines = [
    `## What a page downloads — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '',
    `- Browser: ${version} (headless), fresh profile; dist/ from \`npm run build\`, the default guest from guest/out`,
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '- gzip: each file compressed alone with zlib\'s default level, as a server or CDN sends it', '',
    '| moment | files | raw | gzip | time from create() |',
    '|---|---:|---:|---:|---:|',
    `| the terminal shows | ${beforeTerminal.length} | ${kb(sum(beforeTerminal, 'raw'))} | ${kb(sum(beforeTerminal, 'gzip'))} | ${((terminalAt - started) / 1000).toFixed(2)} s |`,
    `| the prompt (vm-ready) | ${beforePrompt.length} | ${kb(sum(beforePrompt, 'raw'))} | ${kb(sum(beforePrompt, 'gzip'))} | ${((readyAt - started) / 1000).toFixed(2)} s |`,
    '', '| file | raw | gzip | before |', '|---|---:|---:|---|',
    ...beforePrompt.map((f) => `| ${f.path} | ${kb(f.raw)} | ${kb(f.gzip)} | ${f.at <= terminalAt ? 'terminal' : 'prompt'} |`),
  ];
  const out = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('page.md', out), lines.join('\n') + '\n');
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
