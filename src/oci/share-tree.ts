// The TreeWriter that unpacks an image into its root in OPFS: 9P requests to the storage worker
// serving that root, like every other writer of a share. It unpacks into an empty root, so it
// knows the whole tree it has written and answers typeOf and list from memory; directories it
// has walked to keep their fids until close().

import { AsyncChannelClient } from '../channel/async-client.js';
import { ChannelEndpoint } from '../channel/layout.js';
import { P9Client } from '../client/client.js';
import { P9File } from '../client/file.js';
import { AT_REMOVEDIR, OpenFlag, SetattrMask } from '../wire/messages.js';
import { TarType } from './tar.js';
import { NodeMeta, TreeWriter } from './unpack.js';

const S_IFMT: Record<'char' | 'block' | 'fifo', number> = { char: 0o020000, block: 0o060000, fifo: 0o010000 };

function split(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

export class ShareTree implements TreeWriter {
  private readonly types = new Map<string, TarType>([['', 'directory']]);
  private readonly dirs = new Map<string, P9File<'async'>>();

  private constructor(root: P9File<'async'>) {
    this.dirs.set('', root);
  }

  static async connect(endpoint: ChannelEndpoint): Promise<ShareTree> {
    const client = new P9Client(new AsyncChannelClient(endpoint));
    return new ShareTree(await client.connect());
  }

  private async dir(path: string): Promise<P9File<'async'>> {
    let dir = this.dirs.get(path);
    if (dir === undefined) {
      const [parent, name] = split(path);
      dir = await (await this.dir(parent)).walk([name]);
      this.dirs.set(path, dir);
    }
    return dir;
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
      const dir = this.dirs.get(path);
      if (dir !== undefined) {
        this.dirs.delete(path);
        await dir.clunk();
      }
    }
    const [parent, name] = split(path);
    await (await this.dir(parent)).unlinkat(name, this.types.get(path) === 'directory' ? AT_REMOVEDIR : 0);
    this.types.delete(path);
  }

  async mkdir(path: string, meta: NodeMeta): Promise<boolean> {
    if (this.types.has(path)) return false;
    const [parent, name] = split(path);
    await (await this.dir(parent)).mkdir(name, meta.mode);
    this.types.set(path, 'directory');
    return true;
  }

  async writeFile(path: string, data: Uint8Array, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    const dir = await this.dir(parent);
    const exists = this.types.has(path);
    const file = await dir.walk(exists ? [name] : []);
    try {
      if (exists) await file.open(OpenFlag.WriteOnly | OpenFlag.Truncate);
      else await file.create(name, OpenFlag.WriteOnly | OpenFlag.Create | OpenFlag.Exclusive, meta.mode);
      this.types.set(path, 'file');
      await file.writeAll(0, data);
      await this.setattr(file, meta, true);
    } finally {
      await file.clunk();
    }
  }

  async symlink(path: string, target: string, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    await (await this.dir(parent)).symlink(name, target, meta.gid);
    this.types.set(path, 'symlink');
    await this.setMeta(path, meta, false);
  }

  async mknod(path: string, type: 'char' | 'block' | 'fifo', major: number, minor: number, meta: NodeMeta): Promise<void> {
    const [parent, name] = split(path);
    await (await this.dir(parent)).mknod(name, S_IFMT[type] | meta.mode, major, minor, meta.gid);
    this.types.set(path, type);
    await this.setMeta(path, meta);
  }

  async copyFile(from: string, to: string): Promise<void> {
    const [fromParent, fromName] = split(from);
    const file = await (await this.dir(fromParent)).walk([fromName]);
    let data: Uint8Array;
    let attr;
    try {
      attr = await file.getattr();
      await file.open(OpenFlag.ReadOnly);
      data = await file.readAll();
    } finally {
      await file.clunk();
    }
    await this.writeFile(to, data, { mode: attr.mode & 0o7777, uid: attr.uid, gid: attr.gid, mtime: attr.mtimeSec });
  }

  async setMeta(path: string, meta: NodeMeta, withMode = true): Promise<void> {
    const [parent, name] = split(path);
    const dir = this.dirs.get(path);
    if (dir !== undefined) return this.setattr(dir, meta, withMode);
    const file = await (await this.dir(parent)).walk([name]);
    try {
      await this.setattr(file, meta, withMode);
    } finally {
      await file.clunk();
    }
  }

  /** Mode (not for symlinks, whose mode means nothing), owner and times in one Tsetattr. */
  private async setattr(file: P9File<'async'>, meta: NodeMeta, withMode: boolean): Promise<void> {
    const sec = Math.floor(meta.mtime);
    const nsec = Math.round((meta.mtime - sec) * 1e9);
    await file.setattr({
      valid: (withMode ? SetattrMask.Mode : 0) | SetattrMask.Uid | SetattrMask.Gid | SetattrMask.Atime | SetattrMask.AtimeSet | SetattrMask.Mtime | SetattrMask.MtimeSet,
      mode: meta.mode, uid: meta.uid, gid: meta.gid, atimeSec: sec, atimeNsec: nsec, mtimeSec: sec, mtimeNsec: nsec,
    });
  }

  /** Lets go of the directory fids. */
  async close(): Promise<void> {
    for (const dir of this.dirs.values()) await dir.clunk().catch(() => undefined);
    this.dirs.clear();
  }
}
