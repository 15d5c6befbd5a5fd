//! The on-OPFS encoding of metadata: entries, journal records and directory tables.
//! docs/storage-format.md is the specification; src/store/format.ts (M1) writes the same bytes.

use crate::wire::{Bad, Reader};
use std::collections::HashMap;

pub const FILE: u8 = 1;
pub const DIR: u8 = 2;
pub const SYMLINK: u8 = 3;
pub const FIFO: u8 = 4;
pub const CHAR_DEV: u8 = 5;
pub const BLOCK_DEV: u8 = 6;
pub const SOCKET: u8 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Time {
    pub sec: u64,
    pub nsec: u32,
}

/// POSIX attributes OPFS cannot keep.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub kind: u8,
    /// Permission bits and setuid/setgid/sticky (mode & 0o7777).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// Names the directory's table; 0 for the share root and for non-directories.
    pub dir_id: u64,
    pub target: String,
    /// In insertion order, as M1's Map keeps them.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

const S_IFMT: [u32; 8] = [0, 0o100000, 0o040000, 0o120000, 0o010000, 0o020000, 0o060000, 0o140000];

pub fn mode_of(m: &Meta) -> u32 {
    S_IFMT[m.kind as usize] | (m.perm & 0o7777)
}

/// The node kind encoded in a full st_mode, or None for an unknown type.
pub fn kind_of_mode(mode: u32) -> Option<u8> {
    let fmt = mode & 0o170000;
    (1..=7u8).find(|&k| S_IFMT[k as usize] == fmt)
}

/// Kinds that exist only as metadata; files and directories are real OPFS entries.
pub fn is_metadata_only(kind: u8) -> bool {
    kind != FILE && kind != DIR
}

/// A time from milliseconds since the epoch, split as M1 splits it.
pub fn time_from_ms(ms: f64) -> Time {
    let sec = (ms / 1000.0).floor();
    let nsec = (((ms - sec * 1000.0) * 1e6).floor() % 1e9) as u32;
    Time { sec: sec as u64, nsec }
}

pub fn default_meta(kind: u8, now: Time) -> Meta {
    Meta {
        kind,
        perm: if kind == DIR { 0o755 } else { 0o644 },
        uid: 0,
        gid: 0,
        rdev: 0,
        atime: now,
        mtime: now,
        ctime: now,
        dir_id: 0,
        target: String::new(),
        xattrs: Vec::new(),
    }
}

// ---- bytes ----

pub fn put_u16(w: &mut Vec<u8>, v: u16) {
    w.extend_from_slice(&v.to_le_bytes());
}
pub fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}
pub fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}
pub fn put_str(w: &mut Vec<u8>, s: &str) {
    put_u16(w, s.len() as u16);
    w.extend_from_slice(s.as_bytes());
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xedb88320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[n] = c;
        n += 1;
    }
    t
}
static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3, as zlib computes it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffffffffu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    c ^ 0xffffffff
}

// ---- entries ----

pub fn write_meta(w: &mut Vec<u8>, m: &Meta) {
    w.push(m.kind);
    put_u32(w, m.perm);
    put_u32(w, m.uid);
    put_u32(w, m.gid);
    put_u64(w, m.rdev);
    for t in [m.atime, m.mtime, m.ctime] {
        put_u64(w, t.sec);
        put_u32(w, t.nsec);
    }
    put_u64(w, m.dir_id);
    put_str(w, &m.target);
    put_u16(w, m.xattrs.len() as u16);
    for (name, value) in &m.xattrs {
        put_str(w, name);
        put_u32(w, value.len() as u32);
        w.extend_from_slice(value);
    }
}

pub fn read_meta(r: &mut Reader) -> Result<Meta, Bad> {
    let kind = r.u8()?;
    if !(FILE..=SOCKET).contains(&kind) {
        return Err(Bad);
    }
    let (perm, uid, gid, rdev) = (r.u32()?, r.u32()?, r.u32()?, r.u64()?);
    let mut times = [Time::default(); 3];
    for t in times.iter_mut() {
        *t = Time { sec: r.u64()?, nsec: r.u32()? };
    }
    let dir_id = r.u64()?;
    let target = r.str()?.to_string();
    let n = r.u16()?;
    let mut xattrs = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = r.str()?.to_string();
        xattrs.push((name, r.data()?.to_vec()));
    }
    Ok(Meta { kind, perm, uid, gid, rdev, atime: times[0], mtime: times[1], ctime: times[2], dir_id, target, xattrs })
}

// ---- journal ----

pub const JOURNAL_MAGIC: &[u8; 8] = b"CVMJRNL1";
pub const TABLE_MAGIC: &[u8; 8] = b"CVMTBL01";

/// A directory rename in progress: OPFS moves its files one by one, so a crash can stop it halfway.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveBegin {
    pub src_path: String,
    pub dst_path: String,
    pub src_dir_id: u64,
    pub src_name: String,
    pub dst_dir_id: u64,
    pub dst_name: String,
    pub meta: Meta,
}

/// One metadata change. Put and Delete carry absolute state, so replaying them twice is harmless.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Put { dir_id: u64, name: String, meta: Meta },
    Delete { dir_id: u64, name: String },
    MoveBegin(MoveBegin),
    MoveEnd,
}

fn write_op(w: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Put { dir_id, name, meta } => {
            w.push(1);
            put_u64(w, *dir_id);
            put_str(w, name);
            write_meta(w, meta);
        }
        Op::Delete { dir_id, name } => {
            w.push(2);
            put_u64(w, *dir_id);
            put_str(w, name);
        }
        Op::MoveBegin(m) => {
            w.push(3);
            put_str(w, &m.src_path);
            put_str(w, &m.dst_path);
            put_u64(w, m.src_dir_id);
            put_str(w, &m.src_name);
            put_u64(w, m.dst_dir_id);
            put_str(w, &m.dst_name);
            write_meta(w, &m.meta);
        }
        Op::MoveEnd => w.push(4),
    }
}

fn read_op(r: &mut Reader) -> Result<Op, Bad> {
    Ok(match r.u8()? {
        1 => Op::Put { dir_id: r.u64()?, name: r.str()?.to_string(), meta: read_meta(r)? },
        2 => Op::Delete { dir_id: r.u64()?, name: r.str()?.to_string() },
        3 => Op::MoveBegin(MoveBegin {
            src_path: r.str()?.to_string(),
            dst_path: r.str()?.to_string(),
            src_dir_id: r.u64()?,
            src_name: r.str()?.to_string(),
            dst_dir_id: r.u64()?,
            dst_name: r.str()?.to_string(),
            meta: read_meta(r)?,
        }),
        4 => Op::MoveEnd,
        _ => return Err(Bad),
    })
}

/// A record is length[4] crc32[4] ops...; all its ops apply together or not at all.
pub fn encode_record(ops: &[Op]) -> Vec<u8> {
    let mut w = vec![0u8; 8];
    for op in ops {
        write_op(&mut w, op);
    }
    let len = (w.len() - 8) as u32;
    let crc = crc32(&w[8..]);
    w[0..4].copy_from_slice(&len.to_le_bytes());
    w[4..8].copy_from_slice(&crc.to_le_bytes());
    w
}

/// Decodes records from the journal's bytes after the magic. Stops at the first record that is
/// torn or fails its checksum; returns the records and where the good prefix ends.
pub fn decode_records(bytes: &[u8]) -> (Vec<Vec<Op>>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap());
        if len == 0 || pos + 8 + len > bytes.len() {
            break;
        }
        let payload = &bytes[pos + 8..pos + 8 + len];
        if crc32(payload) != crc {
            break;
        }
        let mut r = Reader::new(payload, 0);
        let mut ops = Vec::new();
        let mut ok = true;
        while r.remaining() > 0 {
            match read_op(&mut r) {
                Ok(op) => ops.push(op),
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            break;
        }
        records.push(ops);
        pos += 8 + len;
    }
    (records, pos)
}

// ---- directory tables ----

/// magic[8] crc32[4] count[4] (name[s] meta)*count; the crc covers everything after itself.
pub fn encode_table<'a>(entries: impl Iterator<Item = (&'a str, &'a Meta)>) -> Vec<u8> {
    let mut w = Vec::with_capacity(256);
    w.extend_from_slice(TABLE_MAGIC);
    put_u32(&mut w, 0);
    put_u32(&mut w, 0);
    let mut n = 0u32;
    for (name, meta) in entries {
        put_str(&mut w, name);
        write_meta(&mut w, meta);
        n += 1;
    }
    w[12..16].copy_from_slice(&n.to_le_bytes());
    let crc = crc32(&w[12..]);
    w[8..12].copy_from_slice(&crc.to_le_bytes());
    w
}

/// The table's entries, or None when the bytes are not an intact table.
pub fn decode_table(bytes: &[u8]) -> Option<IndexMap<Meta>> {
    if bytes.len() < 16 || &bytes[0..8] != TABLE_MAGIC {
        return None;
    }
    if crc32(&bytes[12..]) != u32::from_le_bytes(bytes[8..12].try_into().unwrap()) {
        return None;
    }
    let mut r = Reader::new(bytes, 12);
    let n = r.u32().ok()?;
    let mut out = IndexMap::new();
    for _ in 0..n {
        let name = r.str().ok()?.to_string();
        out.insert(name, read_meta(&mut r).ok()?);
    }
    Some(out)
}

/// A map from names that iterates in insertion order, like a JS Map (M1 lists directories in
/// that order). Removal leaves a hole that iteration skips; holes are squeezed out when they
/// outnumber the entries.
#[derive(Clone, Debug, Default)]
pub struct IndexMap<V> {
    index: HashMap<String, usize>,
    slots: Vec<Option<(String, V)>>,
}

impl<V> IndexMap<V> {
    pub fn new() -> Self {
        IndexMap { index: HashMap::new(), slots: Vec::new() }
    }
    pub fn len(&self) -> usize {
        self.index.len()
    }
    pub fn get(&self, name: &str) -> Option<&V> {
        self.index.get(name).map(|&i| &self.slots[i].as_ref().unwrap().1)
    }
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
    /// Replaces in place (keeping the position) or appends, as Map.set does.
    pub fn insert(&mut self, name: String, v: V) {
        if let Some(&i) = self.index.get(&name) {
            self.slots[i].as_mut().unwrap().1 = v;
            return;
        }
        self.index.insert(name.clone(), self.slots.len());
        self.slots.push(Some((name, v)));
    }
    pub fn remove(&mut self, name: &str) -> Option<V> {
        let i = self.index.remove(name)?;
        let v = self.slots[i].take().map(|(_, v)| v);
        if self.slots.len() > 32 && self.slots.len() > 2 * self.index.len() {
            self.squeeze();
        }
        v
    }
    fn squeeze(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.index.clear();
        for (name, v) in old.into_iter().flatten() {
            self.index.insert(name.clone(), self.slots.len());
            self.slots.push(Some((name, v)));
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.slots.iter().flatten().map(|(n, v)| (n.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        let mut m = default_meta(SYMLINK, Time { sec: 1_700_000_000, nsec: 5 });
        m.target = "a/b\\c".into();
        m.xattrs.push(("user.x".into(), vec![1, 2, 3]));
        m
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xcbf43926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn meta_round_trips_with_the_documented_size() {
        let m = meta();
        let mut w = Vec::new();
        write_meta(&mut w, &m);
        // kind 1, perm/uid/gid 12, rdev 8, times 3*12, dirId 8, target 2+5, xattrs 2 + (2+6) + 4+3
        assert_eq!(w.len(), 1 + 12 + 8 + 36 + 8 + 7 + 2 + 8 + 7);
        assert_eq!(read_meta(&mut Reader::new(&w, 0)).unwrap(), m);
    }

    #[test]
    fn journal_stops_at_a_torn_or_corrupt_record() {
        let a = encode_record(&[Op::Put { dir_id: 7, name: "x".into(), meta: meta() }, Op::Delete { dir_id: 7, name: "y".into() }]);
        let b = encode_record(&[Op::MoveEnd]);
        let mut bytes = [a.clone(), b.clone()].concat();
        let (recs, valid) = decode_records(&bytes);
        assert_eq!(recs.len(), 2);
        assert_eq!(valid, bytes.len());
        bytes.truncate(bytes.len() - 1);
        assert_eq!(decode_records(&bytes), (vec![recs[0].clone()], a.len()));
        let mut flipped = [a.clone(), b].concat();
        flipped[10] ^= 1;
        assert_eq!(decode_records(&flipped).1, 0);
    }

    #[test]
    fn tables_round_trip_and_refuse_damage() {
        let m = meta();
        let bytes = encode_table([("one", &m), ("two", &m)].into_iter());
        let t = decode_table(&bytes).unwrap();
        assert_eq!(t.iter().map(|(n, _)| n).collect::<Vec<_>>(), vec!["one", "two"]);
        let mut bad = bytes.clone();
        bad[20] ^= 0x40;
        assert!(decode_table(&bad).is_none());
        assert!(decode_table(&bytes[..10]).is_none());
    }

    #[test]
    fn index_map_keeps_insertion_order_like_a_js_map() {
        let mut m = IndexMap::new();
        for i in 0..100 {
            m.insert(format!("n{}", i), i);
        }
        for i in 0..90 {
            m.remove(&format!("n{}", i));
        }
        m.insert("n95".into(), 0);
        m.insert("n0".into(), 1);
        let names: Vec<_> = m.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names.first().unwrap(), "n90");
        assert_eq!(names.last().unwrap(), "n0");
        assert_eq!(m.get("n95"), Some(&0));
        assert_eq!(m.len(), 11);
    }

    #[test]
    fn modes_and_kinds() {
        assert_eq!(kind_of_mode(0o100644), Some(FILE));
        assert_eq!(kind_of_mode(0o020000), Some(CHAR_DEV));
        assert_eq!(kind_of_mode(0o170000), None);
        let mut m = default_meta(BLOCK_DEV, Time::default());
        m.perm = 0o4755;
        assert_eq!(mode_of(&m), 0o064755);
        assert_eq!(time_from_ms(1500.25), Time { sec: 1, nsec: 500_250_000 });
        let _ = (FIFO, SOCKET);
    }
}
