// Where a wasi engine image comes from: one .wasm file, or a chunk manifest (a .json file) naming
// the pieces of a bigger one, as container2wasm's demo serves its images (`split -d -b 50M`):
//
//   {"size": 314572800, "chunks": ["out00.wasm", "out01.wasm", "out02.wasm"]}
//
// `chunks` are URLs relative to the manifest, concatenated in order; `size` (optional, bytes)
// gives the progress events their total and is checked once everything has arrived. Either way the
// image is read as one stream of bytes, never held whole in memory.

import { VmError } from '../errors.js';

export type Progress = (loaded: number, total: number) => void;

/** A URL's validators, for revalidating the cached copy with a conditional GET. */
export interface Validators { url: string; etag: string | null; lastModified: string | null }

export interface ImageDownload {
  /** The image's bytes, chunk after chunk; progress is reported as they are read. */
  bytes: AsyncGenerator<Uint8Array, void, undefined>;
  /** The validators of `src` and, for a manifest, of every chunk, in order. */
  validators: Validators[];
}

/** Whether `src` names a chunk manifest rather than a .wasm file. */
export function isManifest(src: string): boolean {
  return new URL(src).pathname.toLowerCase().endsWith('.json');
}

function validatorsOf(url: string, response: Response): Validators {
  return { url, etag: response.headers.get('ETag'), lastModified: response.headers.get('Last-Modified') };
}

/**
 * Fetches one URL of the image. `conditional`: the cached copy's validators, to ask whether it
 * changed (a 304 answers no). no-store keeps the HTTP cache out (the OPFS copy is the cache); it
 * would also send "Cache-Control: no-cache", which servers built on the `fresh` module (koa,
 * express) read as "never answer 304". max-age=0 asks for revalidation all the same.
 *
 * An image on another origin (a CDN) is fetched without headers of our own: Cache-Control and
 * If-None-Match are not CORS-safelisted, so they would need a preflight that static hosts and CDNs
 * do not answer. There, a HEAD request (no preflight) compares the validators a cross-origin
 * response shows (Last-Modified, and ETag when the server exposes it).
 */
export async function fetchPart(url: string, what: string, conditional?: Validators): Promise<Response> {
  const sameOrigin = new URL(url).origin === self.location.origin;
  if (conditional && !sameOrigin) {
    const head = await send(url, what, { method: 'HEAD', cache: 'no-store' });
    if (unchanged(conditional, validatorsOf(url, head))) return new Response(null, { status: 304 });
    return fetchPart(url, what);
  }
  const headers: Record<string, string> = {};
  if (sameOrigin) headers['Cache-Control'] = 'max-age=0';
  if (conditional?.etag) headers['If-None-Match'] = conditional.etag;
  if (conditional?.lastModified) headers['If-Modified-Since'] = conditional.lastModified;
  return send(url, what, { headers, cache: 'no-store' }, !!conditional);
}

/** fetch() with the element's errors; a 304 passes only when `notModifiedOk` (a conditional request). */
async function send(url: string, what: string, init: RequestInit, notModifiedOk = false): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new VmError('image-unreachable', `could not fetch ${what} ${url}: ${e instanceof Error ? e.message : e}. Check the src attribute, ` +
      'that the server is reachable, and, for another origin, that it sends Access-Control-Allow-Origin and Cross-Origin-Resource-Policy: cross-origin.');
  }
  if (response.status === 304 && notModifiedOk) return response;
  if (!response.ok) throw new VmError('image-unreachable', `${what} ${url} answered HTTP ${response.status}. Check the src attribute.`);
  return response;
}

/** Whether a response shows the validators recorded for the cached copy (none shown: changed). */
function unchanged(cached: Validators, now: Validators): boolean {
  if (cached.etag && now.etag) return cached.etag === now.etag;
  if (cached.lastModified && now.lastModified) return cached.lastModified === now.lastModified;
  return false;
}

/** Reads a chunk manifest's response: the chunks' absolute URLs and the size it announces. */
export async function readManifest(url: string, response: Response): Promise<{ chunks: string[]; size: number | null }> {
  let m: unknown;
  try {
    m = await response.json();
  } catch {
    throw new VmError('bad-image', `${url} is not JSON: a chunked image's manifest is {"chunks": ["out00.wasm", ...], "size": bytes}.`);
  }
  const { chunks, size } = (m ?? {}) as { chunks?: unknown; size?: unknown };
  if (!Array.isArray(chunks) || chunks.length === 0 || !chunks.every((c) => typeof c === 'string' && c !== '')) {
    throw new VmError('bad-image', `the image manifest ${url} must list its chunks: {"chunks": ["out00.wasm", "out01.wasm", ...]}.`);
  }
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) > 0)) {
    throw new VmError('bad-image', `the image manifest ${url} gives "size" ${JSON.stringify(size)}: it must be the image's size in bytes.`);
  }
  return { chunks: chunks.map((c: string) => new URL(c, url).href), size: (size as number | undefined) ?? null };
}

/**
 * Downloads the image at `src` (a .wasm, or a manifest and then its chunks one after the other);
 * `first`: the answer to a GET of `src` already made. The generator checks, at its end, that a
 * manifest's chunks add up to its size.
 */
export async function downloadImage(src: string, progress: Progress, first?: Response): Promise<ImageDownload> {
  const head = first ?? await fetchPart(src, isManifest(src) ? 'the image manifest' : 'the image');
  if (!isManifest(src)) {
    const total = Number(head.headers.get('Content-Length') ?? 0);
    return { bytes: streamParts([{ url: src, response: head }], total, null, src, progress), validators: [validatorsOf(src, head)] };
  }
  const { chunks, size } = await readManifest(src, head);
  const validators = [validatorsOf(src, head)];
  // Fetched one at a time, as the stream reaches them, so the server sends one chunk at a time.
  const parts = chunks.map((url) => ({ url, response: null as Response | null }));
  const bytes = streamParts(parts, size ?? 0, size, src, progress, (url, response) => validators.push(validatorsOf(url, response)));
  return { bytes, validators };
}

async function* streamParts(parts: { url: string; response: Response | null }[], total: number, expected: number | null,
  src: string, progress: Progress, fetched?: (url: string, response: Response) => void): AsyncGenerator<Uint8Array, void, undefined> {
  let loaded = 0;
  progress(0, total);
  for (const [i, part] of parts.entries()) {
    const response = part.response ?? await fetchPart(part.url, `chunk ${i + 1} of ${parts.length} of the image`);
    fetched?.(part.url, response);
    const reader = response.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        loaded += value.length;
        progress(loaded, total);
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (expected !== null && loaded !== expected) {
    throw new VmError('bad-image', `the chunks of ${src} add up to ${loaded} bytes, but its manifest says "size": ${expected}.`);
  }
}

/**
 * Asks whether the image changed since `cached` were recorded (cached[0] is `src`): a conditional
 * GET of `src` and, for a manifest, of every chunk, in parallel. Returns null when nothing changed,
 * else the answer for `src` when it changed (to download from without asking again), or true.
 * An unreachable URL throws.
 */
export async function revalidate(cached: Validators[]): Promise<Response | true | null> {
  const answers = await Promise.all(cached.map((v) => fetchPart(v.url, 'the image', v)));
  for (const a of answers.slice(1)) void a.body?.cancel();
  if (answers[0]!.status !== 304) return answers[0]!;
  return answers.some((a) => a.status !== 304) ? true : null;
}
