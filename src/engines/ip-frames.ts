// The few Ethernet/IPv4 frames container-vm reads and makes itself beside v86's own network code
// (wisp-link.ts): the UDP datagrams of the guest's DNS queries and their answers, and a TCP reset
// that ends a guest connection whose relay stream is gone.

/** Both ends of a frame: MAC and IPv4 addresses, ports. */
export interface Ends {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  srcPort: number;
  dstPort: number;
}

export interface UdpDatagram extends Ends {
  payload: Uint8Array;
}

const ETH_HEADER = 14;
const IPV4_HEADER = 20;
const ETHERTYPE_IPV4 = 0x0800;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/** The UDP datagram an Ethernet frame carries (unfragmented IPv4), or null for any other frame. */
export function parseUdp(frame: Uint8Array): UdpDatagram | null {
  if (frame.length < ETH_HEADER + IPV4_HEADER + 8) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint16(12) !== ETHERTYPE_IPV4) return null;
  const ip = ETH_HEADER;
  const headerLength = (frame[ip] & 0x0f) * 4;
  if (frame[ip] >> 4 !== 4 || headerLength < IPV4_HEADER || frame[ip + 9] !== PROTO_UDP) return null;
  if ((view.getUint16(ip + 6) & 0x3fff) !== 0) return null; // a fragment
  const totalLength = view.getUint16(ip + 2);
  const udp = ip + headerLength;
  if (totalLength < headerLength + 8 || ip + totalLength > frame.length) return null;
  const udpLength = view.getUint16(udp + 4);
  if (udpLength < 8 || udp + udpLength > ip + totalLength) return null;
  return {
    dstMac: frame.subarray(0, 6),
    srcMac: frame.subarray(6, 12),
    srcIp: frame.subarray(ip + 12, ip + 16),
    dstIp: frame.subarray(ip + 16, ip + 20),
    srcPort: view.getUint16(udp),
    dstPort: view.getUint16(udp + 2),
    payload: frame.subarray(udp + 8, udp + udpLength),
  };
}

/** A UDP datagram from `ends.src*` to `ends.dst*`. */
export function udpFrame(ends: Ends, payload: Uint8Array): Uint8Array {
  const udp = new Uint8Array(8 + payload.length);
  const view = new DataView(udp.buffer);
  view.setUint16(0, ends.srcPort);
  view.setUint16(2, ends.dstPort);
  view.setUint16(4, udp.length);
  udp.set(payload, 8);
  return ipv4Frame(ends, PROTO_UDP, udp, 6);
}

/** A TCP reset (RST+ACK) for the connection between `ends`, at sequence number `seq`. */
export function tcpReset(ends: Ends, seq: number, ack: number): Uint8Array {
  const tcp = new Uint8Array(20);
  const view = new DataView(tcp.buffer);
  view.setUint16(0, ends.srcPort);
  view.setUint16(2, ends.dstPort);
  view.setUint32(4, seq >>> 0);
  view.setUint32(8, ack >>> 0);
  tcp[12] = 5 << 4; // header length in 32-bit words
  tcp[13] = TCP_RST | TCP_ACK;
  return ipv4Frame(ends, PROTO_TCP, tcp, 16);
}

/** An Ethernet frame carrying `segment` in IPv4, with both checksums filled in. */
function ipv4Frame(ends: Ends, protocol: number, segment: Uint8Array, checksumAt: number): Uint8Array {
  const frame = new Uint8Array(ETH_HEADER + IPV4_HEADER + segment.length);
  const view = new DataView(frame.buffer);
  frame.set(ends.dstMac, 0);
  frame.set(ends.srcMac, 6);
  view.setUint16(12, ETHERTYPE_IPV4);
  const ip = ETH_HEADER;
  frame[ip] = 0x45; // version 4, 20-byte header
  view.setUint16(ip + 2, IPV4_HEADER + segment.length);
  view.setUint16(ip + 6, 0x4000); // don't fragment
  frame[ip + 8] = 64; // TTL
  frame[ip + 9] = protocol;
  frame.set(ends.srcIp, ip + 12);
  frame.set(ends.dstIp, ip + 16);
  view.setUint16(ip + 10, checksum(frame.subarray(ip, ip + IPV4_HEADER), 0));
  const at = ip + IPV4_HEADER;
  frame.set(segment, at);
  // The pseudo-header: both addresses, the protocol and the segment's length.
  const pseudo = sum(frame.subarray(ip + 12, ip + 20), protocol + segment.length);
  const value = checksum(frame.subarray(at), pseudo);
  // UDP sends a computed 0 as 0xffff (0 means "no checksum").
  view.setUint16(at + checksumAt, value === 0 && protocol === PROTO_UDP ? 0xffff : value);
  return frame;
}

/** The one's-complement sum of `bytes` as 16-bit big-endian words, added to `initial` (not folded). */
function sum(bytes: Uint8Array, initial: number): number {
  let total = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) total += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) total += bytes[bytes.length - 1] << 8;
  return total;
}

/** The Internet checksum (RFC 1071) of `bytes`, starting from the unfolded sum `initial`. */
function checksum(bytes: Uint8Array, initial: number): number {
  let total = sum(bytes, initial);
  while (total > 0xffff) total = (total & 0xffff) + (total >>> 16);
  return ~total & 0xffff;
}
