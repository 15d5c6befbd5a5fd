//! The 9P2000.L server: sessions, fids and one handler per message, answering exactly as M1
//! (src/p9/m1-server.ts) does, over the store.

use crate::errno::*;
use crate::format::*;
use crate::store::{Changes, Listing, Lock, Store, NAME_MAX, ROOT};
use crate::wire::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Fid numbers are small integers the client picks: a multiplicative hash is enough, and much
/// cheaper per request than the default SipHash.
#[derive(Default)]
struct FidHasher(u64);
impl Hasher for FidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e3779b97f4a7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9e3779b97f4a7c15);
    }
}
type FidMap = HashMap<u32, Fid, BuildHasherDefault<FidHasher>>;

/// Smallest msize we accept: enough for any fixed-size reply and a useful read.
const MIN_MSIZE: u32 = 4096;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_CREATE: u32 = 1;
const XATTR_REPLACE: u32 = 2;
const AT_REMOVEDIR: u32 = 0x200;
const O_ACCMODE: u32 = 3;
const O_RDONLY: u32 = 0;
const O_WRONLY: u32 = 1;
const O_TRUNC: u32 = 0o1000;
const O_APPEND: u32 = 0o2000;
const O_DIRECTORY: u32 = 0o200000;
const LOCK_READ: u8 = 0;
const LOCK_WRITE: u8 = 1;
const LOCK_UNLOCK: u8 = 2;
const LOCK_BLOCKED: u8 = 1;
const V9FS_MAGIC: u32 = 0x01021997;
const GETATTR_BASIC: u64 = 0x7ff;
const SETATTR_MODE: u32 = 0x1;
const SETATTR_UID: u32 = 0x2;
const SETATTR_GID: u32 = 0x4;
const SETATTR_SIZE: u32 = 0x8;
const SETATTR_ATIME: u32 = 0x10;
const SETATTR_MTIME: u32 = 0x20;
const SETATTR_ATIME_SET: u32 = 0x80;
const SETATTR_MTIME_SET: u32 = 0x100;

/// Why a request failed: a malformed message (EPROTO) or an errno.
pub enum Fail {
    Malformed,
    Errno(u32),
}
impl From<Bad> for Fail {
    fn from(_: Bad) -> Fail {
        Fail::Malformed
    }
}
impl From<u32> for Fail {
    fn from(e: u32) -> Fail {
        Fail::Errno(e)
    }
}
type R<T> = Result<T, Fail>;

struct XattrWrite {
    name: String,
    flags: u32,
    buf: Vec<u8>,
    filled: usize,
}

struct Fid {
    inode: usize,
    /// Set by Tlopen/Tlcreate: the Linux open flags.
    open_flags: Option<u32>,
    /// Directory listing taken at readdir offset 0: "." and ".." (inode, kind) then the entries;
    /// later offsets index into it.
    listing: Option<((usize, u8), (usize, u8), Listing)>,
    xattr_read: Option<Vec<u8>>,
    xattr_write: Option<XattrWrite>,
}

struct Session {
    msize: u32,
    max_message: u32,
    fids: FidMap,
    uid: u32,
}

pub struct Server {
    pub store: Store,
    /// By session id; the host numbers sessions 1, 2, 3...
    sessions: Vec<Option<Session>>,
}

fn qid_of(id: usize, kind: u8) -> Qid {
    let q = match kind {
        DIR => QID_DIR,
        SYMLINK => QID_SYMLINK,
        _ => QID_FILE,
    };
    Qid { kind: q, version: 0, path: id as u64 }
}

/// DT_* values from <dirent.h>.
fn dirent_type(kind: u8) -> u8 {
    match kind {
        DIR => 4,
        FILE => 8,
        SYMLINK => 10,
        FIFO => 1,
        CHAR_DEV => 2,
        BLOCK_DEV => 6,
        _ => 12,
    }
}

/// The Linux kernel's new_encode_dev(MKDEV(major, minor)), which the v9fs client decodes.
fn encode_dev(major: u32, minor: u32) -> u64 {
    ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)) as u64
}

/// Whether a message type is a 9P2000.L request this server answers.
fn is_request(ty: u8) -> bool {
    matches!(
        ty,
        TVERSION | TAUTH | TATTACH | TFLUSH | TWALK | TGETATTR | TSETATTR | TLOPEN | TLCREATE | TREAD | TWRITE | TREADDIR
            | TMKDIR | TSYMLINK | TREADLINK | TMKNOD | TLINK | TRENAME | TRENAMEAT | TUNLINKAT | TREMOVE | TSTATFS
            | TFSYNC | TLOCK | TGETLOCK | TXATTRWALK | TXATTRCREATE | TCLUNK
    )
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

impl Server {
    pub fn new(store: Store) -> Server {
        Server { store, sessions: Vec::new() }
    }

    pub fn open_session(&mut self, id: u32, max_message: u32) {
        let i = id as usize;
        if self.sessions.len() <= i {
            self.sessions.resize_with(i + 1, || None);
        }
        self.sessions[i] = Some(Session { msize: max_message, max_message, fids: FidMap::default(), uid: 0 });
    }

    fn take_session(&mut self, id: u32) -> Option<Session> {
        self.sessions.get_mut(id as usize).and_then(Option::take)
    }

    fn session(&self, id: u32) -> Option<&Session> {
        self.sessions.get(id as usize).and_then(Option::as_ref)
    }

    pub fn close_session(&mut self, id: u32) {
        if let Some(mut s) = self.take_session(id) {
            self.clunk_all(&mut s);
        }
    }

    pub fn close(&mut self) -> Result<(), u32> {
        for id in 0..self.sessions.len() {
            self.close_session(id as u32);
        }
        self.store.close()
    }

    /// A session's msize, uid and fids by path, for a VM snapshot: the guest keeps its fids across
    /// one, so the resumed VM's new session must know them (import_session). The encoding, shared
    /// with src/l1/l1-server.ts: msize u32, uid u32, count u32, then per fid: fid u32, is_dir u8,
    /// is_open u8, open flags u32, path (u16 length, UTF-8). Files unlinked while open are left
    /// out: there is no path to find them by again.
    pub fn export_session(&self, id: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let s = match self.session(id) {
            Some(s) => s,
            None => return out,
        };
        let live: Vec<(&u32, &Fid)> = s.fids.iter().filter(|(_, f)| !self.store.n(f.inode).unlinked).collect();
        for v in [s.msize, s.uid, live.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (&fid, f) in live {
            out.extend_from_slice(&fid.to_le_bytes());
            out.push(self.store.n(f.inode).is_dir() as u8);
            out.push(f.open_flags.is_some() as u8);
            out.extend_from_slice(&f.open_flags.unwrap_or(0).to_le_bytes());
            let path = self.store.path_of(f.inode);
            out.extend_from_slice(&(path.len() as u16).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
        }
        out
    }

    /// Gives a fresh session the fids export_session described, walking each path again (files
    /// may have changed in between). A fid whose path is gone, or now names another kind of file,
    /// is left out: the guest gets EBADF for it, as an NFS client gets a stale handle.
    pub fn import_session(&mut self, id: u32, state: &[u8]) -> Result<(), Bad> {
        let mut s = match self.take_session(id) {
            Some(s) => s,
            None => return Ok(()),
        };
        let result = self.import_fids(&mut s, state);
        self.sessions[id as usize] = Some(s);
        result
    }

    fn import_fids(&mut self, s: &mut Session, state: &[u8]) -> Result<(), Bad> {
        let mut r = Reader::new(state, 0);
        let (msize, uid, count) = (r.u32()?, r.u32()?, r.u32()?);
        s.msize = msize.min(s.max_message);
        s.uid = uid;
        for _ in 0..count {
            let (fid, dir, open, flags, path) = (r.u32()?, r.u8()? != 0, r.u8()? != 0, r.u32()?, r.str()?);
            let mut inode = ROOT;
            let found = path.split('/').filter(|p| !p.is_empty()).all(|name| match self.store.lookup(inode, name) {
                Ok(child) => {
                    inode = child;
                    true
                }
                Err(_) => false,
            });
            if !found || self.store.n(inode).is_dir() != dir || self.add_fid(s, fid, inode).is_err() {
                continue;
            }
            if open && self.store.n(inode).meta.kind != SYMLINK && self.store.open_file(inode, false).is_ok() {
                s.fids.get_mut(&fid).unwrap().open_flags = Some(flags);
            }
        }
        r.end()
    }

    fn clunk_all(&mut self, s: &mut Session) {
        for (_, fid) in s.fids.drain() {
            let _ = self.store.release(fid.inode);
        }
    }

    /// Answers one T-message into `rep`; returns the reply's length, or 0 when the request is
    /// too short to carry a tag. `rep` is separate from `req` (the host copies in and out).
    pub fn handle(&mut self, session: u32, req: &[u8], rep: &mut [u8]) -> usize {
        if req.len() < HEADER_SIZE {
            return 0;
        }
        let size = u32::from_le_bytes(req[0..4].try_into().unwrap()) as usize;
        let ty = req[4];
        let tag = u16::from_le_bytes(req[5..7].try_into().unwrap());
        if size != req.len() {
            return error_reply(rep, tag, EPROTO);
        }
        let mut s = match self.take_session(session) {
            Some(s) => s,
            None => return error_reply(rep, tag, EIO),
        };
        let result = if req.len() > s.msize as usize {
            Err(Fail::Errno(EMSGSIZE))
        } else if !is_request(ty) {
            Err(Fail::Errno(EOPNOTSUPP))
        } else {
            self.dispatch(&mut s, ty, tag, Reader::new(req, HEADER_SIZE), rep)
        };
        self.sessions[session as usize] = Some(s);
        match result {
            Ok(n) => n,
            Err(Fail::Malformed) => error_reply(rep, tag, EPROTO),
            Err(Fail::Errno(e)) => error_reply(rep, tag, e),
        }
    }

    /// Whether `handle` can answer this request without waiting for OPFS (so the host may call
    /// it without JSPI's promise). Conservative: false whenever in doubt.
    pub fn can_answer_now(&self, session: u32, req: &[u8]) -> bool {
        if req.len() < HEADER_SIZE {
            return true;
        }
        let s = match self.session(session) {
            Some(s) => s,
            None => return true,
        };
        let mut r = Reader::new(req, HEADER_SIZE);
        let fid = match r.u32() {
            Ok(f) => f,
            Err(_) => return true,
        };
        let f = match s.fids.get(&fid) {
            Some(f) => f,
            None => return matches!(req[4], TREAD | TWRITE | TGETATTR | TCLUNK | TLOPEN),
        };
        match req[4] {
            TREAD | TWRITE => self.store.io_ready(f.inode),
            // Only a truncating open touches the file now (Store::open_file).
            TLOPEN => !matches!(r.u32(), Ok(flags) if flags & O_TRUNC != 0 && flags & O_ACCMODE != O_RDONLY) || self.store.io_ready(f.inode),
            TGETATTR => self.store.attributes_ready(f.inode),
            TCLUNK => f.xattr_write.is_none() && self.store.release_ready(f.inode),
            TREADDIR => f.listing.is_some() && !matches!(r.u64(), Ok(0)) || self.store.n(f.inode).children.is_some() || !self.store.n(f.inode).is_dir(),
            TWALK => self.walk_ready(f.inode, req),
            _ => false,
        }
    }

    /// A walk whose every directory on the way is already listed needs no OPFS.
    fn walk_ready(&self, from: usize, req: &[u8]) -> bool {
        let mut r = Reader::new(req, HEADER_SIZE + 8);
        let n = match r.u16() {
            Ok(n) => n,
            Err(_) => return true,
        };
        let mut at = from;
        for _ in 0..n {
            let name = match r.str() {
                Ok(n) => n,
                Err(_) => return true,
            };
            let node = self.store.n(at);
            if !node.is_dir() {
                return true;
            }
            if name == ".." {
                at = node.parent.unwrap_or(ROOT);
                continue;
            }
            if name == "." {
                continue;
            }
            if node.children.is_none() {
                return false;
            }
            match self.store.child(at, name) {
                Some(c) => at = c,
                None => return true,
            }
        }
        true
    }

    fn dispatch(&mut self, s: &mut Session, ty: u8, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        match ty {
            TVERSION => self.version(s, tag, r, rep),
            TAUTH => {
                let _ = (r.u32()?, r.str()?, r.str()?, r.u32()?);
                r.end()?;
                Err(Fail::Errno(EOPNOTSUPP))
            }
            TATTACH => self.attach(s, tag, r, rep),
            TFLUSH => {
                r.u16()?;
                r.end()?;
                // Requests are answered in order, so the one being flushed has already been answered.
                reply(rep, ty + 1, tag, |_| {})
            }
            TWALK => self.walk(s, tag, r, rep),
            TGETATTR => self.getattr(s, tag, r, rep),
            TSETATTR => self.setattr(s, tag, r, rep),
            TLOPEN => self.lopen(s, tag, r, rep),
            TLCREATE => self.lcreate(s, tag, r, rep),
            TREAD => self.read(s, tag, r, rep),
            TWRITE => self.write(s, tag, r, rep),
            TREADDIR => self.readdir(s, tag, r, rep),
            TFSYNC => {
                let fid = r.u32()?;
                // Older kernels omit datasync.
                if r.remaining() > 0 {
                    r.u32()?;
                }
                r.end()?;
                let inode = fid_of(s, fid)?.inode;
                self.store.fsync(inode)?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TMKDIR => {
                let (dfid, name, mode, gid) = (r.u32()?, r.str()?, r.u32()?, r.u32()?);
                r.end()?;
                let dir = self.dir_fid(s, dfid)?;
                let id = self.store.mkdir(dir, name, mode, s.uid, gid)?;
                self.reply_qid(rep, ty, tag, id)
            }
            TSYMLINK => {
                let (fid, name, target, gid) = (r.u32()?, r.str()?, r.str()?, r.u32()?);
                r.end()?;
                let dir = self.dir_fid(s, fid)?;
                let id = self.store.symlink(dir, name, target, s.uid, gid)?;
                self.reply_qid(rep, ty, tag, id)
            }
            TREADLINK => {
                let fid = r.u32()?;
                r.end()?;
                let n = self.store.n(fid_of(s, fid)?.inode);
                if n.meta.kind != SYMLINK {
                    return Err(Fail::Errno(EINVAL));
                }
                reply(rep, ty + 1, tag, |w| w.str(&n.meta.target))
            }
            TMKNOD => {
                let (dfid, name, mode, major, minor, gid) = (r.u32()?, r.str()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?);
                r.end()?;
                let kind = match kind_of_mode(mode) {
                    Some(k) if k != DIR && k != SYMLINK => k,
                    _ => return Err(Fail::Errno(EINVAL)),
                };
                let dir = self.dir_fid(s, dfid)?;
                let id = self.store.mknod(dir, name, kind, mode, encode_dev(major, minor), s.uid, gid)?;
                self.reply_qid(rep, ty, tag, id)
            }
            TLINK => {
                let _ = (r.u32()?, r.u32()?, r.str()?);
                r.end()?;
                // OPFS has one name per file (docs/storage-format.md).
                Err(Fail::Errno(EOPNOTSUPP))
            }
            TRENAME => {
                let (fid, dfid, name) = (r.u32()?, r.u32()?, r.str()?);
                r.end()?;
                let inode = fid_of(s, fid)?.inode;
                let parent = match self.store.n(inode).parent {
                    Some(p) => p,
                    None => return Err(Fail::Errno(if inode == ROOT { EBUSY } else { ENOENT })),
                };
                let old_name = self.store.n(inode).name.clone();
                let dst = self.dir_fid(s, dfid)?;
                self.store.rename(parent, &old_name, dst, name)?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TRENAMEAT => {
                let (old_dir, old_name, new_dir, new_name) = (r.u32()?, r.str()?, r.u32()?, r.str()?);
                r.end()?;
                let from = self.dir_fid(s, old_dir)?;
                let to = self.dir_fid(s, new_dir)?;
                self.store.rename(from, old_name, to, new_name)?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TUNLINKAT => {
                let (dfid, name, flags) = (r.u32()?, r.str()?, r.u32()?);
                r.end()?;
                if flags & !AT_REMOVEDIR != 0 {
                    return Err(Fail::Errno(EINVAL));
                }
                let dir = self.dir_fid(s, dfid)?;
                self.store.unlink(dir, name, flags & AT_REMOVEDIR != 0)?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TREMOVE => {
                let fid = r.u32()?;
                r.end()?;
                let inode = fid_of(s, fid)?.inode;
                let removed = match self.store.n(inode).parent {
                    None => Err(if inode == ROOT { EBUSY } else { ENOENT }),
                    Some(p) => {
                        let (name, is_dir) = (self.store.n(inode).name.clone(), self.store.n(inode).is_dir());
                        self.store.unlink(p, &name, is_dir)
                    }
                };
                // Tremove clunks the fid whether or not the removal worked.
                s.fids.remove(&fid);
                let released = self.store.release(inode);
                removed?;
                released?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TCLUNK => {
                let fid = r.u32()?;
                r.end()?;
                let f = s.fids.remove(&fid).ok_or(Fail::Errno(EBADF))?;
                let committed = match &f.xattr_write {
                    Some(x) => self.commit_xattr(f.inode, x),
                    None => Ok(()),
                };
                let released = self.store.release(f.inode);
                committed?;
                released?;
                reply(rep, ty + 1, tag, |_| {})
            }
            TSTATFS => {
                r.u32()?;
                r.end()?;
                let (quota, usage) = self.store.statfs();
                let bsize = 4096.0;
                let blocks = (quota / bsize).floor() as u64;
                let bfree = ((quota - usage) / bsize).floor().max(0.0) as u64;
                reply(rep, ty + 1, tag, |w| {
                    w.u32(V9FS_MAGIC);
                    w.u32(4096);
                    for v in [blocks, bfree, bfree, 1 << 30, 1 << 30, 0] {
                        w.u64(v);
                    }
                    w.u32(NAME_MAX as u32);
                })
            }
            TLOCK => self.lock(s, tag, r, rep),
            TGETLOCK => self.getlock(s, tag, r, rep),
            TXATTRWALK => self.xattrwalk(s, tag, r, rep),
            TXATTRCREATE => {
                let (fid, name, size, flags) = (r.u32()?, r.str()?, r.u64()?, r.u32()?);
                r.end()?;
                let f = s.fids.get_mut(&fid).ok_or(Fail::Errno(EBADF))?;
                if size > XATTR_SIZE_MAX {
                    return Err(Fail::Errno(E2BIG));
                }
                if name.is_empty() || utf16_len(name) > NAME_MAX {
                    return Err(Fail::Errno(EINVAL));
                }
                f.xattr_write = Some(XattrWrite { name: name.to_string(), flags, buf: vec![0; size as usize], filled: 0 });
                reply(rep, ty + 1, tag, |_| {})
            }
            _ => Err(Fail::Errno(EOPNOTSUPP)),
        }
    }

    // ---- fids ----

    fn add_fid(&mut self, s: &mut Session, id: u32, inode: usize) -> R<()> {
        if id == NOFID || s.fids.contains_key(&id) {
            return Err(Fail::Errno(EBADF));
        }
        self.store.retain(inode);
        s.fids.insert(id, Fid { inode, open_flags: None, listing: None, xattr_read: None, xattr_write: None });
        Ok(())
    }

    fn dir_fid(&self, s: &Session, id: u32) -> R<usize> {
        let inode = fid_of(s, id)?.inode;
        if !self.store.n(inode).is_dir() {
            return Err(Fail::Errno(ENOTDIR));
        }
        Ok(inode)
    }

    /// The version changes with the inode's ctime, which every change of content or attributes
    /// sets: a Linux client that caches (cache=loose) reuses a cached inode only when path and
    /// version match. Same formula as M1's.
    fn qid(&self, id: usize) -> Qid {
        let meta = &self.store.n(id).meta;
        Qid { version: (meta.ctime.sec as u32).wrapping_mul(1000003) ^ meta.ctime.nsec, ..qid_of(id, meta.kind) }
    }

    fn reply_qid(&self, rep: &mut [u8], ty: u8, tag: u16, id: usize) -> R<usize> {
        let q = self.qid(id);
        reply(rep, ty + 1, tag, |w| w.qid(q))
    }

    fn reply_open(&self, s: &Session, rep: &mut [u8], ty: u8, tag: u16, id: usize) -> R<usize> {
        let q = self.qid(id);
        reply(rep, ty + 1, tag, |w| {
            w.qid(q);
            w.u32(s.msize - IO_OVERHEAD);
        })
    }

    // ---- session ----

    fn version(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (msize, version) = (r.u32()?, r.str()?);
        r.end()?;
        self.clunk_all(s);
        if msize < MIN_MSIZE {
            return Err(Fail::Errno(EINVAL));
        }
        s.msize = msize.min(s.max_message);
        let v = if version.starts_with("9P2000.L") { "9P2000.L" } else { "unknown" };
        let m = s.msize;
        reply(rep, TVERSION + 1, tag, |w| {
            w.u32(m);
            w.str(v);
        })
    }

    fn attach(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, afid, _uname, _aname, n_uname) = (r.u32()?, r.u32()?, r.str()?, r.str()?, r.u32()?);
        r.end()?;
        if afid != NOFID {
            return Err(Fail::Errno(EINVAL));
        }
        self.add_fid(s, fid, ROOT)?;
        s.uid = if n_uname == NOFID { 0 } else { n_uname };
        self.reply_qid(rep, TATTACH, tag, ROOT)
    }

    // ---- walking and attributes ----

    fn walk(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, newfid, n) = (r.u32()?, r.u32()?, r.u16()?);
        let mut names = Vec::with_capacity(n as usize);
        for _ in 0..n {
            names.push(r.str()?);
        }
        r.end()?;
        let from = fid_of(s, fid)?.inode;
        if names.len() > MAXWELEM {
            return Err(Fail::Errno(EINVAL));
        }
        if newfid != fid && s.fids.contains_key(&newfid) {
            return Err(Fail::Errno(EBADF));
        }
        let mut qids = Vec::with_capacity(names.len());
        let mut at = from;
        for name in &names {
            match self.step(at, name) {
                Ok(next) => at = next,
                Err(e) => {
                    if qids.is_empty() {
                        return Err(Fail::Errno(e));
                    }
                    // A partial walk answers with the qids that succeeded and leaves newfid unused.
                    return reply_qids(rep, tag, &qids);
                }
            }
            qids.push(self.qid(at));
        }
        if newfid == fid {
            if at != from {
                self.store.retain(at);
                s.fids.get_mut(&fid).unwrap().inode = at;
                self.store.release(from)?;
            }
        } else {
            self.add_fid(s, newfid, at)?;
        }
        reply_qids(rep, tag, &qids)
    }

    /// One walk step. '..' at the root stays at the root; symlinks are never followed.
    fn step(&mut self, dir: usize, name: &str) -> Result<usize, u32> {
        let n = self.store.n(dir);
        if !n.is_dir() {
            return Err(ENOTDIR);
        }
        if name == ".." {
            return Ok(n.parent.unwrap_or(ROOT));
        }
        if name == "." {
            return Ok(dir);
        }
        if name.is_empty() || name.contains('/') || name.contains('\0') {
            return Err(EINVAL);
        }
        if name.len() > NAME_MAX {
            return Err(ENAMETOOLONG);
        }
        self.store.lookup(dir, name)
    }

    fn getattr(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let fid = r.u32()?;
        r.u64()?;
        r.end()?;
        let id = fid_of(s, fid)?.inode;
        let (size, nlink) = self.store.attributes(id)?;
        let q = self.qid(id);
        let m = &self.store.n(id).meta;
        reply(rep, TGETATTR + 1, tag, |w| {
            w.u64(GETATTR_BASIC);
            w.qid(q);
            w.u32(mode_of(m));
            w.u32(m.uid);
            w.u32(m.gid);
            w.u64(nlink);
            w.u64(m.rdev);
            w.u64(size);
            w.u64(4096);
            w.u64((size + 511) / 512);
            for t in [m.atime, m.mtime, m.ctime] {
                w.u64(t.sec);
                w.u64(t.nsec as u64);
            }
            for _ in 0..4 {
                w.u64(0); // btime sec/nsec, gen, data_version
            }
        })
    }

    fn setattr(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, v, mode, uid, gid, size) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u64()?);
        let (asec, ansec, msec, mnsec) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        r.end()?;
        let id = fid_of(s, fid)?.inode;
        let mut c = Changes::default();
        if v & SETATTR_MODE != 0 {
            c.perm = Some(mode);
        }
        if v & SETATTR_UID != 0 {
            c.uid = Some(uid);
        }
        if v & SETATTR_GID != 0 {
            c.gid = Some(gid);
        }
        if v & SETATTR_SIZE != 0 {
            c.size = Some(size);
        }
        let time = |sec: u64, nsec: u64, set: bool| if set { Some(Time { sec, nsec: nsec as u32 }) } else { None };
        if v & SETATTR_ATIME != 0 {
            if v & SETATTR_ATIME_SET != 0 && ansec >= 1_000_000_000 {
                return Err(Fail::Errno(EINVAL));
            }
            c.atime = Some(time(asec, ansec, v & SETATTR_ATIME_SET != 0));
        }
        if v & SETATTR_MTIME != 0 {
            if v & SETATTR_MTIME_SET != 0 && mnsec >= 1_000_000_000 {
                return Err(Fail::Errno(EINVAL));
            }
            c.mtime = Some(time(msec, mnsec, v & SETATTR_MTIME_SET != 0));
        }
        self.store.set_attributes(id, c)?;
        reply(rep, TSETATTR + 1, tag, |_| {})
    }

    // ---- opening, reading, writing ----

    fn lopen(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, flags) = (r.u32()?, r.u32()?);
        r.end()?;
        let f = fid_of(s, fid)?;
        if f.open_flags.is_some() {
            return Err(Fail::Errno(EBADF));
        }
        let id = f.inode;
        let n = self.store.n(id);
        let writes = flags & O_ACCMODE != O_RDONLY;
        if n.is_dir() && writes {
            return Err(Fail::Errno(EISDIR));
        }
        if !n.is_dir() && flags & O_DIRECTORY != 0 {
            return Err(Fail::Errno(ENOTDIR));
        }
        if n.meta.kind == SYMLINK {
            return Err(Fail::Errno(ELOOP));
        }
        if n.unlinked && !n.is_file() {
            return Err(Fail::Errno(ENOENT));
        }
        self.store.open_file(id, writes && flags & O_TRUNC != 0)?;
        s.fids.get_mut(&fid).unwrap().open_flags = Some(flags);
        self.reply_open(s, rep, TLOPEN, tag, id)
    }

    fn lcreate(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, name, flags, mode, gid) = (r.u32()?, r.str()?, r.u32()?, r.u32()?, r.u32()?);
        r.end()?;
        let f = fid_of(s, fid)?;
        let dir = f.inode;
        if !self.store.n(dir).is_dir() {
            return Err(Fail::Errno(ENOTDIR));
        }
        if f.open_flags.is_some() {
            return Err(Fail::Errno(EBADF));
        }
        let id = self.store.create_file(dir, name, mode, s.uid, gid)?;
        self.store.open_file(id, false)?;
        self.store.retain(id);
        let f = s.fids.get_mut(&fid).unwrap();
        f.inode = id;
        f.open_flags = Some(flags);
        self.store.release(dir)?;
        self.reply_open(s, rep, TLCREATE, tag, id)
    }

    fn read(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, offset, count) = (r.u32()?, r.u64()?, r.u32()?);
        r.end()?;
        let f = fid_of(s, fid)?;
        let max = (count as usize).min((s.msize - IO_OVERHEAD) as usize).min(rep.len().saturating_sub(HEADER_SIZE + 4));
        let data_at = HEADER_SIZE + 4;
        let n = if let Some(v) = &f.xattr_read {
            let start = (offset.min(v.len() as u64)) as usize;
            let n = max.min(v.len() - start);
            rep[data_at..data_at + n].copy_from_slice(&v[start..start + n]);
            n
        } else {
            match f.open_flags {
                Some(flags) if flags & O_ACCMODE != O_WRONLY => {}
                _ => return Err(Fail::Errno(EBADF)),
            }
            let n = self.store.read(f.inode, offset, max, data_at)?;
            // The data went straight to the caller's reply buffer: only the header is ours.
            crate::set_payload_in_place();
            n
        };
        let mut w = Writer::new(rep, 0);
        w.u32((data_at + n) as u32);
        w.u8(TREAD + 1);
        w.u16(tag);
        w.u32(n as u32);
        Ok(data_at + n)
    }

    fn write(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, offset, data) = (r.u32()?, r.u64()?, r.data()?);
        r.end()?;
        let f = s.fids.get_mut(&fid).ok_or(Fail::Errno(EBADF))?;
        let n = if let Some(x) = &mut f.xattr_write {
            if offset != x.filled as u64 || x.filled + data.len() > x.buf.len() {
                return Err(Fail::Errno(EINVAL));
            }
            x.buf[x.filled..x.filled + data.len()].copy_from_slice(data);
            x.filled += data.len();
            data.len()
        } else {
            let flags = match f.open_flags {
                Some(flags) if flags & O_ACCMODE != O_RDONLY => flags,
                _ => return Err(Fail::Errno(EBADF)),
            };
            self.store.write(f.inode, offset, data, flags & O_APPEND != 0)?
        };
        reply(rep, TWRITE + 1, tag, |w| w.u32(n as u32))
    }

    fn readdir(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, offset, count) = (r.u32()?, r.u64()?, r.u32()?);
        r.end()?;
        let f = fid_of(s, fid)?;
        let dir = f.inode;
        if !self.store.n(dir).is_dir() {
            return Err(Fail::Errno(ENOTDIR));
        }
        if f.open_flags.is_none() {
            return Err(Fail::Errno(EBADF));
        }
        if offset == 0 || f.listing.is_none() {
            let entries = self.store.listing(dir)?;
            let parent = self.store.n(dir).parent.unwrap_or(dir);
            let dots = ((dir, DIR), (parent, self.store.n(parent).meta.kind));
            s.fids.get_mut(&fid).unwrap().listing = Some((dots.0, dots.1, entries));
        }
        let (dot, dotdot, entries) = s.fids[&fid].listing.as_ref().unwrap();
        let max = (count as usize).min((s.msize - IO_OVERHEAD) as usize).min(rep.len().saturating_sub(HEADER_SIZE + 4));
        let end = HEADER_SIZE + 4 + max;
        let mut w = Writer::new(rep, HEADER_SIZE + 4);
        let total_entries = entries.len() as u64 + 2;
        let mut i = offset.min(total_entries);
        while i < total_entries {
            let (name, id, kind) = match i {
                0 => (".", dot.0, dot.1),
                1 => ("..", dotdot.0, dotdot.1),
                _ => {
                    let e = &entries[(i - 2) as usize];
                    (e.0.as_str(), e.1, e.2)
                }
            };
            if w.pos + QID_SIZE + 8 + 1 + 2 + name.len() > end {
                break;
            }
            w.qid(qid_of(id, kind));
            w.u64(i + 1);
            w.u8(dirent_type(kind));
            w.str(name);
            i += 1;
        }
        if w.overflow {
            return Err(Fail::Errno(EIO));
        }
        let total = w.pos;
        let mut h = Writer::new(rep, 0);
        h.u32(total as u32);
        h.u8(TREADDIR + 1);
        h.u16(tag);
        h.u32((total - HEADER_SIZE - 4) as u32);
        Ok(total)
    }

    // ---- POSIX byte-range locks (advisory, per inode, owned by client id + process id) ----

    fn lock(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, kind, _flags, start, length, proc_id, client_id) = (r.u32()?, r.u8()?, r.u32()?, r.u64()?, r.u64()?, r.u32()?, r.str()?);
        r.end()?;
        let id = fid_of(s, fid)?.inode;
        let (start, end) = lock_range(start, length);
        let inode = self.store.m(id);
        if kind != LOCK_UNLOCK {
            if kind != LOCK_READ && kind != LOCK_WRITE {
                return Err(Fail::Errno(EINVAL));
            }
            if inode.locks.iter().any(|l| conflicts(l, kind, start, end, proc_id, client_id)) {
                return reply(rep, TLOCK + 1, tag, |w| w.u8(LOCK_BLOCKED));
            }
        }
        let mut locks = subtract_range(&inode.locks, start, end, proc_id, client_id);
        if kind != LOCK_UNLOCK {
            locks.push(Lock { kind, start, end, proc_id, client_id: client_id.to_string() });
        }
        inode.locks = locks;
        reply(rep, TLOCK + 1, tag, |w| w.u8(0))
    }

    fn getlock(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, kind, start, length, proc_id, client_id) = (r.u32()?, r.u8()?, r.u64()?, r.u64()?, r.u32()?, r.str()?);
        r.end()?;
        let id = fid_of(s, fid)?.inode;
        let (rs, re) = lock_range(start, length);
        let inode = self.store.n(id);
        match inode.locks.iter().find(|l| conflicts(l, kind, rs, re, proc_id, client_id)) {
            Some(hit) => reply(rep, TGETLOCK + 1, tag, |w| {
                w.u8(hit.kind);
                w.u64(hit.start as u64);
                w.u64(if hit.end.is_infinite() { 0 } else { (hit.end - hit.start) as u64 });
                w.u32(hit.proc_id);
                w.str(&hit.client_id);
            }),
            None => reply(rep, TGETLOCK + 1, tag, |w| {
                w.u8(LOCK_UNLOCK);
                w.u64(start);
                w.u64(length);
                w.u32(proc_id);
                w.str(client_id);
            }),
        }
    }

    // ---- extended attributes ----

    fn xattrwalk(&mut self, s: &mut Session, tag: u16, mut r: Reader, rep: &mut [u8]) -> R<usize> {
        let (fid, newfid, name) = (r.u32()?, r.u32()?, r.str()?);
        r.end()?;
        let id = fid_of(s, fid)?.inode;
        let xattrs = &self.store.n(id).meta.xattrs;
        let value = if name.is_empty() {
            let mut names = Vec::new();
            for (n, _) in xattrs {
                names.extend_from_slice(n.as_bytes());
                names.push(0);
            }
            names
        } else {
            match xattrs.iter().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => return Err(Fail::Errno(ENODATA)),
            }
        };
        self.add_fid(s, newfid, id)?;
        let size = value.len() as u64;
        s.fids.get_mut(&newfid).unwrap().xattr_read = Some(value);
        reply(rep, TXATTRWALK + 1, tag, |w| w.u64(size))
    }

    fn commit_xattr(&mut self, id: usize, x: &XattrWrite) -> Result<(), u32> {
        if x.filled != x.buf.len() {
            return Err(EINVAL);
        }
        let mut meta = self.store.n(id).meta.clone();
        let at = meta.xattrs.iter().position(|(n, _)| *n == x.name);
        if x.flags & XATTR_CREATE != 0 && at.is_some() {
            return Err(EEXIST);
        }
        if x.flags & XATTR_REPLACE != 0 && at.is_none() {
            return Err(ENODATA);
        }
        // Linux removes an attribute by creating it with size 0 and XATTR_REPLACE.
        match at {
            Some(i) if x.buf.is_empty() && x.flags & XATTR_REPLACE != 0 => {
                meta.xattrs.remove(i);
            }
            Some(i) => meta.xattrs[i].1 = x.buf.clone(),
            None => meta.xattrs.push((x.name.clone(), x.buf.clone())),
        }
        self.store.update_meta(id, meta)
    }
}

fn fid_of(s: &Session, id: u32) -> R<&Fid> {
    s.fids.get(&id).ok_or(Fail::Errno(EBADF))
}

/// Encodes a reply whose body `body` writes; a reply that does not fit is EIO.
fn reply(rep: &mut [u8], ty: u8, tag: u16, body: impl FnOnce(&mut Writer)) -> R<usize> {
    let mut w = begin(rep, ty, tag);
    body(&mut w);
    finish(w).ok_or(Fail::Errno(EIO))
}

fn reply_qids(rep: &mut [u8], tag: u16, qids: &[Qid]) -> R<usize> {
    reply(rep, TWALK + 1, tag, |w| {
        w.u16(qids.len() as u16);
        for q in qids {
            w.qid(*q);
        }
    })
}

/// Start and exclusive end of a lock request; length 0 runs to the end of the file. Numbers are
/// doubles, as in M1, so both servers agree even on absurd ranges.
fn lock_range(start: u64, length: u64) -> (f64, f64) {
    let s = start as f64;
    (s, if length == 0 { f64::INFINITY } else { s + length as f64 })
}

fn conflicts(l: &Lock, kind: u8, start: f64, end: f64, proc_id: u32, client_id: &str) -> bool {
    if l.proc_id == proc_id && l.client_id == client_id {
        return false;
    }
    if l.end <= start || end <= l.start {
        return false;
    }
    l.kind == LOCK_WRITE || kind == LOCK_WRITE
}

/// The owner's locks with [start, end) cut out (splitting a lock that spans it); other owners' stay.
fn subtract_range(locks: &[Lock], start: f64, end: f64, proc_id: u32, client_id: &str) -> Vec<Lock> {
    let mut out = Vec::new();
    for l in locks {
        if !(l.proc_id == proc_id && l.client_id == client_id) || l.end <= start || end <= l.start {
            out.push(l.clone());
            continue;
        }
        if l.start < start {
            out.push(Lock { end: start, ..l.clone() });
        }
        if end < l.end {
            out.push(Lock { start: end, ..l.clone() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(kind: u8, start: f64, end: f64, proc_id: u32) -> Lock {
        Lock { kind, start, end, proc_id, client_id: "c".into() }
    }

    #[test]
    fn locks_conflict_only_across_owners_and_with_a_writer() {
        let w = lock(LOCK_WRITE, 0.0, 10.0, 1);
        assert!(!conflicts(&w, LOCK_WRITE, 0.0, 5.0, 1, "c"));
        assert!(conflicts(&w, LOCK_READ, 5.0, 6.0, 2, "c"));
        assert!(!conflicts(&w, LOCK_READ, 10.0, 11.0, 2, "c"));
        let r = lock(LOCK_READ, 0.0, f64::INFINITY, 1);
        assert!(!conflicts(&r, LOCK_READ, 100.0, 200.0, 2, "c"));
        assert!(conflicts(&r, LOCK_WRITE, 100.0, 200.0, 2, "c"));
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let out = subtract_range(&[lock(LOCK_WRITE, 0.0, 100.0, 1), lock(LOCK_READ, 0.0, 100.0, 2)], 10.0, 20.0, 1, "c");
        let spans: Vec<_> = out.iter().map(|l| (l.proc_id, l.start, l.end)).collect();
        assert_eq!(spans, vec![(1, 0.0, 10.0), (1, 20.0, 100.0), (2, 0.0, 100.0)]);
        assert_eq!(lock_range(5, 0), (5.0, f64::INFINITY));
    }

    #[test]
    fn device_numbers_and_dirent_types() {
        assert_eq!(encode_dev(1, 3), 0x103);
        assert_eq!(encode_dev(8, 0x123), 0x823 | (0x100 << 12));
        assert_eq!(dirent_type(FIFO), 1);
        assert_eq!(qid_of(5, SYMLINK), Qid { kind: QID_SYMLINK, version: 0, path: 5 });
        assert!(is_request(TWALK) && !is_request(RLERROR) && !is_request(TWALK + 1));
        assert_eq!(utf16_len("a😀"), 3);
    }
}
