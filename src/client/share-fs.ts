// A path-based file API on a 9P session: what page code (the element's `fs`), transfers and tests
// use. Every call goes through the storage worker, never around it.

import { AsyncChannelClient } from '../channel/async-client.js';
import { ChannelEndpoint } from '../channel/layout.js';
import { Errno, FsError } from '../wire/errno.js';
import { AT_REMOVEDIR, OpenFlag, SetattrMask } from '../wire/messages.js';
import { P9Client } from './client.js';
import { Attr, P9File, SetAttr } from './file.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

export interface Stat {
  type: EntryType;
  /** Full st_mode (type and permission bits). */
  mode: number;
  size: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Milliseconds since the epoch, like Date. */
  mtimeMs: number;
  atimeMs: number;
  ctimeMs: number;
}

export interface DirEntryInfo {
  name: string;
  type: EntryType;
}

const TYPE_BY_FMT: Record<number, EntryType> = {
  0o100000: 'file', 0o040000: 'directory', 0o120000: 'symlink', 0o010000: 'fifo',
  0o020000: 'char', 0o060000: 'block', 0o140000: 'socket',
};
const TYPE_BY_DT: Record<number, EntryType> = { 8: 'file', 4: 'directory', 10: 'symlink', 1: 'fifo', 2: 'char', 6: 'block', 12: 'socket' };

export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

function toStat(a: Attr): Stat {
  const ms = (sec: number, nsec: number) => sec * 1000 + Math.floor(nsec / 1e6);
  return {
    type: TYPE_BY_FMT[a.mode & 0o170000] ?? 'file', mode: a.mode, size: a.size, uid: a.uid, gid: a.gid, nlink: a.nlink,
    mtimeMs: ms(a.mtimeSec, a.mtimeNsec), atimeMs: ms(a.atimeSec, a.atimeNsec), ctimeMs: ms(a.ctimeSec, a.ctimeNsec),
  };
}

export interface WriteStreamOptions {
  mode?: number;
  /** Modification time to set once written, in milliseconds since the epoch. */
  mtimeMs?: number;
  onBytes?: (written: number) => void;
}

/** A Tsetattr that sets both times to given instants (milliseconds since the epoch). */
function timesSetattr(atimeMs: number, mtimeMs: number): SetAttr {
  const sec = (ms: number) => Math.floor(ms / 1000);
  const nsec = (ms: number) => Math.round((ms - sec(ms) * 1000) * 1e6);
  return {
    valid: SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet,
    atimeSec: sec(atimeMs), atimeNsec: nsec(atimeMs), mtimeSec: sec(mtimeMs), mtimeNsec: nsec(mtimeMs),
  };
}

type File = P9File<'async'>;

function isErrno(e: unknown, errno: number): boolean {
  return e instanceof FsError && e.errno === errno;
}

export class ShareFs {
  private constructor(readonly client: P9Client, private readonly root: File) {}

  static async connect(endpoint: ChannelEndpoint): Promise<ShareFs> {
    const client = new P9Client(new AsyncChannelClient(endpoint));
    return new ShareFs(client, await client.connect());
  }

  /** Runs `fn` on a fid walked to `path`, clunking it afterwards. */
  private async at<T>(path: string | string[], fn: (file: File) => Promise<T>): Promise<T> {
    const file = await this.root.walk(typeof path === 'string' ? splitPath(path) : path);
    try {
      return await fn(file);
    } finally {
      await file.clunk().catch(() => undefined);
    }
  }

  private parentAndName(path: string): [string[], string] {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError(Errno.EINVAL, 'the share root has no name');
    return [parts, name];
  }

  private async atParent<T>(path: string, fn: (dir: File, name: string) => Promise<T>): Promise<T> {
    const [parent, name] = this.parentAndName(path);
    return this.at(parent, (dir) => fn(dir, name));
  }

  async stat(path: string): Promise<Stat> {
    return this.at(path, async (file) => toStat(await file.getattr()));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (e) {
      if (isErrno(e, Errno.ENOENT)) return false;
      throw e;
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.at(path, async (file) => {
      await file.open(OpenFlag.ReadOnly);
      return file.readAll();
    });
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readFile(path));
  }

  /** Creates or replaces a file's contents. */
  async writeFile(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.atParent(path, async (dir, name) => {
      const file = await this.createOrTruncate(dir, name, mode);
      try {
        await file.writeAll(0, bytes);
      } finally {
        await file.clunk().catch(() => undefined);
      }
    });
  }

  /**
   * Creates or replaces a file from a stream, writing each chunk as it arrives so a large file never
   * sits whole in memory. `onBytes` hears the running total. Sets the mtime when given.
   */
  async writeStream(path: string, source: ReadableStream<Uint8Array>, options: WriteStreamOptions = {}): Promise<number> {
    let written = 0;
    await this.atParent(path, async (dir, name) => {
      const file = await this.createOrTruncate(dir, name, options.mode ?? 0o644);
      try {
        const reader = source.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await file.writeAll(written, value);
          written += value.length;
          options.onBytes?.(written);
        }
        if (options.mtimeMs !== undefined) await file.setattr(timesSetattr(options.mtimeMs, options.mtimeMs));
      } finally {
        await file.clunk().catch(() => undefined);
      }
    });
    return written;
  }

  /** A file's contents as a stream of msize-sized chunks, read as the consumer pulls. */
  async readStream(path: string): Promise<ReadableStream<Uint8Array>> {
    const file = await this.root.walk(splitPath(path));
    try {
      await file.open(OpenFlag.ReadOnly);
    } catch (e) {
      await file.clunk().catch(() => undefined);
      throw e;
    }
    let offset = 0;
    const close = () => file.clunk().catch(() => undefined);
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await file.read(offset, this.client.ioSize);
          if (chunk.length === 0) {
            await close();
            controller.close();
            return;
          }
          offset += chunk.length;
          controller.enqueue(chunk);
        } catch (e) {
          await close();
          controller.error(e);
        }
      },
      cancel: close,
    });
  }

  /**
   * Every entry under `path` (not `path` itself), parents before children, with its stat, as paths
   * relative to `path`. Symlinks are listed, not followed.
   */
  async *walkTree(path = ''): AsyncGenerator<{ path: string; stat: Stat }> {
    const pending = [''];
    while (pending.length > 0) {
      const rel = pending.shift()!;
      const base = [path, rel].filter(Boolean).join('/');
      for (const entry of await this.readDir(base)) {
        const childRel = rel ? `${rel}/${entry.name}` : entry.name;
        const stat = await this.stat(`${base}/${entry.name}`);
        yield { path: childRel, stat };
        if (stat.type === 'directory') pending.push(childRel);
      }
    }
  }

  /** `name` in the directory `dir`, open for writing: a new file, or the existing one emptied. */
  private async createOrTruncate(dir: File, name: string, mode: number): Promise<File> {
    const file = await dir.walk([]);
    try {
      await file.create(name, OpenFlag.WriteOnly | OpenFlag.Create | OpenFlag.Exclusive, mode);
      return file;
    } catch (e) {
      // Not awaited: the clunk and the walk below go out together (the walk takes another fid).
      const clunked = file.clunk().catch(() => undefined);
      if (!isErrno(e, Errno.EEXIST)) {
        await clunked;
        throw e;
      }
    }
    const existing = await dir.walk([name]);
    try {
      await existing.open(OpenFlag.WriteOnly | OpenFlag.Truncate);
      return existing;
    } catch (e) {
      await existing.clunk().catch(() => undefined);
      throw e;
    }
  }

  async readDir(path: string): Promise<DirEntryInfo[]> {
    return this.at(path, async (dir) => {
      await dir.open(OpenFlag.ReadOnly | OpenFlag.Directory);
      const entries = await dir.readdirAll();
      return entries
        .filter((e) => e.name !== '.' && e.name !== '..')
        .map((e) => ({ name: e.name, type: TYPE_BY_DT[e.type] ?? 'file' }));
    });
  }

  async mkdir(path: string, mode = 0o755): Promise<void> {
    await this.atParent(path, (dir, name) => dir.mkdir(name, mode));
  }

  /** mkdir -p: the whole path in one walk when it exists, else name by name from the root. */
  async mkdirs(path: string, mode = 0o755): Promise<void> {
    const parts = splitPath(path);
    try {
      await (await this.root.walk(parts)).clunk();
      return;
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
    let dir = await this.root.walk([]);
    try {
      for (const name of parts) {
        const next = await dir.walk([name]).catch(async (e: unknown) => {
          if (!isErrno(e, Errno.ENOENT)) throw e;
          await dir.mkdir(name, mode).catch((e: unknown) => { if (!isErrno(e, Errno.EEXIST)) throw e; });
          return dir.walk([name]);
        });
        await dir.clunk();
        dir = next;
      }
    } finally {
      await dir.clunk().catch(() => undefined);
    }
  }

  /** Removes a file, symlink or empty directory; with `recursive`, a whole tree. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const st = await this.lstat(path);
    if (st.type === 'directory' && options.recursive) {
      for (const e of await this.readDir(path)) await this.remove(`${path}/${e.name}`, options);
    }
    await this.atParent(path, (dir, name) => dir.unlinkat(name, st.type === 'directory' ? AT_REMOVEDIR : 0));
  }

  /** stat without following a final symlink (9P never follows symlinks, so this is stat). */
  lstat(path: string): Promise<Stat> {
    return this.stat(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const [fromParent, fromName] = this.parentAndName(from);
    const [toParent, toName] = this.parentAndName(to);
    await this.at(fromParent, (a) => this.at(toParent, (b) => a.renameat(fromName, b, toName)));
  }

  async symlink(target: string, path: string): Promise<void> {
    await this.atParent(path, (dir, name) => dir.symlink(name, target));
  }

  async readlink(path: string): Promise<string> {
    return this.at(path, (file) => file.readlink());
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.at(path, (file) => file.setattr({ valid: SetattrMask.Mode, mode }));
  }

  async truncate(path: string, size: number): Promise<void> {
    await this.at(path, (file) => file.setattr({ valid: SetattrMask.Size, size }));
  }

  /** Sets access and modification times (milliseconds since the epoch). */
  async utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    await this.at(path, (file) => file.setattr(timesSetattr(atimeMs, mtimeMs)));
  }

  async statfs(): Promise<{ blocks: number; bfree: number; bsize: number }> {
    return this.root.statfs();
  }
}
