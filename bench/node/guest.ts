// The guest benchmark: the default x86 guest (guest/out) in headless Chromium (or Firefox), its persistent share
// (<container-vm>: v86 handle9p -> channel -> M1 over OPFS) side by side, in the same run, with v86's
// own in-memory 9p filesystem booting the same image, and the guest's RAM tmpfs as the floor.
//   1. page load to shell prompt, cold (fresh profile each);
//   2. per 9p cache mode of the share (none, the default; loose; mmap; fscache): dd of 16 MiB to and
//      from the share, bs=1M and bs=4k, and cat of 2,500 small files cold and warm, timed inside the guest;
//   3. what the guest agent's cache drop (after a page-side change) costs the next cat.
// Prints a markdown section and writes bench/results/guest.md (guest-firefox.md; raw numbers in .json).
//
//   npm run build:ts && node build/bench/node/guest.js [--boots 3] [--runs 3] [--files 2500] [--wait-load 1.0]
//     [--browser chromium|firefox] [--boots-only] [--modes none,loose]
//     (--boots-only: row 1 alone; --modes: those cache modes only, none and loose always traced)
//
// Times inside the guest come from busybox ash's $EPOCHREALTIME (a builtin: no fork), read before
// and after the command; Debian's busybox `date` has no %N and its dd prints no timing.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { BrowserName, RunningBrowser, launch, newProfileDir, removeProfileDir, startServer, Server } from '../../test/node/support/browser.js';
import type { BootResult, GuestBenchApi, VmKind } from '../browser/guest-protocol.js';
import { runInGuest } from './guest-command.js';
import { median } from './stats.js';

declare const guestBench: GuestBenchApi;

const MiB = 2 ** 20;
const DD_BYTES = 16 * MiB;
const PAGE = '/bench/guest/index.html';
const KINDS: VmKind[] = ['element', 'memory'];
const SHARE = '/mnt/opfs';
const TMP = '/tmp';

interface Options { boots: number; runs: number; files: number; waitLoad: number | null; browser: BrowserName; bootsOnly: boolean; modes: readonly Mode[] }

/** Every figure of one run, raw (seconds), for guest.json and the report. */
interface Results {
  browser: string;
  userAgent: string;
  date: string;
  machine: string;
  load: Record<string, number[]>;
  coldBootMs: Record<VmKind, number[]>;
  /** Boot time (boot() call to ready marker) of the VMs the measurements ran on. */
  measuredVmBootMs: Partial<Record<VmKind, number>>;
  mounts: Partial<Record<VmKind, string>>;
  /** key `${vm}:${what}` -> seconds per run, measured in the guest. */
  guest: Record<string, number[]>;
  /** The same commands timed on the page (send to end marker): a check on the guest's clock. */
  host: Record<string, number[]>;
  setupS: Record<string, number>;
  /** key `${vm}:${what}` -> the 9P traffic of one traced run (the kernel's 9p tracepoints). */
  traffic: Record<string, Traffic>;
  /** Cache modes the guest's kernel would not mount. */
  unmountable: string[];
  files: number;
}

/** One command's 9P messages as the guest's kernel saw them. */
interface Traffic {
  /** The command's own time in that traced run (tracing slows it). */
  seconds: number;
  messages: number;
  byType: Record<string, number>;
  /** Sum over messages of request to response, seconds. */
  roundTrips: number;
  /** Events the trace buffer lost (0 when it was big enough). */
  lost: number;
}

/** The browser and profile in use, so an interrupted run leaves neither behind. */
let current: { browser: RunningBrowser | null; profile: string } | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    current?.browser?.kill();
    if (current) removeProfileDir(current.profile);
    process.exit(130);
  });
}

/** The browser this run drives (--browser). */
let browserName: BrowserName = 'chromium';

/** Launches the browser on a fresh profile; close() also removes the profile. */
async function openPage(url: string): Promise<RunningBrowser> {
  current = { browser: null, profile: newProfileDir() };
  current.browser = await launch(current.profile, url, browserName);
  return current.browser;
}

async function closePage(): Promise<void> {
  const c = current;
  current = null;
  await c?.browser?.close();
  if (c) removeProfileDir(c.profile);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

function log(msg: string): void {
  console.error(`guest bench: ${msg} (load ${loadavg().join(' ')})`);
}

async function ok(page: Page, kind: VmKind, command: string): Promise<string> {
  const r = await runInGuest(page, kind, command);
  if (r.status !== 0) throw new Error(`${kind}: "${command}" exited ${r.status}: ${r.out}`);
  return r.out;
}

/** Seconds between two $EPOCHREALTIME values ("sec.usec"), in integers to keep the microseconds. */
function epochDiff(t0: string, t1: string): number {
  const [s0, u0] = t0.split('.').map(Number) as [number, number];
  const [s1, u1] = t1.split('.').map(Number) as [number, number];
  return (s1 - s0) + (u1 - u0) / 1e6;
}

/** Runs `command` between two reads of the guest's clock; returns guest and page seconds. */
async function timed(page: Page, kind: VmKind, command: string): Promise<{ guest: number; host: number }> {
  const r = await runInGuest(page, kind, `t0=$EPOCHREALTIME; ${command}; s=$?; t1=$EPOCHREALTIME; echo "@T $t0 $t1 $s"`);
  const m = /@T (\d+\.\d+) (\d+\.\d+) (\d+)/.exec(r.out);
  if (!m) throw new Error(`${kind}: no timing in the output of "${command}": ${r.out}`);
  if (m[3] !== '0') throw new Error(`${kind}: "${command}" exited ${m[3]}: ${r.out}`);
  return { guest: epochDiff(m[1]!, m[2]!), host: r.hostMs / 1000 };
}

async function waitForLowLoad(max: number): Promise<void> {
  const until = Date.now() + 10 * 60_000;
  while (os.loadavg()[0]! > max && Date.now() < until) {
    log(`waiting for the 1-minute load to fall below ${max}`);
    await sleep(15_000);
  }
}

/** Row 1: navigation start to the ready marker, each boot in a fresh browser profile. */
async function coldBoot(server: Server, kind: VmKind): Promise<number> {
  const b = await openPage(`${server.origin}${PAGE}?boot=${kind}`);
  try {
    const started = Date.now();
    for (;;) {
      await sleep(200);
      const a = await b.page.evaluate(() => guestBench.autoboot());
      if (a?.error) throw new Error(`${kind} boot failed: ${a.error}`);
      if (a?.result) return a.result.readyAt;
      if (Date.now() - started > 300_000) throw new Error(`${kind} did not boot in 300 s`);
    }
  } finally {
    await closePage();
  }
}

async function bootVm(page: Page, kind: VmKind): Promise<BootResult> {
  await page.evaluate((k) => guestBench.startBoot(k), kind);
  const started = Date.now();
  for (;;) {
    await sleep(500);
    const s = await page.evaluate((k) => guestBench.bootState(k), kind);
    if (s.error) throw new Error(`${kind} boot failed: ${s.error}`);
    if (s.result) return s.result;
    if (Date.now() - started > 300_000) throw new Error(`${kind} did not boot in 300 s; console tail: ${JSON.stringify(s.tail)}`);
  }
}

const TRACE = '/sys/kernel/tracing';
/**
 * busybox awk over the trace: pairs each 9p_client_req with the following 9p_client_res (one
 * shell command issues one request at a time) and sums the round trips per message type.
 */
const TRACE_AWK = `awk '$5 == "9p_client_req:" { t = $4 + 0; n++; c[$9]++; req = t } ` +
  `$5 == "9p_client_res:" { rt += ($4 + 0) - req } ` +
  `END { printf "@D %d %.6f", n, rt; for (k in c) printf " %s=%d", k, c[k]; print "" }'`;

async function startTracing(page: Page, kind: VmKind): Promise<void> {
  // 8 MiB of guest RAM: room for the ~65,000 events of the cat of 2,500 files.
  await ok(page, kind, `grep -q ' ${TRACE} ' /proc/mounts || mount -t tracefs nodev ${TRACE}; echo 8192 > ${TRACE}/buffer_size_kb; ls ${TRACE}/events/9p/9p_client_req >/dev/null`);
}

/** Runs `command` once with the 9p tracepoints on and counts its messages. */
async function traced(page: Page, kind: VmKind, command: string): Promise<Traffic> {
  const on = (v: number) => `echo ${v} > ${TRACE}/events/9p/9p_client_req/enable; echo ${v} > ${TRACE}/events/9p/9p_client_res/enable`;
  const out = await ok(page, kind, `echo > ${TRACE}/trace; ${on(1)}; t0=$EPOCHREALTIME; ${command}; t1=$EPOCHREALTIME; ${on(0)}; ` +
    `echo "@T $t0 $t1"; grep -m1 entries-in-buffer ${TRACE}/trace; ${TRACE_AWK} ${TRACE}/trace; echo > ${TRACE}/trace`);
  const t = /@T (\d+\.\d+) (\d+\.\d+)/.exec(out);
  const d = /@D (\d+) ([\d.]+)(.*)/.exec(out);
  const e = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(out);
  if (!t || !d) throw new Error(`${kind}: no trace summary for "${command}": ${out}`);
  const byType: Record<string, number> = {};
  for (const m of d[3]!.matchAll(/P9_T(\w+)=(\d+)/g)) byType[m[1]!] = Number(m[2]);
  return {
    seconds: epochDiff(t[1]!, t[2]!), messages: Number(d[1]), byType, roundTrips: Number(d[2]),
    lost: e ? Number(e[2]) - Number(e[1]) : 0,
  };
}

function record(res: Results, key: string, t: { guest: number; host: number }): void {
  (res.guest[key] ??= []).push(t.guest);
  (res.host[key] ??= []).push(t.host);
}

/** The 9p cache modes measured, the default (guest/rootfs/sbin/mount-opfs) first. */
const MODES = ['none', 'loose', 'mmap', 'fscache'] as const;
type Mode = typeof MODES[number];
const DEFAULT_MODE: Mode = 'none';
/** The mode with the fastest cat, whose page-side invalidation (the agent's drop) is measured. */
const CACHED_MODE: Mode = 'loose';
const dropCaches = 'sync; echo 3 > /proc/sys/vm/drop_caches';

/** Mounts the share again with this cache mode; false when the guest's kernel refuses it. */
async function remount(page: Page, kind: VmKind, mode: Mode): Promise<boolean> {
  const r = await runInGuest(page, kind, `cd / && umount ${SHARE} && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=${mode} host9p ${SHARE}`);
  if (r.status === 0) return true;
  log(`${kind}: cache=${mode} does not mount: ${r.out.trim()}`);
  await ok(page, kind, `grep -q ' ${SHARE} ' /proc/mounts || mount-opfs`);
  return false;
}

/** dd of 16 MiB to and from `dir` (bs=1M and 4k), caches dropped before each; keys `${prefix}:write|read:${bs}`. */
async function dd(page: Page, kind: VmKind, dir: string, prefix: string, res: Results): Promise<void> {
  for (const bs of ['1M', '4k']) {
    const count = DD_BYTES / (bs === '1M' ? MiB : 4096);
    const f = `${dir}/dd.bin`;
    await ok(page, kind, `rm -f ${f}; ${dropCaches}`);
    record(res, `${prefix}:write:${bs}`, await timed(page, kind, `dd if=/dev/zero of=${f} bs=${bs} count=${count} conv=fsync 2>/dev/null`));
    const size = (await ok(page, kind, `stat -c %s ${f}; ${dropCaches}`)).trim();
    if (Number(size) !== DD_BYTES) throw new Error(`${kind}: ${f} has ${size} bytes after dd, not ${DD_BYTES}`);
    record(res, `${prefix}:read:${bs}`, await timed(page, kind, `dd if=${f} of=/dev/null bs=${bs} 2>/dev/null`));
  }
  await ok(page, kind, `rm -f ${dir}/dd.bin`);
}

/** The cat of every file in `dir`/many after drop_caches (cold), then again (warm). */
async function cat(page: Page, kind: VmKind, dir: string, prefix: string, res: Results): Promise<void> {
  await ok(page, kind, dropCaches);
  record(res, `${prefix}:cat:cold`, await timed(page, kind, `cat ${dir}/many/* > /dev/null`));
  record(res, `${prefix}:cat:warm`, await timed(page, kind, `cat ${dir}/many/* > /dev/null`));
}

/** Every mode's dd and cat on one VM, the tmpfs floor beside them, and the traced runs. */
async function measure(page: Page, kind: VmKind, o: Options, res: Results): Promise<void> {
  res.mounts[kind] = (await ok(page, kind, `grep ' ${SHARE} ' /proc/mounts`)).trim();

  // What a timed command costs beyond its work: ash forking and exec'ing busybox.
  for (let i = 0; i < o.runs; i++) record(res, `${kind}:exec`, await timed(page, kind, 'dd if=/dev/zero of=/dev/null count=0 2>/dev/null'));

  log(`${kind}: creating ${o.files} files in ${SHARE}/many and ${TMP}/many`);
  for (const dir of [SHARE, TMP]) {
    // ash's printf is a builtin: one create + write + close per file, no fork. 100 bytes each.
    const made = await timed(page, kind,
      `mkdir -p ${dir}/many && cd ${dir}/many && i=0 && while [ $i -lt ${o.files} ]; do printf '%099d\\n' $i > f$i; i=$((i+1)); done; cd /`);
    res.setupS[`${kind}:create:${dir}`] = made.guest;
    const check = (await ok(page, kind, `ls ${dir}/many | wc -l; cat ${dir}/many/* | wc -c`)).trim().split(/\s+/).map(Number);
    if (check[0] !== o.files || check[1] !== o.files * 100) throw new Error(`${kind}: ${dir}/many has ${check[0]} files, ${check[1]} bytes`);
  }

  // Runs alternate between the modes, so that a change in the machine's load hits all alike.
  const modes = o.modes.filter((m) => !res.unmountable.includes(m));
  for (let i = 0; i < o.runs; i++) {
    log(`${kind}: run ${i + 1}/${o.runs}: dd and cat per cache mode`);
    for (const mode of [...modes]) {
      if (!await remount(page, kind, mode)) {
        modes.splice(modes.indexOf(mode), 1);
        if (!res.unmountable.includes(mode)) res.unmountable.push(mode);
        continue;
      }
      await dd(page, kind, SHARE, `${kind}:${mode}`, res);
      await cat(page, kind, SHARE, `${kind}:${mode}`, res);
    }
    await dd(page, kind, TMP, `${kind}:tmpfs`, res);
    await cat(page, kind, TMP, `${kind}:tmpfs`, res);
  }

  // Where the time goes: one traced run of each operation on the share, without and with the
  // guest's cache (not in the table).
  log(`${kind}: tracing 9P messages`);
  await startTracing(page, kind);
  for (const mode of [DEFAULT_MODE, CACHED_MODE]) {
    await remount(page, kind, mode);
    await ok(page, kind, dropCaches);
    res.traffic[`${kind}:${mode}:cat:cold`] = await traced(page, kind, `cat ${SHARE}/many/* > /dev/null`);
    res.traffic[`${kind}:${mode}:cat:warm`] = await traced(page, kind, `cat ${SHARE}/many/* > /dev/null`);
    for (const bs of ['1M', '4k']) {
      const count = DD_BYTES / (bs === '1M' ? MiB : 4096);
      await ok(page, kind, `rm -f ${SHARE}/dd.bin; ${dropCaches}`);
      res.traffic[`${kind}:${mode}:write:${bs}`] = await traced(page, kind, `dd if=/dev/zero of=${SHARE}/dd.bin bs=${bs} count=${count} conv=fsync 2>/dev/null`);
      await ok(page, kind, dropCaches);
      res.traffic[`${kind}:${mode}:read:${bs}`] = await traced(page, kind, `dd if=${SHARE}/dd.bin of=/dev/null bs=${bs} 2>/dev/null`);
    }
  }
  // What the guest agent's drop (the page changed the share) costs with the files cached:
  // the drop itself, and the cat after it.
  await remount(page, kind, CACHED_MODE);
  await ok(page, kind, `cat ${SHARE}/many/* > /dev/null`);
  for (let i = 0; i < o.runs; i++) {
    // As the agent does it (guest/rootfs/sbin/cvm-agent).
    record(res, `${kind}:drop`, await timed(page, kind, 'echo 2 > /proc/sys/vm/drop_caches; echo 2 > /proc/sys/vm/drop_caches'));
    record(res, `${kind}:${CACHED_MODE}:cat:afterDrop`, await timed(page, kind, `cat ${SHARE}/many/* > /dev/null`));
  }
  await remount(page, kind, DEFAULT_MODE);
  await ok(page, kind, `rm -rf ${SHARE}/many ${TMP}/many ${SHARE}/dd.bin`);
}

// ---- the report ----

const fmtS = (s: number) => (s >= 10 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : s.toFixed(3)) + ' s';
const mbps = (s: number) => `${(DD_BYTES / 1e6 / s).toFixed(1)} MB/s`;

function report(res: Results, o: Options): string {
  const g = (key: string) => res.guest[key];
  const med = (key: string) => median(g(key)!);
  const pooled = (what: string) => median(KINDS.flatMap((k) => g(`${k}:${what}`) ?? []));
  const lines: string[] = [];
  lines.push(
    `## Guest benchmark — ${res.date}`, '',
    `- Browser: ${res.browser} (headless), ${res.userAgent}`,
    `- Machine: ${res.machine}`,
    `- Load average (1, 5, 15 min): ${Object.entries(res.load).map(([when, l]) => `${when} ${l.join(' ')}`).join('; ')}`,
    `- Guest: guest/out (Linux 6.1 686, busybox), 128 MiB, same image, memory and kernel command line in both VMs. ` +
      `"container-vm" is the <container-vm> element: v86's handle9p -> SharedArrayBuffer channel -> M1 in the storage worker -> OPFS. ` +
      '"v86 in-memory" is v86 booted directly in a worker with `filesystem: {}` (its lib/9p.js over an in-memory store). Both in the same run.',
  );
  if (!o.bootsOnly) {
    lines.push(
      `- Share mount at boot (guest/rootfs/sbin/mount-opfs): container-vm \`${res.mounts.element ?? '?'}\`; v86 in-memory \`${res.mounts.memory ?? '?'}\`. ` +
        `Each mode's rows remount the share with \`cache=<mode>\` (msize 512000); the runs alternate between the modes.` +
        (res.unmountable.length ? ` Not measured: ${res.unmountable.map((m) => `cache=${m}`).join(', ')} (the guest's kernel refused the mount).` : ''),
      `- Medians of ${o.runs} runs, timed inside the guest with ash's $EPOCHREALTIME around the command (includes forking and exec'ing busybox: ` +
        `median ${fmtS(pooled('exec'))} for an empty dd). MB = 10^6 bytes. dd writes use conv=fsync; caches dropped (echo 3 > /proc/sys/vm/drop_caches) before every dd and every cold cat; ` +
        'the warm cat runs right after the cold one.',
      '- The tmpfs column is the same command on the guest\'s RAM disk: the guest\'s own cost (the floor).',
    );
  }
  lines.push('');
  const boot = (k: VmKind) => median(res.coldBootMs[k]) / 1000;
  const range = (xs: number[]) => `${(Math.min(...xs) / 1000).toFixed(1)}–${(Math.max(...xs) / 1000).toFixed(1)} s`;
  if (res.coldBootMs.element.length) {
    lines.push('| page load to shell prompt, cold, fresh profile | container-vm | v86 in-memory |', '|---|---:|---:|',
      `| median of ${res.coldBootMs.element.length} (range) | ${fmtS(boot('element'))} (${range(res.coldBootMs.element)}) | ` +
      `${res.coldBootMs.memory.length ? `${fmtS(boot('memory'))} (${range(res.coldBootMs.memory)})` : '—'} |`, '');
  }
  if (o.bootsOnly) return lines.join('\n') + '\n';

  // The targets: each mode's cat against v86's in-memory 9p as v86 mounts it (cache=none).
  const catOf = (k: VmKind, mode: string, w: string) => g(`${k}:${mode}:cat:${w}`) ? med(`${k}:${mode}:cat:${w}`) : NaN;
  const files = `${res.files.toLocaleString('en')} files of 100 bytes`;
  lines.push(`| target: cat of ${files} | container-vm | v86 in-memory 9p, cache=none | v86 in-memory ÷ container-vm | guest tmpfs (floor) | target | met |`,
    '|---|---:|---:|---:|---:|---|:-:|');
  for (const mode of [DEFAULT_MODE, CACHED_MODE]) {
    for (const w of ['cold', 'warm']) {
      const ours = catOf('element', mode, w);
      const theirs = catOf('memory', 'none', w);
      const met = ours <= 3 && theirs / ours >= 3;
      lines.push(`| cache=${mode}${mode === DEFAULT_MODE ? ' (default)' : ''}, ${w === 'warm' ? 'run again (warm)' : 'after drop_caches (cold)'} | ${fmtS(ours)} | ${fmtS(theirs)} | ${(theirs / ours).toFixed(2)}× | ` +
        `${fmtS(pooled(`tmpfs:cat:${w}`))} | ≤ 3 s and ≥ 3× | ${met ? 'yes' : '**no**'} |`);
    }
  }
  const afterDrop = g(`element:${CACHED_MODE}:cat:afterDrop`);
  if (afterDrop) {
    lines.push(`| cache=${CACHED_MODE}, after the agent's drop (\`echo 2 > /proc/sys/vm/drop_caches\`, twice: what a page-side change costs; the drop itself ${fmtS(med('element:drop'))}) | ` +
      `${fmtS(median(afterDrop))} | ${fmtS(catOf('memory', 'none', 'warm'))} | ${(catOf('memory', 'none', 'warm') / median(afterDrop)).toFixed(2)}× | | | |`);
  }
  lines.push('');

  // Every mode, both VMs, the floor.
  const measured = MODES.filter((m) => g(`element:${m}:cat:cold`) || g(`memory:${m}:cat:cold`));
  lines.push('| command | cache mode | container-vm share | v86 in-memory 9p | guest tmpfs (floor) |', '|---|---|---:|---:|---:|');
  const cell = (key: string, dd: boolean) => {
    if (!g(key)) return '—';
    const s = med(key);
    return dd ? `${mbps(s)} (${fmtS(s)})` : fmtS(s);
  };
  for (const w of ['cold', 'warm']) {
    for (const m of measured) {
      lines.push(`| cat ${files}, ${w} | ${m}${m === DEFAULT_MODE ? ' (default)' : ''} | ${cell(`element:${m}:cat:${w}`, false)} | ${cell(`memory:${m}:cat:${w}`, false)} | ${fmtS(pooled(`tmpfs:cat:${w}`))} |`);
    }
  }
  for (const op of ['write', 'read'] as const) {
    for (const bs of ['1M', '4k']) {
      for (const m of measured) {
        lines.push(`| dd ${op} 16 MiB, bs=${bs} | ${m}${m === DEFAULT_MODE ? ' (default)' : ''} | ${cell(`element:${m}:${op}:${bs}`, true)} | ${cell(`memory:${m}:${op}:${bs}`, true)} | ` +
          `${mbps(pooled(`tmpfs:${op}:${bs}`))} (${fmtS(pooled(`tmpfs:${op}:${bs}`))}) |`);
      }
    }
  }
  lines.push('');

  if (Object.keys(res.traffic).length) {
    lines.push('Where the time goes: one more run of each operation on the share with the guest kernel\'s 9p tracepoints on ' +
      '(9p_client_req/res). Round trip = request to response as the guest\'s 9P client sees it (transport and server); ' +
      'the rest of the time is the guest\'s own work. Tracing slows the guest, so read the shares and counts rather than the times.', '',
      '| operation | cache mode | VM | 9P messages | messages by type | mean round trip | time in round trips |', '|---|---|---|---:|---|---:|---:|');
    const ops: [string, string][] = [['cat:cold', `cat of ${res.files.toLocaleString('en')} files, cold`], ['cat:warm', 'the same cat, warm'],
      ['write:1M', 'dd write bs=1M'], ['write:4k', 'dd write bs=4k'], ['read:1M', 'dd read bs=1M'], ['read:4k', 'dd read bs=4k']];
    for (const [op, label] of ops) {
      for (const m of [DEFAULT_MODE, CACHED_MODE]) {
        for (const k of KINDS) {
          const t = res.traffic[`${k}:${m}:${op}`];
          if (!t) continue;
          const types = Object.entries(t.byType).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ');
          const lost = t.lost ? ` (trace lost ${t.lost} events)` : '';
          lines.push(`| ${label} | ${m} | ${k === 'element' ? 'container-vm' : 'v86 in-memory'} | ${t.messages.toLocaleString('en')}${lost} | ${types} | ` +
            `${t.messages ? (t.roundTrips / t.messages * 1e6).toFixed(0) : '—'} µs | ${(t.roundTrips / t.seconds * 100).toFixed(0)}% of ${fmtS(t.seconds)} |`);
        }
      }
    }
    lines.push('');
  }

  // Spread and the page-side check on the guest's clock.
  lines.push('<details><summary>Every run (guest seconds; page-side send-to-marker seconds in brackets)</summary>', '', '| key | runs |', '|---|---|');
  for (const key of Object.keys(res.guest)) {
    lines.push(`| ${key} | ${res.guest[key]!.map((s, i) => `${s.toFixed(3)} [${res.host[key]![i]!.toFixed(3)}]`).join(', ')} |`);
  }
  lines.push('', `Cold boots (ms from navigation start): element ${res.coldBootMs.element.map((x) => x.toFixed(0)).join(', ')}; ` +
    `in-memory ${res.coldBootMs.memory.map((x) => x.toFixed(0)).join(', ')}. VMs used for the measurements booted in ` +
    `${Object.entries(res.measuredVmBootMs).map(([k, ms]) => `${k} ${(ms! / 1000).toFixed(1)} s`).join(', ')}.`);
  lines.push('', `Creating the files (not timed in the table): ${Object.entries(res.setupS).map(([k, s]) => `${k} ${fmtS(s)}`).join(', ')}.`, '', '</details>', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    boots: { type: 'string' }, runs: { type: 'string' }, files: { type: 'string' }, 'wait-load': { type: 'string' },
    browser: { type: 'string' }, 'boots-only': { type: 'boolean' }, modes: { type: 'string' },
  } });
  const modes = values.modes === undefined ? MODES : values.modes.split(',') as Mode[];
  const unknown = modes.filter((m) => !MODES.includes(m));
  if (unknown.length) throw new Error(`--modes: unknown cache mode ${unknown.join(', ')} (known: ${MODES.join(', ')})`);
  const o: Options = {
    boots: Number(values.boots ?? 3),
    runs: Number(values.runs ?? 3),
    files: Number(values.files ?? 2500),
    waitLoad: values['wait-load'] === undefined ? null : Number(values['wait-load']),
    browser: (values.browser ?? 'chromium') as BrowserName,
    bootsOnly: values['boots-only'] ?? false,
    modes,
  };
  browserName = o.browser;
  if (!existsSync(new URL('../../../guest/out/manifest.json', import.meta.url))) {
    throw new Error('guest/out/manifest.json is missing: build the guest first (bash guest/build.sh)');
  }
  if (o.waitLoad !== null) await waitForLowLoad(o.waitLoad);
  const cpu = os.cpus();
  const res: Results = {
    browser: '', userAgent: '', date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`,
    load: { start: loadavg() }, coldBootMs: { element: [], memory: [] }, measuredVmBootMs: {}, mounts: {},
    guest: {}, host: {}, setupS: {}, traffic: {}, unmountable: [], files: o.files,
  };
  const server = await startServer();
  try {
    // Row 1, alternating the two VMs so a change in the machine's load hits both alike.
    for (let i = 0; i < o.boots; i++) {
      for (const kind of KINDS) {
        log(`cold boot ${i + 1}/${o.boots}: ${kind}`);
        res.coldBootMs[kind].push(await coldBoot(server, kind));
      }
    }
    res.load.afterBoots = loadavg();

    const b = await openPage(`${server.origin}${PAGE}`);
    try {
      res.browser = await b.browser.version();
      res.userAgent = await b.page.evaluate(() => guestBench.userAgent());
      // One VM at a time: both share this machine's two cores.
      for (const kind of o.bootsOnly ? [] : KINDS) {
        log(`booting ${kind} for the measurements`);
        res.measuredVmBootMs[kind] = (await bootVm(b.page, kind)).bootMs;
        await measure(b.page, kind, o, res);
        await b.page.evaluate((k) => guestBench.stop(k), kind);
        res.load[`after ${kind}`] = loadavg();
      }
    } finally {
      await closePage();
    }
  } finally {
    await server.stop();
  }
  const md = report(res, o);
  const outDir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(outDir, { recursive: true });
  const name = o.browser === 'chromium' ? 'guest' : `guest-${o.browser}`;
  writeFileSync(new URL(`${name}.md`, outDir), md);
  writeFileSync(new URL(`${name}.json`, outDir), JSON.stringify(res, null, 1));
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
