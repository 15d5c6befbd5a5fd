// Modules with no browser in them, tested in node: the store's handle cache (with stand-in
// handles), the splitting of the args and env attributes, and the zip reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync } from 'fflate';
import { HandleCache } from '../../src/store/handle-cache.js';
import { splitWords } from '../../src/element/words.js';
import { readZipDirectory, zipEntryData } from '../../src/transfer/zip-import.js';
import { VmError } from '../../src/errors.js';

/** A FileSystemFileHandle stand-in whose sync handles log what is done to them. */
function fakeFile(name: string, log: string[]): FileSystemFileHandle {
  const handle = {
    flush: () => log.push(`flush ${name}`),
    close: () => log.push(`close ${name}`),
  };
  const file = {
    createSyncAccessHandle: async (options: { mode: string }) => {
      log.push(`open ${name} ${options.mode}`);
      return handle;
    },
  };
  // Only the members HandleCache uses are there.
  return file as unknown as FileSystemFileHandle;
}

test('HandleCache opens once, keeps the least recently used first and closes it when full', async () => {
  const log: string[] = [];
  const cache = new HandleCache<string>(2);
  const a = fakeFile('a', log);
  const b = fakeFile('b', log);
  const c = fakeFile('c', log);
  const ha = await cache.get('a', a);
  assert.equal(await cache.get('a', a), ha);
  await cache.get('b', b);
  assert.deepEqual(log, ['open a readwrite-unsafe', 'open b readwrite-unsafe']);
  // peek marks a as used: b is now the oldest, so c's handle replaces it.
  assert.equal(cache.peek('a'), ha);
  assert.equal(cache.peek('missing'), undefined);
  log.length = 0;
  await cache.get('c', c);
  assert.deepEqual(log, ['flush b', 'close b', 'open c readwrite-unsafe']);
  log.length = 0;
  cache.drop('a');
  cache.drop('a');
  assert.deepEqual(log, ['flush a', 'close a']);
  log.length = 0;
  await cache.get('b', b);
  cache.flushAll();
  cache.closeAll();
  assert.deepEqual(log.sort(), ['close b', 'close c', 'flush b', 'flush b', 'flush c', 'flush c', 'open b readwrite-unsafe']);
  assert.equal(cache.peek('c'), undefined);
});

test('splitWords splits like a shell for simple cases', () => {
  assert.deepEqual(splitWords(''), []);
  assert.deepEqual(splitWords('  -a  b\tc\n'), ['-a', 'b', 'c']);
  assert.deepEqual(splitWords(`sh -c 'echo "hi there"' x`), ['sh', '-c', 'echo "hi there"', 'x']);
  assert.deepEqual(splitWords(`"a b"c 'd'"e"`), ['a bc', 'de']);
  assert.deepEqual(splitWords(`'' "" x`), ['', '', 'x']);
  assert.deepEqual(splitWords(String.raw`a\ b "q\"uote" 'no\escape' \\`), ['a b', 'q"uote', 'no\\escape', '\\']);
  assert.deepEqual(splitWords('NAME=va\\ lue OTHER="x y"'), ['NAME=va lue', 'OTHER=x y']);
  assert.throws(() => splitWords(`echo 'unclosed`), (e: unknown) => e instanceof VmError && e.code === 'bad-arguments');
  assert.throws(() => splitWords('echo "unclosed'), (e: unknown) => e instanceof VmError && /unclosed "/.test(e.message));
});

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test('the zip reader: names, Unix modes, DOS times and contents, stored and deflated', () => {
  const mtime = new Date(2023, 3, 4, 5, 6, 8);
  const unix = (mode: number) => ({ os: 3, attrs: mode * 0x10000, mtime });
  const archive = zipSync({
    'dir/': [new Uint8Array(0), { ...unix(0o040750), level: 0 }],
    'dir/tool': [enc('#!/bin/sh\n'), { ...unix(0o100755), level: 0 }],
    'dir/big.txt': [enc('x'.repeat(100000)), { ...unix(0o100600), level: 9 }],
    'link': [enc('dir/tool'), unix(0o120777)],
    'plain-é.txt': [enc('plain'), { mtime }],
  });
  // An archive comment after the end-of-central-directory record, which the reader must skip.
  const comment = enc('a comment at the very end');
  const zip = new Uint8Array(archive.length + comment.length);
  zip.set(archive);
  zip.set(comment, archive.length);
  new DataView(zip.buffer).setUint16(archive.length - 2, comment.length, true);
  const entries = readZipDirectory(zip);
  assert.deepEqual(entries.map((e) => [e.name, e.mode, e.method, e.size]), [
    ['dir/', 0o040750, 0, 0],
    ['dir/tool', 0o100755, 0, 10],
    ['dir/big.txt', 0o100600, 8, 100000],
    ['link', 0o120777, 8, 8],
    ['plain-é.txt', null, 8, 5],
  ]);
  for (const e of entries) assert.equal(e.mtimeMs, mtime.getTime(), e.name);
  assert.ok(entries[2]!.compressedSize < 1000);
  assert.deepEqual(entries.map((e) => dec(zipEntryData(zip, e))), ['', '#!/bin/sh\n', 'x'.repeat(100000), 'dir/tool', 'plain']);
});

test('the zip reader refuses what it cannot read, saying why', () => {
  const badZip = (bytes: Uint8Array, why: RegExp) =>
    assert.throws(() => readZipDirectory(bytes), (e: unknown) => e instanceof VmError && e.code === 'bad-zip' && why.test(e.message));
  badZip(enc('not a zip at all, just text'), /no end-of-central-directory/);
  const zip = zipSync({ 'a.txt': enc('aaa'), 'b.txt': enc('bbb') });
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const eocd = zip.length - 22;
  const damaged = zip.slice();
  view(damaged).setUint32(view(damaged).getUint32(eocd + 16, true), 0x12345678, true);
  badZip(damaged, /central directory is damaged/);
  const zip64 = zip.slice();
  view(zip64).setUint16(eocd + 10, 0xffff, true);
  badZip(zip64, /ZIP64/);
  const encrypted = zip.slice();
  view(encrypted).setUint16(view(encrypted).getUint32(eocd + 16, true) + 8, 1, true);
  badZip(encrypted, /encrypted/);
  const [first] = readZipDirectory(zip);
  const noLocal = zip.slice();
  view(noLocal).setUint32(0, 0, true);
  assert.throws(() => zipEntryData(noLocal, first!), /local header of a.txt is damaged/);
});
