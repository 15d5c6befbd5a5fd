// What the bench page, its workers and the node runner exchange.

/** One measured operation: microseconds per operation, one number per run (each a batch mean). */
export interface Measurement {
  runs: number[];
  /** Timed operations per run. */
  iterations: number;
}

export interface BenchResult {
  measurements: Record<string, Measurement>;
  /** Extra figures for the analysis (start-up breakdown, population time, ...). */
  notes: Record<string, unknown>;
  userAgent: string;
}

export interface BenchOptions {
  /** Repetitions of every measurement; the report gives the median of the per-run means. */
  runs: number;
  /** Multiplies iteration counts (0.1 for a quick smoke run). */
  scale: number;
  /** Only the warm operations (no restarts, no 10,000-file share): for iterating on the channel. */
  warmOnly: boolean;
}

export const DEFAULT_OPTIONS: BenchOptions = { runs: 7, scale: 1, warmOnly: false };

/** Control block of the raw SharedArrayBuffer channel used for the floor: state, op, length, offset. */
export const enum RawState { Idle = 0, Request = 1, Response = 2 }
export const enum RawOp { Empty = 0, Fill = 1, Read = 2, Write = 3, Stop = 9 }
export const RAW_HEADER_BYTES = 16;
export const MiB = 1024 * 1024;
export const KiB = 1024;

/** OPFS roots the benchmark owns (wiped at the start of every run). */
export const SHARE_ROOT = 'bench-share';
/** The same share for the L1 server. */
export const SHARE_ROOT_L1 = 'bench-share-l1';
export const RAW_ROOT = 'bench-raw';
export const BIG_ROOT = 'bench-10k';
export const EMPTY_ROOT = 'bench-empty';
export const INPROC_ROOT = 'bench-inproc';
export const INPROC_ROOT_L1 = 'bench-inproc-l1';

/** The polling window of the channel (src/channel), for the floor that polls the same way. */
export const SPIN_MS = 0.05;

/** Polls `ready` for up to `ms` (no back-off: the floor's partner always answers quickly). */
export function pollFor(ms: number, ready: () => boolean): void {
  const end = performance.now() + ms;
  while (!ready() && performance.now() < end);
}

/** Times `n` calls as one batch: performance.now() ticks in 5 µs steps here, too coarse for one call. */
export function microsPerOp(n: number, op: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) op(i);
  return ((performance.now() - t0) * 1000) / n;
}

export async function microsPerOpAsync(n: number, op: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return ((performance.now() - t0) * 1000) / n;
}

export async function opfsDir(path: string, create = true): Promise<FileSystemDirectoryHandle> {
  let dir = await navigator.storage.getDirectory();
  for (const p of path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(p, { create });
  return dir;
}
