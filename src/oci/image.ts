// An OCI image as `src` names it: an image layout served as a folder (a URL ending in "/", holding
// oci-layout, index.json and blobs/), or one .tar of such a layout. Picks the linux/386 manifest
// (what v86 runs), reads the image config, and hands out each layer's bytes, checked against its
// digest as they are read. Docker's manifest list and v2 manifest media types are read as well.

import { VmError } from '../errors.js';
import { Sha256 } from './sha256.js';
import { TarError, readTar } from './tar.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture?: string; os?: string; variant?: string };
}

/** The parts of the image config a runtime reads (OCI image-spec config.md). */
export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
}

export interface OciImage {
  /** The digest of the chosen manifest ("sha256:…"): the image's identity. */
  digest: string;
  config: ImageConfig;
  layers: Descriptor[];
  /** A layer's bytes as stored (compressed or not). */
  blob(digest: string): Promise<ReadableStream<Uint8Array>>;
}

/** Where the bytes of an image layout come from. */
interface LayoutSource {
  file(path: string): Promise<ReadableStream<Uint8Array>>;
}

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const GZIP_LAYERS = ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'];
const TAR_LAYERS = ['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.nondistributable.v1.tar'];

/** Whether `src` names an OCI image (a layout folder, its index.json, or a .tar of it). */
export function isOciSource(src: string): boolean {
  const path = new URL(src, location.href).pathname.toLowerCase();
  return path.endsWith('/') || path.endsWith('.tar') || path.endsWith('/index.json');
}

function badImage(src: string, why: string): VmError {
  return new VmError('bad-image', `${src} is not an image v86 can run: ${why}`);
}

async function fetchOk(url: string): Promise<Response> {
  let response: Response;
  try {
    // Blobs never change (their name is their digest); index.json and a .tar may: ask the server.
    response = await fetch(url, url.includes('/blobs/sha256/') ? {} : { cache: 'no-cache' });
  } catch (e) {
    throw new VmError('image-unreachable', `could not fetch ${url}: ${e instanceof Error ? e.message : e}. Check the src attribute and that the server is reachable.`);
  }
  if (!response.ok) throw new VmError('image-unreachable', `${url} answered HTTP ${response.status}. Check the src attribute (an image layout folder's URL ends in "/").`);
  return response;
}

/** A layout folder on a web server. */
function folderSource(base: string): LayoutSource {
  return { file: async (path) => (await fetchOk(new URL(path, base).href)).body! };
}

/**
 * A .tar of a layout: read through once, each file kept as a Blob (which the browser may keep on
 * disk), since index.json may come after the blobs it names.
 */
async function tarSource(url: string, progress: (loaded: number, total: number) => void): Promise<LayoutSource> {
  const response = await fetchOk(url);
  const total = Number(response.headers.get('Content-Length') ?? 0);
  let loaded = 0;
  const counted = response.body!.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      loaded += chunk.length;
      progress(loaded, total);
      controller.enqueue(chunk);
    },
  }));
  const files = new Map<string, Blob>();
  try {
    for await (const entry of readTar(counted)) {
      if (entry.type === 'file') files.set(entry.path, new Blob([entry.data]));
    }
  } catch (e) {
    if (e instanceof TarError) throw badImage(url, `it is not a tar of an OCI image layout (${e.message})`);
    throw e;
  }
  return {
    async file(path) {
      const blob = files.get(path);
      if (!blob) throw badImage(url, `the archive has no ${path}`);
      return blob.stream();
    },
  };
}

async function readJson<T>(source: LayoutSource, path: string, src: string, digest?: string): Promise<T> {
  const bytes = new Uint8Array(await new Response(await source.file(path)).arrayBuffer());
  if (digest && `sha256:${new Sha256().update(bytes).hex()}` !== digest) {
    throw badImage(src, `${path} does not match its digest ${digest}`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw badImage(src, `${path} is not JSON`);
  }
}

function blobPath(src: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw badImage(src, `the digest ${digest} is not a sha256 digest`);
  return `blobs/sha256/${m[1]}`;
}

const is386 = (p?: { architecture?: string; os?: string }) => p?.architecture === '386' && (p.os ?? 'linux') === 'linux';
const platformText = (p?: { architecture?: string; os?: string; variant?: string }) =>
  `${p?.os ?? '?'}/${p?.architecture ?? '?'}${p?.variant ? `/${p.variant}` : ''}`;

function wrongPlatform(src: string, found: string): VmError {
  return badImage(src, `it is for ${found}, but v86 emulates a 32-bit x86 PC and runs linux/386 images only. ` +
    'Build or pull the image for linux/386 (docker build --platform linux/386), or convert an image for another platform to a container2wasm .wasm image and use the wasi engine.');
}

/**
 * Reads the image at `src` up to its layers: the index, the linux/386 manifest and the config.
 * `progress` hears the download of a .tar.
 */
export async function openImage(src: string, progress: (loaded: number, total: number) => void): Promise<OciImage> {
  const url = new URL(src, location.href);
  const isTar = url.pathname.toLowerCase().endsWith('.tar');
  const base = isTar ? url.href : new URL('.', url).href;
  const source = isTar ? await tarSource(url.href, progress) : folderSource(base);
  const index = await readJson<{ manifests?: Descriptor[] }>(source, 'index.json', src);
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw badImage(src, 'its index.json lists no manifests');
  // An index may name nested indexes (multi-platform images): follow them to a manifest.
  let candidates = index.manifests;
  for (let depth = 0; depth < 4; depth++) {
    const nested = candidates.find((d) => INDEX_TYPES.includes(d.mediaType) && (!d.platform || is386(d.platform)));
    if (!nested || candidates.some((d) => !INDEX_TYPES.includes(d.mediaType) && is386(d.platform))) break;
    const inner = await readJson<{ manifests?: Descriptor[] }>(source, blobPath(src, nested.digest), src, nested.digest);
    candidates = inner.manifests ?? [];
  }
  const manifests = candidates.filter((d) => !INDEX_TYPES.includes(d.mediaType));
  const chosen = manifests.find((d) => is386(d.platform)) ?? manifests.find((d) => !d.platform);
  if (!chosen) throw wrongPlatform(src, manifests.map((d) => platformText(d.platform)).join(', ') || 'no platform');
  const manifest = await readJson<{ config?: Descriptor; layers?: Descriptor[] }>(source, blobPath(src, chosen.digest), src, chosen.digest);
  if (!manifest.config || !Array.isArray(manifest.layers)) throw badImage(src, `the manifest ${chosen.digest} names no config or layers`);
  const config = await readJson<{ architecture?: string; os?: string; config?: ImageConfig }>(source, blobPath(src, manifest.config.digest), src, manifest.config.digest);
  if (!is386(config)) throw wrongPlatform(src, platformText(config));
  for (const layer of manifest.layers) {
    if (!GZIP_LAYERS.includes(layer.mediaType) && !TAR_LAYERS.includes(layer.mediaType)) {
      throw badImage(src, `a layer has media type ${layer.mediaType}; tar and tar+gzip layers are supported`);
    }
  }
  return {
    digest: chosen.digest,
    config: config.config ?? {},
    layers: manifest.layers,
    blob: (digest) => source.file(blobPath(src, digest)),
  };
}

/**
 * A layer's tar stream: decompressed when it is gzip'd, its stored bytes checked against the
 * digest (the stream errors with bad-image at its end if they differ) and counted for `read`.
 */
export function layerTar(src: string, layer: Descriptor, bytes: ReadableStream<Uint8Array>, read: (n: number) => void): ReadableStream<Uint8Array> {
  const hash = new Sha256();
  const checked = bytes.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      read(chunk.length);
      controller.enqueue(chunk);
    },
    flush() {
      const actual = `sha256:${hash.hex()}`;
      if (actual !== layer.digest) throw badImage(src, `the layer ${layer.digest} does not match its digest (its bytes hash to ${actual}): the image is damaged or was changed`);
    },
  }));
  // (TypeScript's DOM types declare its writable side as BufferSource, which pipeThrough rejects.)
  const gunzip = new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>;
  return GZIP_LAYERS.includes(layer.mediaType) ? checked.pipeThrough(gunzip) : checked;
}
