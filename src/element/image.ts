// What `src` names: a v86 image manifest (JSON), a container2wasm image (.wasm), or the chunk
// manifest of a container2wasm image served in pieces (.wasm.json, src/engines/image-source.ts).

import { V86Image } from '../engines/v86-protocol.js';
import { VmError } from '../errors.js';
import { ImageSnapshotEntry } from './image-snapshot.js';

export type EngineKind = 'v86' | 'wasi';

/** The engine `engine="auto"` picks for a source URL. */
export function engineFor(src: string): EngineKind {
  const path = new URL(src, location.href).pathname.toLowerCase();
  return path.endsWith('.wasm') || path.endsWith('.wasm.json') ? 'wasi' : 'v86';
}

interface V86Manifest {
  kernel: string;
  initrd?: string;
  bios: string;
  vgaBios?: string;
  cmdline?: string;
  memory?: number;
  /** guest/build.sh's digest of the kernel, initrd, BIOS, command line and memory. */
  id?: string;
  /** A snapshot of this image booted to its shell (scripts/boot-snapshot.ts makes it). */
  snapshot?: ImageSnapshotEntry;
}

/** A v86 manifest read: the image, and the snapshot it ships (its state file's URL resolved). */
export interface V86Guest {
  image: V86Image;
  /** The manifest's `id`, when it has one: the shipped snapshot names the id it was made from. */
  id: string | null;
  snapshot: ImageSnapshotEntry | null;
}

/** Fetches a v86 manifest and resolves its file names against the manifest's own URL. */
export async function loadV86Manifest(src: string, extraCmdline: string): Promise<V86Guest> {
  const url = new URL(src, location.href);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new VmError('image-unreachable', `could not fetch the image manifest ${url}: ${e instanceof Error ? e.message : e}. Check the src attribute and that the server is reachable.`);
  }
  if (!response.ok) {
    throw new VmError('image-unreachable', `the image manifest ${url} answered HTTP ${response.status}. Check the src attribute.`);
  }
  let m: V86Manifest;
  try {
    m = await response.json() as V86Manifest;
  } catch {
    throw new VmError('bad-image', `${url} is not a JSON image manifest (expected {"kernel", "initrd", "bios", "cmdline"}).`);
  }
  if (typeof m.kernel !== 'string' || typeof m.bios !== 'string') {
    throw new VmError('bad-image', `the image manifest ${url} must name at least "kernel" and "bios" (a chunked WASI image's manifest is named *.wasm.json, or set engine="wasi").`);
  }
  const resolve = (name: string) => new URL(name, url).href;
  const image: V86Image = {
    kernel: resolve(m.kernel),
    ...(m.initrd ? { initrd: resolve(m.initrd) } : {}),
    bios: resolve(m.bios),
    ...(m.vgaBios ? { vgaBios: resolve(m.vgaBios) } : {}),
    cmdline: [m.cmdline ?? 'console=ttyS0', extraCmdline].filter(Boolean).join(' '),
    memory: m.memory ?? 256,
  };
  const snapshot = m.snapshot && typeof m.snapshot.state === 'string' ? { ...m.snapshot, state: resolve(m.snapshot.state) } : null;
  return { image, id: typeof m.id === 'string' ? m.id : null, snapshot };
}
