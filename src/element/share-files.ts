// The element's `fs`: the share's path API, usable before the VM runs (the first call opens the
// share). Paths are relative to the share root, which is the guest's mount point: "notes.txt"
// here is /mnt/opfs/notes.txt in the guest. Every call goes through the storage worker. A call that
// changes the share resolves once a running guest will see the change (`changed`: the guest agent
// drops the guest's 9p caches).

import { DirEntryInfo, ShareFs, Stat } from '../client/share-fs.js';

export class ShareFiles {
  constructor(private readonly open: () => Promise<{ fs: ShareFs }>, private readonly changed: () => Promise<void>) {}

  private async with<T>(fn: (fs: ShareFs) => Promise<T>): Promise<T> {
    return fn((await this.open()).fs);
  }

  /** A change, failed or not (a recursive remove may fail halfway), then the guest told. */
  private async change<T>(fn: (fs: ShareFs) => Promise<T>): Promise<T> {
    const fs = (await this.open()).fs;
    try {
      return await fn(fs);
    } finally {
      await this.changed();
    }
  }

  readFile(path: string): Promise<Uint8Array> { return this.with((fs) => fs.readFile(path)); }
  readText(path: string): Promise<string> { return this.with((fs) => fs.readText(path)); }
  /** Creates or replaces a file. */
  writeFile(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> { return this.change((fs) => fs.writeFile(path, data, mode)); }
  readDir(path = ''): Promise<DirEntryInfo[]> { return this.with((fs) => fs.readDir(path)); }
  stat(path: string): Promise<Stat> { return this.with((fs) => fs.stat(path)); }
  exists(path: string): Promise<boolean> { return this.with((fs) => fs.exists(path)); }
  /** Creates a directory; with `recursive`, its missing parents too. */
  mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    return this.change((fs) => (options.recursive ? fs.mkdirs(path, options.mode) : fs.mkdir(path, options.mode)));
  }
  /** Removes a file, symlink or empty directory; with `recursive`, a whole tree. */
  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> { return this.change((fs) => fs.remove(path, options)); }
  rename(from: string, to: string): Promise<void> { return this.change((fs) => fs.rename(from, to)); }
  symlink(target: string, path: string): Promise<void> { return this.change((fs) => fs.symlink(target, path)); }
  readlink(path: string): Promise<string> { return this.with((fs) => fs.readlink(path)); }
  chmod(path: string, mode: number): Promise<void> { return this.change((fs) => fs.chmod(path, mode)); }
  truncate(path: string, size: number): Promise<void> { return this.change((fs) => fs.truncate(path, size)); }
  /** Sets access and modification times, in milliseconds since the epoch. */
  utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> { return this.change((fs) => fs.utimes(path, atimeMs, mtimeMs)); }
}
