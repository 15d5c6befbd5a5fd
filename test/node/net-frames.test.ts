// The DNS answers and Ethernet frames the v86 engine makes for the guest's network, checked byte
// by byte on their own (network.test.ts runs them in the guest): RelayNames' stand-in addresses
// and its answers to odd queries, and the checksums of the frames ip-frames.ts builds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayNames } from '../../src/engines/relay-names.js';
import { parseUdp, tcpReset, udpFrame } from '../../src/engines/ip-frames.js';

/** A DNS query: id 0x1234, RD, one question for `name` of `type` (class IN), with `flags` and counts as given. */
function query(name: string, type = 1, { flags = 0x0100, questions = 1 } = {}): Uint8Array {
  const labels = name.split('.').filter(Boolean).flatMap((label) => [label.length, ...new TextEncoder().encode(label)]);
  const bytes = new Uint8Array([0x12, 0x34, flags >> 8, flags & 0xff, 0, questions, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
  return bytes;
}

const u16 = (bytes: Uint8Array, at: number) => (bytes[at]! << 8) | bytes[at + 1]!;

test('RelayNames: one stand-in address per name, known by name; empty answers and errors for other queries', () => {
  const names = new RelayNames();
  const a = names.answer(query('Files.Test'))!;
  assert.equal(u16(a, 0), 0x1234);
  assert.equal(u16(a, 2), 0x8180, 'a response, recursion desired and available, no error');
  assert.deepEqual([u16(a, 4), u16(a, 6)], [1, 1]);
  const q = query('Files.Test');
  assert.deepEqual(a.subarray(12, q.length), q.subarray(12), 'the question, as asked');
  // The record: a pointer to the question's name, type A, class IN, TTL, 4 bytes of address.
  assert.deepEqual([...a.subarray(q.length, q.length + 4)], [0xc0, 0x0c, 0, 1]);
  assert.deepEqual([...a.subarray(a.length - 4)], [198, 18, 0, 1]);
  assert.equal(names.nameFor(Uint8Array.of(198, 18, 0, 1)), 'files.test');

  assert.deepEqual([...names.answer(query('files.test.'))!.subarray(-4)], [198, 18, 0, 1], 'the same name, the same address');
  assert.deepEqual([...names.answer(query('echo.test'))!.subarray(-4)], [198, 18, 0, 2]);
  assert.equal(names.nameFor(Uint8Array.of(198, 19, 7, 7)), undefined, 'a stand-in address never given out');
  assert.equal(names.nameFor(Uint8Array.of(93, 184, 216, 34)), null, 'a real address');

  const aaaa = names.answer(query('files.test', 28))!;
  assert.deepEqual([u16(aaaa, 2), u16(aaaa, 4), u16(aaaa, 6)], [0x8180, 1, 0], 'AAAA: no error, no answer');
  assert.equal(u16(names.answer(query('files.test', 1, { flags: 0x1100 }))!, 2) & 0x000f, 4, 'another opcode: not implemented');
  assert.equal(u16(names.answer(query('files.test', 1, { questions: 2 }))!, 2) & 0x000f, 1, 'two questions: format error');
  assert.equal(u16(names.answer(query('files.test').subarray(0, 20))!, 2) & 0x000f, 1, 'cut short: format error');
  assert.equal(names.answer(query('files.test', 1, { flags: 0x8180 })), null, 'a response is no query');
  assert.equal(names.answer(new Uint8Array(5)), null);
});

/** The Internet checksum over `bytes` (with the checksum in place): 0 when it is right. */
function verify(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

test('ip-frames: UDP and TCP reset frames with correct checksums, and UDP parsed back', () => {
  const ends = {
    srcMac: Uint8Array.of(0x52, 0x54, 0, 1, 2, 3), dstMac: Uint8Array.of(0, 0x22, 0x15, 1, 2, 3),
    srcIp: Uint8Array.of(192, 168, 86, 1), dstIp: Uint8Array.of(192, 168, 86, 100), srcPort: 53, dstPort: 40000,
  };
  const payload = new TextEncoder().encode('odd-length payload');
  const udp = udpFrame(ends, payload);
  const ip = udp.subarray(14, 34);
  assert.equal(verify(ip), 0, 'IPv4 header checksum');
  const pseudo = (segment: Uint8Array, protocol: number) => verify(segment, (192 << 8) + 168 + (86 << 8) + 1 + (192 << 8) + 168 + (86 << 8) + 100 + protocol + segment.length);
  assert.equal(pseudo(udp.subarray(34), 17), 0, 'UDP checksum');
  const parsed = parseUdp(udp)!;
  assert.deepEqual([parsed.srcPort, parsed.dstPort, [...parsed.srcIp], [...parsed.dstMac]], [53, 40000, [192, 168, 86, 1], [0, 0x22, 0x15, 1, 2, 3]]);
  assert.deepEqual(parsed.payload, payload);
  assert.equal(parseUdp(udp.subarray(0, 40)), null, 'cut short');

  const rst = tcpReset(ends, 0xfffffff0 + 0x20, 1338);
  assert.equal(verify(rst.subarray(14, 34)), 0, 'IPv4 header checksum');
  assert.equal(pseudo(rst.subarray(34), 6), 0, 'TCP checksum');
  assert.equal(rst[34 + 13], 0x14, 'RST and ACK');
  assert.deepEqual([...rst.subarray(34 + 4, 34 + 8)], [0, 0, 0, 0x10], 'the sequence number wraps at 2^32');
  assert.equal(parseUdp(rst), null, 'not UDP');
});
