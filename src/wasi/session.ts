// One 9P session on the storage worker for S1: the blocking client, and what S1 keeps between
// requests to spare round trips. Every request wakes the storage worker's thread and then this
// one, which costs tens of microseconds on a busy machine, while an emulator such as TinyEMU reads and writes 8 KiB at a time and looks a path up several times per guest system call.
// So, within rules that keep the share coherent (docs/container2wasm.md):
//   - consecutive writes to one file are gathered and sent as one Twrite: before any other request
//     of this session, when the program sleeps or exits, and at the latest WRITE_DELAY_MS after the
//     first (checked at each clock read and poll). A failure of gathered writes is reported by the
//     file's next write, fsync or close;
//   - attributes of looked-up paths (path_filestat_get, and those of a directory's entries, fetched
//     in batches when it is listed) and data read ahead of sequential reads are used for at most
//     REMEMBER_MS, and not at all after anything this session changed, or after the program slept
//     (the page may have changed the share meanwhile).

import { ChannelEndpoint } from '../channel/layout.js';
import { SyncChannelClient } from '../channel/sync-client.js';
import { SyncP9Client } from '../client/client.js';
import { Attr, P9File } from '../client/file.js';
import { Step } from '../client/op.js';
import { Errno, FsError } from '../wire/errno.js';
import { GetattrMask, MessageType, OpenFlag } from '../wire/messages.js';

/** A file of an S1 session. */
export type S1File = P9File<'sync'>;

/** How long S1 uses what it remembered (FUSE's default attribute and entry timeout). */
export const REMEMBER_MS = 1000;
/** How long S1 keeps writes gathered while the program runs on. */
export const WRITE_DELAY_MS = 100;
/** The most paths remembered at once. */
const MAX_MEMORIES = 65536;
/** The most bytes gathered for one Twrite. */
const GATHER_BYTES = 256 * 1024;

/** Requests that change the share (and Tlopen when it truncates, below). */
const CHANGES = new Set<MessageType>([
  MessageType.Tlcreate, MessageType.Tsymlink, MessageType.Tmknod, MessageType.Trename, MessageType.Tsetattr,
  MessageType.Txattrcreate, MessageType.Tlink, MessageType.Tmkdir, MessageType.Trenameat, MessageType.Tunlinkat,
  MessageType.Twrite, MessageType.Tremove,
]);

function changesShare(step: Step): boolean {
  if (step.type === MessageType.Tlopen) return (step.fields.flags & OpenFlag.Truncate) !== 0;
  return CHANGES.has(step.type);
}

/** Who gathered writes belong to: a failure to send them is handed back to it. */
export interface WriteOwner { failedWrite: unknown }

interface Gathered { fid: number; offset: number; length: number; since: number; owner: WriteOwner }

export class P9Session extends SyncP9Client {
  /** The share's root. */
  readonly root: S1File;
  /** Bumped by every change this session makes and when the program sleeps: older memories are void. */
  private generation = 0;
  private readonly memories = new Map<string, { generation: number; at: number; value: unknown }>();
  private gathered: Gathered | null = null;
  private readonly gatherBuffer: Uint8Array;

  private constructor(channel: SyncChannelClient) {
    super(channel);
    this.root = this.connect();
    this.gatherBuffer = new Uint8Array(Math.min(GATHER_BYTES, this.ioSize));
  }

  /** Connects over a channel endpoint (from StorageHost.connect). Blocks: call it in a worker. */
  static connect(endpoint: ChannelEndpoint): P9Session {
    return new P9Session(new SyncChannelClient(endpoint));
  }

  /** A stamp for what is read now: valid(stamp) says whether it may still be used. */
  get stamp(): { generation: number; at: number } { return { generation: this.generation, at: performance.now() }; }

  valid(stamp: { generation: number; at: number }): boolean {
    return stamp.generation === this.generation && performance.now() - stamp.at < REMEMBER_MS;
  }

  /** Every request: the gathered writes go first, so that it sees them; a change voids what was remembered. */
  override send(step: Step): unknown {
    this.sendGathered();
    if (changesShare(step)) this.changed();
    return super.send(step);
  }

  override readInto(fid: number, offset: number, dest: Uint8Array): number {
    this.sendGathered();
    return super.readInto(fid, offset, dest);
  }

  override clunk(fid: number): void {
    this.sendGathered();
    super.clunk(fid);
  }

  /**
   * Writes `src` at `offset` of the open `file`: gathered when it continues the writes gathered for
   * that file, else sent (after what was gathered). Returns the count.
   */
  write(file: S1File, offset: number, src: Uint8Array, owner: WriteOwner): number {
    const g = this.gathered;
    if (g && g.fid === file.fid && offset === g.offset + g.length && g.length + src.length <= this.gatherBuffer.length) {
      this.gatherBuffer.set(src, g.length);
      g.length += src.length;
      return src.length;
    }
    this.sendGathered();
    this.changed();
    if (src.length > this.gatherBuffer.length / 2) return this.writeNow(file.fid, offset, src);
    this.gatherBuffer.set(src);
    this.gathered = { fid: file.fid, offset, length: src.length, since: performance.now(), owner };
    return src.length;
  }

  private writeNow(fid: number, offset: number, src: Uint8Array): number {
    const step = this.ioSize;
    let done = 0;
    do {
      const { count } = this.rpc(MessageType.Twrite, { fid, offset: offset + done, data: src.subarray(done, done + step) });
      done += count;
      if (count === 0) break;
    } while (done < src.length);
    return done;
  }

  /** Sends the gathered writes; a failure (or a short write) goes to their owner. */
  sendGathered(): void {
    const g = this.gathered;
    if (!g) return;
    this.gathered = null;
    try {
      if (this.writeNow(g.fid, g.offset, this.gatherBuffer.subarray(0, g.length)) < g.length) throw new FsError(Errno.ENOSPC, 'short write');
    } catch (e) {
      g.owner.failedWrite ??= e;
    }
  }

  /** Called at every clock read and poll: sends writes gathered longer than WRITE_DELAY_MS ago. */
  tick(): void {
    if (this.gathered && performance.now() - this.gathered.since >= WRITE_DELAY_MS) this.sendGathered();
  }

  /** The program is about to sleep, or exits: send what was gathered, forget what was remembered. */
  settle(): void {
    this.sendGathered();
    this.changed();
  }

  private changed(): void {
    this.generation++;
    this.memories.clear();
  }

  /** What was remembered under `key`, while valid. */
  recall<T>(key: string): T | undefined {
    const m = this.memories.get(key);
    return m && this.valid(m) ? m.value as T : undefined;
  }

  remember(key: string, value: unknown): void {
    // Bounded: a listing of a huge tree must not grow it without end.
    if (this.memories.size >= MAX_MEMORIES) this.memories.clear();
    this.memories.set(key, { ...this.stamp, value });
  }

  /**
   * The attributes of the entries `names` of the directory `dir` (or the error of each), in three
   * batched round trips per batch of names (walk, getattr, clunk) instead of two round trips per
   * name; null when the connection has no slots for batches.
   */
  statMany(dir: S1File, names: string[]): (Attr | FsError)[] | null {
    if (this.batchSize === 0) return null;
    this.sendGathered();
    const fids = names.map(() => this.fids.take());
    const walks = this.batch(MessageType.Twalk, names.map((name, i) => ({ fid: dir.fid, newfid: fids[i]!, names: [name] })));
    // A walk of one name either reaches it or fails with Rlerror, which leaves its fid unbound.
    const walked = fids.filter((fid, i) => {
      if (walks[i] instanceof FsError) {
        this.fids.give(fid);
        return false;
      }
      return true;
    });
    const attrs = this.batch(MessageType.Tgetattr, walked.map((fid) => ({ fid, requestMask: GetattrMask.All })));
    this.batch(MessageType.Tclunk, walked.map((fid) => ({ fid })));
    for (const fid of walked) this.fids.give(fid);
    let next = 0;
    return walks.map((w) => (w instanceof FsError ? w : attrs[next++]!));
  }

  /** Runs `fn` on a file walked along `names` from `from`, clunking it afterwards. */
  at<T>(from: S1File, names: readonly string[], fn: (file: S1File) => T): T {
    const file = from.walk(names);
    try {
      return fn(file);
    } finally {
      file.clunk();
    }
  }
}
