// Image roots in OPFS: each share (opfs-root) gets its own copy of the image it runs, unpacked
// under /emulator/roots/<share>/<manifest digest>/ and served by a storage worker of its own, so
// everything the guest changes persists there, and two elements never share a root.
//
//   /emulator/roots/<share>/<hex>/        the root file system (a store root: files + metadata area)
//   /emulator/roots/<share>/<hex>.json    written once the last layer is in: {digest, config}
//
// A root without its .json is half-unpacked and is never served: it is removed and unpacked again.
// One root per share: unpacking another image (a new digest at the same URL, or another src)
// removes the roots of the others, and reset() removes the current one (docs/oci.md).

import { StorageHost } from '../storage/storage-host.js';
import { Backend } from '../storage/storage-protocol.js';
import { VmError } from '../errors.js';
import { Errno, FsError } from '../wire/errno.js';
import { ImageConfig, OciImage, layerTar, openImage } from './image.js';
import { ShareTree } from './share-tree.js';
import { applyLayer } from './unpack.js';

export interface RootOptions {
  src: string;
  /** The element's share: its root is kept apart from other shares' roots. */
  opfsRoot: string;
  backend: Backend;
  storageWorker: URL;
  onNoSpace: () => void;
  /** Downloading and unpacking: what, bytes done, bytes in all (0 when unknown). */
  progress: (what: string, loaded: number, total: number) => void;
}

export interface ImageRoot {
  digest: string;
  config: ImageConfig;
  /** The storage worker serving the root (the caller closes it when the VM stops). */
  host: StorageHost;
}

const shareKey = (opfsRoot: string) => encodeURIComponent('/' + opfsRoot.split('/').filter(Boolean).join('/'));
const hexOf = (digest: string) => digest.slice(digest.indexOf(':') + 1);

async function rootsDir(opfsRoot: string): Promise<FileSystemDirectoryHandle> {
  let dir = await navigator.storage.getDirectory();
  for (const part of ['emulator', 'roots', shareKey(opfsRoot)]) dir = await dir.getDirectoryHandle(part, { create: true });
  return dir;
}

async function readMarker(dir: FileSystemDirectoryHandle, hex: string): Promise<{ digest: string; config: ImageConfig } | null> {
  try {
    return JSON.parse(await (await (await dir.getFileHandle(`${hex}.json`)).getFile()).text()) as { digest: string; config: ImageConfig };
  } catch {
    return null;
  }
}

/** Removes every root of the share but `keep` (a digest's hex), half-unpacked ones included. */
async function removeRoots(dir: FileSystemDirectoryHandle, keep: string | null): Promise<void> {
  const names: string[] = [];
  for await (const name of dir.keys()) if (name.replace(/\.json$/, '') !== keep) names.push(name);
  // Markers first: a root whose removal is cut short is then half-unpacked, never served.
  names.sort((a, b) => Number(b.endsWith('.json')) - Number(a.endsWith('.json')));
  for (const name of names) await dir.removeEntry(name, { recursive: true });
}

/** Removes the share's image roots (reset()): the next start unpacks its image afresh. */
export async function resetRoots(opfsRoot: string): Promise<void> {
  await removeRoots(await rootsDir(opfsRoot), null);
}

function isNoSpace(e: unknown): boolean {
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  return (e instanceof FsError && e.errno === Errno.ENOSPC) || name === 'QuotaExceededError' || code === 'quota-exceeded';
}

/**
 * The unpacked root of the image at `src` for this share, unpacking it first when it is not there
 * (or only half there), with its storage worker running.
 */
export async function openRoot(o: RootOptions): Promise<ImageRoot> {
  const image = await openImage(o.src, (loaded, total) => o.progress('image', loaded, total));
  const hex = hexOf(image.digest);
  const dir = await rootsDir(o.opfsRoot);
  const marker = await readMarker(dir, hex);
  // While unpacking, ENOSPC fails the unpacking itself (quota-exceeded below): no second report.
  let unpacking = false;
  const start = () => StorageHost.start({
    root: `/emulator/roots/${shareKey(o.opfsRoot)}/${hex}`, backend: o.backend, workerUrl: o.storageWorker,
    onNoSpace: () => { if (!unpacking) o.onNoSpace(); },
  });
  if (marker?.digest === image.digest) return { digest: image.digest, config: marker.config, host: await start() };
  await removeRoots(dir, null);
  let host: StorageHost | null = null;
  try {
    unpacking = true;
    host = await start();
    await unpack(o.src, image, host, o.progress);
    unpacking = false;
    const file = await (await dir.getFileHandle(`${hex}.json`, { create: true })).createWritable();
    await file.write(JSON.stringify({ digest: image.digest, config: image.config }));
    await file.close();
  } catch (e) {
    await host?.close().catch(() => undefined);
    await removeRoots(dir, null).catch(() => undefined);
    if (isNoSpace(e)) {
      throw new VmError('quota-exceeded', `This site's storage quota ran out while the image ${o.src} was unpacked; what was unpacked is removed. Free storage for this site (or ask for more with the persist attribute) and start again.`);
    }
    throw e;
  }
  return { digest: image.digest, config: image.config, host };
}

async function unpack(src: string, image: OciImage, host: StorageHost, progress: RootOptions['progress']): Promise<void> {
  const endpoint = await host.connect(8);
  const tree = await ShareTree.connect(endpoint);
  const total = image.layers.reduce((sum, l) => sum + l.size, 0);
  let loaded = 0;
  try {
    progress('unpack', 0, total);
    for (const layer of image.layers) {
      const tar = layerTar(src, layer, await image.blob(layer.digest), (n) => {
        loaded += n;
        progress('unpack', loaded, total);
      });
      await applyLayer(tree, tar);
    }
  } finally {
    await tree.close();
    await host.disconnect(endpoint).catch(() => undefined);
  }
}
