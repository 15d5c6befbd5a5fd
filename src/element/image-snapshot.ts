// The snapshot a v86 image may ship beside its files: its guest booted to the shell, the guest
// agent up and the share mounted, saved and gzip-compressed (guest/out has one, made by
// scripts/boot-snapshot.ts). A start with no snapshot of the share's own resumes from it instead
// of booting. The manifest's `snapshot` entry names what the state depends on; the state is only
// used when all of it matches the launch, and anything wrong with it means a cold boot instead.

import { SessionState } from '../storage/server-api.js';
import { V86Image } from '../engines/v86-protocol.js';
import { v86Build } from '../engines/v86-build.js';

export const IMAGE_SNAPSHOT_FORMAT = 1;

/** The manifest's `snapshot` entry. */
export interface ImageSnapshotEntry {
  format: number;
  /** The gzip-compressed machine state (relative to the manifest; a URL once read). */
  state: string;
  stateBytes: number;
  /** The manifest `id` it was saved from. */
  manifest: string;
  /** The whole kernel command line it booted with, the element's additions (mount, network) included. */
  cmdline: string;
  memory: number;
  /** The v86 build that saved it (v86Build): the state's layout is that build's. */
  v86: string;
  /** The guest's 9P fids by path: its mount of the share is the share's root, which every share has. */
  session: SessionState;
  /** What the console showed up to the prompt: the terminal shows it again, as after a boot. */
  console: string;
}

export interface ImageSnapshot {
  state: ArrayBuffer;
  session: SessionState;
  console: string;
}

/**
 * The image's snapshot, or null: when the manifest ships none, when it was made for another
 * launch (a network card, another mount point: a cold boot, as expected), or when it is stale or
 * damaged (a console warning says so).
 */
export async function loadImageSnapshot(
  entry: ImageSnapshotEntry | null, manifestId: string | null, image: V86Image,
  progress: (loaded: number, total: number) => void,
): Promise<ImageSnapshot | null> {
  if (!entry || entry.cmdline !== image.cmdline || entry.memory !== image.memory) return null;
  const stale = entry.format !== IMAGE_SNAPSHOT_FORMAT ? `format ${entry.format}, not ${IMAGE_SNAPSHOT_FORMAT}`
    : entry.manifest !== manifestId ? `image ${entry.manifest}, not ${manifestId}`
    : entry.v86 !== v86Build ? `v86 ${entry.v86}, not ${v86Build}`
    : null;
  if (stale) {
    console.warn(`container-vm: the image's snapshot is stale (${stale}): booting instead. Rebuild it (npm start does).`);
    return null;
  }
  try {
    const response = await fetch(entry.state);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const total = Number(response.headers.get('content-length') ?? 0);
    let loaded = 0;
    const counted = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        progress(loaded, total);
        controller.enqueue(chunk);
      },
    });
    const gunzip = new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>;
    // Read into a buffer of the expected size: no copies, and gunzip's own error if the file is damaged.
    const reader = response.body.pipeThrough(counted).pipeThrough(gunzip).getReader();
    const state = new Uint8Array(entry.stateBytes);
    let length = 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      if (length + chunk.value.byteLength > state.length) throw new Error(`it holds more than the ${entry.stateBytes} bytes expected`);
      state.set(chunk.value, length);
      length += chunk.value.byteLength;
    }
    if (length !== entry.stateBytes) throw new Error(`it holds ${length} bytes, ${entry.stateBytes} expected`);
    return { state: state.buffer, session: entry.session, console: entry.console };
  } catch (e) {
    console.warn(`container-vm: the image's snapshot ${entry.state} could not be read (${e instanceof Error ? e.message : e}): booting instead.`);
    return null;
  }
}
