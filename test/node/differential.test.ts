// Differential test: random operation sequences applied to the share through 9P (window.harness in
// a real Chromium, real OPFS) and, as the oracle, to a temporary directory with node's fs. Every
// operation's outcome (errno or result) must agree, and the whole trees are compared every so often:
// names, types, contents, permission bits, symlink targets and the mtimes utimes set.
//
// Reproduce a failure with DIFF_SEEDS=<seed>[,<seed>...] (the seeds are printed), explore with
// DIFF_SEEDS=random:<count>; DIFF_OPS sets the number of operations per run (default 150).
// Both servers run every sequence (M1 and L1); DIFF_BACKENDS=l1 picks one.
//
// 9P never follows symlinks while node's fs does in most calls, so the generator keeps symlinks as
// leaves: paths are built from real directories only, and symlinks are only removed, renamed,
// renamed over, stat'ed (lstat) and given times (lutimes). The process runs as root, so permission
// checks cannot differ, and umask is 0 so modes are taken as given, as the 9P server does.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  lstatSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync,
  symlinkSync, chmodSync, truncateSync, unlinkSync, writeFileSync, Stats, BigIntStats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningBrowser, Server, newProfileDir, openHarness, removeProfileDir, startServer } from './support/browser.js';
import type { Harness } from '../browser/pages/harness.js';
import type { Backend } from '../../src/storage/storage-protocol.js';

declare const harness: Harness;

const DEFAULT_SEEDS = [0x5eed0001, 0x5eed0002, 0x5eed0003];
/** DIFF_SEEDS=1,2,3 runs those seeds; DIFF_SEEDS=random:20 runs 20 fresh ones (each is printed). */
function seeds(spec: string | undefined): number[] {
  if (!spec) return DEFAULT_SEEDS;
  const random = /^random:(\d+)$/.exec(spec);
  if (random) return Array.from({ length: Number(random[1]) }, () => Math.floor(Math.random() * 0x7fffffff));
  return spec.split(',').map((s) => Number(s.trim()));
}
const SEEDS = seeds(process.env.DIFF_SEEDS);
const OPS = Number(process.env.DIFF_OPS ?? 150);
const BACKENDS = (process.env.DIFF_BACKENDS ?? 'm1,l1').split(',').map((b) => b.trim()) as Backend[];
const COMPARE_EVERY = 25;
const MAX_WRITE = 200 * 1024;

// ---- seeded randomness ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) { this.next = mulberry32(seed); }
  float(): number { return this.next(); }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)]!;
  }
  weighted<T extends string>(table: Record<T, number>): T {
    const entries = Object.entries(table) as [T, number][];
    let r = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) { if ((r -= w) < 0) return k; }
    return entries[entries.length - 1]![0];
  }
}

/** Deterministic file contents: `size` bytes from a seed. */
function contents(seed: number, size: number): Buffer {
  const rand = mulberry32(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) {
    const v = Math.floor(rand() * 0x1_0000_0000);
    for (let k = 0; k < 4 && i + k < size; k++) buf[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return buf;
}

// ---- operations ----

type Op =
  | { kind: 'writeFile'; path: string; size: number; fill: number; mode: number }
  | { kind: 'readFile'; path: string }
  | { kind: 'mkdir'; path: string; mode: number }
  | { kind: 'remove'; path: string }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'symlink'; target: string; path: string }
  | { kind: 'chmod'; path: string; mode: number }
  | { kind: 'truncate'; path: string; size: number }
  | { kind: 'utimes'; path: string; atimeMs: number; mtimeMs: number }
  | { kind: 'stat'; path: string }
  | { kind: 'readDir'; path: string };

type Outcome = { error: string } | { ok: unknown };

interface TreeEntry { path: string; type: 'file' | 'directory' | 'symlink' }

/** The oracle's current tree, which the generator draws paths from. */
function oracleTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file';
      out.push({ path: p, type });
      if (type === 'directory') walk(p);
    }
  };
  walk('');
  return out;
}

const NAMES = ['a', 'b', 'c', 'd', 'A', 'file.txt', 'sp ace', 'b\\s', '\u00e9', 'e\u0301', 'x'.repeat(100), '.hid'];
/** Reserved at the share root for the metadata area, an ordinary name anywhere else. */
const NESTED_ONLY_NAMES = ['.container-vm'];
const SYMLINK_TARGETS = ['a', '../b', '/etc/passwd', 'x/y/z', 'dangling', '\u00fc-target', 'a'.repeat(300), '.'];
// No setgid on directories: Linux's mkdir(2) drops S_ISGID from the mode and new entries inherit
// it from a setgid parent (for a guest, the kernel's v9fs client does both before Tmkdir), while
// the server, and so ShareFs, stores the mode it is given and does no inheritance.
const DIR_MODES = [0o755, 0o700, 0o777, 0o750, 0o1777, 0o500];
const FILE_MODES = [0o644, 0o600, 0o755, 0o444, 0o000, 0o4755, 0o2755, 0o6777, 0o7777, 0o640];
const MAX_DEPTH = 4;

const depth = (p: string) => (p === '' ? 0 : p.split('/').length);
const under = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

function generate(rng: Rng, tree: TreeEntry[]): Op {
  const dirs = ['', ...tree.filter((e) => e.type === 'directory').map((e) => e.path)];
  const files = tree.filter((e) => e.type === 'file').map((e) => e.path);
  const all = tree.map((e) => e.path);
  const typeOf = new Map(tree.map((e) => [e.path, e.type]));

  const name = (dir: string) => rng.pick(dir === '' ? NAMES : [...NAMES, ...NESTED_ONLY_NAMES]);
  /** A name in a real directory: often existing, often new. */
  const inDir = () => {
    const shallow = dirs.filter((d) => depth(d) < MAX_DEPTH);
    const dir = rng.pick(shallow);
    return under(dir, name(dir));
  };
  const missing = () => rng.chance(0.5) ? under(rng.pick(dirs), 'zz-missing') : 'no/such/dir/entry';
  /** Paths for creating things: a name in a directory, sometimes under a file (ENOTDIR) or a missing directory (ENOENT). */
  const createPath = () => {
    const r = rng.float();
    if (r < 0.08 && files.length) return `${rng.pick(files)}/x`;
    if (r < 0.14) return `${missing()}/x`;
    return inDir();
  };
  /** An existing path of the given kinds, sometimes a missing one. */
  const existing = (kinds: ('file' | 'directory' | 'symlink')[], missingChance = 0.08) => {
    const pool = all.filter((p) => kinds.includes(typeOf.get(p)!));
    if (pool.length === 0 || rng.chance(missingChance)) return missing();
    return rng.pick(pool);
  };
  const notSymlink = (p: string) => typeOf.get(p) !== 'symlink';
  const size = () => {
    const r = rng.float();
    if (r < 0.15) return 0;
    if (r < 0.3) return rng.pick([1, 100, 4095, 4096, 4097, 65536, MAX_WRITE]);
    if (r < 0.75) return rng.int(8192);
    return rng.int(MAX_WRITE + 1);
  };
  const time = () => 1_000_000_000_000 + rng.int(1_000_000_000_000);

  const kind = rng.weighted({
    writeFile: 20, readFile: 6, mkdir: 13, remove: 10, rename: 20, symlink: 6, chmod: 8, truncate: 6, utimes: 8,
    stat: 4, readDir: 3,
  });
  switch (kind) {
    case 'writeFile': {
      let path = rng.chance(0.3) && files.length ? rng.pick(files) : createPath();
      while (!notSymlink(path)) path = createPath();
      return { kind, path, size: size(), fill: rng.int(0x7fffffff), mode: rng.pick(FILE_MODES) };
    }
    case 'readFile': return { kind, path: existing(rng.chance(0.85) ? ['file'] : ['directory']) };
    case 'mkdir': return { kind, path: createPath(), mode: rng.pick(DIR_MODES) };
    case 'remove': return { kind, path: existing(['file', 'directory', 'symlink']) };
    case 'symlink': return { kind, path: createPath(), target: rng.pick(SYMLINK_TARGETS) };
    case 'chmod': {
      const path = existing(['file', 'directory']);
      return { kind, path, mode: typeOf.get(path) === 'directory' ? rng.pick(DIR_MODES) : rng.pick(FILE_MODES) };
    }
    case 'truncate':
      return { kind, path: existing(rng.chance(0.9) ? ['file'] : ['directory']), size: rng.chance(0.5) ? rng.int(300) : size() };
    case 'utimes': return { kind, path: existing(['file', 'directory', 'symlink']), atimeMs: time(), mtimeMs: time() };
    case 'stat': return { kind, path: existing(['file', 'directory', 'symlink']) };
    case 'readDir': return { kind, path: rng.chance(0.9) ? rng.pick(dirs) : existing(['file']) };
    case 'rename': {
      // Directories half the time, so whole subtrees move.
      const dirSources = dirs.filter((d) => d !== '');
      const from = dirSources.length && rng.chance(0.5) ? rng.pick(dirSources) : existing(['file', 'symlink', 'directory'], 0.06);
      const fromType = typeOf.get(from);
      const r = rng.float();
      let to: string;
      if (fromType === 'directory' && r < 0.15) {
        // Into its own subtree: EINVAL in both.
        const inside = dirs.filter((d) => d.startsWith(`${from}/`));
        to = under(inside.length && rng.chance(0.5) ? rng.pick(inside) : from, rng.pick(NAMES));
      } else if (r < 0.4 && all.length) {
        // Over an existing entry of any type (file over file, dir over empty or full dir, ...).
        to = rng.pick(all);
      } else if (r < 0.45) {
        to = from; // onto itself: a no-op
      } else {
        to = createPath();
      }
      return { kind, from, to };
    }
  }
}

// ---- the oracle ----

function errnoOf(e: unknown): Outcome {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { error: code };
  throw e;
}

const perm = (st: Stats) => st.mode & 0o7777;
const typeOfStats = (st: Stats) => (st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other');
const msOf = (st: BigIntStats) => Number(st.mtimeNs / 1_000_000n);
const atimeMsOf = (st: BigIntStats) => Number(st.atimeNs / 1_000_000n);

function runOracle(root: string, op: Op): Outcome {
  const abs = (p: string) => join(root, p);
  try {
    switch (op.kind) {
      case 'writeFile': writeFileSync(abs(op.path), contents(op.fill, op.size), { mode: op.mode }); return { ok: null };
      case 'readFile': return { ok: sha(readFileSync(abs(op.path))) };
      case 'mkdir': mkdirSync(abs(op.path), { mode: op.mode }); return { ok: null };
      case 'remove': {
        if (lstatSync(abs(op.path)).isDirectory()) rmdirSync(abs(op.path)); else unlinkSync(abs(op.path));
        return { ok: null };
      }
      case 'rename': renameSync(abs(op.from), abs(op.to)); return { ok: null };
      case 'symlink': symlinkSync(op.target, abs(op.path)); return { ok: null };
      case 'chmod': chmodSync(abs(op.path), op.mode); return { ok: null };
      case 'truncate': truncateSync(abs(op.path), op.size); return { ok: null };
      case 'utimes': {
        // Seconds as a double, which libuv truncates to nanoseconds: half a microsecond more keeps the
        // millisecond exact (a Date would be turned into ms / 1000 and can land 1 ns short of it).
        lutimesSync(abs(op.path), (op.atimeMs + 0.0005) / 1000, (op.mtimeMs + 0.0005) / 1000);
        const st = lstatSync(abs(op.path), { bigint: true });
        return { ok: { atimeMs: atimeMsOf(st), mtimeMs: msOf(st) } };
      }
      case 'stat': {
        const st = lstatSync(abs(op.path));
        return { ok: { type: typeOfStats(st), perm: perm(st), size: st.isDirectory() ? 0 : st.size } };
      }
      case 'readDir': return { ok: readdirSync(abs(op.path)).sort() };
    }
  } catch (e) {
    return errnoOf(e);
  }
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---- the share, through window.harness ----

async function runShare(b: RunningBrowser, op: Op): Promise<Outcome> {
  const data = op.kind === 'writeFile' ? contents(op.fill, op.size).toString('base64') : '';
  const result = await b.page.evaluate(async (op: Op, data: string) => {
    const isError = (r: unknown): r is { error: string } => typeof r === 'object' && r !== null && 'error' in r;
    const wrap = async (p: Promise<unknown>, map: (v: unknown) => unknown = () => null) => {
      const r = await p;
      return isError(r) ? r : { ok: await map(r) };
    };
    const hex = async (b64: string) => {
      const digest = await crypto.subtle.digest('SHA-256', harness.fromBase64(b64) as Uint8Array<ArrayBuffer>);
      return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
    };
    switch (op.kind) {
      case 'writeFile': return wrap(harness.writeFile(op.path, data, op.mode));
      case 'readFile': return wrap(harness.readFile(op.path), (v) => hex(v as string));
      case 'mkdir': return wrap(harness.mkdir(op.path, op.mode));
      case 'remove': return wrap(harness.remove(op.path));
      case 'rename': return wrap(harness.rename(op.from, op.to));
      case 'symlink': return wrap(harness.symlink(op.target, op.path));
      case 'chmod': return wrap(harness.chmod(op.path, op.mode));
      case 'truncate': return wrap(harness.truncate(op.path, op.size));
      case 'utimes': {
        const r = await harness.utimes(op.path, op.atimeMs, op.mtimeMs);
        if (isError(r)) return r;
        return wrap(harness.stat(op.path), (v) => {
          const st = v as { atimeMs: number; mtimeMs: number };
          return { atimeMs: st.atimeMs, mtimeMs: st.mtimeMs };
        });
      }
      case 'stat': return wrap(harness.stat(op.path), (v) => {
        const st = v as { type: string; mode: number; size: number };
        return { type: st.type, perm: st.mode & 0o7777, size: st.type === 'directory' ? 0 : st.size };
      });
      case 'readDir': return wrap(harness.readDir(op.path), (v) => (v as { name: string }[]).map((e) => e.name).sort());
    }
  }, op, data);
  return result as Outcome;
}

// ---- whole-tree comparison ----

interface Snapshot {
  path: string;
  type: string;
  perm: number;
  size: number;
  sha?: string;
  target?: string;
  mtimeMs: number;
}

function oracleSnapshot(root: string): Snapshot[] {
  const out: Snapshot[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = join(root, p);
      const st = lstatSync(abs);
      const big = lstatSync(abs, { bigint: true });
      const e: Snapshot = { path: p, type: typeOfStats(st), perm: perm(st), size: st.isDirectory() ? 0 : st.size, mtimeMs: msOf(big) };
      if (st.isFile()) e.sha = sha(readFileSync(abs));
      if (st.isSymbolicLink()) e.target = readlinkSync(abs);
      out.push(e);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

async function shareSnapshot(b: RunningBrowser): Promise<Snapshot[]> {
  const out = await b.page.evaluate(async () => {
    const fs = harness.fs();
    const entries: Snapshot[] = [];
    const hex = (d: ArrayBuffer) => [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join('');
    const walk = async (rel: string) => {
      for (const e of await fs.readDir(rel)) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        const st = await fs.stat(p);
        if (st.type !== e.type) throw new Error(`${p}: readdir says ${e.type}, getattr says ${st.type}`);
        const s: Snapshot = { path: p, type: st.type, perm: st.mode & 0o7777, size: st.type === 'directory' ? 0 : st.size, mtimeMs: st.mtimeMs };
        if (st.type === 'file') {
          const bytes = await fs.readFile(p);
          if (bytes.length !== st.size) throw new Error(`${p}: getattr size ${st.size}, read ${bytes.length} bytes`);
          s.sha = hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
        }
        if (st.type === 'symlink') s.target = await fs.readlink(p);
        entries.push(s);
        if (st.type === 'directory') await walk(p);
      }
    };
    await walk('');
    return entries;
  });
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/**
 * Compares the trees. Times are compared only where utimes set them and nothing changed them
 * since (`pinned`: path -> mtime), because the two sides' clocks tick differently.
 */
function compareTrees(share: Snapshot[], oracle: Snapshot[], pinned: Map<string, number>, where: string): void {
  const strip = (s: Snapshot[]) => s.map(({ mtimeMs: _, ...rest }) => rest);
  assert.deepEqual(strip(share), strip(oracle), `${where}: the trees differ`);
  const shareByPath = new Map(share.map((s) => [s.path, s]));
  const oracleByPath = new Map(oracle.map((s) => [s.path, s]));
  for (const [path, mtimeMs] of pinned) {
    assert.equal(oracleByPath.get(path)?.mtimeMs, mtimeMs, `${where}: oracle mtime of ${path} (test bookkeeping)`);
    assert.equal(shareByPath.get(path)?.mtimeMs, mtimeMs, `${where}: mtime of ${path} set by utimes`);
  }
}

/** Keeps `pinned` (non-directories whose mtime utimes set) in step with a successful operation. */
function trackPins(op: Op, pinned: Map<string, number>, typeBefore: Map<string, string>): void {
  const movePrefix = (from: string, to: string) => {
    for (const [p, t] of [...pinned]) {
      if (p === from || p.startsWith(`${from}/`)) {
        pinned.delete(p);
        pinned.set(to + p.slice(from.length), t);
      }
    }
  };
  switch (op.kind) {
    case 'utimes':
      if (typeBefore.get(op.path) !== 'directory') pinned.set(op.path, op.mtimeMs);
      break;
    case 'writeFile': case 'truncate': case 'remove':
      pinned.delete(op.path);
      break;
    case 'rename':
      if (op.from === op.to) break;
      for (const p of [...pinned.keys()]) if (p === op.to || p.startsWith(`${op.to}/`)) pinned.delete(p);
      movePrefix(op.from, op.to);
      break;
    default:
      break;
  }
}

// ---- running a sequence ----

interface RunOptions {
  backend: Backend;
  seed: number;
  ops: number;
  /** Restart the storage worker (close, reopen the same root) after this many operations. */
  restartAt?: number;
}

async function runSequence(b: RunningBrowser, opts: RunOptions): Promise<void> {
  const { seed } = opts;
  const { backend } = opts;
  const shareRoot = `/diff-${backend}-${seed.toString(16)}-${opts.restartAt ?? 'x'}-${Date.now()}`;
  const oracle = mkdtempSync(join(tmpdir(), 'container-vm-oracle-'));
  const rng = new Rng(seed);
  const log: string[] = [];
  const pinned = new Map<string, number>();
  const stats: Record<string, number> = {};
  console.log(`differential: ${backend}, seed ${seed} (0x${seed.toString(16)}), ${opts.ops} ops${opts.restartAt !== undefined ? `, worker restart after op ${opts.restartAt}` : ''}; reproduce with DIFF_SEEDS=${seed}`);
  try {
    await b.page.evaluate((root: string, backend: Backend) => harness.open(root, backend), shareRoot, backend);
    const failContext = () => `seed ${seed}; last operations:\n  ${log.slice(-25).join('\n  ')}`;
    for (let i = 0; i < opts.ops; i++) {
      const tree = oracleTree(oracle);
      const op = generate(rng, tree);
      const typeBefore = new Map<string, string>(tree.map((e) => [e.path, e.type]));
      const expected = runOracle(oracle, op);
      const actual = await runShare(b, op);
      const label = `#${i} ${JSON.stringify(op, (k, v) => (k === 'target' || k === 'path' || k === 'from' || k === 'to') && typeof v === 'string' && v.length > 40 ? `${v.slice(0, 12)}…(${v.length})` : v)}`;
      log.push(`${label} -> ${JSON.stringify(expected)}`);
      const key = `${op.kind}:${'error' in expected ? expected.error : 'ok'}`;
      stats[key] = (stats[key] ?? 0) + 1;
      assert.deepEqual(actual, expected, `operation ${label} differs: share ${JSON.stringify(actual)}, node ${JSON.stringify(expected)}\n${failContext()}`);
      if ('ok' in expected) trackPins(op, pinned, typeBefore);

      if (opts.restartAt === i + 1) {
        await b.page.evaluate(async (root: string, backend: Backend) => { await harness.close(); await harness.open(root, backend); }, shareRoot, backend);
        compareTrees(await shareSnapshot(b), oracleSnapshot(oracle), pinned, `after the worker restart (op ${i}), ${failContext()}`);
        log.push('-- worker restarted --');
      } else if ((i + 1) % COMPARE_EVERY === 0) {
        compareTrees(await shareSnapshot(b), oracleSnapshot(oracle), pinned, `after op ${i}, ${failContext()}`);
      }
    }
    const final = oracleSnapshot(oracle);
    compareTrees(await shareSnapshot(b), final, pinned, `at the end, ${failContext()}`);
    // The comparison can only catch something if the run built something.
    assert.ok(final.length >= 5, `seed ${seed}: the run left only ${final.length} entries`);
    const errors = Object.entries(stats).filter(([k]) => !k.endsWith(':ok')).map(([k, n]) => `${k}=${n}`);
    console.log(`differential: ${backend}, seed ${seed}: ${final.length} entries at the end (${final.filter((e) => e.type === 'directory').length} dirs, ${pinned.size} pinned mtimes); errors agreed on: ${errors.join(' ')}`);
  } finally {
    await b.page.evaluate(async (root: string) => {
      await harness.close();
      const parts = root.split('/').filter(Boolean);
      const opfs = await navigator.storage.getDirectory();
      await opfs.removeEntry(parts[0]!, { recursive: true }).catch(() => undefined);
    }, shareRoot).catch(() => undefined);
    rmSync(oracle, { recursive: true, force: true });
  }
}

// ---- the tests ----

describe('differential: 9P share vs node fs', { timeout: Math.max(180000, BACKENDS.length * (SEEDS.length + 1) * OPS * 200), concurrency: 1 }, () => {
  let server: Server;
  let profile: string;
  let b: RunningBrowser;
  let umask: number;

  before(async () => {
    umask = process.umask(0);
    server = await startServer();
    profile = newProfileDir();
    b = await openHarness(profile, server);
  });

  after(async () => {
    process.umask(umask);
    await b?.close().catch(() => undefined);
    await server?.stop();
    if (profile) removeProfileDir(profile);
  });

  for (const backend of BACKENDS) {
    for (const seed of SEEDS) {
      test(`${backend}: random sequence, seed ${seed}`, { timeout: 180000 }, async () => {
        await runSequence(b, { backend, seed, ops: OPS });
      });
    }

    test(`${backend}: random sequence with a worker restart in the middle, seed ${SEEDS[0]}`, { timeout: 180000 }, async () => {
      await runSequence(b, { backend, seed: SEEDS[0]!, ops: OPS, restartAt: Math.floor(OPS / 2) });
    });
  }
});
