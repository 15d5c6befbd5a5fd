// 9P2000.L message numbers and layouts, as the Linux kernel's v9fs client speaks them
// (include/net/9p/9p.h). One table drives encoding and decoding for the server, the
// client and the tests, so a layout is written down exactly once.

export const enum MessageType {
  Tlerror = 6, Rlerror = 7,
  Tstatfs = 8, Rstatfs = 9,
  Tlopen = 12, Rlopen = 13,
  Tlcreate = 14, Rlcreate = 15,
  Tsymlink = 16, Rsymlink = 17,
  Tmknod = 18, Rmknod = 19,
  Trename = 20, Rrename = 21,
  Treadlink = 22, Rreadlink = 23,
  Tgetattr = 24, Rgetattr = 25,
  Tsetattr = 26, Rsetattr = 27,
  Txattrwalk = 30, Rxattrwalk = 31,
  Txattrcreate = 32, Rxattrcreate = 33,
  Treaddir = 40, Rreaddir = 41,
  Tfsync = 50, Rfsync = 51,
  Tlock = 52, Rlock = 53,
  Tgetlock = 54, Rgetlock = 55,
  Tlink = 70, Rlink = 71,
  Tmkdir = 72, Rmkdir = 73,
  Trenameat = 74, Rrenameat = 75,
  Tunlinkat = 76, Runlinkat = 77,
  Tversion = 100, Rversion = 101,
  Tauth = 102, Rauth = 103,
  Tattach = 104, Rattach = 105,
  Tflush = 108, Rflush = 109,
  Twalk = 110, Rwalk = 111,
  Tread = 116, Rread = 117,
  Twrite = 118, Rwrite = 119,
  Tclunk = 120, Rclunk = 121,
  Tremove = 122, Rremove = 123,
}

/** Field kinds on the wire. `data` is a u32 count followed by that many bytes. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 's' | 'qid' | 's*' | 'qid*' | 'data';

export type Layout = readonly (readonly [name: string, kind: FieldKind])[];

export interface Qid {
  type: number;
  version: number;
  path: number;
}

const getattrReply = [
  ['valid', 'u64'], ['qid', 'qid'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'],
  ['nlink', 'u64'], ['rdev', 'u64'], ['size', 'u64'], ['blksize', 'u64'], ['blocks', 'u64'],
  ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64'],
  ['ctimeSec', 'u64'], ['ctimeNsec', 'u64'], ['btimeSec', 'u64'], ['btimeNsec', 'u64'],
  ['gen', 'u64'], ['dataVersion', 'u64'],
] as const;

/**
 * Every request this project speaks: its reply's type, and the body layouts (after size[4]
 * type[1] tag[2]) of the request (`t`) and of the reply (`r`). The codec reads the layouts; the
 * types below derive each message's fields from them.
 */
const messages = {
  [MessageType.Tstatfs]: {
    reply: MessageType.Rstatfs, t: [['fid', 'u32']],
    r: [
      ['type', 'u32'], ['bsize', 'u32'], ['blocks', 'u64'], ['bfree', 'u64'], ['bavail', 'u64'],
      ['files', 'u64'], ['ffree', 'u64'], ['fsid', 'u64'], ['namelen', 'u32'],
    ],
  },
  [MessageType.Tlopen]: { reply: MessageType.Rlopen, t: [['fid', 'u32'], ['flags', 'u32']], r: [['qid', 'qid'], ['iounit', 'u32']] },
  [MessageType.Tlcreate]: {
    reply: MessageType.Rlcreate, t: [['fid', 'u32'], ['name', 's'], ['flags', 'u32'], ['mode', 'u32'], ['gid', 'u32']],
    r: [['qid', 'qid'], ['iounit', 'u32']],
  },
  [MessageType.Tsymlink]: { reply: MessageType.Rsymlink, t: [['fid', 'u32'], ['name', 's'], ['target', 's'], ['gid', 'u32']], r: [['qid', 'qid']] },
  [MessageType.Tmknod]: {
    reply: MessageType.Rmknod, t: [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['gid', 'u32']],
    r: [['qid', 'qid']],
  },
  [MessageType.Trename]: { reply: MessageType.Rrename, t: [['fid', 'u32'], ['dfid', 'u32'], ['name', 's']], r: [] },
  [MessageType.Treadlink]: { reply: MessageType.Rreadlink, t: [['fid', 'u32']], r: [['target', 's']] },
  [MessageType.Tgetattr]: { reply: MessageType.Rgetattr, t: [['fid', 'u32'], ['requestMask', 'u64']], r: getattrReply },
  [MessageType.Tsetattr]: {
    reply: MessageType.Rsetattr,
    t: [
      ['fid', 'u32'], ['valid', 'u32'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'], ['size', 'u64'],
      ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64'],
    ],
    r: [],
  },
  [MessageType.Txattrwalk]: { reply: MessageType.Rxattrwalk, t: [['fid', 'u32'], ['newfid', 'u32'], ['name', 's']], r: [['size', 'u64']] },
  [MessageType.Txattrcreate]: { reply: MessageType.Rxattrcreate, t: [['fid', 'u32'], ['name', 's'], ['size', 'u64'], ['flags', 'u32']], r: [] },
  [MessageType.Treaddir]: { reply: MessageType.Rreaddir, t: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']], r: [['data', 'data']] },
  [MessageType.Tfsync]: { reply: MessageType.Rfsync, t: [['fid', 'u32'], ['datasync', 'u32']], r: [] },
  [MessageType.Tlock]: {
    reply: MessageType.Rlock,
    t: [['fid', 'u32'], ['type', 'u8'], ['flags', 'u32'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']],
    r: [['status', 'u8']],
  },
  [MessageType.Tgetlock]: {
    reply: MessageType.Rgetlock,
    t: [['fid', 'u32'], ['type', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']],
    r: [['type', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']],
  },
  [MessageType.Tlink]: { reply: MessageType.Rlink, t: [['dfid', 'u32'], ['fid', 'u32'], ['name', 's']], r: [] },
  [MessageType.Tmkdir]: { reply: MessageType.Rmkdir, t: [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['gid', 'u32']], r: [['qid', 'qid']] },
  [MessageType.Trenameat]: {
    reply: MessageType.Rrenameat, t: [['oldDirFid', 'u32'], ['oldName', 's'], ['newDirFid', 'u32'], ['newName', 's']], r: [],
  },
  [MessageType.Tunlinkat]: { reply: MessageType.Runlinkat, t: [['dirFid', 'u32'], ['name', 's'], ['flags', 'u32']], r: [] },
  [MessageType.Tversion]: { reply: MessageType.Rversion, t: [['msize', 'u32'], ['version', 's']], r: [['msize', 'u32'], ['version', 's']] },
  [MessageType.Tauth]: {
    reply: MessageType.Rauth, t: [['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']], r: [['aqid', 'qid']],
  },
  [MessageType.Tattach]: {
    reply: MessageType.Rattach, t: [['fid', 'u32'], ['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']],
    r: [['qid', 'qid']],
  },
  [MessageType.Tflush]: { reply: MessageType.Rflush, t: [['oldtag', 'u16']], r: [] },
  [MessageType.Twalk]: { reply: MessageType.Rwalk, t: [['fid', 'u32'], ['newfid', 'u32'], ['names', 's*']], r: [['qids', 'qid*']] },
  [MessageType.Tread]: { reply: MessageType.Rread, t: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']], r: [['data', 'data']] },
  [MessageType.Twrite]: { reply: MessageType.Rwrite, t: [['fid', 'u32'], ['offset', 'u64'], ['data', 'data']], r: [['count', 'u32']] },
  [MessageType.Tclunk]: { reply: MessageType.Rclunk, t: [['fid', 'u32']], r: [] },
  [MessageType.Tremove]: { reply: MessageType.Rremove, t: [['fid', 'u32']], r: [] },
} as const satisfies Record<number, { reply: MessageType; t: Layout; r: Layout }>;

/** Rlerror answers any request that failed. */
const lerror = [['ecode', 'u32']] as const;

type Messages = typeof messages;

/** A field kind's value in TypeScript. */
interface FieldValue {
  u8: number; u16: number; u32: number; u64: number; s: string; qid: Qid; 's*': string[]; 'qid*': Qid[]; data: Uint8Array;
}
/** The fields a layout describes (one object type per layout, when given a union of them). */
type FieldsOf<L extends Layout> = L extends Layout ? { -readonly [F in L[number] as F[0]]: FieldValue[F[1]] } : never;

/** A T-message type this project sends (and M1 and L1 answer). */
export type RequestType = keyof Messages;
/** The fields of request `T`. */
export type Request<T extends RequestType> = FieldsOf<Messages[T]['t']>;
/** The fields of the reply to request `T` (Rlerror aside). */
export type Reply<T extends RequestType> = FieldsOf<Messages[T]['r']>;

type Bodies = { [T in RequestType]: Request<T> } &
  { [T in RequestType as Messages[T]['reply']]: Reply<T> } &
  { [MessageType.Rlerror]: FieldsOf<typeof lerror> };
/** Every message type with a layout: the requests, their replies and Rlerror. */
export type WireType = keyof Bodies;
/** The fields of message type `M`. */
export type Body<M extends WireType> = Bodies[M];
/** A decoded message: its type tells its fields' shape. */
export type Message = { [M in WireType]: { type: M; tag: number; fields: Body<M> } }[WireType];

/** A decoded request (of one of `T`). */
export type RequestMessage<T extends RequestType = RequestType> = { [K in T]: { type: K; tag: number; fields: Request<K> } }[T];

const requestTypes = new Set<number>(Object.keys(messages).map(Number));

export function isRequestType(type: number): type is RequestType {
  return requestTypes.has(type);
}

export function isRequest(m: Message): m is RequestMessage {
  return requestTypes.has(m.type);
}

/** Body layout of every message type, by type number. */
export const layouts: readonly (Layout | undefined)[] = (() => {
  const out: Layout[] = [];
  for (const [t, { reply, t: request, r }] of Object.entries(messages)) {
    out[Number(t)] = request;
    out[reply] = r;
  }
  out[MessageType.Rlerror] = lerror;
  return out;
})();

/** size[4] type[1] tag[2] */
export const HEADER_SIZE = 7;
/** Header plus the count[4] of Rread/Twrite data: what a read or write of n bytes costs beyond n. */
export const IO_OVERHEAD = 23;
export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
export const VERSION_9P2000_L = '9P2000.L';
/** Most path elements a single Twalk may carry. */
export const MAXWELEM = 16;

export const enum QidType {
  Dir = 0x80,
  Append = 0x40,
  Symlink = 0x02,
  File = 0x00,
}

/** Tgetattr request_mask / Rgetattr valid bits. */
export const enum GetattrMask {
  Mode = 0x1, Nlink = 0x2, Uid = 0x4, Gid = 0x8, Rdev = 0x10, Atime = 0x20, Mtime = 0x40,
  Ctime = 0x80, Ino = 0x100, Size = 0x200, Blocks = 0x400, Btime = 0x800, Gen = 0x1000,
  DataVersion = 0x2000, Basic = 0x7ff, All = 0x3fff,
}

/** Tsetattr valid bits. */
export const enum SetattrMask {
  Mode = 0x1, Uid = 0x2, Gid = 0x4, Size = 0x8, Atime = 0x10, Mtime = 0x20, Ctime = 0x40,
  AtimeSet = 0x80, MtimeSet = 0x100,
}

/** Linux open(2) flags as carried by Tlopen and Tlcreate. */
export const enum OpenFlag {
  AccessMask = 0x3, ReadOnly = 0, WriteOnly = 1, ReadWrite = 2,
  Create = 0o100, Exclusive = 0o200, Truncate = 0o1000, Append = 0o2000, Directory = 0o200000,
}

export const AT_REMOVEDIR = 0x200;

export const enum LockType { Read = 0, Write = 1, Unlock = 2 }
export const enum LockStatus { Success = 0, Blocked = 1, Error = 2, Grace = 3 }

/** The statfs f_type Linux reports for v9fs. */
export const V9FS_MAGIC = 0x01021997;
