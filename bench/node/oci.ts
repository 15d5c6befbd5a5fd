// The OCI benchmark (issue 15): the Debian 12 fixture (test/oci/out/debian/, test/oci/build.sh:
// minbase + python3-minimal, one layer) as the root file system of the default guest (guest/out),
// in <container-vm> in headless Chromium, on M1 and L1:
//   - first start: a fresh profile (cold HTTP cache, empty OPFS): download, unpack, boot to
//     vm-ready, with the unpack apart (the element's progress events); floor: the page fetching
//     and gunzipping the layer (no HTTP cache), in the same browser;
//   - later starts: the same profile, the root unpacked; floor: the default guest without an image
//     booted to its prompt (same kernel, initramfs and memory);
//   - in the booted guest, timed inside with bash's $EPOCHREALTIME: `python3 -c pass` first after
//     the boot (cold) and again (warm), `dpkg -l | wc -l`;
//   - the root's 9p cache mode (p9.cache on the kernel command line, guest/rootfs/sbin/oci-run):
//     each boot asks for one through a copy of the guest's manifest; the modes take turns, in an
//     order that turns round by round;
//   - the floor, in the same boot: the same tree in the guest's RAM (a tmpfs, extracted from the
//     image's layer), the same commands in a chroot there. The guest needs more memory for it than
//     the default 128 MiB, so every 9P row runs with that memory too (--memory), and round 1 boots
//     the first mode once more with the default guest's memory, to show what the memory changes;
//   - an edit in /etc made just before the browser closes: still there at the next start or not,
//     for each cache mode (the reason the root is not at cache=loose);
//   - where the 9P messages go: one more run of each command with the guest kernel's 9p, syscall
//     and page-fault tracepoints on (round 1, the first backend).
// Prints a markdown report and writes bench/results/oci.md and oci.json.
//
//   npm run bench:oci -- [--first-starts 3] [--rounds 2] [--warm 3] [--modes none,mmap,loose]
//     [--backends m1,l1] [--memory 512] [--no-floor] [--no-default-memory] [--no-trace] [--wait-load 3]
// (--wait-load: before each browser launch, wait up to 3 minutes for the 1-minute load average to
// fall below it; on a shared machine the guest's times follow the load.)

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RunningBrowser, Server, launch, newProfileDir, removeProfileDir, startServer } from '../../test/node/support/browser.js';
import type { VmHarness } from '../../test/browser/pages/element-harness.js';
import { median } from './stats.js';

declare const vmHarness: VmHarness;

const { values } = parseArgs({
  options: {
    'first-starts': { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' }, warm: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'none,mmap,loose' }, backends: { type: 'string', default: 'm1,l1' },
    memory: { type: 'string', default: '512' }, 'no-floor': { type: 'boolean', default: false },
    'no-default-memory': { type: 'boolean', default: false }, 'no-trace': { type: 'boolean', default: false },
    'wait-load': { type: 'string' },
  },
});
const FIRST_STARTS = Number(values['first-starts']);
const ROUNDS = Number(values.rounds);
const WARM = Number(values.warm);
const MODES = values.modes.split(',');
const BACKENDS = values.backends.split(',');
const MEMORY = Number(values.memory);
const WAIT_LOAD = values['wait-load'] === undefined ? null : Number(values['wait-load']);

const repo = new URL('../../../', import.meta.url).pathname;
const IMAGE = '/test/oci/out/debian/';
const OPFS_ROOT = '/oci-bench';
const PLAIN_ROOT = '/oci-bench-plain';
/** The default guest's memory (MiB): the boots that show what the bench's memory changes use it. */
const DEFAULT_MEMORY = (JSON.parse(readFileSync(join(repo, 'guest/out/manifest.json'), 'utf8')) as { memory: number }).memory;
/** The image's layer, uncompressed, in the share (the RAM floor is extracted from it). */
const TAR = 'oci-bench-root.tar';
/** The RAM copy of the tree, in the root's /dev (this boot's devtmpfs): nothing of it reaches OPFS. */
const RAM = '/dev/oci-bench-ram';
const MARK = '/etc/oci-bench-mark';
const TRACE_SCRIPT = 'oci-bench-trace.sh';
const BOOT_TIMEOUT_MS = 900_000;
const COMMANDS = { python: 'python3 -c pass', dpkg: 'dpkg -l | wc -l' } as const;
type Command = keyof typeof COMMANDS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const log = (msg: string) => console.error(`oci bench: ${msg} (load ${loadavg().join(' ')})`);

/** One boot of the image: where its time went, and the commands' seconds in the guest. */
interface Boot {
  backend: string;
  mode: string;
  round: number;
  load: number;
  /** ms from the element's creation to vm-ready. */
  readyMs: number;
  /** The mark the previous boot of this profile left in /etc, as written and as found. */
  mark: { mode: string; kept: boolean } | null;
  /** `${command}` -> seconds of each run, the first right after the boot. */
  runs: Partial<Record<Command, number[]>>;
  /** The same in the RAM copy (the boot that measured the floor). */
  floor?: { setupS: number; tarBytes: number; runs: Partial<Record<Command, number[]>> };
  /** dpkg -l | wc -l's output: the same tree gives the same count. */
  dpkgLines: number[];
}

interface FirstStart {
  backend: string;
  load: number;
  readyMs: number;
  /** ms from creation to the first and the last unpack progress event; the layers' stored bytes. */
  unpackFromMs: number;
  unpackToMs: number;
  unpackBytes: number;
  /** The floor: fetch (no HTTP cache) and gunzip of the layer in the page: ms, bytes out. */
  fetchGunzipMs: number;
  layerBytes: number;
}

interface Traffic {
  seconds: number;
  messages: number;
  roundTrips: number;
  lost: number;
  byType: Record<string, number>;
  /** syscall (or "page fault", "other") -> calls, messages, messages by type. */
  bySource: Record<string, { calls: number; messages: number; byType: Record<string, number> }>;
}

interface Results {
  date: string;
  browser: string;
  machine: string;
  options: { firstStarts: number; rounds: number; warm: number; modes: string[]; backends: string[]; memoryMiB: number };
  load: Record<string, number[]>;
  firstStarts: FirstStart[];
  boots: Boot[];
  /** The default guest without an image: ms from creation to its prompt, per backend. */
  plainMs: Record<string, number[]>;
  /** `${mode}:${command}` -> traffic of one traced warm run. */
  traffic: Record<string, Traffic>;
  /** The kernel's read-ahead for the 9p mount (KiB), per mode, as the guest reported it. */
  readAheadKb: Record<string, number>;
  minutes: number;
}

// ---- the browser, the element and the guest's shell ----

let browserVersion = '';

/** The browser and profile in use, so an interrupted run leaves neither behind. */
let current: { browser: RunningBrowser | null; profile: string } | null = null;
const profiles = new Set<string>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    current?.browser?.kill();
    for (const p of profiles) removeProfileDir(p);
    process.exit(130);
  });
}

async function openPage(server: Server, profile: string): Promise<RunningBrowser> {
  for (const until = Date.now() + 180_000; WAIT_LOAD !== null && os.loadavg()[0]! > WAIT_LOAD && Date.now() < until; await sleep(10_000)) {
    log(`waiting for the load to fall below ${WAIT_LOAD}`);
  }
  profiles.add(profile);
  current = { browser: null, profile };
  current.browser = await launch(profile, `${server.origin}/test/pages/element.html`);
  await current.browser.page.waitForFunction('globalThis.vmHarness !== undefined', { timeout: 60000 });
  browserVersion ||= await current.browser.browser.version();
  return current.browser;
}

/** Closes the browser at once, the VM running (as a user closing the tab would). */
async function closePage(): Promise<void> {
  const c = current;
  current = null;
  await c?.browser?.close();
}

function dropProfile(profile: string): void {
  removeProfileDir(profile);
  profiles.delete(profile);
}

/** Creates the element and waits for vm-ready; returns ms from creation. Polls: no CDP call may wait minutes. */
async function boot(b: RunningBrowser, attributes: Record<string, string>): Promise<number> {
  await b.page.evaluate((a) => vmHarness.create(a), attributes);
  const started = Date.now();
  for (;;) {
    const ready = await b.page.evaluate(() => vmHarness.eventTime('vm-ready'));
    if (ready !== null) return ready;
    const error = await b.page.evaluate(() => vmHarness.events().find((e) => e.type === 'error'));
    if (error) throw new Error(`the element failed: ${JSON.stringify(error.detail)}`);
    if (Date.now() - started > BOOT_TIMEOUT_MS) throw new Error('no vm-ready');
    await sleep(250);
  }
}

type RunResult = { out: string; status: number } | { error: string } | null;

/** Runs a command line in the guest's shell; polls for its end. */
async function run(b: RunningBrowser, command: string, timeoutMs = 1_800_000): Promise<string> {
  const id = await b.page.evaluate((c, t) => {
    const g = globalThis as unknown as { ociBenchRuns?: RunResult[] };
    const runs = (g.ociBenchRuns ??= []);
    const i = runs.push(null) - 1;
    vmHarness.run(c, t).then((r) => { runs[i] = r; }, (e: unknown) => { runs[i] = { error: String(e) }; });
    return i;
  }, command, timeoutMs);
  for (;;) {
    await sleep(100);
    const r = await b.page.evaluate((i) => (globalThis as unknown as { ociBenchRuns: RunResult[] }).ociBenchRuns[i], id);
    if (r && 'error' in r) throw new Error(`"${command}": ${r.error}`);
    if (r && r.status !== 0) throw new Error(`"${command}" exited ${r.status}: ${r.out.slice(-2000)}`);
    if (r) return r.out;
  }
}

/** Seconds between two $EPOCHREALTIME values ("sec.usec"), in integers to keep the microseconds. */
function epochDiff(t0: string, t1: string): number {
  const [s0, u0] = t0.split('.').map(Number) as [number, number];
  const [s1, u1] = t1.split('.').map(Number) as [number, number];
  return (s1 - s0) + (u1 - u0) / 1e6;
}

/** A command between two reads of bash's clock (a builtin: no fork), its output kept. */
const clocked = (command: string) => `t0=$EPOCHREALTIME; ${command}; s=$?; t1=$EPOCHREALTIME; echo "@T $t0 $t1 $s"`;

function parseClocked(out: string, command: string): { seconds: number; out: string } {
  const m = /@T (\d+\.\d+) (\d+\.\d+) (\d+)/.exec(out);
  if (!m) throw new Error(`no timing in the output of "${command}": ${out}`);
  if (m[3] !== '0') throw new Error(`"${command}" exited ${m[3]}: ${out}`);
  return { seconds: epochDiff(m[1]!, m[2]!), out: out.slice(0, m.index) };
}

/**
 * Each command, `python3 -c pass` first (the first right after the boot is the cold run), on the
 * 9P root or, with `ram`, in a chroot in the RAM copy (a bash of its own per command, started
 * before the clock; the commands hold no single quote).
 */
async function commands(b: RunningBrowser, into: Partial<Record<Command, number[]>>, dpkgLines: number[], ram: boolean): Promise<void> {
  for (const [name, times] of [['python', WARM + 1], ['dpkg', WARM]] as [Command, number][]) {
    for (let i = 0; i < times; i++) {
      const line = ram ? `chroot ${RAM} /bin/bash -c '${clocked(COMMANDS[name])}'` : clocked(COMMANDS[name]);
      const r = parseClocked(await run(b, line), COMMANDS[name]);
      (into[name] ??= []).push(r.seconds);
      if (name === 'dpkg') dpkgLines.push(Number(r.out.trim()));
    }
  }
}

// ---- the floors ----

/** The image's (only) layer, from its layout in test/oci/out/debian/. */
function layerUrl(): string {
  const dir = join(repo, IMAGE);
  const blob = (digest: string) => JSON.parse(readFileSync(join(dir, 'blobs/sha256', digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const layers = blob(index.manifests[0]!.digest).layers;
  if (layers.length !== 1) throw new Error(`the fixture has ${layers.length} layers; the RAM floor extracts one`);
  return `${IMAGE}blobs/sha256/${layers[0]!.digest.slice(7)}`;
}

/** The page fetching (no HTTP cache) and gunzipping the layer, the bytes dropped: the floor of unpacking. */
function fetchGunzip(b: RunningBrowser, url: string): Promise<{ ms: number; bytes: number }> {
  return b.page.evaluate(async (u) => {
    const t = performance.now();
    const reader = (await fetch(u, { cache: 'no-store' })).body!.pipeThrough(new DecompressionStream('gzip')).getReader();
    let bytes = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
    return { ms: performance.now() - t, bytes };
  }, url);
}

/**
 * The same tree in the guest's RAM: the layer, uncompressed by the page into the share, extracted
 * into a tmpfs with the kernel's file systems bound in as oci-run binds them. (Copying the 9P root
 * with cp -a took over 3 minutes: 9,400 files read through 9P; one tar file reads in seconds.)
 */
async function ramCopy(b: RunningBrowser, url: string): Promise<{ setupS: number; tarBytes: number }> {
  const tarBytes = await b.page.evaluate(async (u, name) => {
    const data = new Uint8Array(await new Response((await fetch(u)).body!.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
    await vmHarness.element().fs.writeFile(name, data);
    return data.length;
  }, url, TAR);
  const sizeMiB = Math.ceil(tarBytes / 2 ** 20) + 64;
  const setup = parseClocked(await run(b, clocked(`mkdir -p ${RAM} && mount -t tmpfs -o size=${sizeMiB}m tmpfs ${RAM} && ` +
    `tar -xpf /mnt/opfs/${TAR} -C ${RAM} && mkdir -p ${RAM}/proc ${RAM}/sys ${RAM}/dev ${RAM}/mnt/opfs && ` +
    `mount --bind /proc ${RAM}/proc && mount --bind /sys ${RAM}/sys && mount --bind /dev ${RAM}/dev`)), 'the RAM copy');
  return { setupS: setup.seconds, tarBytes };
}

// ---- tracing ----

/**
 * Runs "$1" once with the 9p request/response, syscall-entry and user page-fault tracepoints on,
 * and sums up: each 9P request is counted against the last syscall (or page fault) of the process
 * that sent it. Pairs requests and responses by tag for the time in round trips.
 */
const TRACE_SH = String.raw`T=/sys/kernel/tracing
grep -q " $T " /proc/mounts || mount -t tracefs nodev $T
echo 16384 > $T/buffer_size_kb
echo > $T/trace
for e in $T/events/syscalls/sys_enter_*/enable $T/events/9p/9p_client_req/enable $T/events/9p/9p_client_res/enable $T/events/exceptions/page_fault_user/enable; do echo 1 > $e; done
t0=$EPOCHREALTIME; eval "$1" >/dev/null 2>&1; s=$?; t1=$EPOCHREALTIME
echo 0 > $T/events/enable
echo "@T $t0 $t1 $s"
grep -m1 entries-in-buffer $T/trace
awk '
$5 ~ /^sys_[a-z0-9_]+\(/ { s = $5; sub(/^sys_/, "", s); sub(/\(.*/, "", s); last[$1] = s; calls[s]++; next }
$5 == "page_fault_user:" { last[$1] = "page fault"; calls["page fault"]++; next }
$5 == "9p_client_req:" { n++; ty = $9; sub(/^P9_T/, "", ty); by[ty]++; w = ($1 in last) ? last[$1] : "other"; m[w]++; mt[w "|" ty]++; at[$11] = $4 + 0; next }
$5 == "9p_client_res:" { if ($11 in at) { rt += ($4 + 0) - at[$11]; delete at[$11] } }
END {
  printf "@D %d %.6f\n", n, rt
  for (k in by) printf "@B %s %d\n", k, by[k]
  for (k in m) printf "@S %s|%d|%d\n", k, calls[k], m[k]
  for (k in mt) printf "@P %s|%d\n", k, mt[k]
}' $T/trace
echo > $T/trace
`;

async function traced(b: RunningBrowser, command: Command): Promise<Traffic> {
  const out = await run(b, `bash /dev/${TRACE_SCRIPT} '${COMMANDS[command]}'`);
  const t = /@T (\d+\.\d+) (\d+\.\d+) (\d+)/.exec(out);
  const d = /@D (\d+) ([\d.]+)/.exec(out);
  const e = /entries-in-buffer\/entries-written: (\d+)\/(\d+)/.exec(out);
  if (!t || !d || t[3] !== '0') throw new Error(`no trace summary for "${COMMANDS[command]}": ${out}`);
  const byType: Record<string, number> = {};
  for (const m of out.matchAll(/@B (\w+) (\d+)/g)) byType[m[1]!] = Number(m[2]);
  const bySource: Traffic['bySource'] = {};
  for (const m of out.matchAll(/@S ([^|\n]+)\|(\d+)\|(\d+)/g)) bySource[m[1]!] = { calls: Number(m[2]), messages: Number(m[3]), byType: {} };
  for (const m of out.matchAll(/@P ([^|\n]+)\|(\w+)\|(\d+)/g)) bySource[m[1]!]!.byType[m[2]!] = Number(m[3]);
  return {
    seconds: epochDiff(t[1]!, t[2]!), messages: Number(d[1]), roundTrips: Number(d[2]), lost: e ? Number(e[2]) - Number(e[1]) : 0,
    byType, bySource,
  };
}

// ---- the phases ----

/**
 * A guest manifest for the bench: the default one asking for the root at p9.cache=<mode> and for
 * the bench's memory, or the memory after "@" (a variant "none@128").
 */
function guestManifest(variant: string): string {
  const [mode, memory] = variant.split('@') as [string, string | undefined];
  const m = JSON.parse(readFileSync(join(repo, 'guest/out/manifest.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['kernel', 'initrd', 'bios', 'vgaBios']) if (typeof m[key] === 'string') m[key] = `/guest/out/${m[key]}`;
  m.memory = memory ? Number(memory) : MEMORY;
  m.cmdline = `${m.cmdline} p9.cache=${mode}`;
  const path = `build/bench/oci/guest-${mode}-${m.memory}.json`;
  mkdirSync(join(repo, 'build/bench/oci'), { recursive: true });
  writeFileSync(join(repo, path), JSON.stringify(m));
  return `/${path}`;
}

async function firstStart(server: Server, backend: string, url: string): Promise<{ result: FirstStart; profile: string }> {
  const profile = newProfileDir();
  const b = await openPage(server, profile);
  try {
    const load = loadavg()[0]!;
    const readyMs = await boot(b, { guest: guestManifest(MODES[0]!), src: IMAGE, 'opfs-root': OPFS_ROOT, backend });
    const unpack = (await b.page.evaluate(() => vmHarness.progressDetails())).filter((p) => p.what === 'unpack');
    if (unpack.length === 0) throw new Error('a fresh profile started without unpacking');
    const floor = await fetchGunzip(b, url);
    return {
      profile,
      result: {
        backend, load, readyMs, unpackFromMs: unpack[0]!.at, unpackToMs: unpack.at(-1)!.at, unpackBytes: unpack.at(-1)!.total,
        fetchGunzipMs: floor.ms, layerBytes: floor.bytes,
      },
    };
  } finally {
    await closePage();
  }
}

/** The mark of the previous boot of this profile (null after a first start), then this boot's. */
const marks = new Map<string, { mode: string; id: string }>();

async function laterStart(server: Server, profile: string, backend: string, mode: string, round: number,
  extra: { floor: boolean; trace: boolean; url: string }, res: Results): Promise<void> {
  const b = await openPage(server, profile);
  try {
    const load = loadavg()[0]!;
    const readyMs = await boot(b, { guest: guestManifest(mode), src: IMAGE, 'opfs-root': OPFS_ROOT, backend });
    if ((await b.page.evaluate(() => vmHarness.progressDetails())).some((p) => p.what === 'unpack')) throw new Error('a later start unpacked the image again');
    const bootResult: Boot = { backend, mode, round, load, readyMs, mark: null, runs: {}, dpkgLines: [] };
    await commands(b, bootResult.runs, bootResult.dpkgLines, false);
    const previous = marks.get(profile);
    if (previous) {
      const found = (await run(b, `cat ${MARK} 2>/dev/null; true`)).trim();
      bootResult.mark = { mode: previous.mode, kept: found === previous.id };
    }
    res.readAheadKb[mode] ??= Number((await run(b, 'cat /sys/class/bdi/9p-*/read_ahead_kb')).trim().split('\n')[0]);
    if (extra.trace) {
      log(`${backend} ${mode}: tracing the commands' 9P messages`);
      await b.page.evaluate((name, text) => vmHarness.writeText(name, text), TRACE_SCRIPT, TRACE_SH);
      await run(b, `cp /mnt/opfs/${TRACE_SCRIPT} /dev/${TRACE_SCRIPT}`);
      for (const c of Object.keys(COMMANDS) as Command[]) res.traffic[`${mode}:${c}`] = await traced(b, c);
    }
    if (extra.floor) {
      log(`${backend} ${mode}: the same tree in the guest's RAM`);
      const copy = await ramCopy(b, extra.url);
      bootResult.floor = { ...copy, runs: {} };
      await commands(b, bootResult.floor.runs, bootResult.dpkgLines, true);
    }
    res.boots.push(bootResult);
    // An edit in /etc, then the browser closes at once.
    const id = `${mode}-${round}-${Date.now()}`;
    await run(b, `echo ${id} > ${MARK}`);
    marks.set(profile, { mode, id });
  } finally {
    await closePage();
  }
}

/** The floor of a later start: the default guest without an image, with the bench's memory, to its prompt. */
async function plainStart(server: Server, profile: string, backend: string): Promise<number> {
  const b = await openPage(server, profile);
  try {
    return await boot(b, { src: guestManifest(MODES[0]!), 'opfs-root': PLAIN_ROOT, backend });
  } finally {
    await closePage();
  }
}

// ---- the report ----

const fmtS = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const range = (xs: number[]) => (xs.length > 1 ? ` (${fmtS(Math.min(...xs))}–${fmtS(Math.max(...xs))})` : '');
const ratio = (x: number, floor: number | null) => (floor ? ` ${(x / floor).toFixed(2)}×` : '');
const MODE_LABEL = (variant: string) => variant.replace(/@(\d+)$/, ', $1 MiB');

function report(r: Results): string {
  const lines: string[] = [];
  const boots = (backend: string, mode: string) => r.boots.filter((x) => x.backend === backend && x.mode === mode);
  const cold = (bs: Boot[], c: Command) => bs.map((x) => x.runs[c]![0]!);
  const warm = (bs: Boot[], c: Command) => bs.flatMap((x) => x.runs[c]!.slice(1));
  const floors = r.boots.filter((x) => x.floor);
  const floorOf = (c: Command, which: 'cold' | 'warm') => {
    const xs = floors.flatMap((x) => (which === 'cold' ? [x.floor!.runs[c]![0]!] : x.floor!.runs[c]!.slice(1)));
    return xs.length ? median(xs) : null;
  };
  const modes = [...new Set(r.boots.map((x) => x.mode))];
  const cols = modes.flatMap((m) => r.options.backends.map((be) => ({ m, be })));
  lines.push(`## OCI images (bench/node/oci.ts), ${r.date}`, '',
    `- ${r.browser}; ${r.machine}`,
    `- Load average (1, 5, 15 min): ${Object.entries(r.load).map(([k, l]) => `${k} ${l.join(' ')}`).join('; ')}. Run time ${r.minutes.toFixed(1)} min.`,
    `- Image: test/oci/out/debian/ (Debian 12 i386 minbase + python3-minimal, one layer). Guest: guest/out's kernel and initramfs with ` +
      `${r.options.memoryMiB} MiB (the default manifest asks for ${DEFAULT_MEMORY} MiB; the RAM floor needs room for the tree), except the columns that say otherwise.`,
    `- ${r.options.firstStarts} first starts per backend, then ${r.options.rounds} rounds in which every cache mode boots once per backend (later starts), ` +
      `modes and backends taking turns. Commands timed in the guest with bash's $EPOCHREALTIME: the first \`python3 -c pass\` after the boot (cold), ` +
      `then ${r.options.warm} more (warm); \`dpkg -l | wc -l\` ${r.options.warm} times (first, then the others). Medians; ranges in brackets.`,
    '');

  lines.push('### Starts', '', `| | ${r.options.backends.map((b) => b.toUpperCase()).join(' | ')} |`, `|---|${r.options.backends.map(() => '---:').join('|')}|`);
  const fsOf = (be: string) => r.firstStarts.filter((f) => f.backend === be);
  const cell = (xs: number[], floor: number | null = null) => (xs.length ? `${fmtS(median(xs))}${range(xs)}${ratio(median(xs), floor)}` : '—');
  const fetchFloor = (be: string) => median(fsOf(be).map((f) => f.fetchGunzipMs / 1000));
  const plain = (be: string) => (r.plainMs[be]?.length ? median(r.plainMs[be]!) / 1000 : null);
  const laterNone = (be: string) => boots(be, MODES[0]!).map((x) => x.readyMs / 1000);
  lines.push(
    `| first start: element created → vm-ready (fresh profile: download, unpack, boot) | ${r.options.backends.map((be) => cell(fsOf(be).map((f) => f.readyMs / 1000))).join(' | ')} |`,
    `| … up to the first unpack event (manifest, config, the root's storage worker) | ${r.options.backends.map((be) => cell(fsOf(be).map((f) => f.unpackFromMs / 1000))).join(' | ')} |`,
    `| … unpacking: first to last unpack event (the layer downloaded and unpacked together); × floor | ${r.options.backends.map((be) => cell(fsOf(be).map((f) => (f.unpackToMs - f.unpackFromMs) / 1000), fetchFloor(be))).join(' | ')} |`,
    `| … booting: last unpack event → vm-ready; × the later start | ${r.options.backends.map((be) => cell(fsOf(be).map((f) => (f.readyMs - f.unpackToMs) / 1000), laterNone(be).length ? median(laterNone(be)) : null)).join(' | ')} |`,
    `| floor of unpacking: the page fetching the layer (no HTTP cache) and gunzipping it, bytes dropped | ${r.options.backends.map((be) => cell(fsOf(be).map((f) => f.fetchGunzipMs / 1000))).join(' | ')} |`,
    `| later start, cache=${MODES[0]}: element created → vm-ready (the root unpacked); × floor | ${r.options.backends.map((be) => cell(laterNone(be), plain(be))).join(' | ')} |`,
    `| floor: the same guest without an image, element created → its prompt | ${r.options.backends.map((be) => cell((r.plainMs[be] ?? []).map((x) => x / 1000))).join(' | ')} |`,
    '');
  const first = r.firstStarts[0];
  if (first) lines.push(`The layer: ${(first.unpackBytes / 1e6).toFixed(1)} MB gzip, ${(first.layerBytes / 1e6).toFixed(1)} MB as a tar.`, '');

  lines.push('### Commands by cache mode, beside the same tree in RAM', '',
    `Each cell: median${r.options.rounds > 1 ? ' (range)' : ''} and the ratio to the RAM floor measured in the same run (the floor: a tmpfs in the same guest, ` +
      'the commands in a chroot there).', '',
    `| | RAM floor | ${cols.map(({ m, be }) => `${MODE_LABEL(m)} ${be.toUpperCase()}`).join(' | ')} |`, `|---|---:|${cols.map(() => '---:').join('|')}|`);
  const row = (label: string, floor: number | null, xs: (m: string, be: string) => number[]) =>
    lines.push(`| ${label} | ${floor === null ? '—' : fmtS(floor)} | ${cols.map(({ m, be }) => cell(xs(m, be), floor)).join(' | ')} |`);
  row('`python3 -c pass`, first after the boot (cold)', floorOf('python', 'cold'), (m, be) => cold(boots(be, m), 'python'));
  row('`python3 -c pass`, again (warm)', floorOf('python', 'warm'), (m, be) => warm(boots(be, m), 'python'));
  row('`dpkg -l | wc -l`, first', floorOf('dpkg', 'cold'), (m, be) => cold(boots(be, m), 'dpkg'));
  row('`dpkg -l | wc -l`, again', floorOf('dpkg', 'warm'), (m, be) => warm(boots(be, m), 'dpkg'));
  row('later start: element created → vm-ready', null, (m, be) => boots(be, m).map((x) => x.readyMs / 1000));
  lines.push(`| an edit in /etc made just before the browser closed: still there at the next start | | ${cols.map(({ m, be }) => {
    const checked = r.boots.filter((x) => x.backend === be && x.mark?.mode === m);
    return checked.length ? `${checked.filter((x) => x.mark!.kept).length} of ${checked.length}` : '—';
  }).join(' | ')} |`);
  lines.push(`| the 9p mount's read-ahead (read_ahead_kb) | — | ${cols.map(({ m }) => `${r.readAheadKb[m] ?? '?'} KiB`).join(' | ')} |`, '');
  const lineCounts = [...new Set(r.boots.flatMap((x) => x.dpkgLines))];
  if (floors.length) {
    lines.push(`The RAM copy: the layer uncompressed into the share by the page (${(floors[0]!.floor!.tarBytes / 1e6).toFixed(1)} MB), extracted by the guest's tar into a tmpfs ` +
      `with /proc, /sys and /dev bound in (${floors.map((x) => fmtS(x.floor!.setupS)).join(', ')}; not in the table). \`dpkg -l | wc -l\` printed ${lineCounts.join(', ')} everywhere.`, '');
  }

  const traffic = Object.entries(r.traffic);
  if (traffic.length) {
    lines.push('### Where the 9P messages go', '',
      `One more (warm) run of each command with the guest kernel's 9p, syscall-entry and user page-fault tracepoints on (${r.options.backends[0]!.toUpperCase()}, round 1). ` +
        'Round trip: request to response as the guest\'s 9P client sees it. Tracing slows the guest: read the counts and shares, not the times.', '',
      '| command | cache | 9P messages | by type | mean round trip | time in round trips |', '|---|---|---:|---|---:|---:|');
    for (const [key, t] of traffic) {
      const [mode, command] = key.split(':') as [string, Command];
      const types = Object.entries(t.byType).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ');
      lines.push(`| \`${COMMANDS[command]}\` | ${MODE_LABEL(mode)} | ${t.messages.toLocaleString('en')}${t.lost ? ` (trace lost ${t.lost} events)` : ''} | ${types} | ` +
        `${t.messages ? (t.roundTrips / t.messages * 1e6).toFixed(0) : '—'} µs | ${(t.roundTrips / t.seconds * 100).toFixed(0)}% of ${fmtS(t.seconds)} |`);
    }
    for (const [key, t] of traffic.filter(([k]) => k.endsWith(':python'))) {
      lines.push('', `\`python3 -c pass\` at cache=${MODE_LABEL(key.split(':')[0]!)}, by what asked (each message counted against the last syscall or page fault of its process):`, '',
        '| syscall | calls | 9P messages | by type |', '|---|---:|---:|---|');
      for (const [source, s] of Object.entries(t.bySource).sort((a, b) => b[1].messages - a[1].messages).slice(0, 10)) {
        lines.push(`| ${source} | ${s.calls.toLocaleString('en')} | ${s.messages.toLocaleString('en')} | ${Object.entries(s.byType).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ')} |`);
      }
    }
    lines.push('');
  }

  lines.push('<details><summary>Every run (seconds in the guest)</summary>', '', '| boot | load | vm-ready | python3 -c pass | dpkg -l | RAM: python3 -c pass | RAM: dpkg -l |', '|---|---:|---:|---|---|---|---|');
  const list = (xs: number[] | undefined) => (xs ?? []).map((x) => x.toFixed(2)).join(', ');
  for (const f of r.firstStarts) lines.push(`| first start, ${f.backend.toUpperCase()} | ${f.load} | ${fmtS(f.readyMs / 1000)} | | | | |`);
  for (const x of r.boots) {
    lines.push(`| round ${x.round}, ${MODE_LABEL(x.mode)}, ${x.backend.toUpperCase()} | ${x.load} | ${fmtS(x.readyMs / 1000)} | ${list(x.runs.python)} | ${list(x.runs.dpkg)} | ` +
      `${list(x.floor?.runs.python)} | ${list(x.floor?.runs.dpkg)} |`);
  }
  lines.push('', '</details>', '');
  return lines.join('\n');
}

// ---- main ----

async function main(): Promise<void> {
  for (const f of ['guest/out/manifest.json', 'test/oci/out/stamp']) {
    if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run bash guest/build.sh and bash test/oci/build.sh first`);
  }
  const started = Date.now();
  const cpu = os.cpus();
  const res: Results = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', browser: '',
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.versions.node}`,
    options: { firstStarts: FIRST_STARTS, rounds: ROUNDS, warm: WARM, modes: MODES, backends: BACKENDS, memoryMiB: MEMORY },
    load: { start: loadavg() }, firstStarts: [], boots: [], plainMs: {}, traffic: {}, readAheadKb: {}, minutes: 0,
  };
  const url = layerUrl();
  // One server for the whole run: OPFS belongs to the origin, and its port is part of it.
  const server = await startServer();
  const kept: Record<string, string> = {};
  try {
    for (let i = 1; i <= FIRST_STARTS; i++) {
      for (const backend of BACKENDS) {
        log(`first start ${i} of ${FIRST_STARTS}, ${backend}`);
        const { result, profile } = await firstStart(server, backend, url);
        res.firstStarts.push(result);
        // The last first start's profile serves the later starts.
        if (kept[backend]) dropProfile(kept[backend]!);
        kept[backend] = profile;
      }
    }
    res.load['after first starts'] = loadavg();
    for (let round = 1; round <= ROUNDS; round++) {
      // Each mode's /etc edit is checked by the next boot, whichever comes last in a round goes
      // unchecked: the order turns. Round 1 also boots the first mode with the default memory.
      const turn = (round - 1) % MODES.length;
      const variants = [...MODES.slice(turn), ...MODES.slice(0, turn), ...(round === 1 && !values['no-default-memory'] ? [`${MODES[0]}@${DEFAULT_MEMORY}`] : [])];
      for (const variant of variants) {
        for (const backend of BACKENDS) {
          log(`round ${round} of ${ROUNDS}: ${backend}, cache ${MODE_LABEL(variant)}`);
          const floor = round === 1 && variant === MODES[0] && !values['no-floor'];
          const trace = round === 1 && backend === BACKENDS[0] && !values['no-trace'] && !variant.includes('@');
          await laterStart(server, kept[backend]!, backend, variant, round, { floor, trace, url }, res);
          if (variant === MODES[0]) {
            log(`${backend}: the default guest without an image`);
            (res.plainMs[backend] ??= []).push(await plainStart(server, kept[backend]!, backend));
          }
        }
      }
      res.load[`after round ${round}`] = loadavg();
    }
  } finally {
    await closePage();
    await server.stop();
    for (const p of profiles) removeProfileDir(p);
  }
  res.browser = `${browserVersion} headless`;
  res.load.end = loadavg();
  res.minutes = (Date.now() - started) / 60000;
  const md = report(res);
  const out = join(repo, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'oci.md'), md);
  writeFileSync(join(out, 'oci.json'), JSON.stringify(res, null, 1));
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
