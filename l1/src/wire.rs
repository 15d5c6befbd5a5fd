//! 9P2000.L wire basics: message numbers and little-endian readers and writers. The layouts are
//! those of src/p9/messages.ts (the Linux kernel's include/net/9p/9p.h).

pub const RLERROR: u8 = 7;
pub const TSTATFS: u8 = 8;
pub const TLOPEN: u8 = 12;
pub const TLCREATE: u8 = 14;
pub const TSYMLINK: u8 = 16;
pub const TMKNOD: u8 = 18;
pub const TRENAME: u8 = 20;
pub const TREADLINK: u8 = 22;
pub const TGETATTR: u8 = 24;
pub const TSETATTR: u8 = 26;
pub const TXATTRWALK: u8 = 30;
pub const TXATTRCREATE: u8 = 32;
pub const TREADDIR: u8 = 40;
pub const TFSYNC: u8 = 50;
pub const TLOCK: u8 = 52;
pub const TGETLOCK: u8 = 54;
pub const TLINK: u8 = 70;
pub const TMKDIR: u8 = 72;
pub const TRENAMEAT: u8 = 74;
pub const TUNLINKAT: u8 = 76;
pub const TVERSION: u8 = 100;
pub const TAUTH: u8 = 102;
pub const TATTACH: u8 = 104;
pub const TFLUSH: u8 = 108;
pub const TWALK: u8 = 110;
pub const TREAD: u8 = 116;
pub const TWRITE: u8 = 118;
pub const TCLUNK: u8 = 120;
pub const TREMOVE: u8 = 122;

/// size[4] type[1] tag[2]
pub const HEADER_SIZE: usize = 7;
/// Header plus the count[4] of Rread/Twrite data.
pub const IO_OVERHEAD: u32 = 23;
pub const NOFID: u32 = 0xffffffff;
pub const MAXWELEM: usize = 16;
pub const QID_SIZE: usize = 13;

/// The bytes do not hold what the layout says (a malformed message or a damaged record).
#[derive(Debug, PartialEq)]
pub struct Bad;

/// Reads little-endian fields; every read past the end is `Bad`.
pub struct Reader<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], pos: usize) -> Self {
        Reader { b, pos }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if self.b.len() - self.pos < n {
            return Err(Bad);
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, Bad> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64, Bad> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A u16-counted string; invalid UTF-8 is Bad, as in M1.
    pub fn str(&mut self) -> Result<&'a str, Bad> {
        let n = self.u16()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| Bad)
    }
    /// A u32-counted byte string.
    pub fn data(&mut self) -> Result<&'a [u8], Bad> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    /// A message must end exactly after its last field.
    pub fn end(&self) -> Result<(), Bad> {
        if self.remaining() == 0 { Ok(()) } else { Err(Bad) }
    }
}

/// Writes little-endian fields into a reply buffer. Running out of room sets `overflow` (the
/// server then answers EIO, as M1 does when a reply does not fit).
pub struct Writer<'a> {
    pub b: &'a mut [u8],
    pub pos: usize,
    pub overflow: bool,
}

impl<'a> Writer<'a> {
    pub fn new(b: &'a mut [u8], pos: usize) -> Self {
        Writer { b, pos, overflow: false }
    }
    pub fn bytes(&mut self, v: &[u8]) {
        if self.b.len() - self.pos.min(self.b.len()) < v.len() {
            self.overflow = true;
            return;
        }
        self.b[self.pos..self.pos + v.len()].copy_from_slice(v);
        self.pos += v.len();
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.u16(s.len() as u16);
        self.bytes(s.as_bytes());
    }
    pub fn qid(&mut self, q: Qid) {
        self.u8(q.kind);
        self.u32(q.version);
        self.u64(q.path);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Qid {
    pub kind: u8,
    /// Changes with the inode's ctime (Server::qid); 0 in a directory listing.
    pub version: u32,
    pub path: u64,
}

pub const QID_DIR: u8 = 0x80;
pub const QID_SYMLINK: u8 = 0x02;
pub const QID_FILE: u8 = 0;

/// Starts a reply: the size is filled in by `finish`.
pub fn begin(b: &mut [u8], ty: u8, tag: u16) -> Writer<'_> {
    let mut w = Writer::new(b, 0);
    w.u32(0);
    w.u8(ty);
    w.u16(tag);
    w
}

/// Writes the size field and returns the reply's length, or None when it did not fit.
pub fn finish(w: Writer) -> Option<usize> {
    if w.overflow {
        return None;
    }
    let n = w.pos;
    w.b[0..4].copy_from_slice(&(n as u32).to_le_bytes());
    Some(n)
}

pub fn error_reply(b: &mut [u8], tag: u16, errno: u32) -> usize {
    let mut w = begin(b, RLERROR, tag);
    w.u32(errno);
    finish(w).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_short_fields_and_bad_utf8() {
        let mut r = Reader::new(&[3, 0, b'a', b'b'], 0);
        assert_eq!(r.str(), Err(Bad));
        let mut r = Reader::new(&[2, 0, 0xc3, 0x28], 0);
        assert_eq!(r.str(), Err(Bad));
        let mut r = Reader::new(&[2, 0, 0xc3, 0xa9, 9], 0);
        assert_eq!(r.str(), Ok("é"));
        assert_eq!(r.end(), Err(Bad));
        assert_eq!(r.u8(), Ok(9));
        assert_eq!(r.end(), Ok(()));
        assert_eq!(r.u32(), Err(Bad));
    }

    #[test]
    fn writer_reports_overflow_and_error_replies_are_11_bytes() {
        let mut buf = [0u8; 16];
        assert_eq!(error_reply(&mut buf, 0x1234, 2), 11);
        assert_eq!(&buf[..11], &[11, 0, 0, 0, RLERROR, 0x34, 0x12, 2, 0, 0, 0]);
        let mut small = [0u8; 8];
        let mut w = begin(&mut small, RLERROR, 1);
        w.u32(5);
        assert!(finish(w).is_none());
    }
}
