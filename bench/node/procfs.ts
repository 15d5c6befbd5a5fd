// What the benchmarks read from /proc: a browser's process tree, CPU time by process and thread,
// and peak memory (VmHWM). Linux only, as the benchmarks are.

import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 on Linux). */
const TICKS_PER_SECOND = 100;

function statFields(path: string): string[] {
  const st = readFileSync(path, 'utf8');
  // The command name is in parentheses and may hold spaces: fields count from after it.
  return [st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')), ...st.slice(st.lastIndexOf(')') + 2).split(' ')];
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const ppid = Number(statFields(`/proc/${p}/stat`)[2]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch { /* gone */ }
  }
  const out: number[] = [];
  for (const queue = [root]; queue.length;) {
    const p = queue.pop()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Chromium's process type (--type=renderer, gpu-process, utility, ...); "browser" for the main one. */
export function processKind(pid: number): string {
  try {
    return /--type=(\S+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
  } catch {
    return 'gone';
  }
}

/** CPU seconds (user + system) of every thread of these processes, keyed by "pid/tid". */
export function threadCpu(pids: number[]): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>();
  for (const pid of pids) {
    const kind = processKind(pid);
    let tids: string[] = [];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try {
        const f = statFields(`/proc/${pid}/task/${tid}/stat`);
        out.set(`${pid}/${tid}`, { name: `${kind}: ${f[0]}`, seconds: (Number(f[12]) + Number(f[13])) / TICKS_PER_SECOND });
      } catch { /* gone */ }
    }
  }
  return out;
}

/** CPU used between two threadCpu samples, summed by thread name, largest first. */
export function cpuBetween(before: Map<string, { name: string; seconds: number }>, after: Map<string, { name: string; seconds: number }>): { total: number; byThread: [string, number][] } {
  const by = new Map<string, number>();
  let total = 0;
  for (const [key, { name, seconds }] of after) {
    const used = seconds - (before.get(key)?.seconds ?? 0);
    if (used <= 0) continue;
    total += used;
    by.set(name, (by.get(name) ?? 0) + used);
  }
  return { total, byThread: [...by].sort((a, b) => b[1] - a[1]) };
}

/** Peak resident memory (VmHWM) of a process, in bytes; 0 when it is gone. */
export function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
