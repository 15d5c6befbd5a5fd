// VM snapshots in OPFS, beside the share rather than in it (the guest must not see or change
// them): /emulator/snapshots/<share>/ holds snapshot.json, which names the current state file,
// and that file, the v86 machine state gzip-compressed (its CRC catches a damaged file).
//
// Saving is crash-safe: the state goes to a new file; only once that file is complete does
// snapshot.json name it, written through createWritable(), which replaces the old snapshot.json
// in one step when closed; then older state files are removed. A browser killed at any point
// leaves snapshot.json naming a complete state file: the previous one or the new one.
// The share's Web Lock (storage/share-lock.ts) also guards these files: one tab per share.

import { SessionState } from '../storage/server-api.js';
import { V86Image } from '../engines/v86-protocol.js';

const INDEX = 'snapshot.json';
const FORMAT = 1;
const CHUNK = 1 << 20;

interface SnapshotIndex {
  format: number;
  /** The state file in this folder. */
  file: string;
  /** Which image and kernel command line the state belongs to: a state only resumes its own image. */
  image: string;
  session: SessionState;
  savedAt: number;
  stateBytes: number;
  storedBytes: number;
}

export interface SnapshotInfo { savedAt: Date; stateBytes: number; storedBytes: number }
export interface Snapshot extends SnapshotInfo {
  state: ArrayBuffer;
  session: SessionState;
  /** imageKey() of the image it was saved from: it only resumes that image. */
  image: string;
}

/** What a state depends on: the image files and the command line (mount point included). */
export function imageKey(image: V86Image): string {
  return JSON.stringify([image.kernel, image.initrd ?? '', image.bios, image.cmdline, image.memory]);
}

export class SnapshotStore {
  private constructor(private readonly dir: FileSystemDirectoryHandle) {}

  /** The snapshots of the share at `shareRoot`. */
  static async open(shareRoot: string): Promise<SnapshotStore> {
    let dir = await navigator.storage.getDirectory();
    const share = encodeURIComponent('/' + shareRoot.split('/').filter(Boolean).join('/'));
    for (const part of ['emulator', 'snapshots', share]) dir = await dir.getDirectoryHandle(part, { create: true });
    return new SnapshotStore(dir);
  }

  async save(state: ArrayBuffer, session: SessionState, image: V86Image): Promise<SnapshotInfo> {
    const savedAt = Date.now();
    const file = `state-${savedAt}.v86.gz`;
    const handle = await this.dir.getFileHandle(file, { create: true });
    try {
      await chunksOf(new Uint8Array(state)).pipeThrough(gzip('compress')).pipeTo(await handle.createWritable());
    } catch (e) {
      // A full quota, say: give the space back; the previous snapshot stays current.
      await this.dir.removeEntry(file).catch(() => undefined);
      throw e;
    }
    const storedBytes = (await handle.getFile()).size;
    const index: SnapshotIndex = { format: FORMAT, file, image: imageKey(image), session, savedAt, stateBytes: state.byteLength, storedBytes };
    const writer = await (await this.dir.getFileHandle(INDEX, { create: true })).createWritable();
    await writer.write(JSON.stringify(index));
    await writer.close();
    // Older states, and partial files of saves a crash interrupted.
    for await (const [name] of this.dir.entries()) {
      if (name !== INDEX && name !== file) await this.dir.removeEntry(name).catch(() => undefined);
    }
    return { savedAt: new Date(savedAt), stateBytes: state.byteLength, storedBytes };
  }

  /** The latest snapshot, or null when there is none. */
  async load(progress: (loaded: number, total: number) => void): Promise<Snapshot | null> {
    const index = await this.index();
    if (!index) return null;
    const file = await (await this.dir.getFileHandle(index.file)).getFile();
    let loaded = 0;
    const counted = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        progress(loaded, file.size);
        controller.enqueue(chunk);
      },
    });
    const state = await new Response(file.stream().pipeThrough(counted).pipeThrough(gzip('decompress'))).arrayBuffer();
    if (state.byteLength !== index.stateBytes) throw new Error(`the snapshot holds ${state.byteLength} bytes, ${index.stateBytes} expected`);
    return { state, session: index.session, image: index.image, savedAt: new Date(index.savedAt), stateBytes: index.stateBytes, storedBytes: index.storedBytes };
  }

  async info(): Promise<SnapshotInfo | null> {
    const index = await this.index();
    return index && { savedAt: new Date(index.savedAt), stateBytes: index.stateBytes, storedBytes: index.storedBytes };
  }

  /** Removes every snapshot of the share: the next start boots cold. */
  async clear(): Promise<void> {
    for await (const [name] of this.dir.entries()) await this.dir.removeEntry(name).catch(() => undefined);
  }

  private async index(): Promise<SnapshotIndex | null> {
    try {
      const index = JSON.parse(await (await (await this.dir.getFileHandle(INDEX)).getFile()).text()) as SnapshotIndex;
      return index.format === FORMAT ? index : null;
    } catch {
      return null; // none yet, or unreadable: boot cold
    }
  }
}

/** (TypeScript's DOM types declare these streams' writable side as BufferSource, which pipeThrough rejects.) */
function gzip(direction: 'compress' | 'decompress'): TransformStream<Uint8Array, Uint8Array> {
  const stream = direction === 'compress' ? new CompressionStream('gzip') : new DecompressionStream('gzip');
  return stream as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** The state as a stream of 1 MiB views, so compressing it needs no second copy of it. */
function chunksOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
}
