// Applying image layers to a tree, as the OCI image-spec's layer.md says: entries are added in
// order, a ".wh.<name>" entry deletes <name> from the layers below, a ".wh..wh..opq" entry empties
// its directory of what the layers below put there, and an entry replaces whatever was at its path
// unless both are directories. Hard links become copies of their target (TreeWriter.copyFile):
// the store has no hard links, and a copy is what dpkg and apt need of them (docs/oci.md).

import { TarEntry, TarType, readTar } from './tar.js';

export interface NodeMeta {
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** The tree a layer is applied to (the image's root in OPFS, through the storage worker). */
export interface TreeWriter {
  /** What is at `path`, or null. */
  typeOf(path: string): Promise<TarType | null>;
  list(path: string): Promise<string[]>;
  /** Removes a file, link or whole directory tree. */
  remove(path: string): Promise<void>;
  /** Creates a directory; returns false if there is one already. */
  mkdir(path: string, meta: NodeMeta): Promise<boolean>;
  writeFile(path: string, data: Uint8Array, meta: NodeMeta): Promise<void>;
  symlink(path: string, target: string, meta: NodeMeta): Promise<void>;
  mknod(path: string, type: 'char' | 'block' | 'fifo', major: number, minor: number, meta: NodeMeta): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  setMeta(path: string, meta: NodeMeta): Promise<void>;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

function split(path: string): [parent: string, name: string] {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? ['', path] : [path.slice(0, slash), path.slice(slash + 1)];
}

/** Applies one layer's tar stream to `tree`. */
export async function applyLayer(tree: TreeWriter, tar: ReadableStream<Uint8Array>): Promise<void> {
  // What this layer added: an opaque whiteout keeps those, wherever it comes in the archive.
  const added = new Set<string>();
  // Directory times are set last, deepest first, since adding entries changes them.
  const directories: [string, NodeMeta][] = [];
  for await (const e of readTar(tar)) {
    await applyEntry(tree, e, added, directories);
  }
  // The archive's end-of-archive blocks may leave bytes unread: read them, so that the layer's
  // digest is checked at the end of its stream.
  const reader = tar.getReader();
  while (!(await reader.read()).done) { /* drain */ }
  directories.sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  for (const [path, meta] of directories) await tree.setMeta(path, meta);
}

async function applyEntry(tree: TreeWriter, e: TarEntry, added: Set<string>, directories: [string, NodeMeta][]): Promise<void> {
  const [parent, name] = split(e.path);
  if (name === OPAQUE) {
    for (const child of await tree.list(parent)) {
      const path = parent ? `${parent}/${child}` : child;
      if (!added.has(path)) await tree.remove(path);
    }
    return;
  }
  if (name.startsWith(WHITEOUT)) {
    const path = parent ? `${parent}/${name.slice(WHITEOUT.length)}` : name.slice(WHITEOUT.length);
    if (await tree.typeOf(path)) await tree.remove(path);
    return;
  }
  added.add(e.path);
  const meta: NodeMeta = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
  if (e.type === 'directory') {
    if (e.path === '' || !(await tree.mkdir(e.path, meta))) {
      // A directory there already: only its metadata changes. Something else: replaced.
      const existing = e.path === '' ? 'directory' : await tree.typeOf(e.path);
      if (existing !== 'directory') {
        await tree.remove(e.path);
        await tree.mkdir(e.path, meta);
      }
    }
    directories.push([e.path, meta]);
    return;
  }
  if (e.path === '') return; // only a directory can be the root
  const existing = await tree.typeOf(e.path);
  // A file over a file is rewritten in place; anything else makes way.
  if (existing && !(existing === 'file' && e.type === 'file')) await tree.remove(e.path);
  switch (e.type) {
    case 'file': await tree.writeFile(e.path, e.data, meta); break;
    case 'symlink': await tree.symlink(e.path, e.linkname, meta); break;
    case 'hardlink': await tree.copyFile(e.linkname, e.path); break;
    case 'char': case 'block': case 'fifo': await tree.mknod(e.path, e.type, e.devmajor, e.devminor, meta); break;
  }
}
