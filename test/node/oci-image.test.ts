// Reading OCI images as the element does (src/oci/image.ts), from a local HTTP server: a layout
// folder and a .tar of it, a multi-platform index nesting another index, another platform
// (bad-image naming it), layers streamed through their digest check.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerTar, openImage } from '../../src/oci/image.js';
import { readTar } from '../../src/oci/tar.js';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'oci', 'out');
const skip = !existsSync(join(fixtures, 'stamp')) && 'run bash test/oci/build.sh';

async function serve(root: string): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!existsSync(path) || path.endsWith('/')) { res.statusCode = 404; res.end(); return; }
    res.setHeader('Content-Length', readFileSync(path).length);
    res.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const base = `http://127.0.0.1:${address.port}/`;
  // openImage resolves src against the page's location, as the element does.
  (globalThis as { location?: { href: string } }).location = { href: base };
  return { base, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('openImage: a layout folder, a .tar of it, and a nested multi-platform index give the same linux/386 image', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-oci-'));
  // A multi-platform index: amd64 beside a nested index that holds the 386 manifest.
  cpSync(join(fixtures, 'busybox'), join(dir, 'multi'), { recursive: true });
  const own = JSON.parse(readFileSync(join(dir, 'multi', 'index.json'), 'utf8'));
  const amd64 = JSON.parse(readFileSync(join(fixtures, 'busybox-amd64', 'index.json'), 'utf8')).manifests[0];
  cpSync(join(fixtures, 'busybox-amd64', 'blobs'), join(dir, 'multi', 'blobs'), { recursive: true });
  const nested = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: own.manifests }));
  const nestedHex = createHash('sha256').update(nested).digest('hex');
  writeFileSync(join(dir, 'multi', 'blobs', 'sha256', nestedHex), nested);
  writeFileSync(join(dir, 'multi', 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [amd64, { mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${nestedHex}`, size: nested.length }],
  }));
  cpSync(fixtures, join(dir, 'out'), { recursive: true });
  const server = await serve(dir);
  try {
    const folder = await openImage('out/busybox/', () => undefined);
    let tarBytes = 0;
    const tar = await openImage('out/busybox.tar', (loaded) => { tarBytes = loaded; });
    const multi = await openImage('multi/', () => undefined);
    assert.equal(tarBytes, readFileSync(join(fixtures, 'busybox.tar')).length, 'the .tar download is reported');
    for (const image of [tar, multi]) {
      assert.equal(image.digest, folder.digest);
      assert.deepEqual(image.config, folder.config);
    }
    assert.deepEqual(folder.config.Entrypoint, ['/bin/sh', '-c']);
    assert.equal(folder.layers.length, 2);
    // The upper layer, through its digest check and gunzip.
    const names: string[] = [];
    let read = 0;
    for await (const e of readTar(layerTar('x', folder.layers[1]!, await tar.blob(folder.layers[1]!.digest), (n) => { read += n; }))) names.push(e.path);
    assert.ok(names.includes('etc/.wh.gone.txt') && names.includes('opq/.wh..wh..opq'));
    assert.ok(read > 0 && read <= folder.layers[1]!.size);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openImage: another platform is bad-image, naming it and container2wasm', { skip }, async () => {
  const server = await serve(fixtures);
  try {
    await assert.rejects(openImage('busybox-amd64/', () => undefined), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'bad-image');
      assert.match(e.message, /linux\/amd64.*linux\/386 images only.*container2wasm/s);
      return true;
    });
    await assert.rejects(openImage('no-such-image/', () => undefined), (e: Error & { code?: string }) => e.code === 'image-unreachable');
  } finally {
    await server.close();
  }
});
