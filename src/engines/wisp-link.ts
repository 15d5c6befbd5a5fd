// The guest's TCP connections through a Wisp relay (protocol v1: TCP streams multiplexed over one
// WebSocket), in place of the transport of v86 0.5's own Wisp backend (src/browser/wisp_network.js).
// v86 keeps what it does well: ARP, DHCP, ping and the guest's side of each TCP connection (its
// TCPConnection). What changes here, and why:
// - Names are resolved by the relay (relay-names.ts).
// - A relay that cannot be reached, or goes away, resets the guest's connections (v86 leaves
//   them open, and a download hangs) and is reported once. The guest keeps running; its next
//   connection tries the relay again, so the network comes back with the relay.
// - Data waits for the relay's flow-control credit stream by stream (v86 keeps one queue for all
//   streams, and a connection opened before the relay's first credit arrived never starts).
// - A stream the relay closes for an error (refused, unreachable, blocked host) resets the
//   guest's connection instead of ending it as if the server had finished.
// - The guest's FIN does not close the stream at once (Wisp has no half-close): the answer to a
//   request sent before it still arrives (see LINGER_MS).

import { RelayNames } from './relay-names.js';
import { Ends, parseUdp, tcpReset, udpFrame } from './ip-frames.js';
import { GuestTcp } from './guest-tcp.js';

/** The members of v86 0.5's network adapters (its fetch and Wisp backends) used here. */
export interface V86NetworkAdapter {
  on_tcp_connection(tcp: GuestTcp, packet: { ipv4: { dest: Uint8Array } }): boolean;
  send(frame: Uint8Array): void;
  receive(frame: Uint8Array): void;
  destroy(): void;
}

const CONNECT = 0x01;
const DATA = 0x02;
const CONTINUE = 0x03;
const CLOSE = 0x04;
const STREAM_TCP = 0x01;
const CLOSE_VOLUNTARY = 0x02;

/**
 * Wisp cannot half-close a stream. After the guest's FIN (a shutdown, or a close) the stream stays
 * open while the server's answer comes, and is closed once nothing has come for this long.
 */
const LINGER_MS = 3000;

interface Packet { bytes: Uint8Array; data: boolean }

interface Stream {
  id: number;
  tcp: GuestTcp;
  /** DATA packets the relay takes before its next CONTINUE for this stream. */
  credit: number;
  /** Packets not sent yet, in order: the relay is not ready, or the credit ran out. */
  waiting: Packet[];
  /** The guest's side is gone: the stream ends once its CLOSE is sent. */
  closing: boolean;
  /** After the guest's FIN: the timer that closes the stream (LINGER_MS). */
  linger?: ReturnType<typeof setTimeout>;
}

export class WispLink {
  private socket: WebSocket | null = null;
  /** The relay answered with its first CONTINUE: streams can be opened. */
  private ready = false;
  /** The credit a new stream starts with (the relay's CONTINUE on stream 0). */
  private initialCredit = 0;
  private readonly streams = new Map<number, Stream>();
  private nextStream = 1;
  private readonly names = new RelayNames();
  /** An outage was reported and the relay has not been back since. */
  private reported = false;
  private closed = false;

  /**
   * Takes over `adapter` (v86's, made without a WebSocket of its own) and connects to the relay at
   * `url` (ws: or wss:). `opened` sees each guest connection; `unavailable` is called when the
   * relay cannot be reached or goes away.
   */
  constructor(
    private readonly url: string,
    private readonly adapter: V86NetworkAdapter,
    private readonly opened: (tcp: GuestTcp) => void,
    private readonly unavailable: (why: string) => void,
  ) {
    for (const member of ['on_tcp_connection', 'send', 'receive', 'destroy'] as const) {
      if (typeof adapter[member] !== 'function') throw new Error(`v86's Wisp adapter has no ${member}(): this v86 is not the 0.5 release container-vm was written for`);
    }
    const send = adapter.send.bind(adapter);
    adapter.send = (frame) => { if (!this.answerDns(frame)) send(frame); };
    adapter.on_tcp_connection = (tcp, packet) => this.open(tcp, packet.ipv4.dest);
    adapter.destroy = () => this.close();
    this.connect();
  }

  private connect(): void {
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch (e) {
      this.down(`cannot be used: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    let opened = false;
    socket.onopen = () => { opened = true; };
    socket.onmessage = (e: MessageEvent<ArrayBuffer>) => { if (this.socket === socket) this.receive(new Uint8Array(e.data)); };
    socket.onclose = (e) => {
      if (this.socket === socket) this.down(opened ? `closed the connection (WebSocket close code ${e.code})` : 'could not be reached');
    };
  }

  /** The relay is gone: every guest connection through it is reset, and the outage reported once. */
  private down(why: string): void {
    this.socket = null;
    this.ready = false;
    this.initialCredit = 0;
    for (const stream of this.streams.values()) {
      clearTimeout(stream.linger);
      if (!stream.closing) this.reset(stream.tcp);
    }
    this.streams.clear();
    if (this.reported || this.closed) return;
    this.reported = true;
    this.unavailable(why);
  }

  /** The guest opens a TCP connection (v86 has its SYN): a new stream, or false to refuse it. */
  private open(tcp: GuestTcp, dest: Uint8Array): boolean {
    const name = this.names.nameFor(dest);
    // A stand-in address this VM never gave out: v86 answers the SYN with a reset.
    if (name === undefined || this.closed) return false;
    if (!this.socket) this.connect(); // the relay was down: try it again for this connection
    if (!this.socket) return false;
    const id = this.nextStream++;
    this.streams.set(id, { id, tcp, credit: this.initialCredit, waiting: [], closing: false });
    tcp.on('data', (data) => { if (data.length) this.send(id, packet(DATA, id, data), true); });
    tcp.on_shutdown = () => this.linger(id);
    // The guest reset the connection.
    tcp.on_close = () => this.finish(id, false);
    const host = new TextEncoder().encode(name ?? dest.join('.'));
    const connect = new Uint8Array(3 + host.length);
    connect[0] = STREAM_TCP;
    new DataView(connect.buffer).setUint16(1, tcp.sport, true);
    connect.set(host, 3);
    this.send(id, packet(CONNECT, id, connect), false);
    tcp.accept();
    this.opened(tcp);
    return true;
  }

  /** Sends a packet of stream `id` once the relay is ready and (for DATA) the stream has credit. */
  private send(id: number, bytes: Uint8Array, data: boolean): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.waiting.push({ bytes, data });
    this.flush(stream);
  }

  private flush(stream: Stream): void {
    if (!this.ready || !this.socket) return;
    while (stream.waiting.length) {
      const next = stream.waiting[0];
      if (next.data) {
        if (stream.credit <= 0) return;
        stream.credit--;
      }
      this.socket.send(next.bytes);
      stream.waiting.shift();
      if (next.bytes[0] === CLOSE) this.streams.delete(stream.id);
    }
  }

  private receive(bytes: Uint8Array): void {
    if (bytes.length < 5) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const id = view.getUint32(1, true);
    const stream = this.streams.get(id);
    switch (bytes[0]) {
      case DATA:
        if (!stream || stream.closing) return;
        stream.tcp.write(bytes.subarray(5));
        if (stream.linger !== undefined) this.linger(id);
        break;
      case CONTINUE:
        if (bytes.length < 9) return;
        if (id === 0) this.relayReady(view.getUint32(5, true));
        else if (stream) {
          stream.credit = view.getUint32(5, true);
          this.flush(stream);
        }
        break;
      case CLOSE:
        if (!stream) return;
        this.streams.delete(id);
        clearTimeout(stream.linger);
        if (stream.closing) return;
        // The server finished: the guest gets its data, then the end. Anything else is an error.
        if (bytes[5] === CLOSE_VOLUNTARY) stream.tcp.close();
        else this.reset(stream.tcp);
        break;
      // INFO (Wisp v2) and anything else: a v1 client ignores it.
    }
  }

  /** (Re)starts the timer that closes stream `id` after the guest's FIN. */
  private linger(id: number): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closing) return;
    clearTimeout(stream.linger);
    stream.linger = setTimeout(() => this.finish(id, true), LINGER_MS);
  }

  /** Closes stream `id` at the relay; `endGuest`: and ends the guest's side too (a FIN after its data). */
  private finish(id: number, endGuest: boolean): void {
    const stream = this.streams.get(id);
    if (!stream || stream.closing) return;
    stream.closing = true;
    clearTimeout(stream.linger);
    this.send(id, packet(CLOSE, id, Uint8Array.of(CLOSE_VOLUNTARY)), false);
    if (endGuest) stream.tcp.close();
  }

  private relayReady(credit: number): void {
    this.initialCredit = credit;
    if (this.ready) return;
    this.ready = true;
    if (this.reported) console.info(`container-vm: the network relay ${this.url} is back`);
    this.reported = false;
    for (const stream of this.streams.values()) {
      stream.credit = credit;
      this.flush(stream);
    }
  }

  /**
   * Ends a guest connection with a TCP reset. v86 forgets the connection first, so if the reset's
   * sequence number is not the very next one the guest expects (data in flight), the guest's
   * answer to it gets v86's own reset, with the right number.
   */
  private reset(tcp: GuestTcp): void {
    tcp.release();
    const ends: Ends = { srcMac: tcp.hsrc, dstMac: tcp.hdest, srcIp: tcp.psrc, dstIp: tcp.pdest, srcPort: tcp.sport, dstPort: tcp.dport };
    this.adapter.receive(tcpReset(ends, tcp.seq, tcp.ack));
  }

  /** Answers the guest's DNS queries (UDP to port 53); false for any other frame. */
  private answerDns(frame: Uint8Array): boolean {
    const udp = parseUdp(frame);
    if (!udp || udp.dstPort !== 53) return false;
    const answer = this.names.answer(udp.payload);
    if (answer) {
      const ends: Ends = { srcMac: udp.dstMac, dstMac: udp.srcMac, srcIp: udp.dstIp, dstIp: udp.srcIp, srcPort: udp.dstPort, dstPort: udp.srcPort };
      this.adapter.receive(udpFrame(ends, answer));
    }
    return true;
  }

  private close(): void {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    for (const stream of this.streams.values()) clearTimeout(stream.linger);
    this.streams.clear();
    socket?.close();
  }
}

/** A Wisp packet: type, stream id (little-endian), payload. */
function packet(type: number, id: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(5 + payload.length);
  bytes[0] = type;
  new DataView(bytes.buffer).setUint32(1, id, true);
  bytes.set(payload, 5);
  return bytes;
}
