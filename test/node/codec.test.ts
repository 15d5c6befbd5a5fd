// The 9P2000.L codec on its own, without a browser: every message type of the one table through
// encode and decode, the malformed input the servers answer with EPROTO, and directory entries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MalformedMessage, decodeDirEntries, decodeMessage, direntSize, encodeMessage, messageSize, readHeader,
} from '../../src/wire/codec.js';
import {
  Body, FieldKind, HEADER_SIZE, Layout, MessageType, Qid, RequestType, WireType, isRequestType, layouts,
} from '../../src/wire/messages.js';

/** A value of `kind` that tells fields apart (`n` differs per field). */
function sample(kind: FieldKind, n: number): unknown {
  const qid = (i: number): Qid => ({ type: 0x80 >> (i % 3), version: i, path: 2 ** 40 + i });
  switch (kind) {
    case 'u8': return (n * 37) & 0xff;
    case 'u16': return (n * 4099) & 0xffff;
    case 'u32': return (0xfffffff0 - n) >>> 0;
    case 'u64': return Number.MAX_SAFE_INTEGER - n;
    case 's': return n % 2 ? `name-${n} é中😀` : '';
    case 'qid': return qid(n);
    case 's*': return Array.from({ length: n % 4 }, (_, i) => `part${i}-ü`);
    case 'qid*': return Array.from({ length: 1 + (n % 3) }, (_, i) => qid(n + i));
    case 'data': return Uint8Array.from({ length: 100 + n }, (_, i) => (i * 7 + n) & 0xff);
  }
}

function fieldsFor(layout: Layout): Record<string, unknown> {
  return Object.fromEntries(layout.map(([name, kind], i) => [name, sample(kind, i + 1)]));
}

const wireTypes = layouts.flatMap((layout, type) => (layout ? [{ type: type as WireType, layout }] : []));

test('the table has every 9P2000.L message this project speaks, each request with its reply', () => {
  const requests = wireTypes.filter(({ type }) => isRequestType(type));
  assert.equal(requests.length, 28);
  for (const { type } of requests) assert.ok(layouts[type + 1], `no reply layout for request ${type}`);
  assert.ok(layouts[MessageType.Rlerror]);
  assert.equal(wireTypes.length, 2 * 28 + 1);
});

test('every message type survives encode and decode, field by field', () => {
  for (const [i, { type, layout }] of wireTypes.entries()) {
    // The layout makes the fields: they have the shape of `type`'s body.
    const fields = fieldsFor(layout) as Body<typeof type>;
    const tag = (i * 977) & 0xffff;
    const bytes = encodeMessage(type, tag, fields);
    assert.equal(bytes.length, messageSize(type, fields), `size of type ${type}`);
    assert.deepEqual(readHeader(bytes), { size: bytes.length, type, tag });
    const m = decodeMessage(bytes);
    assert.equal(m.type, type);
    assert.equal(m.tag, tag);
    assert.deepEqual(m.fields, fields, `fields of type ${type}`);
  }
});

test('encodes into a caller buffer (a shared one too), and refuses one too small', () => {
  const out = new Uint8Array(new SharedArrayBuffer(64), 5, 40);
  const bytes = encodeMessage(MessageType.Twalk, 3, { fid: 1, newfid: 2, names: ['a', 'ü'] }, out);
  assert.equal(bytes.buffer, out.buffer);
  const m = decodeMessage(bytes);
  assert.ok(m.type === MessageType.Twalk);
  assert.deepEqual(m.fields.names, ['a', 'ü']);
  assert.throws(() => encodeMessage(MessageType.Twalk, 3, { fid: 1, newfid: 2, names: ['x'.repeat(40)] }, out), RangeError);
});

test('a decoded Twrite\'s data is a view of the request, not a copy', () => {
  const bytes = encodeMessage(MessageType.Twrite, 1, { fid: 4, offset: 8, data: new Uint8Array([1, 2, 3]) });
  const m = decodeMessage(bytes);
  assert.ok(m.type === MessageType.Twrite);
  assert.equal(m.fields.data.buffer, bytes.buffer);
});

test('reads Tfsync without its trailing datasync (older kernels) as datasync 0', () => {
  const full = encodeMessage(MessageType.Tfsync, 9, { fid: 5, datasync: 1 });
  const short = full.slice(0, full.length - 4);
  new DataView(short.buffer).setUint32(0, short.length, true);
  const m = decodeMessage(short);
  assert.ok(m.type === MessageType.Tfsync);
  assert.deepEqual(m.fields, { fid: 5, datasync: 0 });
});

test('malformed input is MalformedMessage, with the tag once the header is readable', () => {
  const malformed = (bytes: Uint8Array, tag: number | undefined) =>
    assert.throws(() => decodeMessage(bytes), (e: unknown) => e instanceof MalformedMessage && e.tag === tag);
  malformed(new Uint8Array([1, 2, 3]), undefined);
  const good = encodeMessage(MessageType.Tmkdir, 77, { dfid: 1, name: 'ab', mode: 0o755, gid: 0 });
  const cut = good.slice(0, good.length - 2);
  new DataView(cut.buffer).setUint32(0, cut.length, true);
  malformed(cut, 77);
  const wrongSize = good.slice();
  new DataView(wrongSize.buffer).setUint32(0, 999, true);
  malformed(wrongSize, 77);
  const tail = new Uint8Array(good.length + 1);
  tail.set(good);
  new DataView(tail.buffer).setUint32(0, tail.length, true);
  malformed(tail, 77);
  const badUtf8 = good.slice();
  badUtf8[HEADER_SIZE + 4 + 2] = 0xff;
  malformed(badUtf8, 77);
  const unknown = good.slice();
  unknown[4] = 200;
  malformed(unknown, 77);
});

test('directory entries: sizes as the server counts them, decoded back in order', () => {
  const entries = [
    { qid: { type: 0x80, version: 0, path: 1 }, offset: 1, type: 4, name: '.' },
    { qid: { type: 0, version: 3, path: 2 ** 33 }, offset: 2, type: 8, name: 'ä-file' },
    { qid: { type: 2, version: 0, path: 7 }, offset: 3, type: 10, name: 'x'.repeat(255) },
  ];
  const size = entries.reduce((n, e) => n + direntSize(e.name), 0);
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  let at = 0;
  for (const e of entries) {
    view.setUint8(at, e.qid.type);
    view.setUint32(at + 1, e.qid.version, true);
    view.setBigUint64(at + 5, BigInt(e.qid.path), true);
    view.setBigUint64(at + 13, BigInt(e.offset), true);
    view.setUint8(at + 21, e.type);
    const name = new TextEncoder().encode(e.name);
    view.setUint16(at + 22, name.length, true);
    data.set(name, at + 24);
    at += direntSize(e.name);
  }
  assert.equal(at, size);
  assert.deepEqual(decodeDirEntries(data), entries);
});

test('request and reply fields are typed from the table', () => {
  const typed = <T extends RequestType>(type: T, fields: Body<T>) => encodeMessage(type, 1, fields);
  assert.equal(typed(MessageType.Tlopen, { fid: 1, flags: 0 }).length, HEADER_SIZE + 8);
  // The compiler refuses this (no `name` in Tlopen, `flags` missing); it is never called.
  // @ts-expect-error
  const refused = () => typed(MessageType.Tlopen, { fid: 1, name: 'x' });
  assert.equal(typeof refused, 'function');
  const m = decodeMessage(encodeMessage(MessageType.Rlerror, 1, { ecode: 2 }));
  if (m.type === MessageType.Rlerror) assert.equal(m.fields.ecode, 2);
  else assert.fail('decoded the wrong type');
});
