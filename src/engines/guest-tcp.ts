// The guest's TCP connections in v86 0.5 (TCPConnection in src/browser/fake_network.js, used by
// both the fetch and the Wisp backend), and what they lack. v86 sends the guest one segment at a
// time, waits for its acknowledgement, and never sends a segment again. A segment the guest
// drops because its receive window is full (a reader slower than the network: `wget -O - | tar x`)
// stalls the connection for good. GuestTcpResender sends such a segment again when the guest
// announces room in its window and, failing that, every RESEND_MS while it goes unacknowledged
// (as a TCP persist timer probes a closed window).

/** A TCP segment from the guest, as v86 parses it: the fields read here. */
export interface GuestSegment {
  tcp: { ack?: boolean; syn?: boolean; fin?: boolean; ackn: number; winsize: number };
  tcp_data: Uint8Array;
}

/** The guest's side of a TCP connection in v86 0.5: the members used here and by wisp-link.ts. */
export interface GuestTcp {
  /** v86's side of the connection: `sport` is the port the guest connected to. */
  sport: number;
  dport: number;
  hsrc: Uint8Array;
  hdest: Uint8Array;
  psrc: Uint8Array;
  pdest: Uint8Array;
  /** The first sequence number the guest has not acknowledged, and the next one expected from it. */
  seq: number;
  ack: number;
  /** "closed" once v86 has forgotten the connection. */
  state: string;
  /** A segment is out and not acknowledged yet. */
  pending: boolean;
  last_received_ackn?: number;
  on(event: 'data', handler: (data: Uint8Array) => void): void;
  on_close: () => void;
  on_shutdown: () => void;
  accept(): void;
  write(data: Uint8Array): void;
  close(): void;
  release(): void;
  process(segment: GuestSegment): void;
  /** Sends the next segment unless one is pending. */
  pump(): void;
}

const RESEND_MS = 500;

export class GuestTcpResender {
  /** Each connection watched, with its last acknowledged number when the timer last looked. */
  private readonly watched = new Map<GuestTcp, number | undefined>();
  private timer: ReturnType<typeof setInterval> | null = null;

  watch(tcp: GuestTcp): void {
    const process = tcp.process;
    tcp.process = (segment) => {
      const acknowledged = tcp.last_received_ackn;
      process.call(tcp, segment);
      // A bare acknowledgement of nothing new, with room in the window, while a segment is out:
      // the guest did not take that segment (it had no room), and now has room.
      const { tcp: header } = segment;
      if (tcp.pending && header.ack && !header.syn && !header.fin && !segment.tcp_data.length &&
          header.ackn === acknowledged && header.winsize > 0) this.resend(tcp);
    };
    this.watched.set(tcp, tcp.last_received_ackn);
    this.timer ??= setInterval(() => this.check(), RESEND_MS);
  }

  /** Sends again a segment unacknowledged since the last look; forgets closed connections. */
  private check(): void {
    for (const [tcp, seen] of this.watched) {
      if (tcp.state === 'closed') this.watched.delete(tcp);
      else if (tcp.pending && tcp.last_received_ackn === seen) this.resend(tcp);
      else this.watched.set(tcp, tcp.last_received_ackn);
    }
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private resend(tcp: GuestTcp): void {
    // pump() sends from the first unacknowledged byte: the same segment again.
    tcp.pending = false;
    tcp.pump();
  }
}
