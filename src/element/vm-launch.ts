// Starting a VM for the element: which engine runs `src`, the share connection the engine gets,
// and, for v86, the image manifest and the snapshot to resume from: the share's own, else the
// one the image ships.

import { ChannelEndpoint } from '../channel/layout.js';
import { StorageHost } from '../storage/storage-host.js';
import { NetworkConfig, V86Image } from '../engines/v86-protocol.js';
import { RunningEngine, startV86 } from '../engines/v86-host.js';
import { WasiEvents, startWasi } from '../engines/wasi-host.js';
import { VmError } from '../errors.js';
import { Backend } from '../storage/storage-protocol.js';
import { isOciSource } from '../oci/image.js';
import { launchScript } from '../oci/launch.js';
import { openRoot } from '../oci/roots.js';
import { EngineKind, engineFor, loadV86Manifest } from './image.js';
import { Snapshot, imageKey } from './snapshot-store.js';
import { ImageSnapshot, loadImageSnapshot } from './image-snapshot.js';
import { splitWords } from './words.js';

/** Where the element's workers and wasm files are. */
export interface ElementAssets {
  storageWorker: URL;
  v86Worker: URL;
  v86Wasm: URL;
  wasiWorker: URL;
}

/** The assets in the folder `base` (dist/ as `npm run build` makes it). */
export function assetsIn(base: URL | string): ElementAssets {
  const at = (name: string) => new URL(name, base);
  return { storageWorker: at('storage-worker.js'), v86Worker: at('v86-worker.js'), v86Wasm: at('v86.wasm'), wasiWorker: at('wasi-worker.js') };
}

export interface LaunchRequest {
  src: string;
  engine: string;
  mount: string;
  args: string;
  env: string;
  /** The guest's network (v86 only), from the network and cors-proxy attributes. */
  network: NetworkConfig | null;
  /** How a v86 guest mounts the share (the share-cache attribute). */
  shareCache: ShareCache;
  assets: ElementAssets;
  host: StorageHost;
  /** The share's OPFS directory and server: an OCI image's root is kept per share, served by the same backend. */
  opfsRoot: string;
  backend: Backend;
  /** The v86 guest (manifest URL) that boots an OCI image: its kernel and initramfs. */
  guest: string;
  /** A write to an OCI image's root failed for want of quota. */
  onNoSpace: () => void;
  terminalSize: { cols: number; rows: number };
  /** A v86 image's manifest and the state it starts from (readV86Start()); null for the wasi engine and OCI images. */
  v86Start: Promise<V86Start> | null;
}

/** A v86 guest's image and the state it starts from, if not a boot. */
export interface V86Start {
  image: V86Image;
  /** The share's snapshot, when it was saved from this image (and command line). */
  resumed: Snapshot | null;
  /** Else the image's snapshot, when it ships one that fits the launch. */
  shipped: ImageSnapshot | null;
}

/**
 * Reads a v86 image's manifest and the snapshot to start from: the share's (`stored`, being read)
 * if it fits, else the image's if `imageSnapshot` allows it. Started before the share opens, so
 * that the downloads run beside it; `progress` reports the image's snapshot's download.
 */
export async function readV86Start(
  src: string, mount: string, network: NetworkConfig | null, shareCache: ShareCache, stored: Promise<Snapshot | null> | null, imageSnapshot: boolean,
  progress: (what: string, loaded: number, total: number) => void,
): Promise<V86Start> {
  // The network card is part of the machine and the cache mode part of the mount: with both on
  // the command line, a snapshot resumes only into the launch it was saved from.
  const guest = await loadV86Manifest(src, guestCmdline(mount, network !== null, shareCache, false));
  const snapshot = await stored;
  const resumed = snapshot?.image === imageKey(guest.image) ? snapshot : null;
  const shipped = !resumed && imageSnapshot
    ? await loadImageSnapshot(guest.snapshot, guest.id, guest.image, (loaded, total) => progress(guest.snapshot!.state, loaded, total))
    : null;
  return { image: guest.image, resumed, shipped };
}

/**
 * How a v86 guest mounts the share. none: every access is a 9P message, so the page's changes show
 * at once. loose: the guest keeps names, attributes and pages (reading many small files again gets
 * 3-6x faster, but Linux 6.1 writes cached pages back 4 KiB per message, so big writes get about 15x
 * slower); the guest agent drops that cache after each change the page makes, and writes back what
 * the guest wrote before the page reads.
 */
export type ShareCache = 'none' | 'loose';

/** The share-cache attribute's value, checked ('' is the default, none). */
export function parseShareCache(value: string): ShareCache {
  const v = value.trim() || 'none';
  if (v !== 'none' && v !== 'loose') throw new VmError('bad-arguments', `Unknown share-cache "${value}": use none (the default) or loose.`);
  return v;
}

/**
 * What the element adds to a guest's command line (guest/rootfs/sbin/mount-opfs and oci-run read
 * it). The default launch gives the words the image's snapshot was made with (scripts/boot-snapshot.ts).
 */
function guestCmdline(mount: string, network: boolean, shareCache: ShareCache, oci: boolean): string {
  const words = [`cvm.mount=${mount}`];
  if (oci) words.push('cvm.root=oci');
  if (shareCache !== 'none') words.push(`p9.cache=${shareCache}`);
  if (network) words.push('cvm.net=virtio');
  return words.join(' ');
}

export interface LaunchedVm {
  kind: EngineKind;
  engine: RunningEngine;
  /** The engine's own connection to the share (released when the VM stops). */
  endpoint: ChannelEndpoint;
  /** The v86 image running (saveSnapshot() records it); null for the wasi engine. */
  image: V86Image | null;
  /** The share's snapshot it resumed from, if it did. */
  resumed: Snapshot | null;
  /** The image's snapshot it resumed from, if it did (never beside `resumed`). */
  imageSnapshot: ImageSnapshot | null;
  /** An OCI image's root file system: its storage worker, closed when the VM stops. */
  root: StorageHost | null;
  /** How the guest mounted the share (none for the wasi engine, which caches nothing it must write back). */
  shareCache: ShareCache;
}

/** The engine `src` needs, checked before anything starts. */
function engineKind(src: string, engine: string): EngineKind {
  if (!src) throw new VmError('bad-image', 'Set the src attribute to a v86 image manifest (.json), an OCI image (a layout folder ending in "/", or a .tar of one) or a container2wasm image (.wasm).');
  if (engine === 'auto') return engineFor(src);
  if (engine !== 'v86' && engine !== 'wasi') throw new VmError('bad-image', `Unknown engine "${engine}": use auto, v86 or wasi.`);
  return engine;
}

/**
 * The attributes a launch reads, checked before the share opens (a bad value then costs no lock):
 * the engine for `src`, a network only where the engine has one, a guest for an OCI image.
 */
export function checkLaunch(src: string, engine: string, network: NetworkConfig | null, shareCache: ShareCache, guest: string): EngineKind {
  const kind = engineKind(src, engine);
  if (network && kind === 'wasi') throw new VmError('bad-arguments', 'The network attribute works with the v86 engine only: remove it for this image.');
  if (shareCache !== 'none' && kind === 'wasi') throw new VmError('bad-arguments', 'The share-cache attribute works with the v86 engine only: remove it for this image.');
  if (kind === 'v86' && isOciSource(src) && !guest) {
    throw new VmError('bad-arguments', 'An OCI image needs a v86 guest to boot it: set the guest attribute to its manifest (guest/out/manifest.json, built by guest/build.sh).');
  }
  return kind;
}

/**
 * Starts the VM. Its events come from the engine's worker, as tasks: none fires before the
 * caller has the returned handle.
 */
export async function launchVm(r: LaunchRequest, events: WasiEvents): Promise<LaunchedVm> {
  const kind = checkLaunch(r.src, r.engine, r.network, r.shareCache, r.guest);
  if (kind === 'wasi') {
    const args = splitWords(r.args);
    const env = splitWords(r.env);
    // Slots for requests, for the Tclunks S1 sends without waiting for their answers, and 16
    // for the lookups S1 sends in batches (src/wasi/session.ts).
    const endpoint = await r.host.connect(18);
    const engine = startWasi(r.assets.wasiWorker, {
      src: new URL(r.src, location.href).href, args, env, mount: r.mount, share: endpoint, ...r.terminalSize,
    }, events);
    return { kind, engine, endpoint, image: null, resumed: null, imageSnapshot: null, root: null, shareCache: 'none' };
  }
  if (isOciSource(r.src)) return launchOci(r, events);
  const start = await r.v86Start;
  if (!start) throw new Error('launchVm: a v86 image needs its v86Start');
  const { image, resumed, shipped } = start;
  const from = resumed ?? shipped;
  // A resumed guest still holds its 9P fids: the new session gets them back, by path.
  const endpoint = await r.host.connect(16, undefined, from?.session);
  const engine = startV86(r.assets.v86Worker, r.assets.v86Wasm, image, endpoint, events, from?.state, r.network ?? undefined);
  return { kind, engine, endpoint, image, resumed, imageSnapshot: shipped, root: null, shareCache: r.shareCache };
}

/**
 * An OCI image: its root unpacked into OPFS (once per digest and share), then the guest boots
 * with that root and the share on its one 9P device (root-mux.ts). No snapshots (not even the
 * guest's own: its command line differs): a boot each time.
 */
async function launchOci(r: LaunchRequest, events: WasiEvents): Promise<LaunchedVm> {
  const { image } = await loadV86Manifest(r.guest, guestCmdline(r.mount, r.network !== null, r.shareCache, true));
  const root = await openRoot({
    src: new URL(r.src, location.href).href, opfsRoot: r.opfsRoot, backend: r.backend, storageWorker: r.assets.storageWorker,
    onNoSpace: r.onNoSpace, progress: events.progress,
  });
  try {
    const launch = launchScript(root.config, r.args.trim() ? splitWords(r.args) : null, r.src);
    const rootEndpoint = await root.host.connect(16);
    const endpoint = await r.host.connect(16);
    const engine = startV86(r.assets.v86Worker, r.assets.v86Wasm, image, endpoint, events, undefined, r.network ?? undefined, { endpoint: rootEndpoint, launch });
    return { kind: 'v86', engine, endpoint, image: null, resumed: null, imageSnapshot: null, root: root.host, shareCache: r.shareCache };
  } catch (e) {
    await root.host.close().catch(() => undefined);
    throw e;
  }
}
