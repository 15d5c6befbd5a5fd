//! The OPFS store: a POSIX-like tree over an OPFS directory (the share), the same as M1's
//! src/store/store.ts. Regular files and directories are real OPFS entries at the guest's paths;
//! everything else lives in the metadata area. Directories are listed into the index lazily.
//! Inodes live in an arena indexed by their id (also the qid path); ids are never reused.

use crate::area::{table_name, Area, METADATA_DIR};
use crate::errno::*;
use crate::format::*;
use crate::host::{self, Handle, Res};
use crate::wire::Reader;
use std::rc::Rc;

/// A directory's entries as readdir lists them: name, inode, kind.
pub type Listing = Rc<Vec<(String, usize, u8)>>;

pub const NAME_MAX: usize = 255;
pub const ROOT: usize = 0;
/// OPFS forbids '\' in names; the store keeps it as this private-use character.
const BACKSLASH_STAND_IN: char = '\u{F05C}';
/// Open sync access handles kept (opening one costs ~1 ms, a read on an open one microseconds).
const HANDLE_CAPACITY: usize = 128;

#[derive(Clone, Debug)]
pub struct Lock {
    pub kind: u8,
    pub start: f64,
    /// Exclusive; infinity to the end of the file.
    pub end: f64,
    pub proc_id: u32,
    pub client_id: String,
}

pub struct Inode {
    pub name: String,
    pub parent: Option<usize>,
    pub meta: Meta,
    pub file: Handle,
    pub dir: Handle,
    /// Loaded entries of a directory, by guest name; None until first listed.
    pub children: Option<IndexMap<usize>>,
    /// The entries as readdir hands them out, kept until they change: a warm readdir from
    /// offset 0 then costs only the encoding.
    listing: Option<Listing>,
    /// Bytes in a regular file; None until known (OPFS listings do not carry sizes).
    pub size: Option<u64>,
    /// Fids hold references; an unlinked file's data is dropped when this reaches 0.
    pub refs: u32,
    pub unlinked: bool,
    /// Times changed by writes that the journal has not recorded yet.
    pub meta_dirty: bool,
    /// True while `meta` is a default guess for an entry created by other code.
    pub meta_guessed: bool,
    pub locks: Vec<Lock>,
    /// The cached sync access handle (0: none) and when it was last used.
    pub sah: Handle,
    last_use: u64,
    /// The file's name in orphans/ once unlinked while open.
    orphan: Option<String>,
}

impl Inode {
    pub fn is_dir(&self) -> bool {
        self.meta.kind == DIR
    }
    pub fn is_file(&self) -> bool {
        self.meta.kind == FILE
    }
}

#[derive(Default)]
pub struct Changes {
    pub perm: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// Some(None) takes the current time.
    pub atime: Option<Option<Time>>,
    pub mtime: Option<Option<Time>>,
}

pub fn validate_name(name: &str) -> Res<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') || name.contains(BACKSLASH_STAND_IN) {
        return Err(EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    Ok(())
}

pub fn to_opfs_name(name: &str) -> String {
    name.replace('\\', "\u{F05C}")
}
fn from_opfs_name(name: &str) -> String {
    name.replace(BACKSLASH_STAND_IN, "\\")
}

fn random_dir_id() -> u64 {
    // 52 random bits: exact as a JS number (M1 reads them), and 0 stays reserved for the root.
    let hi = (host::random_u32() & 0xfffff) as u64;
    let id = (hi << 32) | host::random_u32() as u64;
    if id == 0 { 1 } else { id }
}

fn join_path(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_string() } else { format!("{}/{}", a, b) }
}

fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

pub struct Store {
    inodes: Vec<Option<Box<Inode>>>,
    area: Area,
    /// Inodes holding a sync access handle, for eviction.
    open_handles: Vec<usize>,
    tick: u64,
    orphan_count: u64,
    quota: Option<(f64, f64, f64)>,
}

impl Store {
    /// Opens (creating if needed) the share at an OPFS path such as "/shared".
    pub fn open(root_path: &str) -> Res<Store> {
        let (dir, area) = Area::open(root_path)?;
        let mut meta = default_meta(DIR, host::now());
        meta.perm = 0o777;
        let root = Inode::new(String::new(), None, meta, 0, dir);
        let mut store = Store { inodes: vec![Some(Box::new(root))], area, open_handles: Vec::new(), tick: 0, orphan_count: 0, quota: None };
        if let Some(begin) = store.area.unfinished.take() {
            store.finish_interrupted_move(&begin)?;
        }
        Ok(store)
    }

    pub fn n(&self, id: usize) -> &Inode {
        self.inodes[id].as_ref().expect("inode in use")
    }
    pub fn m(&mut self, id: usize) -> &mut Inode {
        self.inodes[id].as_mut().expect("inode in use")
    }

    fn new_inode(&mut self, name: String, parent: usize, meta: Meta, file: Handle, dir: Handle) -> usize {
        self.inodes.push(Some(Box::new(Inode::new(name, Some(parent), meta, file, dir))));
        self.inodes.len() - 1
    }

    /// Drops an inode nothing can reach any more: unlinked, and no fid holds it.
    fn free_if_unreachable(&mut self, id: usize) {
        let n = self.n(id);
        if !n.unlinked || n.refs > 0 || id == ROOT {
            return;
        }
        self.handle_drop(id);
        let n = self.inodes[id].take().unwrap();
        host::forget(n.file);
        host::forget(n.dir);
    }

    // ---- the index ----

    /// Lists a directory into the index on first use: OPFS listing and metadata table, read together.
    pub fn load(&mut self, dir: usize) -> Res<()> {
        let d = self.n(dir);
        if d.children.is_some() {
            return Ok(());
        }
        if !d.is_dir() || d.dir == 0 {
            return Err(ENOTDIR);
        }
        let (handle, dir_id) = (d.dir, d.meta.dir_id);
        let (table, listing) = host::list_dir(handle, self.area.tables, &table_name(dir_id))?;
        let recorded = self.area.merge(dir_id, table);
        let mut children = IndexMap::new();
        let mut new_records = Vec::new();
        let mut r = Reader::new(&listing, 0);
        while r.remaining() > 0 {
            let (kind_byte, h, opfs_name) = match (r.u8(), r.u32(), r.str()) {
                (Ok(k), Ok(h), Ok(n)) => (k, h, n),
                _ => return Err(EIO),
            };
            if dir == ROOT && opfs_name == METADATA_DIR {
                host::forget(h);
                continue;
            }
            let name = from_opfs_name(opfs_name);
            let kind = if kind_byte == 2 { DIR } else { FILE };
            let (meta, guessed) = match recorded.get(&name) {
                Some(m) if m.kind == kind => (m.clone(), false),
                _ => {
                    // Put there by other code (or its record was lost to a crash): default metadata.
                    let mut m = default_meta(kind, host::now());
                    if kind == DIR {
                        m.dir_id = random_dir_id();
                        new_records.push(Op::Put { dir_id, name: name.clone(), meta: m.clone() });
                    }
                    (m, kind == FILE)
                }
            };
            let (file, sub) = if kind == DIR { (0, h) } else { (h, 0) };
            let id = self.new_inode(name.clone(), dir, meta, file, sub);
            self.m(id).meta_guessed = guessed;
            children.insert(name, id);
        }
        for (name, meta) in recorded.iter() {
            if is_metadata_only(meta.kind) && !children.contains(name) {
                let id = self.new_inode(name.to_string(), dir, meta.clone(), 0, 0);
                children.insert(name.to_string(), id);
            }
        }
        if !new_records.is_empty() {
            self.area.append(new_records)?;
        }
        self.m(dir).children = Some(children);
        Ok(())
    }

    pub fn child(&self, dir: usize, name: &str) -> Option<usize> {
        self.n(dir).children.as_ref().and_then(|c| c.get(name).copied())
    }

    pub fn lookup(&mut self, dir: usize, name: &str) -> Res<usize> {
        if !self.n(dir).is_dir() {
            return Err(ENOTDIR);
        }
        self.load(dir)?;
        self.child(dir, name).ok_or(ENOENT)
    }

    /// A loaded directory's entries, to change them (which forgets its cached listing).
    fn children_mut(&mut self, dir: usize) -> &mut IndexMap<usize> {
        let d = self.m(dir);
        d.listing = None;
        d.children.as_mut().unwrap()
    }

    /// A directory's entries in listing order, for readdir (loads the directory if needed).
    pub fn listing(&mut self, dir: usize) -> Res<Listing> {
        self.load(dir)?;
        if let Some(l) = &self.n(dir).listing {
            return Ok(l.clone());
        }
        let list: Vec<_> = self.entries(dir).into_iter().map(|(name, id)| { let kind = self.n(id).meta.kind; (name, id, kind) }).collect();
        let l = Rc::new(list);
        self.m(dir).listing = Some(l.clone());
        Ok(l)
    }

    /// The entries of a loaded directory, in listing order.
    pub fn entries(&self, dir: usize) -> Vec<(String, usize)> {
        self.n(dir).children.as_ref().map(|c| c.iter().map(|(n, &id)| (n.to_string(), id)).collect()).unwrap_or_default()
    }

    /// The path from the share root (for the move journal and exported sessions).
    pub fn path_of(&self, id: usize) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while let Some(p) = self.n(at).parent {
            parts.push(self.n(at).name.as_str());
            at = p;
        }
        parts.reverse();
        parts.join("/")
    }

    // ---- attributes ----

    /// (size, nlink) of an inode.
    pub fn attributes(&mut self, id: usize) -> Res<(u64, u64)> {
        let n = self.n(id);
        let size = match n.meta.kind {
            FILE => self.file_size(id)?,
            SYMLINK => n.meta.target.len() as u64,
            _ => 0,
        };
        let n = self.n(id);
        let mut nlink = 1;
        if let (true, Some(children)) = (n.is_dir(), &n.children) {
            nlink = 2 + children.iter().filter(|(_, &c)| self.n(c).is_dir()).count() as u64;
        }
        if n.unlinked {
            nlink = 0;
        }
        Ok((size, nlink))
    }

    /// Whether `attributes` can answer without waiting for OPFS.
    pub fn attributes_ready(&self, id: usize) -> bool {
        let n = self.n(id);
        !n.is_file() || n.size.is_some() || n.sah != 0
    }

    fn file_size(&mut self, id: usize) -> Res<u64> {
        // The store is the share's only writer and tracks every size change, so a known size is exact.
        let n = self.n(id);
        if let Some(s) = n.size {
            return Ok(s);
        }
        if n.sah != 0 {
            let s = host::sah_size(n.sah);
            self.m(id).size = Some(s);
            return Ok(s);
        }
        let (size, last_modified) = host::file_info(n.file)?;
        let n = self.m(id);
        n.size = Some(size);
        if n.meta_guessed {
            let t = Time { sec: (last_modified / 1000.0).floor() as u64, nsec: ((last_modified % 1000.0) * 1e6) as u32 };
            n.meta.atime = t;
            n.meta.mtime = t;
            n.meta.ctime = t;
            n.meta_guessed = false;
        }
        Ok(size)
    }

    pub fn set_attributes(&mut self, id: usize, c: Changes) -> Res<()> {
        let mut m = self.n(id).meta.clone();
        let now = host::now();
        if let Some(perm) = c.perm {
            m.perm = perm & 0o7777;
        }
        if let Some(uid) = c.uid {
            m.uid = uid;
        }
        if let Some(gid) = c.gid {
            m.gid = gid;
        }
        if let Some(size) = c.size {
            let n = self.n(id);
            if !n.is_file() {
                return Err(if n.is_dir() { EISDIR } else { EINVAL });
            }
            let h = self.handle_get(id)?;
            host::sah_truncate(h, size)?;
            self.m(id).size = Some(size);
            m.mtime = now;
        }
        if let Some(t) = c.atime {
            m.atime = t.unwrap_or(now);
        }
        if let Some(t) = c.mtime {
            m.mtime = t.unwrap_or(now);
        }
        m.ctime = now;
        self.update_meta(id, m)
    }

    /// Replaces an inode's metadata and journals it (unlinked files keep theirs in memory only).
    pub fn update_meta(&mut self, id: usize, meta: Meta) -> Res<()> {
        let n = self.m(id);
        n.meta = meta;
        n.meta_guessed = false;
        n.meta_dirty = false;
        if let (Some(p), false) = (n.parent, n.unlinked) {
            let op = Op::Put { dir_id: self.n(p).meta.dir_id, name: self.n(id).name.clone(), meta: self.n(id).meta.clone() };
            self.area.append(vec![op])?;
        }
        Ok(())
    }

    fn touch(&mut self, id: usize, mtime: bool) {
        let now = host::now();
        let n = self.m(id);
        if mtime {
            n.meta.mtime = now;
        }
        n.meta.ctime = now;
        n.meta_guessed = false;
        n.meta_dirty = true;
    }

    // ---- sync access handles ----

    fn handle_get(&mut self, id: usize) -> Res<Handle> {
        self.tick += 1;
        let tick = self.tick;
        let n = self.m(id);
        n.last_use = tick;
        if n.sah != 0 {
            return Ok(n.sah);
        }
        let file = n.file;
        if self.open_handles.len() >= HANDLE_CAPACITY {
            let oldest = *self.open_handles.iter().min_by_key(|&&i| self.n(i).last_use).unwrap();
            self.handle_drop(oldest);
        }
        // 'readwrite-unsafe' lets page code read the file while the VM runs.
        let h = host::open_sync(file, true)?;
        self.m(id).sah = h;
        self.open_handles.push(id);
        Ok(h)
    }

    /// Flushes and closes the inode's sync access handle if it has one (OPFS refuses to move or
    /// remove a file while a handle is open on it).
    fn handle_drop(&mut self, id: usize) {
        let h = self.n(id).sah;
        if h == 0 {
            return;
        }
        self.open_handles.retain(|&i| i != id);
        let _ = host::sah_flush(h);
        host::sah_close(h);
        self.m(id).sah = 0;
    }

    /// Whether reads and writes on the inode can run without waiting for OPFS.
    pub fn io_ready(&self, id: usize) -> bool {
        let n = self.n(id);
        !n.is_file() || n.sah != 0
    }

    // ---- file data ----

    /// Gets the file ready for I/O; truncates on request.
    pub fn open_file(&mut self, id: usize, truncate: bool) -> Res<()> {
        // The handle opens at the first read or write, as in M1's Store.open: a guest with cached
        // pages opens and closes files it does not read.
        if !self.n(id).is_file() || !truncate || self.n(id).size == Some(0) {
            return Ok(());
        }
        let h = self.handle_get(id)?;
        if host::sah_size(h) > 0 {
            host::sah_truncate(h, 0)?;
            self.touch(id, true);
        }
        self.m(id).size = Some(0);
        Ok(())
    }

    fn io_handle(&mut self, id: usize) -> Res<Handle> {
        let n = self.n(id);
        if !n.is_file() {
            return Err(if n.is_dir() { EISDIR } else { EINVAL });
        }
        self.handle_get(id)
    }

    fn known_size(&mut self, id: usize, h: Handle) -> u64 {
        match self.n(id).size {
            Some(s) => s,
            None => {
                let s = host::sah_size(h);
                self.m(id).size = Some(s);
                s
            }
        }
    }

    /// Reads up to `len` bytes at `offset` straight into the reply at `out_offset`; returns bytes read.
    pub fn read(&mut self, id: usize, offset: u64, len: usize, out_offset: usize) -> Res<usize> {
        let h = self.io_handle(id)?;
        let size = self.known_size(id, h);
        if offset >= size || len == 0 {
            return Ok(0);
        }
        host::sah_read_out(h, len.min((size - offset) as usize), offset, out_offset)
    }

    pub fn write(&mut self, id: usize, offset: u64, data: &[u8], append: bool) -> Res<usize> {
        let h = self.io_handle(id)?;
        let at = if append { self.known_size(id, h) } else { offset };
        if at.checked_add(data.len() as u64).map_or(true, |end| end > (1u64 << 53) - 1) {
            return Err(EFBIG);
        }
        let n = host::sah_write(h, data, at)?;
        let size = self.known_size(id, h).max(at + n as u64);
        self.m(id).size = Some(size);
        self.touch(id, true);
        Ok(n)
    }

    pub fn fsync(&mut self, id: usize) -> Res<()> {
        let n = self.n(id);
        if n.is_file() && n.sah != 0 {
            host::sah_flush(n.sah)?;
        }
        self.journal_dirty(id)?;
        self.area.flush();
        Ok(())
    }

    /// Journals times changed by I/O on this inode.
    fn journal_dirty(&mut self, id: usize) -> Res<()> {
        if self.n(id).meta_dirty {
            let meta = self.n(id).meta.clone();
            self.update_meta(id, meta)?;
        }
        Ok(())
    }

    // ---- references (fids) ----

    pub fn retain(&mut self, id: usize) {
        self.m(id).refs += 1;
    }

    pub fn release(&mut self, id: usize) -> Res<()> {
        let n = self.m(id);
        n.refs -= 1;
        if n.refs > 0 {
            return Ok(());
        }
        let result = self.journal_dirty(id);
        let n = self.n(id);
        if n.unlinked && n.is_file() {
            self.handle_drop(id);
            let n = self.m(id);
            let orphan = n.orphan.take();
            host::forget(std::mem::replace(&mut n.file, 0));
            if let Some(name) = orphan {
                let _ = host::remove_entry(self.area.orphans, &name, false);
            }
        }
        self.free_if_unreachable(id);
        result
    }

    /// Whether releasing one reference can finish without waiting for OPFS.
    pub fn release_ready(&self, id: usize) -> bool {
        let n = self.n(id);
        n.refs > 1 || !(n.unlinked && n.is_file())
    }

    // ---- namespace changes ----

    fn prepare_create(&mut self, dir: usize, name: &str) -> Res<()> {
        validate_name(name)?;
        if self.n(dir).unlinked {
            return Err(ENOENT);
        }
        self.load(dir)?;
        if dir == ROOT && name == METADATA_DIR {
            return Err(EPERM);
        }
        if self.child(dir, name).is_some() {
            return Err(EEXIST);
        }
        Ok(())
    }

    fn fresh_meta(kind: u8, perm: u32, uid: u32, gid: u32) -> Meta {
        let mut m = default_meta(kind, host::now());
        m.perm = perm & 0o7777;
        m.uid = uid;
        m.gid = gid;
        m
    }

    fn added(&mut self, dir: usize, id: usize) -> Res<usize> {
        let (name, meta) = (self.n(id).name.clone(), self.n(id).meta.clone());
        self.area.append(vec![Op::Put { dir_id: self.n(dir).meta.dir_id, name: name.clone(), meta }])?;
        self.children_mut(dir).insert(name, id);
        self.touch(dir, true);
        Ok(id)
    }

    pub fn create_file(&mut self, dir: usize, name: &str, perm: u32, uid: u32, gid: u32) -> Res<usize> {
        self.prepare_create(dir, name)?;
        let file = host::get_file(self.n(dir).dir, &to_opfs_name(name), true)?;
        let id = self.new_inode(name.to_string(), dir, Self::fresh_meta(FILE, perm, uid, gid), file, 0);
        self.m(id).size = Some(0);
        self.added(dir, id)
    }

    pub fn mkdir(&mut self, dir: usize, name: &str, perm: u32, uid: u32, gid: u32) -> Res<usize> {
        self.prepare_create(dir, name)?;
        let handle = host::get_dir(self.n(dir).dir, &to_opfs_name(name), true)?;
        let mut meta = Self::fresh_meta(DIR, perm, uid, gid);
        meta.dir_id = random_dir_id();
        let id = self.new_inode(name.to_string(), dir, meta, 0, handle);
        self.m(id).children = Some(IndexMap::new());
        self.added(dir, id)
    }

    pub fn symlink(&mut self, dir: usize, name: &str, target: &str, uid: u32, gid: u32) -> Res<usize> {
        self.prepare_create(dir, name)?;
        if target.is_empty() {
            return Err(ENOENT);
        }
        if target.len() > 4095 {
            return Err(ENAMETOOLONG);
        }
        let mut meta = Self::fresh_meta(SYMLINK, 0o777, uid, gid);
        meta.target = target.to_string();
        let id = self.new_inode(name.to_string(), dir, meta, 0, 0);
        self.added(dir, id)
    }

    /// Creates a fifo, socket or device node (metadata only); regular files go to create_file.
    #[allow(clippy::too_many_arguments)]
    pub fn mknod(&mut self, dir: usize, name: &str, kind: u8, perm: u32, rdev: u64, uid: u32, gid: u32) -> Res<usize> {
        if kind == DIR || kind == SYMLINK {
            return Err(EINVAL);
        }
        if kind == FILE {
            return self.create_file(dir, name, perm, uid, gid);
        }
        self.prepare_create(dir, name)?;
        let mut meta = Self::fresh_meta(kind, perm, uid, gid);
        meta.rdev = rdev;
        let id = self.new_inode(name.to_string(), dir, meta, 0, 0);
        self.added(dir, id)
    }

    /// unlink(2), or rmdir(2) when `remove_dir` is set.
    pub fn unlink(&mut self, dir: usize, name: &str, remove_dir: bool) -> Res<()> {
        if name == "." || name == ".." {
            return Err(if name == "." { EINVAL } else { ENOTEMPTY });
        }
        validate_name(name)?;
        let target = self.lookup(dir, name)?;
        let is_dir = self.n(target).is_dir();
        if remove_dir && !is_dir {
            return Err(ENOTDIR);
        }
        if !remove_dir && is_dir {
            return Err(EISDIR);
        }
        self.detach(target)?;
        let delete = self.area.append(vec![Op::Delete { dir_id: self.n(dir).meta.dir_id, name: name.to_string() }]);
        self.children_mut(dir).remove(name);
        self.touch(dir, true);
        self.free_if_unreachable(target);
        delete
    }

    /// Takes an entry's object out of OPFS. A file that is still referenced moves to the orphans
    /// folder instead, so open fids keep reading and writing it until the last one is clunked.
    fn detach(&mut self, target: usize) -> Res<()> {
        let parent = self.n(target).parent.unwrap();
        let parent_dir = self.n(parent).dir;
        let opfs_name = to_opfs_name(&self.n(target).name);
        if self.n(target).is_dir() {
            self.load(target)?;
            if self.n(target).children.as_ref().unwrap().len() > 0 {
                return Err(ENOTEMPTY);
            }
            host::remove_entry(parent_dir, &opfs_name, false)?;
            let dir_id = self.n(target).meta.dir_id;
            self.area.drop_table(dir_id);
        } else if self.n(target).is_file() {
            self.handle_drop(target);
            if self.n(target).refs > 0 {
                self.orphan_count += 1;
                let orphan = format!("{}.{}", target, self.orphan_count);
                host::move_file(self.n(target).file, self.area.orphans, &orphan)?;
                self.m(target).orphan = Some(orphan);
            } else {
                host::remove_entry(parent_dir, &opfs_name, false)?;
            }
        }
        let n = self.m(target);
        n.unlinked = true;
        n.parent = None;
        self.touch(target, false);
        Ok(())
    }

    fn is_ancestor_or_self(&self, ancestor: usize, mut d: usize) -> bool {
        loop {
            if d == ancestor {
                return true;
            }
            match self.n(d).parent {
                Some(p) => d = p,
                None => return false,
            }
        }
    }

    /// rename(2): replaces an existing target; a directory moves file by file (OPFS cannot move directories).
    pub fn rename(&mut self, src_dir: usize, src_name: &str, dst_dir: usize, dst_name: &str) -> Res<()> {
        validate_name(src_name)?;
        validate_name(dst_name)?;
        let source = self.lookup(src_dir, src_name)?;
        self.load(dst_dir)?;
        if self.n(dst_dir).unlinked {
            return Err(ENOENT);
        }
        if dst_dir == ROOT && dst_name == METADATA_DIR {
            return Err(EPERM);
        }
        let existing = self.child(dst_dir, dst_name);
        if existing == Some(source) {
            return Ok(());
        }
        let source_is_dir = self.n(source).is_dir();
        if source_is_dir && self.is_ancestor_or_self(source, dst_dir) {
            return Err(EINVAL);
        }
        if let Some(e) = existing {
            // Linux checks this before the types: replacing a directory the source lives in is ENOTEMPTY.
            if self.n(e).is_dir() && self.is_ancestor_or_self(e, src_dir) {
                return Err(ENOTEMPTY);
            }
            let e_is_dir = self.n(e).is_dir();
            if source_is_dir && !e_is_dir {
                return Err(ENOTDIR);
            }
            if !source_is_dir && e_is_dir {
                return Err(EISDIR);
            }
            // A file nobody holds is replaced atomically by OPFS's move; anything else is detached first.
            if !(self.n(source).is_file() && self.n(e).is_file() && self.n(e).refs == 0) {
                self.detach(e)?;
            } else {
                self.handle_drop(e);
                let n = self.m(e);
                n.unlinked = true;
                n.parent = None;
            }
            self.children_mut(dst_dir).remove(dst_name);
            self.free_if_unreachable(e);
        }
        // Journal the new name before moving and drop the old one after: whichever name a crash
        // leaves without an OPFS object is ignored at load, so the metadata survives either way.
        if source_is_dir {
            self.move_directory(source, dst_dir, dst_name)?;
        } else {
            let meta = self.n(source).meta.clone();
            self.area.append(vec![Op::Put { dir_id: self.n(dst_dir).meta.dir_id, name: dst_name.to_string(), meta }])?;
            if self.n(source).is_file() {
                self.handle_drop(source);
                host::move_file(self.n(source).file, self.n(dst_dir).dir, &to_opfs_name(dst_name))?;
            }
            self.area.append(vec![Op::Delete { dir_id: self.n(src_dir).meta.dir_id, name: src_name.to_string() }])?;
        }
        self.children_mut(src_dir).remove(src_name);
        let n = self.m(source);
        n.name = dst_name.to_string();
        n.parent = Some(dst_dir);
        self.children_mut(dst_dir).insert(dst_name.to_string(), source);
        self.touch(source, false);
        self.touch(src_dir, true);
        self.touch(dst_dir, true);
        Ok(())
    }

    fn move_directory(&mut self, source: usize, dst_dir: usize, dst_name: &str) -> Res<()> {
        let src_dir = self.n(source).parent.unwrap();
        let begin = MoveBegin {
            src_path: self.path_of(source),
            dst_path: join_path(&self.path_of(dst_dir), dst_name),
            src_dir_id: self.n(src_dir).meta.dir_id,
            src_name: self.n(source).name.clone(),
            dst_dir_id: self.n(dst_dir).meta.dir_id,
            dst_name: dst_name.to_string(),
            meta: self.n(source).meta.clone(),
        };
        self.area.append(vec![Op::MoveBegin(begin.clone())])?;
        self.area.flush();
        let target = host::get_dir(self.n(dst_dir).dir, &to_opfs_name(dst_name), true)?;
        let old = self.n(source).dir;
        self.move_contents(source, target)?;
        host::remove_moved_dir(self.n(src_dir).dir, old, target)?;
        host::forget(old);
        self.area.append(vec![
            Op::Put { dir_id: begin.dst_dir_id, name: begin.dst_name, meta: begin.meta },
            Op::Delete { dir_id: begin.src_dir_id, name: begin.src_name },
            Op::MoveEnd,
        ])
    }

    /// Moves a directory's OPFS contents into `target`, keeping the index's handles valid.
    fn move_contents(&mut self, dir: usize, target: Handle) -> Res<()> {
        if self.n(dir).children.is_none() {
            // Not loaded: nothing in the index points into it, so plain OPFS entries are enough.
            host::move_tree(self.n(dir).dir, target)?;
            self.m(dir).dir = target;
            return Ok(());
        }
        for (name, child) in self.entries(dir) {
            if self.n(child).is_file() {
                self.handle_drop(child);
                host::move_file(self.n(child).file, target, &to_opfs_name(&name))?;
            } else if self.n(child).is_dir() {
                let sub = host::get_dir(target, &to_opfs_name(&name), true)?;
                let old = self.n(child).dir;
                self.move_contents(child, sub)?;
                host::remove_moved_dir(self.n(dir).dir, old, sub)?;
                host::forget(old);
            }
        }
        self.m(dir).dir = target;
        Ok(())
    }

    /// Completes a directory rename that a crash interrupted, from the journal's MoveBegin record.
    fn finish_interrupted_move(&mut self, begin: &MoveBegin) -> Res<()> {
        let root = self.n(ROOT).dir;
        if let Some(src) = host::resolve_dir(root, &to_opfs_name(&begin.src_path)) {
            let (dst_parent_path, dst_leaf) = split_path(&begin.dst_path);
            let (src_parent_path, src_leaf) = split_path(&begin.src_path);
            let dst_parent = host::resolve_dir(root, &to_opfs_name(dst_parent_path));
            let src_parent = host::resolve_dir(root, &to_opfs_name(src_parent_path));
            if let (Some(dp), Some(sp)) = (dst_parent, src_parent) {
                let dst = host::get_dir(dp, &to_opfs_name(dst_leaf), true)?;
                host::move_tree(src, dst)?;
                host::remove_entry(sp, &to_opfs_name(src_leaf), false)?;
            }
        }
        self.area.append(vec![
            Op::Put { dir_id: begin.dst_dir_id, name: begin.dst_name.clone(), meta: begin.meta.clone() },
            Op::Delete { dir_id: begin.src_dir_id, name: begin.src_name.clone() },
            Op::MoveEnd,
        ])?;
        self.area.flush();
        Ok(())
    }

    // ---- whole-share ----

    /// (quota, usage), asked of the browser at most every 2 s.
    pub fn statfs(&mut self) -> (f64, f64) {
        let now = host::now_ms();
        match self.quota {
            Some((at, q, u)) if now - at <= 2000.0 => (q, u),
            _ => {
                let (q, u) = host::estimate();
                self.quota = Some((now, q, u));
                (q, u)
            }
        }
    }

    /// Work for quiet moments: journal times changed by I/O, compact the journal, make it durable.
    pub fn idle(&mut self) -> Res<()> {
        let mut stack = vec![ROOT];
        while let Some(d) = stack.pop() {
            self.journal_dirty(d)?;
            for (_, c) in self.entries(d) {
                if self.n(c).is_dir() {
                    stack.push(c);
                } else {
                    self.journal_dirty(c)?;
                }
            }
        }
        if self.area.needs_compaction() {
            self.compact()?;
        }
        self.area.flush();
        Ok(())
    }

    /// Folds the journal into the tables: each pending directory's table is rewritten from the
    /// live index when loaded (fresher than table + journal), else from table + journal.
    pub fn compact(&mut self) -> Res<()> {
        let mut loaded = std::collections::HashMap::new();
        let mut stack = vec![ROOT];
        while let Some(d) = stack.pop() {
            if self.n(d).children.is_none() {
                continue;
            }
            loaded.insert(self.n(d).meta.dir_id, d);
            for (_, c) in self.entries(d) {
                if self.n(c).is_dir() {
                    stack.push(c);
                }
            }
        }
        for dir_id in self.area.pending_dirs() {
            match loaded.get(&dir_id) {
                Some(&d) => {
                    let children = self.n(d).children.as_ref().unwrap();
                    let entries = children.iter().map(|(name, &id)| (name, &self.n(id).meta));
                    self.area.write_table(dir_id, entries, children.len() == 0)?;
                }
                None => {
                    let entries = self.area.read_directory(dir_id);
                    self.area.write_table(dir_id, entries.iter(), entries.len() == 0)?;
                }
            }
        }
        self.area.compacted()
    }

    /// Makes everything durable and releases OPFS handles (the share can be reopened afterwards).
    pub fn close(&mut self) -> Res<()> {
        let idle = self.idle();
        for id in self.open_handles.clone() {
            self.handle_drop(id);
        }
        self.area.close();
        idle
    }
}

impl Inode {
    fn new(name: String, parent: Option<usize>, meta: Meta, file: Handle, dir: Handle) -> Inode {
        Inode {
            name, parent, meta, file, dir, children: None, size: None, refs: 0, unlinked: false, meta_dirty: false,
            meta_guessed: false, locks: Vec::new(), sah: 0, last_use: 0, orphan: None, listing: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_format() {
        assert_eq!(validate_name("a\\b"), Ok(()));
        assert_eq!(to_opfs_name("a\\b"), "a\u{F05C}b");
        assert_eq!(from_opfs_name("a\u{F05C}b"), "a\\b");
        for bad in ["", ".", "..", "a/b", "a\0", "x\u{F05C}"] {
            assert_eq!(validate_name(bad), Err(EINVAL), "{:?}", bad);
        }
        assert_eq!(validate_name(&"é".repeat(128)), Err(ENAMETOOLONG));
        assert_eq!(validate_name(&"e".repeat(255)), Ok(()));
    }

    #[test]
    fn paths_split_and_join() {
        assert_eq!(split_path("a/b/c"), ("a/b", "c"));
        assert_eq!(split_path("c"), ("", "c"));
        assert_eq!(join_path("", "x"), "x");
        assert_eq!(join_path("a", "x"), "a/x");
    }
}
