// Names for a guest behind a Wisp relay, resolved by the relay. The guest's DNS queries are
// answered here: each name gets a stand-in IPv4 address from 198.18.0.0/15 (set aside for
// network benchmarks by RFC 2544, so no real host has one), and a connection to a stand-in
// address asks the relay for the name itself (wisp-link.ts). Names then resolve where the
// connections are made, with the relay's own DNS and under its host allow-list, and no DNS
// server on the internet sees the guest's queries. (v86's own Wisp backend sends them to a
// DNS-over-HTTPS server and hands the relay bare addresses, which a relay limited to some host
// names cannot check.) A name that does not exist resolves too; connecting to it fails.

const POOL_BASE = ((198 << 24) | (18 << 16)) >>> 0;
const POOL_SIZE = 1 << 17; // 198.18.0.0 to 198.19.255.255
/** Seconds the guest may keep an answer: the table lasts as long as the VM runs. */
const TTL = 60;

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_NOTIMP = 4;

export class RelayNames {
  private readonly byName = new Map<string, number>();
  private readonly byAddress = new Map<number, string>();
  private next = 1;

  /**
   * The name behind a guest's destination address: the name for a stand-in address, undefined
   * for a stand-in address this table never gave out (say, one from before a restart), null for
   * a real address.
   */
  nameFor(ip: Uint8Array): string | null | undefined {
    const address = ((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0;
    if (address - POOL_BASE < 0 || address - POOL_BASE >= POOL_SIZE) return null;
    return this.byAddress.get(address);
  }

  /** The answer to a DNS query (a UDP payload), or null for something that is not a query. */
  answer(query: Uint8Array): Uint8Array | null {
    if (query.length < 12) return null;
    const view = new DataView(query.buffer, query.byteOffset, query.byteLength);
    const flags = view.getUint16(2);
    if (flags & 0x8000) return null; // a response
    const opcode = (flags >> 11) & 0x0f;
    if (opcode !== 0) return reply(query, 0, RCODE_NOTIMP);
    if (view.getUint16(4) !== 1) return reply(query, 0, RCODE_FORMERR);
    // The question: length-prefixed labels up to an empty one (queries carry no compression), type, class.
    const labels: string[] = [];
    let at = 12;
    for (let length = query[at]; length !== 0; length = query[at]) {
      if (length > 63 || at + 1 + length >= query.length) return reply(query, 0, RCODE_FORMERR);
      labels.push(new TextDecoder().decode(query.subarray(at + 1, at + 1 + length)));
      at += 1 + length;
    }
    const questionEnd = at + 5;
    if (questionEnd > query.length) return reply(query, 0, RCODE_FORMERR);
    const type = view.getUint16(at + 1);
    const qclass = view.getUint16(at + 3);
    const name = labels.join('.').toLowerCase();
    // Only IPv4 addresses: other types (AAAA, MX, ...) get an empty answer, as for a name without them.
    if (type !== TYPE_A || qclass !== CLASS_IN || !name) return reply(query.subarray(0, questionEnd), 0, 0);
    const address = this.addressFor(name);
    const record = new Uint8Array(16);
    const r = new DataView(record.buffer);
    r.setUint16(0, 0xc00c); // the name: a pointer to the question's, at offset 12
    r.setUint16(2, TYPE_A);
    r.setUint16(4, CLASS_IN);
    r.setUint32(6, TTL);
    r.setUint16(10, 4);
    r.setUint32(12, address);
    return reply(query.subarray(0, questionEnd), 1, 0, record);
  }

  private addressFor(name: string): number {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    // Given out in turn; after 2^17 names the oldest addresses are given out again.
    const address = (POOL_BASE + this.next) >>> 0;
    this.next = this.next + 1 === POOL_SIZE - 1 ? 1 : this.next + 1;
    const previous = this.byAddress.get(address);
    if (previous !== undefined) this.byName.delete(previous);
    this.byName.set(name, address);
    this.byAddress.set(address, name);
    return address;
  }
}

/** A response to `question` (the query's header and question): its id, opcode and RD bit kept. */
function reply(question: Uint8Array, answers: number, rcode: number, record?: Uint8Array): Uint8Array {
  const keepsQuestion = rcode === 0;
  const head = keepsQuestion ? question : question.subarray(0, 12);
  const out = new Uint8Array(head.length + (record?.length ?? 0));
  out.set(head);
  if (record) out.set(record, head.length);
  const view = new DataView(out.buffer);
  const flags = view.getUint16(2);
  // QR (a response), the query's opcode and RD, RA (recursion is available), the rcode.
  view.setUint16(2, 0x8000 | (flags & 0x7900) | 0x0080 | rcode);
  view.setUint16(4, keepsQuestion ? 1 : 0);
  view.setUint16(6, answers);
  view.setUint16(8, 0);
  view.setUint16(10, 0);
  return out;
}
