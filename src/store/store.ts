// The OPFS store: a POSIX-like tree over an OPFS directory (the share). Regular files and
// directories are real OPFS entries at the guest's paths; everything else POSIX needs lives in
// the metadata area. The index is loaded lazily, one directory at a time, so opening a share
// costs the same whatever it holds. Only the storage worker uses this class, and it runs one
// operation at a time, so no method here needs to guard against another running concurrently.

import { Errno, FsError, toFsError } from '../wire/errno.js';
import { NodeKind, Meta, OpCode, defaultMeta, isMetadataOnly, nowTime, JournalOp } from './format.js';
import { HandleCache } from './handle-cache.js';
import { moveOpfsTree, removeMovedDir } from './opfs-tree.js';
import { METADATA_DIR, MetadataArea } from './metadata-area.js';

export const NAME_MAX = 255;
/** OPFS forbids '\' in names; the store keeps it as this private-use character (docs/storage-format.md). */
const BACKSLASH_STAND_IN = '\uF05C';

export interface ByteRangeLock {
  type: 0 | 1; // read | write
  start: number;
  end: number; // exclusive; Infinity to end of file
  procId: number;
  clientId: string;
}

export class Inode {
  /** Loaded entries of a directory, by guest name; null until first listed. */
  children: Map<string, Inode> | null = null;
  /** A directory's metadata table, read ahead of its first listing (Store.lookup); null otherwise. */
  recordsAhead: Promise<Map<string, Meta>> | null = null;
  /** Bytes in a regular file; -1 until known (OPFS listings do not carry sizes). */
  size = -1;
  /** Fids and other holders; an unlinked file's data is dropped when this reaches 0. */
  refs = 0;
  unlinked = false;
  /** Times changed by reads and writes that the journal has not recorded yet. */
  metaDirty = false;
  /** True while `meta` is a default guess for an entry created by other code. */
  metaGuessed = false;
  locks: ByteRangeLock[] | null = null;

  constructor(
    readonly id: number,
    public name: string,
    public parent: Inode | null,
    public meta: Meta,
    public file: FileSystemFileHandle | null,
    public dir: FileSystemDirectoryHandle | null,
  ) {}

  get isDir(): boolean { return this.meta.kind === NodeKind.Dir; }
  get isFile(): boolean { return this.meta.kind === NodeKind.File; }
}

export interface Attributes {
  meta: Meta;
  size: number;
  nlink: number;
}

export interface AttributeChanges {
  perm?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** [sec, nsec]; 'now' takes the current time. */
  atime?: [number, number] | 'now';
  mtime?: [number, number] | 'now';
}

export function validateName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') ||
      name.includes(BACKSLASH_STAND_IN)) {
    throw new FsError(Errno.EINVAL, `invalid name ${JSON.stringify(name)}`);
  }
  if (name.length > NAME_MAX || new TextEncoder().encode(name).length > NAME_MAX) {
    throw new FsError(Errno.ENAMETOOLONG, 'name longer than 255 bytes');
  }
}

const toOpfsName = (name: string) => name.replaceAll('\\', BACKSLASH_STAND_IN);
const fromOpfsName = (name: string) => name.replaceAll(BACKSLASH_STAND_IN, '\\');

function randomDirId(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  // 52 random bits: exact as a JS number, and 0 stays reserved for the root.
  return ((hi! & 0xfffff) * 0x1_0000_0000 + lo!) || 1;
}

export class Store {
  private nextInodeId = 1;
  readonly handles = new HandleCache<Inode>();
  private orphanCount = 0;
  private quotaEstimate: { at: number; quota: number; usage: number } | null = null;

  private constructor(
    readonly root: Inode,
    private readonly area: MetadataArea,
  ) {}

  /** Opens (creating if needed) the share at an OPFS path such as "/shared". */
  static async open(rootPath = '/shared'): Promise<Store> {
    let dir = await navigator.storage.getDirectory();
    for (const part of rootPath.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(part, { create: true });
    const area = await MetadataArea.open(dir);
    const rootMeta = defaultMeta(NodeKind.Dir);
    rootMeta.perm = 0o777;
    const store = new Store(new Inode(0, '', null, rootMeta, null, dir), area);
    if (area.unfinishedMove) await store.finishInterruptedMove(area.unfinishedMove);
    return store;
  }

  private newInode(name: string, parent: Inode | null, meta: Meta, file: FileSystemFileHandle | null, dir: FileSystemDirectoryHandle | null): Inode {
    return new Inode(this.nextInodeId++, name, parent, meta, file, dir);
  }

  // ---- the index ----

  /** Lists a directory into the index on first use: OPFS listing and metadata table, read in parallel. */
  async children(dir: Inode): Promise<Map<string, Inode>> {
    if (dir.children) return dir.children;
    if (!dir.isDir || !dir.dir) throw new FsError(Errno.ENOTDIR);
    const handle = dir.dir;
    const listing = (async () => {
      const out: [string, FileSystemHandle][] = [];
      for await (const entry of handle.entries()) out.push(entry);
      return out;
    })();
    const records = dir.recordsAhead ?? this.area.readDirectory(dir.meta.dirId);
    dir.recordsAhead = null;
    const [entries, recorded] = await Promise.all([listing, records]);
    if (dir.children) return dir.children;
    const children = new Map<string, Inode>();
    const newRecords: JournalOp[] = [];
    for (const [opfsName, h] of entries) {
      if (dir === this.root && opfsName === METADATA_DIR) continue;
      const name = fromOpfsName(opfsName);
      const kind = h.kind === 'directory' ? NodeKind.Dir : NodeKind.File;
      let meta = recorded.get(name);
      let guessed = false;
      if (!meta || meta.kind !== kind) {
        // Put there by other code (or its record was lost to a crash): default metadata.
        meta = defaultMeta(kind);
        guessed = kind === NodeKind.File;
        if (kind === NodeKind.Dir) {
          meta.dirId = randomDirId();
          newRecords.push({ op: OpCode.Put, dirId: dir.meta.dirId, name, meta });
        }
      }
      const inode = kind === NodeKind.Dir
        ? this.newInode(name, dir, meta, null, h as FileSystemDirectoryHandle)
        : this.newInode(name, dir, meta, h as FileSystemFileHandle, null);
      inode.metaGuessed = guessed;
      children.set(name, inode);
    }
    for (const [name, meta] of recorded) {
      if (isMetadataOnly(meta.kind) && !children.has(name)) children.set(name, this.newInode(name, dir, meta, null, null));
    }
    if (newRecords.length) this.area.append(newRecords);
    dir.children = children;
    return children;
  }

  async lookup(dir: Inode, name: string): Promise<Inode> {
    if (!dir.isDir) throw new FsError(Errno.ENOTDIR);
    const child = (await this.children(dir)).get(name);
    if (!child) throw new FsError(Errno.ENOENT, name);
    // A directory looked up is soon listed (ls, a lookup inside it): read its metadata table now,
    // while the client's next messages come, rather than beside the OPFS listing, which it slows
    // (the browser serves the two one after the other).
    if (child.isDir && !child.children && !child.recordsAhead) child.recordsAhead = this.area.readDirectory(child.meta.dirId);
    return child;
  }

  /** The path from the share root, for logs and for the move journal. */
  pathOf(inode: Inode): string {
    const parts: string[] = [];
    for (let n: Inode | null = inode; n && n.parent; n = n.parent) parts.unshift(n.name);
    return parts.join('/');
  }

  // ---- attributes ----

  async attributes(inode: Inode): Promise<Attributes> {
    let size = 0;
    if (inode.isFile) size = await this.fileSize(inode);
    else if (inode.meta.kind === NodeKind.Symlink) size = new TextEncoder().encode(inode.meta.target).length;
    let nlink = 1;
    if (inode.isDir && inode.children) {
      nlink = 2;
      for (const c of inode.children.values()) if (c.isDir) nlink++;
    }
    if (inode.unlinked) nlink = 0;
    return { meta: inode.meta, size, nlink };
  }

  private async fileSize(inode: Inode): Promise<number> {
    // The store is the share's only writer and tracks every size change, so a known size is exact.
    if (inode.size >= 0) return inode.size;
    const h = this.handles.peek(inode);
    if (h) return (inode.size = h.getSize());
    const f = await inode.file!.getFile();
    inode.size = f.size;
    if (inode.metaGuessed) {
      const ms = f.lastModified;
      inode.meta.mtimeSec = inode.meta.ctimeSec = inode.meta.atimeSec = Math.floor(ms / 1000);
      inode.meta.mtimeNsec = inode.meta.ctimeNsec = inode.meta.atimeNsec = (ms % 1000) * 1e6;
      inode.metaGuessed = false;
    }
    return f.size;
  }

  async setAttributes(inode: Inode, changes: AttributeChanges): Promise<void> {
    const m = { ...inode.meta };
    const [nowSec, nowNsec] = nowTime();
    if (changes.perm !== undefined) m.perm = changes.perm & 0o7777;
    if (changes.uid !== undefined) m.uid = changes.uid;
    if (changes.gid !== undefined) m.gid = changes.gid;
    if (changes.size !== undefined) {
      if (!inode.isFile) throw new FsError(inode.isDir ? Errno.EISDIR : Errno.EINVAL);
      const h = await this.handles.get(inode, inode.file!);
      h.truncate(changes.size);
      inode.size = changes.size;
      m.mtimeSec = nowSec; m.mtimeNsec = nowNsec;
    }
    if (changes.atime) [m.atimeSec, m.atimeNsec] = changes.atime === 'now' ? [nowSec, nowNsec] : changes.atime;
    if (changes.mtime) [m.mtimeSec, m.mtimeNsec] = changes.mtime === 'now' ? [nowSec, nowNsec] : changes.mtime;
    m.ctimeSec = nowSec; m.ctimeNsec = nowNsec;
    this.updateMeta(inode, m);
  }

  /** Replaces an inode's metadata and journals it (unlinked files keep theirs in memory only). */
  replaceMeta(inode: Inode, meta: Meta): void {
    this.updateMeta(inode, meta);
  }

  private updateMeta(inode: Inode, meta: Meta): void {
    inode.meta = meta;
    inode.metaGuessed = false;
    inode.metaDirty = false;
    if (inode.parent && !inode.unlinked) this.area.append([{ op: OpCode.Put, dirId: inode.parent.meta.dirId, name: inode.name, meta }]);
  }

  private touch(inode: Inode, mtime: boolean): void {
    const [sec, nsec] = nowTime();
    if (mtime) { inode.meta.mtimeSec = sec; inode.meta.mtimeNsec = nsec; }
    inode.meta.ctimeSec = sec; inode.meta.ctimeNsec = nsec;
    inode.metaGuessed = false;
    inode.metaDirty = true;
  }

  // ---- file data ----

  /**
   * Gets the file ready for I/O; truncates on request. Its sync access handle opens at the first
   * read or write, not here: a guest with cached pages opens and closes files it does not read
   * (BENCHMARKS.md, "Guest"), and a handle costs about 1 ms to open and 0.6 ms to close.
   */
  async open(inode: Inode, truncate: boolean): Promise<void> {
    if (!inode.isFile || !truncate || inode.size === 0) return;
    const h = await this.handleFor(inode);
    if (h.getSize() > 0) {
      h.truncate(0);
      this.touch(inode, true);
    }
    inode.size = 0;
  }

  private async handleFor(inode: Inode): Promise<FileSystemSyncAccessHandle> {
    return this.handles.peek(inode) ?? this.handles.get(inode, inode.file!);
  }

  /** Reads into `dest` (which may be a view of a SharedArrayBuffer); returns bytes read. */
  async read(inode: Inode, offset: number, dest: Uint8Array): Promise<number> {
    if (!inode.isFile) throw new FsError(inode.isDir ? Errno.EISDIR : Errno.EINVAL);
    const h = await this.handleFor(inode);
    const size = inode.size >= 0 ? inode.size : (inode.size = h.getSize());
    if (offset >= size || dest.length === 0) return 0;
    return h.read(dest.subarray(0, Math.min(dest.length, size - offset)), { at: offset });
  }

  async write(inode: Inode, offset: number, src: Uint8Array, append: boolean): Promise<number> {
    if (!inode.isFile) throw new FsError(inode.isDir ? Errno.EISDIR : Errno.EINVAL);
    const h = await this.handleFor(inode);
    const at = append ? (inode.size >= 0 ? inode.size : h.getSize()) : offset;
    if (at + src.length > Number.MAX_SAFE_INTEGER) throw new FsError(Errno.EFBIG);
    let n: number;
    try {
      n = h.write(src, { at });
    } catch (e) {
      throw toFsError(e);
    }
    inode.size = Math.max(inode.size, at + n);
    this.touch(inode, true);
    return n;
  }

  async fsync(inode: Inode): Promise<void> {
    if (inode.isFile) this.handles.peek(inode)?.flush();
    this.journalDirty(inode);
    this.area.flush();
  }

  /** Journals times changed by I/O on this inode. */
  journalDirty(inode: Inode): void {
    if (inode.metaDirty) this.updateMeta(inode, inode.meta);
  }

  // ---- references (fids) ----

  retain(inode: Inode): void {
    inode.refs++;
  }

  async release(inode: Inode): Promise<void> {
    if (--inode.refs > 0) return;
    this.journalDirty(inode);
    if (inode.unlinked && inode.isFile) {
      this.handles.drop(inode);
      const orphanName = inode.file!.name;
      inode.file = null;
      await this.area.orphans.removeEntry(orphanName).catch(() => undefined);
    }
  }

  // ---- namespace changes ----

  private async prepareCreate(dir: Inode, name: string): Promise<Map<string, Inode>> {
    validateName(name);
    if (dir.unlinked) throw new FsError(Errno.ENOENT, 'directory was removed');
    const children = await this.children(dir);
    if (dir === this.root && name === METADATA_DIR) throw new FsError(Errno.EPERM, `${METADATA_DIR} is reserved for the share's metadata`);
    if (children.has(name)) throw new FsError(Errno.EEXIST, name);
    return children;
  }

  private freshMeta(kind: NodeKind, perm: number, uid: number, gid: number): Meta {
    const meta = defaultMeta(kind);
    meta.perm = perm & 0o7777;
    meta.uid = uid;
    meta.gid = gid;
    return meta;
  }

  private added(dir: Inode, children: Map<string, Inode>, inode: Inode): Inode {
    this.area.append([{ op: OpCode.Put, dirId: dir.meta.dirId, name: inode.name, meta: inode.meta }]);
    children.set(inode.name, inode);
    this.touch(dir, true);
    return inode;
  }

  async createFile(dir: Inode, name: string, perm: number, uid: number, gid: number): Promise<Inode> {
    const children = await this.prepareCreate(dir, name);
    let file: FileSystemFileHandle;
    try {
      file = await dir.dir!.getFileHandle(toOpfsName(name), { create: true });
    } catch (e) { throw toFsError(e); }
    const inode = this.newInode(name, dir, this.freshMeta(NodeKind.File, perm, uid, gid), file, null);
    inode.size = 0;
    return this.added(dir, children, inode);
  }

  async mkdir(dir: Inode, name: string, perm: number, uid: number, gid: number): Promise<Inode> {
    const children = await this.prepareCreate(dir, name);
    let handle: FileSystemDirectoryHandle;
    try {
      handle = await dir.dir!.getDirectoryHandle(toOpfsName(name), { create: true });
    } catch (e) { throw toFsError(e); }
    const meta = this.freshMeta(NodeKind.Dir, perm, uid, gid);
    meta.dirId = randomDirId();
    const inode = this.newInode(name, dir, meta, null, handle);
    inode.children = new Map();
    return this.added(dir, children, inode);
  }

  async symlink(dir: Inode, name: string, target: string, uid: number, gid: number): Promise<Inode> {
    const children = await this.prepareCreate(dir, name);
    if (target.length === 0) throw new FsError(Errno.ENOENT, 'empty symlink target');
    if (new TextEncoder().encode(target).length > 4095) throw new FsError(Errno.ENAMETOOLONG);
    const meta = this.freshMeta(NodeKind.Symlink, 0o777, uid, gid);
    meta.target = target;
    return this.added(dir, children, this.newInode(name, dir, meta, null, null));
  }

  /** Creates a fifo, socket or device node (metadata only); regular files go through createFile. */
  async mknod(dir: Inode, name: string, kind: NodeKind, perm: number, rdev: number, uid: number, gid: number): Promise<Inode> {
    if (kind === NodeKind.Dir || kind === NodeKind.Symlink) throw new FsError(Errno.EINVAL);
    if (kind === NodeKind.File) return this.createFile(dir, name, perm, uid, gid);
    const children = await this.prepareCreate(dir, name);
    const meta = this.freshMeta(kind, perm, uid, gid);
    meta.rdev = rdev;
    return this.added(dir, children, this.newInode(name, dir, meta, null, null));
  }

  /** unlink(2), or rmdir(2) when `removeDir` is set. */
  async unlink(dir: Inode, name: string, removeDir: boolean): Promise<void> {
    if (name === '.' || name === '..') throw new FsError(name === '.' ? Errno.EINVAL : Errno.ENOTEMPTY);
    validateName(name);
    const target = await this.lookup(dir, name);
    if (removeDir && !target.isDir) throw new FsError(Errno.ENOTDIR);
    if (!removeDir && target.isDir) throw new FsError(Errno.EISDIR);
    await this.detach(target);
    this.area.append([{ op: OpCode.Delete, dirId: dir.meta.dirId, name }]);
    dir.children!.delete(name);
    this.touch(dir, true);
  }

  /**
   * Takes an entry's object out of OPFS. A file that is still referenced moves to the orphans
   * folder instead, so open fids keep reading and writing it until the last one is clunked.
   */
  private async detach(target: Inode): Promise<void> {
    const parent = target.parent!;
    try {
      if (target.isDir) {
        if ((await this.children(target)).size > 0) throw new FsError(Errno.ENOTEMPTY);
        await parent.dir!.removeEntry(toOpfsName(target.name));
        await this.area.dropTable(target.meta.dirId);
      } else if (target.isFile) {
        this.handles.drop(target);
        if (target.refs > 0) await target.file!.move(this.area.orphans, `${target.id}.${++this.orphanCount}`);
        else await parent.dir!.removeEntry(toOpfsName(target.name));
      }
    } catch (e) { throw toFsError(e); }
    target.unlinked = true;
    target.parent = null;
    this.touch(target, false);
  }

  /** rename(2): replaces an existing target; a directory moves file by file (OPFS cannot move directories). */
  async rename(srcDir: Inode, srcName: string, dstDir: Inode, dstName: string): Promise<void> {
    validateName(srcName);
    validateName(dstName);
    const source = await this.lookup(srcDir, srcName);
    const dstChildren = await this.children(dstDir);
    if (dstDir.unlinked) throw new FsError(Errno.ENOENT);
    if (dstDir === this.root && dstName === METADATA_DIR) throw new FsError(Errno.EPERM);
    const existing = dstChildren.get(dstName);
    if (existing === source) return;
    if (source.isDir) {
      for (let d: Inode | null = dstDir; d; d = d.parent) if (d === source) throw new FsError(Errno.EINVAL, 'cannot move a directory into itself');
    }
    if (existing?.isDir) {
      // Linux checks this before the types: replacing a directory the source lives in is ENOTEMPTY.
      for (let d: Inode | null = srcDir; d; d = d.parent) if (d === existing) throw new FsError(Errno.ENOTEMPTY, 'cannot replace an ancestor of the source');
    }
    if (existing) {
      if (source.isDir && !existing.isDir) throw new FsError(Errno.ENOTDIR);
      if (!source.isDir && existing.isDir) throw new FsError(Errno.EISDIR);
      // A file nobody holds is replaced atomically by OPFS's move; anything else is detached first.
      if (!(source.isFile && existing.isFile && existing.refs === 0)) await this.detach(existing);
      else { this.handles.drop(existing); existing.unlinked = true; existing.parent = null; }
      dstChildren.delete(dstName);
    }
    // Journal the new name before moving and drop the old one after: whichever name a crash
    // leaves without an OPFS object is ignored at load, so the metadata survives either way.
    try {
      if (source.isDir) {
        await this.moveDirectory(source, dstDir, dstName);
      } else {
        this.area.append([{ op: OpCode.Put, dirId: dstDir.meta.dirId, name: dstName, meta: source.meta }]);
        if (source.isFile) {
          this.handles.drop(source);
          await source.file!.move(dstDir.dir!, toOpfsName(dstName));
        }
        this.area.append([{ op: OpCode.Delete, dirId: srcDir.meta.dirId, name: srcName }]);
      }
    } catch (e) { throw toFsError(e); }
    srcDir.children!.delete(srcName);
    source.name = dstName;
    source.parent = dstDir;
    dstChildren.set(dstName, source);
    this.touch(source, false);
    this.touch(srcDir, true);
    this.touch(dstDir, true);
  }

  private async moveDirectory(source: Inode, dstDir: Inode, dstName: string): Promise<void> {
    const srcDir = source.parent!;
    const begin: JournalOp = {
      op: OpCode.MoveBegin, srcPath: this.pathOf(source), dstPath: joinPath(this.pathOf(dstDir), dstName),
      srcDirId: srcDir.meta.dirId, srcName: source.name, dstDirId: dstDir.meta.dirId, dstName, meta: source.meta,
    };
    this.area.append([begin]);
    this.area.flush();
    const target = await dstDir.dir!.getDirectoryHandle(toOpfsName(dstName), { create: true });
    const old = source.dir!;
    await this.moveContents(source, target);
    await removeMovedDir(srcDir.dir!, old, target);
    this.area.append([
      { op: OpCode.Put, dirId: dstDir.meta.dirId, name: dstName, meta: source.meta },
      { op: OpCode.Delete, dirId: srcDir.meta.dirId, name: source.name },
      { op: OpCode.MoveEnd },
    ]);
  }

  /** Moves a directory's OPFS contents into `target`, keeping the index's handles valid. */
  private async moveContents(dir: Inode, target: FileSystemDirectoryHandle): Promise<void> {
    if (!dir.children) {
      // Not loaded: nothing in the index points into it, so plain OPFS entries are enough.
      await moveOpfsTree(dir.dir!, target);
      dir.dir = target;
      return;
    }
    for (const child of dir.children.values()) {
      if (child.isFile) {
        this.handles.drop(child);
        await child.file!.move(target, toOpfsName(child.name));
      } else if (child.isDir) {
        const sub = await target.getDirectoryHandle(toOpfsName(child.name), { create: true });
        const old = child.dir!;
        await this.moveContents(child, sub);
        await removeMovedDir(dir.dir!, old, sub);
      }
    }
    dir.dir = target;
  }

  /** Completes a directory rename that a crash interrupted, from the journal's MoveBegin record. */
  private async finishInterruptedMove(begin: Extract<JournalOp, { op: OpCode.MoveBegin }>): Promise<void> {
    const src = await resolveOpfsDir(this.root.dir!, begin.srcPath);
    if (src) {
      const [dstParentPath, dstLeaf] = splitPath(begin.dstPath);
      const dstParent = await resolveOpfsDir(this.root.dir!, dstParentPath);
      const [srcParentPath, srcLeaf] = splitPath(begin.srcPath);
      const srcParent = await resolveOpfsDir(this.root.dir!, srcParentPath);
      if (dstParent && srcParent) {
        const dst = await dstParent.getDirectoryHandle(toOpfsName(dstLeaf), { create: true });
        await moveOpfsTree(src, dst);
        await srcParent.removeEntry(toOpfsName(srcLeaf));
      }
    }
    this.area.append([
      { op: OpCode.Put, dirId: begin.dstDirId, name: begin.dstName, meta: begin.meta },
      { op: OpCode.Delete, dirId: begin.srcDirId, name: begin.srcName },
      { op: OpCode.MoveEnd },
    ]);
    this.area.flush();
  }

  // ---- whole-share ----

  async statfs(): Promise<{ quota: number; usage: number }> {
    const now = Date.now();
    if (!this.quotaEstimate || now - this.quotaEstimate.at > 2000) {
      const e = await navigator.storage.estimate();
      this.quotaEstimate = { at: now, quota: e.quota ?? 0, usage: e.usage ?? 0 };
    }
    return this.quotaEstimate;
  }

  /** Work for quiet moments: journal times changed by I/O, compact the journal, make it durable. */
  async idle(): Promise<void> {
    this.journalAllDirty(this.root);
    if (this.area.needsCompaction) await this.compact();
    this.area.flush();
  }

  private journalAllDirty(dir: Inode): void {
    this.journalDirty(dir);
    if (!dir.children) return;
    for (const c of dir.children.values()) {
      if (c.isDir) this.journalAllDirty(c); else this.journalDirty(c);
    }
  }

  async compact(): Promise<void> {
    const loaded = new Map<number, Inode>();
    const collect = (d: Inode) => {
      if (!d.children) return;
      loaded.set(d.meta.dirId, d);
      for (const c of d.children.values()) if (c.isDir) collect(c);
    };
    collect(this.root);
    await this.area.compact((dirId) => {
      const d = loaded.get(dirId);
      if (!d) return undefined;
      return new Map([...d.children!].map(([name, inode]) => [name, inode.meta]));
    });
  }

  /** Makes everything durable and releases OPFS handles (the share can be reopened afterwards). */
  async close(): Promise<void> {
    await this.idle();
    this.handles.closeAll();
    this.area.close();
  }
}

function joinPath(a: string, b: string): string {
  return a ? `${a}/${b}` : b;
}

function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return i < 0 ? ['', path] : [path.slice(0, i), path.slice(i + 1)];
}

async function resolveOpfsDir(root: FileSystemDirectoryHandle, path: string): Promise<FileSystemDirectoryHandle | null> {
  let dir = root;
  try {
    for (const part of path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(toOpfsName(part));
    return dir;
  } catch {
    return null;
  }
}
