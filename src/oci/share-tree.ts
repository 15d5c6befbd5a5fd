// The TreeWriter that unpacks an image into its root in OPFS: 9P requests to the storage worker
// serving that root, like every other writer of a share. It unpacks into an empty root, so it
// knows the whole tree it has written and answers typeOf and list from memory; directories it
// has walked to keep their fids until close().

import { P9Client } from '../p9/client.js';
import { AsyncChannelClient } from '../channel/async-client.js';
import { ChannelEndpoint } from '../channel/layout.js';
import { AT_REMOVEDIR, OpenFlag, SetattrMask } from '../p9/messages.js';
import { TarType } from './tar.js';
import { NodeMeta, TreeWriter } from './unpack.js';

const S_IFMT: Record<'char' | 'block' | 'fifo', number> = { char: 0o020000, block: 0o060000, fifo: 0o010000 };

function split(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

export class ShareTree implements TreeWriter {
  private readonly types = new Map<string, TarType>([['', 'directory']]);
  private readonly dirFids = new Map<string, number>();

  private constructor(private readonly client: P9Client, rootFid: number) {
    this.dirFids.set('', rootFid);
  }

  static async connect(endpoint: ChannelEndpoint): Promise<ShareTree> {
    const client = new P9Client(new AsyncChannelClient(endpoint));
    return new ShareTree(client, await client.connect());
  }

  private async dir(path: string): Promise<number> {
    let fid = this.dirFids.get(path);
    if (fid === undefined) {
      const [parent, name] = split(path);
      fid = await this.client.walkNew(await this.dir(parent), [name]);
      this.dirFids.set(path, fid);
    }
    return fid;
  }

  async typeOf(path: string): Promise<TarType | null> {
    return this.types.get(path) ?? null;
  }

  async list(path: string): Promise<string[]> {
    const names: string[] = [];
    for (const p of this.types.keys()) {
      if (p !== '' && split(p)[0] === path) names.push(split(p)[1]);
    }
    return names;
  }

  async remove(path: string): Promise<void> {
    if (this.types.get(path) === 'directory') {
      for (const name of await this.list(path)) await this.remove(`${path}/${name}`);
      const fid = this.dirFids.get(path);
      if (fid !== undefined) {
        this.dirFids.delete(path);
        await this.client.clunk(fid);
      }
    }
    const [parent, name] = split(path);
    await this.client.unlinkat(await this.dir(parent), name, this.types.get(path) === 'directory' ? AT_REMOVEDIR : 0);
    this.types.delete(path);
  }

  async mkdir(path: string, meta: NodeMeta): Promise<boolean> {
    if (this.types.has(path)) return false;
    const [parent, name] = split(path);
    await this.client.mkdir(await this.dir(parent), name, meta.mode);
    this.types.set(path, 'directory');
    return true;
  }

  async writeFile(path: string, data: Uint8Array, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    const fid = await this.client.walkNew(await this.dir(parent), []);
    try {
      if (this.types.has(path)) {
        await this.client.walk(fid, fid, [name]);
        await this.client.lopen(fid, OpenFlag.WriteOnly | OpenFlag.Truncate);
      } else {
        await this.client.lcreate(fid, name, OpenFlag.WriteOnly | OpenFlag.Create | OpenFlag.Exclusive, meta.mode);
      }
      this.types.set(path, 'file');
      await this.client.writeAll(fid, 0, data);
      await this.setattr(fid, meta, true);
    } finally {
      await this.client.clunk(fid);
    }
  }

  async symlink(path: string, target: string, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    await this.client.symlink(await this.dir(parent), name, target, meta.gid);
    this.types.set(path, 'symlink');
    await this.setMeta(path, meta, false);
  }

  async mknod(path: string, type: 'char' | 'block' | 'fifo', major: number, minor: number, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    await this.client.mknod(await this.dir(parent), name, S_IFMT[type] | meta.mode, major, minor, meta.gid);
    this.types.set(path, type);
    await this.setMeta(path, meta);
  }

  async copyFile(from: string, to: string): Promise<void> {
    const [fromParent, fromName] = split(from);
    const fid = await this.client.walkNew(await this.dir(fromParent), [fromName]);
    let data: Uint8Array;
    let attr;
    try {
      attr = await this.client.getattr(fid);
      await this.client.lopen(fid, OpenFlag.ReadOnly);
      data = await this.client.readAll(fid);
    } finally {
      await this.client.clunk(fid);
    }
    await this.writeFile(to, data, { mode: attr.mode & 0o7777, uid: attr.uid, gid: attr.gid, mtime: attr.mtimeSec });
  }

  async setMeta(path: string, meta: NodeMeta, withMode = true): Promise<void> {
    const [parent, name] = split(path);
    const dirFid = this.dirFids.get(path);
    if (dirFid !== undefined) return this.setattr(dirFid, meta, withMode);
    const fid = await this.client.walkNew(await this.dir(parent), [name]);
    try {
      await this.setattr(fid, meta, withMode);
    } finally {
      await this.client.clunk(fid);
    }
  }

  /** Mode (not for symlinks, whose mode means nothing), owner and times in one Tsetattr. */
  private async setattr(fid: number, meta: NodeMeta, withMode: boolean): Promise<void> {
    const sec = Math.floor(meta.mtime);
    const nsec = Math.round((meta.mtime - sec) * 1e9);
    await this.client.setattr(fid, {
      valid: (withMode ? SetattrMask.Mode : 0) | SetattrMask.Uid | SetattrMask.Gid | SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet,
      mode: meta.mode, uid: meta.uid, gid: meta.gid, atimeSec: sec, atimeNsec: nsec, mtimeSec: sec, mtimeNsec: nsec,
    });
  }

  /** Lets go of the directory fids. */
  async close(): Promise<void> {
    for (const fid of this.dirFids.values()) await this.client.clunk(fid).catch(() => undefined);
    this.dirFids.clear();
  }
}
