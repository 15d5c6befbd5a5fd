// Running a command line in a guest's shell on bench/guest/index.html (bench/browser/guest-page.ts),
// for the benchmarks that drive that page (guest.ts, idle.ts).

import type { Page } from 'puppeteer-core';
import type { CommandResult, GuestBenchApi, VmKind } from '../browser/guest-protocol.js';

declare const guestBench: GuestBenchApi;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command line in a VM's shell. Polls: one CDP call waiting for minutes would time out. */
export async function runInGuest(page: Page, kind: VmKind, command: string, timeoutMs = 600_000): Promise<CommandResult> {
  const id = await page.evaluate((k, c) => guestBench.send(k, c), kind, command);
  const started = Date.now();
  for (;;) {
    await sleep(100);
    const r = await page.evaluate((i) => guestBench.poll(i), id);
    if (r && 'error' in r) throw new Error(r.error);
    if (r) return r;
    if (Date.now() - started > timeoutMs) throw new Error(`${kind}: "${command}" did not finish in ${timeoutMs / 1000} s`);
  }
}
