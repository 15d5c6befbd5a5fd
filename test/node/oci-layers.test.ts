// OCI layers without a browser: the SHA-256 the unpacker checks digests with, the tar reader on
// archives GNU tar wrote (long names, PAX headers, hard links, fifos), and layer application
// (whiteouts, opaque directories, replacements) onto an in-memory tree, on the busybox fixture.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '../../src/oci/sha256.js';
import { TarEntry, TarType, normalisePath, readTar } from '../../src/oci/tar.js';
import { NodeMeta, TreeWriter, applyLayer } from '../../src/oci/unpack.js';

const fixtures = join(import.meta.dirname, '..', '..', '..', 'test', 'oci', 'out');

function streamOf(bytes: Uint8Array, chunk = 777): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(at, at + chunk));
      at += chunk;
    },
  });
}

async function entries(tar: Uint8Array): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTar(streamOf(tar))) out.push(e);
  return out;
}

/** A tree in memory, as ShareTree keeps its index, with file contents and metadata. */
class MemoryTree implements TreeWriter {
  readonly nodes = new Map<string, { type: TarType; data?: Uint8Array; target?: string; meta?: NodeMeta }>([['', { type: 'directory' }]]);
  async typeOf(path: string) { return this.nodes.get(path)?.type ?? null; }
  async list(path: string) {
    return [...this.nodes.keys()].filter((p) => p !== '' && p.slice(0, Math.max(0, p.lastIndexOf('/'))) === path).map((p) => p.slice(p.lastIndexOf('/') + 1));
  }
  async remove(path: string) { for (const p of [...this.nodes.keys()]) if (p === path || p.startsWith(`${path}/`)) this.nodes.delete(p); }
  async mkdir(path: string, meta: NodeMeta) {
    if (this.nodes.has(path)) return false;
    this.nodes.set(path, { type: 'directory', meta });
    return true;
  }
  async writeFile(path: string, data: Uint8Array, meta: NodeMeta) { this.nodes.set(path, { type: 'file', data, meta }); }
  async symlink(path: string, target: string, meta: NodeMeta) { this.nodes.set(path, { type: 'symlink', target, meta }); }
  async mknod(path: string, type: 'char' | 'block' | 'fifo', _major: number, _minor: number, meta: NodeMeta) { this.nodes.set(path, { type, meta }); }
  async copyFile(from: string, to: string) { this.nodes.set(to, { ...this.nodes.get(from)! }); }
  async setMeta(path: string, meta: NodeMeta) { this.nodes.get(path)!.meta = meta; }
}

test('Sha256 matches node:crypto for lengths around the block and padding edges, fed in pieces', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_000]) {
    const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    const h = new Sha256();
    for (let at = 0; at < n; at += 17) h.update(data.subarray(at, at + 17));
    assert.equal(h.hex(), createHash('sha256').update(data).digest('hex'), `length ${n}`);
  }
});

test('readTar: GNU and PAX archives, long names and links, modes, owners, times, hard links, fifos', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-tar-'));
  try {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
    mkdirSync(join(dir, 'src', 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(dir, 'src', long), 'long name\n');
    writeFileSync(join(dir, 'src', 'a.txt'), 'x'.repeat(5000));
    execFileSync('ln', [join(dir, 'src', 'a.txt'), join(dir, 'src', 'hard.txt')]);
    symlinkSync('l'.repeat(150), join(dir, 'src', 'link'));
    execFileSync('mkfifo', [join(dir, 'src', 'fifo')]);
    execFileSync('chmod', ['4751', join(dir, 'src', 'a.txt')]);
    for (const format of ['gnu', 'pax']) {
      const tar = join(dir, `${format}.tar`);
      execFileSync('tar', ['--sort=name', '--numeric-owner', '--owner=1000', '--group=100', '--mtime=@1600000000', `--format=${format}`, '-cf', tar, '-C', join(dir, 'src'), '.']);
      const list = await entries(readFileSync(tar));
      const byPath = new Map(list.map((e) => [e.path, e]));
      assert.equal(byPath.get('')?.type, 'directory', format);
      const a = byPath.get('a.txt')!;
      assert.deepEqual([a.type, a.mode, a.uid, a.gid, a.mtime, a.data.length], ['file', 0o4751, 1000, 100, 1600000000, 5000], format);
      assert.equal(new TextDecoder().decode(byPath.get(long)!.data), 'long name\n', format);
      assert.deepEqual([byPath.get('hard.txt')!.type, byPath.get('hard.txt')!.linkname], ['hardlink', 'a.txt'], format);
      assert.deepEqual([byPath.get('link')!.type, byPath.get('link')!.linkname], ['symlink', 'l'.repeat(150)], format);
      assert.equal(byPath.get('fifo')!.type, 'fifo', format);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readTar refuses what is not a tar, a cut-off archive, and paths that leave the root', async () => {
  await assert.rejects(entries(new Uint8Array(1024).fill(7)), /bad checksum/);
  const dir = mkdtempSync(join(tmpdir(), 'cvm-tar-'));
  try {
    writeFileSync(join(dir, 'f'), 'y'.repeat(3000));
    execFileSync('tar', ['-cf', join(dir, 'f.tar'), '-C', dir, 'f']);
    await assert.rejects(entries(readFileSync(join(dir, 'f.tar')).subarray(0, 1500)), /ends in the middle/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => normalisePath('a/../../etc/passwd'), /outside the image's root/);
  assert.equal(normalisePath('./usr//bin/'), 'usr/bin');
});

test('applyLayer: the busybox fixture\'s two layers give whiteouts, an opaque directory, copies for hard links', { skip: !existsSync(fixtures) && 'run bash test/oci/build.sh' }, async () => {
  const layout = join(fixtures, 'busybox');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const blob = (digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)));
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  const tree = new MemoryTree();
  for (const layer of manifest.layers) {
    const tar = streamOf(blob(layer.digest)).pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
    await applyLayer(tree, tar);
  }
  const text = (p: string) => new TextDecoder().decode(tree.nodes.get(p)?.data);
  assert.equal(tree.nodes.has('etc/gone.txt'), false, 'the whiteout removed the lower file');
  assert.equal(tree.nodes.has('etc/.wh.gone.txt'), false, 'whiteouts are not files');
  assert.equal(text('etc/kept.txt'), 'kept from the lower layer\n');
  assert.equal(text('etc/hard.txt'), 'kept from the lower layer\n', 'a hard link is a copy');
  assert.deepEqual(await tree.list('opq'), ['upper.txt'], 'the opaque directory kept only the upper layer\'s file');
  assert.equal(tree.nodes.get('bin/sh')!.target, 'busybox');
  assert.equal(tree.nodes.get('bin/busybox')!.meta!.mode, 0o4755);
  assert.equal(tree.nodes.get('tmp')!.meta!.mode, 0o1777);
  assert.deepEqual([tree.nodes.get('home/app')!.meta!.uid, tree.nodes.get('home/app/layer.txt')!.meta!.gid], [1000, 1000]);
  assert.equal(tree.nodes.get('etc/fifo')!.type, 'fifo');
});

test('applyLayer: an entry replaces what is there unless both are directories', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-tar-'));
  try {
    const tree = new MemoryTree();
    const layer = async (build: (root: string) => void) => {
      const root = join(dir, `l${tree.nodes.size}`);
      mkdirSync(root);
      build(root);
      execFileSync('tar', ['-cf', `${root}.tar`, '-C', root, '.']);
      await applyLayer(tree, streamOf(readFileSync(`${root}.tar`)));
    };
    await layer((r) => { mkdirSync(join(r, 'x')); writeFileSync(join(r, 'x', 'in.txt'), '1'); writeFileSync(join(r, 'y'), 'file'); });
    await layer((r) => { writeFileSync(join(r, 'x'), 'now a file'); mkdirSync(join(r, 'y')); writeFileSync(join(r, 'y', 'z'), '2'); });
    assert.equal(tree.nodes.get('x')!.type, 'file');
    assert.equal(tree.nodes.has('x/in.txt'), false);
    assert.equal(tree.nodes.get('y')!.type, 'directory');
    assert.equal(tree.nodes.get('y/z')!.type, 'file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
