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

const getattrReply: Layout = [
  ['valid', 'u64'], ['qid', 'qid'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'],
  ['nlink', 'u64'], ['rdev', 'u64'], ['size', 'u64'], ['blksize', 'u64'], ['blocks', 'u64'],
  ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64'],
  ['ctimeSec', 'u64'], ['ctimeNsec', 'u64'], ['btimeSec', 'u64'], ['btimeNsec', 'u64'],
  ['gen', 'u64'], ['dataVersion', 'u64'],
];

/** Body layout (after size[4] type[1] tag[2]) of every message this project speaks. */
export const layouts: Readonly<Record<number, Layout>> = {
  [MessageType.Rlerror]: [['ecode', 'u32']],
  [MessageType.Tstatfs]: [['fid', 'u32']],
  [MessageType.Rstatfs]: [
    ['type', 'u32'], ['bsize', 'u32'], ['blocks', 'u64'], ['bfree', 'u64'], ['bavail', 'u64'],
    ['files', 'u64'], ['ffree', 'u64'], ['fsid', 'u64'], ['namelen', 'u32'],
  ],
  [MessageType.Tlopen]: [['fid', 'u32'], ['flags', 'u32']],
  [MessageType.Rlopen]: [['qid', 'qid'], ['iounit', 'u32']],
  [MessageType.Tlcreate]: [['fid', 'u32'], ['name', 's'], ['flags', 'u32'], ['mode', 'u32'], ['gid', 'u32']],
  [MessageType.Rlcreate]: [['qid', 'qid'], ['iounit', 'u32']],
  [MessageType.Tsymlink]: [['fid', 'u32'], ['name', 's'], ['target', 's'], ['gid', 'u32']],
  [MessageType.Rsymlink]: [['qid', 'qid']],
  [MessageType.Tmknod]: [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['major', 'u32'], ['minor', 'u32'], ['gid', 'u32']],
  [MessageType.Rmknod]: [['qid', 'qid']],
  [MessageType.Trename]: [['fid', 'u32'], ['dfid', 'u32'], ['name', 's']],
  [MessageType.Rrename]: [],
  [MessageType.Treadlink]: [['fid', 'u32']],
  [MessageType.Rreadlink]: [['target', 's']],
  [MessageType.Tgetattr]: [['fid', 'u32'], ['requestMask', 'u64']],
  [MessageType.Rgetattr]: getattrReply,
  [MessageType.Tsetattr]: [
    ['fid', 'u32'], ['valid', 'u32'], ['mode', 'u32'], ['uid', 'u32'], ['gid', 'u32'], ['size', 'u64'],
    ['atimeSec', 'u64'], ['atimeNsec', 'u64'], ['mtimeSec', 'u64'], ['mtimeNsec', 'u64'],
  ],
  [MessageType.Rsetattr]: [],
  [MessageType.Txattrwalk]: [['fid', 'u32'], ['newfid', 'u32'], ['name', 's']],
  [MessageType.Rxattrwalk]: [['size', 'u64']],
  [MessageType.Txattrcreate]: [['fid', 'u32'], ['name', 's'], ['size', 'u64'], ['flags', 'u32']],
  [MessageType.Rxattrcreate]: [],
  [MessageType.Treaddir]: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']],
  [MessageType.Rreaddir]: [['data', 'data']],
  [MessageType.Tfsync]: [['fid', 'u32'], ['datasync', 'u32']],
  [MessageType.Rfsync]: [],
  [MessageType.Tlock]: [
    ['fid', 'u32'], ['type', 'u8'], ['flags', 'u32'], ['start', 'u64'], ['length', 'u64'],
    ['procId', 'u32'], ['clientId', 's'],
  ],
  [MessageType.Rlock]: [['status', 'u8']],
  [MessageType.Tgetlock]: [
    ['fid', 'u32'], ['type', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's'],
  ],
  [MessageType.Rgetlock]: [['type', 'u8'], ['start', 'u64'], ['length', 'u64'], ['procId', 'u32'], ['clientId', 's']],
  [MessageType.Tlink]: [['dfid', 'u32'], ['fid', 'u32'], ['name', 's']],
  [MessageType.Rlink]: [],
  [MessageType.Tmkdir]: [['dfid', 'u32'], ['name', 's'], ['mode', 'u32'], ['gid', 'u32']],
  [MessageType.Rmkdir]: [['qid', 'qid']],
  [MessageType.Trenameat]: [['oldDirFid', 'u32'], ['oldName', 's'], ['newDirFid', 'u32'], ['newName', 's']],
  [MessageType.Rrenameat]: [],
  [MessageType.Tunlinkat]: [['dirFid', 'u32'], ['name', 's'], ['flags', 'u32']],
  [MessageType.Runlinkat]: [],
  [MessageType.Tversion]: [['msize', 'u32'], ['version', 's']],
  [MessageType.Rversion]: [['msize', 'u32'], ['version', 's']],
  [MessageType.Tauth]: [['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']],
  [MessageType.Rauth]: [['aqid', 'qid']],
  [MessageType.Tattach]: [['fid', 'u32'], ['afid', 'u32'], ['uname', 's'], ['aname', 's'], ['nUname', 'u32']],
  [MessageType.Rattach]: [['qid', 'qid']],
  [MessageType.Tflush]: [['oldtag', 'u16']],
  [MessageType.Rflush]: [],
  [MessageType.Twalk]: [['fid', 'u32'], ['newfid', 'u32'], ['names', 's*']],
  [MessageType.Rwalk]: [['qids', 'qid*']],
  [MessageType.Tread]: [['fid', 'u32'], ['offset', 'u64'], ['count', 'u32']],
  [MessageType.Rread]: [['data', 'data']],
  [MessageType.Twrite]: [['fid', 'u32'], ['offset', 'u64'], ['data', 'data']],
  [MessageType.Rwrite]: [['count', 'u32']],
  [MessageType.Tclunk]: [['fid', 'u32']],
  [MessageType.Rclunk]: [],
  [MessageType.Tremove]: [['fid', 'u32']],
  [MessageType.Rremove]: [],
};

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
