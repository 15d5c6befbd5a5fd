// Standard input for a WASI program in a worker, fed by the page through a SharedArrayBuffer ring:
// reads block in Atomics.wait (the program's thread has nothing else to do), poll_oneoff sleeps on
// the same word until input or its deadline.

import { Fd, wasi } from '@bjorn3/browser_wasi_shim';
import { PollableFd } from './imports.js';

// Int32 header: [0] bytes written so far, [1] bytes read so far (both wrap at 2^32), [2] closed.
const WRITTEN = 0;
const READ = 1;
const CLOSED = 2;
const HEADER_BYTES = 16;

/** `capacity` must be a power of two, so positions stay consistent when the counters wrap. */
export function createStdinBuffer(capacity = 64 * 1024): SharedArrayBuffer {
  if (capacity & (capacity - 1)) throw new RangeError('the stdin buffer capacity must be a power of two');
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

class Ring {
  protected readonly header: Int32Array;
  protected readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
  }

  protected used(): number {
    return (Atomics.load(this.header, WRITTEN) - Atomics.load(this.header, READ)) >>> 0;
  }
}

/** The page's side: queues what does not fit until the program reads. */
export class StdinWriter extends Ring {
  private pending: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  write(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.flush();
  }

  /** End of input: reads return 0 once the buffered bytes are consumed. */
  close(): void {
    Atomics.store(this.header, CLOSED, 1);
    Atomics.notify(this.header, WRITTEN);
  }

  private flush(): void {
    while (this.pending.length) {
      const chunk = this.pending[0]!;
      const room = this.data.length - this.used();
      const n = Math.min(room, chunk.length);
      const at = Atomics.load(this.header, WRITTEN) >>> 0;
      for (let i = 0; i < n; i++) this.data[(at + i) % this.data.length] = chunk[i]!;
      Atomics.store(this.header, WRITTEN, (at + n) | 0);
      Atomics.notify(this.header, WRITTEN);
      if (n < chunk.length) {
        this.pending[0] = chunk.subarray(n);
        // The program has not read yet: try again shortly instead of dropping keystrokes.
        this.timer ??= setTimeout(() => { this.timer = null; this.flush(); }, 10);
        return;
      }
      this.pending.shift();
    }
  }
}

/** The program's fd 0: a character device (isatty) whose reads block until the page sends input. */
export class StdinFd extends Fd implements PollableFd {
  private readonly ring: StdinReader;
  private flags = 0;

  constructor(buffer: SharedArrayBuffer) {
    super();
    this.ring = new StdinReader(buffer);
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    if (this.ring.available() === 0 && !this.ring.closed()) {
      if (this.flags & wasi.FDFLAGS_NONBLOCK) return { ret: wasi.ERRNO_AGAIN, data: new Uint8Array() };
      while (this.ring.available() === 0 && !this.ring.closed()) this.ring.wait(Infinity);
    }
    return { ret: wasi.ERRNO_SUCCESS, data: this.ring.take(size) };
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_CHARACTER_DEVICE, this.flags);
    st.fs_rights_base = BigInt(wasi.RIGHTS_FD_READ | wasi.RIGHTS_POLL_FD_READWRITE | wasi.RIGHTS_FD_FDSTAT_SET_FLAGS);
    return { ret: 0, fdstat: st };
  }

  override fd_fdstat_set_flags(flags: number): number {
    this.flags = flags;
    return wasi.ERRNO_SUCCESS;
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return { ret: 0, filestat: new wasi.Filestat(0n, wasi.FILETYPE_CHARACTER_DEVICE, 0n) };
  }

  readableBytes(): number {
    return this.ring.available() || (this.ring.closed() ? 1 : 0);
  }

  waitReadable(timeoutMs: number): void {
    if (this.readableBytes() === 0) this.ring.wait(timeoutMs);
  }
}

class StdinReader extends Ring {
  available(): number { return this.used(); }

  closed(): boolean { return Atomics.load(this.header, CLOSED) !== 0; }

  /** Sleeps until the page writes (or closes), or `timeoutMs` passes. */
  wait(timeoutMs: number): void {
    const written = Atomics.load(this.header, WRITTEN);
    if (((written - Atomics.load(this.header, READ)) >>> 0) !== 0 || this.closed()) return;
    Atomics.wait(this.header, WRITTEN, written, timeoutMs);
  }

  take(max: number): Uint8Array {
    const n = Math.min(max, this.used());
    const at = Atomics.load(this.header, READ) >>> 0;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.data[(at + i) % this.data.length]!;
    Atomics.store(this.header, READ, (at + n) | 0);
    return out;
  }
}
