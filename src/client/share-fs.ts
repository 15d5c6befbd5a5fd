// A path-based file API on a 9P session: what page code (the element's `fs`) and tests use.
// Every call goes through the storage worker, never around it.

import { Attr, P9Client, SetAttr } from './client.js';
import { Errno, FsError } from '../wire/errno.js';
import { AT_REMOVEDIR, IO_OVERHEAD, OpenFlag, SetattrMask } from '../wire/messages.js';
import { AsyncChannelClient } from '../channel/async-client.js';
import { ChannelEndpoint } from '../channel/layout.js';

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

export class ShareFs {
  private constructor(readonly client: P9Client, private readonly rootFid: number) {}

  static async connect(endpoint: ChannelEndpoint): Promise<ShareFs> {
    const client = new P9Client(new AsyncChannelClient(endpoint));
    const root = await client.connect();
    return new ShareFs(client, root);
  }

  /** Runs `fn` with a fid walked to `path`, clunking it afterwards. */
  private async at<T>(path: string, fn: (fid: number) => Promise<T>): Promise<T> {
    const fid = await this.client.walkNew(this.rootFid, splitPath(path));
    try {
      return await fn(fid);
    } finally {
      await this.client.clunk(fid).catch(() => undefined);
    }
  }

  private parentAndName(path: string): [string[], string] {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError(Errno.EINVAL, 'the share root has no name');
    return [parts, name];
  }

  private async atParent<T>(path: string, fn: (dirFid: number, name: string) => Promise<T>): Promise<T> {
    const [parent, name] = this.parentAndName(path);
    return this.at(parent.join('/'), (fid) => fn(fid, name));
  }

  async stat(path: string): Promise<Stat> {
    return this.at(path, async (fid) => toStat(await this.client.getattr(fid)));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (e) {
      if (e instanceof FsError && e.errno === Errno.ENOENT) return false;
      throw e;
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.at(path, async (fid) => {
      await this.client.lopen(fid, OpenFlag.ReadOnly);
      return this.client.readAll(fid);
    });
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readFile(path));
  }

  /** Creates or replaces a file's contents. */
  async writeFile(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.atParent(path, async (dirFid, name) => {
      const fid = await this.createOrTruncate(dirFid, name, mode);
      try {
        await this.client.writeAll(fid, 0, bytes);
      } finally {
        await this.client.clunk(fid).catch(() => undefined);
      }
    });
  }

  /**
   * Creates or replaces a file from a stream, writing each chunk as it arrives so a large file never
   * sits whole in memory. `onBytes` hears the running total. Sets the mtime when given.
   */
  async writeStream(path: string, source: ReadableStream<Uint8Array>, options: WriteStreamOptions = {}): Promise<number> {
    let written = 0;
    await this.atParent(path, async (dirFid, name) => {
      const fid = await this.createOrTruncate(dirFid, name, options.mode ?? 0o644);
      try {
        const reader = source.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await this.client.writeAll(fid, written, value);
          written += value.length;
          options.onBytes?.(written);
        }
        if (options.mtimeMs !== undefined) await this.client.setattr(fid, timesSetattr(options.mtimeMs, options.mtimeMs));
      } finally {
        await this.client.clunk(fid).catch(() => undefined);
      }
    });
    return written;
  }

  /** A file's contents as a stream of msize-sized chunks, read as the consumer pulls. */
  async readStream(path: string): Promise<ReadableStream<Uint8Array>> {
    const fid = await this.client.walkNew(this.rootFid, splitPath(path));
    try {
      await this.client.lopen(fid, OpenFlag.ReadOnly);
    } catch (e) {
      await this.client.clunk(fid).catch(() => undefined);
      throw e;
    }
    let offset = 0;
    const close = () => this.client.clunk(fid).catch(() => undefined);
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const chunk = await this.client.read(fid, offset, this.client.msize - IO_OVERHEAD);
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

  /** A fid open for writing on `name` in the directory `dirFid`: a new file, or the existing one emptied. */
  private async createOrTruncate(dirFid: number, name: string, mode: number): Promise<number> {
    const fid = this.client.newFid();
    await this.client.walk(dirFid, fid, []);
    try {
      try {
        await this.client.lcreate(fid, name, OpenFlag.WriteOnly | OpenFlag.Create | OpenFlag.Exclusive, mode);
      } catch (e) {
        if (!(e instanceof FsError && e.errno === Errno.EEXIST)) throw e;
        // The failed Tlcreate left `fid` on the directory: walk it on to the existing file
        // (a walk into a fid that is in use, other than itself, is EBADF).
        await this.client.walk(fid, fid, [name]);
        await this.client.lopen(fid, OpenFlag.WriteOnly | OpenFlag.Truncate);
      }
      return fid;
    } catch (e) {
      await this.client.clunk(fid).catch(() => undefined);
      throw e;
    }
  }

  async readDir(path: string): Promise<DirEntryInfo[]> {
    return this.at(path, async (fid) => {
      await this.client.lopen(fid, OpenFlag.ReadOnly | OpenFlag.Directory);
      const entries = await this.client.readdirAll(fid);
      return entries
        .filter((e) => e.name !== '.' && e.name !== '..')
        .map((e) => ({ name: e.name, type: TYPE_BY_DT[e.type] ?? 'file' }));
    });
  }

  async mkdir(path: string, mode = 0o755): Promise<void> {
    await this.atParent(path, (dirFid, name) => this.client.mkdir(dirFid, name, mode));
  }

  /** mkdir -p */
  async mkdirs(path: string, mode = 0o755): Promise<void> {
    const parts = splitPath(path);
    for (let i = 1; i <= parts.length; i++) {
      try {
        await this.mkdir(parts.slice(0, i).join('/'), mode);
      } catch (e) {
        if (!(e instanceof FsError && e.errno === Errno.EEXIST)) throw e;
      }
    }
  }

  /** Removes a file, symlink or empty directory; with `recursive`, a whole tree. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const st = await this.lstat(path);
    if (st.type === 'directory' && options.recursive) {
      for (const e of await this.readDir(path)) await this.remove(`${path}/${e.name}`, options);
    }
    await this.atParent(path, (dirFid, name) => this.client.unlinkat(dirFid, name, st.type === 'directory' ? AT_REMOVEDIR : 0));
  }

  /** stat without following a final symlink (9P never follows symlinks, so this is stat). */
  lstat(path: string): Promise<Stat> {
    return this.stat(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const [fromParent, fromName] = this.parentAndName(from);
    const [toParent, toName] = this.parentAndName(to);
    await this.at(fromParent.join('/'), (a) => this.at(toParent.join('/'), (b) => this.client.renameat(a, fromName, b, toName)));
  }

  async symlink(target: string, path: string): Promise<void> {
    await this.atParent(path, (dirFid, name) => this.client.symlink(dirFid, name, target));
  }

  async readlink(path: string): Promise<string> {
    return this.at(path, (fid) => this.client.readlink(fid));
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.at(path, (fid) => this.client.setattr(fid, { valid: SetattrMask.Mode, mode }));
  }

  async truncate(path: string, size: number): Promise<void> {
    await this.at(path, (fid) => this.client.setattr(fid, { valid: SetattrMask.Size, size }));
  }

  /** Sets access and modification times (milliseconds since the epoch). */
  async utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    await this.at(path, (fid) => this.client.setattr(fid, timesSetattr(atimeMs, mtimeMs)));
  }

  async statfs(): Promise<{ blocks: number; bfree: number; bsize: number }> {
    return (await this.client.statfs(this.rootFid)) as { blocks: number; bfree: number; bsize: number };
  }
}
