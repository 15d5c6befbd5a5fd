#!/usr/bin/env node
// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/*) from layer tars and an image
// config, for the test fixtures (test/oci/build.sh). Plain JavaScript: it runs before any build.
//
//   node scripts/oci-layout.mjs OUT_DIR CONFIG_JSON LAYER.tar... [--arch 386] [--bad-layer-digest]
//
// CONFIG_JSON is the image config's "config" object (Env, Entrypoint, Cmd, WorkingDir, User).
// Layers are gzip-compressed. --bad-layer-digest names the first layer by a digest that does not
// match its bytes (for the bad-input test).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return null;
  const [, value] = args.splice(i, 2);
  return value;
};
const badDigest = args.includes('--bad-layer-digest');
if (badDigest) args.splice(args.indexOf('--bad-layer-digest'), 1);
const arch = flag('--arch') ?? '386';
const [out, configPath, ...layers] = args;
if (!out || !configPath || layers.length === 0) {
  console.error('usage: node scripts/oci-layout.mjs OUT_DIR CONFIG_JSON LAYER.tar... [--arch 386] [--bad-layer-digest]');
  process.exit(2);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
/** Stores a blob and returns its descriptor. */
function blob(mediaType, bytes, nameAs) {
  const hex = sha256(bytes);
  writeFileSync(join(out, 'blobs', 'sha256', nameAs ?? hex), bytes);
  return { mediaType, digest: `sha256:${nameAs ?? hex}`, size: bytes.length };
}

const diffIds = [];
const layerDescriptors = layers.map((path, i) => {
  const tar = readFileSync(path);
  diffIds.push(`sha256:${sha256(tar)}`);
  // mtime 0 in the gzip header, so the same tar gives the same digest.
  const gz = gzipSync(tar, { level: 6 });
  // A digest that is not the bytes' own: one hex digit changed.
  const wrong = badDigest && i === 0 ? sha256(gz).replace(/^./, (c) => (c === '0' ? '1' : '0')) : undefined;
  return blob('application/vnd.oci.image.layer.v1.tar+gzip', gz, wrong);
});
const config = {
  created: '2024-01-01T00:00:00Z',
  architecture: arch,
  os: 'linux',
  config: JSON.parse(readFileSync(configPath, 'utf8')),
  rootfs: { type: 'layers', diff_ids: diffIds },
};
const configDescriptor = blob('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(config)));
const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: layerDescriptors };
const manifestDescriptor = blob('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify(manifest)));
const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifestDescriptor, platform: { architecture: arch, os: 'linux' } }] };
writeFileSync(join(out, 'index.json'), JSON.stringify(index));
writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
console.log(`${out}: ${manifestDescriptor.digest}`);
