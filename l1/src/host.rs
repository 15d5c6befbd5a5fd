//! The host functions src/l1/opfs-imports.ts gives the module. Handles are small integers naming
//! JS objects (directory handles, file handles, sync access handles) in the host's table.
//!
//! Two kinds of import (docs/l1.md says why):
//! - OPFS operations that return promises are wrapped in `WebAssembly.Suspending` on the JS side:
//!   calling one suspends this wasm stack until the promise settles (JSPI), so the Rust code
//!   stays plain synchronous code.
//! - FileSystemSyncAccessHandle reads, writes, sizes and flushes are synchronous in JS and are
//!   plain imports: no suspension, no promise, a few microseconds.
//!
//! Failures come back as negative Linux errno values (the host maps DOMException names the same
//! way M1 does, src/p9/errno.ts).

use crate::format::Time;

pub type Handle = u32;
/// Ok, or a Linux errno.
pub type Res<T> = Result<T, u32>;

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "opfs")]
    extern "C" {
        // Suspending (asynchronous in JS).
        pub fn open_share(path: *const u8, len: usize, out: *mut u32) -> i32;
        pub fn get_dir(dir: u32, name: *const u8, len: usize, create: u32) -> i32;
        pub fn get_file(dir: u32, name: *const u8, len: usize, create: u32) -> i32;
        pub fn remove_entry(dir: u32, name: *const u8, len: usize, recursive: u32) -> i32;
        pub fn list_dir(dir: u32, tables: u32, table: *const u8, len: usize) -> i32;
        pub fn read_table(tables: u32, table: *const u8, len: usize) -> i32;
        pub fn move_file(file: u32, dir: u32, name: *const u8, len: usize) -> i32;
        pub fn move_tree(from: u32, to: u32) -> i32;
        pub fn remove_moved_dir(parent: u32, old: u32, moved_to: u32) -> i32;
        pub fn resolve_dir(root: u32, path: *const u8, len: usize) -> i32;
        pub fn open_sync(file: u32, shared: u32) -> i32;
        pub fn file_info(file: u32, out: *mut f64) -> i32;
        pub fn estimate(out: *mut f64) -> i32;
        // Plain (synchronous in JS).
        pub fn take_blob(out: *mut u8);
        pub fn sah_read(h: u32, ptr: *mut u8, len: usize, at: f64) -> i32;
        pub fn sah_read_out(h: u32, len: usize, at: f64, out_offset: usize) -> i32;
        pub fn sah_write(h: u32, ptr: *const u8, len: usize, at: f64) -> i32;
        pub fn sah_size(h: u32) -> f64;
        pub fn sah_truncate(h: u32, size: f64) -> i32;
        pub fn sah_flush(h: u32) -> i32;
        pub fn sah_close(h: u32);
        pub fn forget(h: u32);
        pub fn now_ms() -> f64;
        pub fn random_u32() -> u32;
        pub fn warn(ptr: *const u8, len: usize);
        pub fn panicked(ptr: *const u8, len: usize);
    }
}

/// Host tests (cargo test) have no browser: these stand-ins make any store code that reaches
/// OPFS fail loudly. The unit tests cover the parts that do not need it.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
mod imports {
    fn none() -> ! {
        panic!("OPFS host functions exist only in the browser")
    }
    pub unsafe fn open_share(_: *const u8, _: usize, _: *mut u32) -> i32 { none() }
    pub unsafe fn get_dir(_: u32, _: *const u8, _: usize, _: u32) -> i32 { none() }
    pub unsafe fn get_file(_: u32, _: *const u8, _: usize, _: u32) -> i32 { none() }
    pub unsafe fn remove_entry(_: u32, _: *const u8, _: usize, _: u32) -> i32 { none() }
    pub unsafe fn list_dir(_: u32, _: u32, _: *const u8, _: usize) -> i32 { none() }
    pub unsafe fn read_table(_: u32, _: *const u8, _: usize) -> i32 { none() }
    pub unsafe fn move_file(_: u32, _: u32, _: *const u8, _: usize) -> i32 { none() }
    pub unsafe fn move_tree(_: u32, _: u32) -> i32 { none() }
    pub unsafe fn remove_moved_dir(_: u32, _: u32, _: u32) -> i32 { none() }
    pub unsafe fn resolve_dir(_: u32, _: *const u8, _: usize) -> i32 { none() }
    pub unsafe fn open_sync(_: u32, _: u32) -> i32 { none() }
    pub unsafe fn file_info(_: u32, _: *mut f64) -> i32 { none() }
    pub unsafe fn estimate(_: *mut f64) -> i32 { none() }
    pub unsafe fn take_blob(_: *mut u8) { none() }
    pub unsafe fn sah_read(_: u32, _: *mut u8, _: usize, _: f64) -> i32 { none() }
    pub unsafe fn sah_read_out(_: u32, _: usize, _: f64, _: usize) -> i32 { none() }
    pub unsafe fn sah_write(_: u32, _: *const u8, _: usize, _: f64) -> i32 { none() }
    pub unsafe fn sah_size(_: u32) -> f64 { none() }
    pub unsafe fn sah_truncate(_: u32, _: f64) -> i32 { none() }
    pub unsafe fn sah_flush(_: u32) -> i32 { none() }
    pub unsafe fn sah_close(_: u32) { none() }
    pub unsafe fn forget(_: u32) {}
    pub unsafe fn now_ms() -> f64 { 1.7e12 }
    pub unsafe fn random_u32() -> u32 { 4 }
    pub unsafe fn warn(_: *const u8, _: usize) {}
    pub unsafe fn panicked(_: *const u8, _: usize) {}
}

fn check(r: i32) -> Res<u32> {
    if r < 0 { Err(r.unsigned_abs()) } else { Ok(r as u32) }
}

fn blob(len: i32) -> Res<Vec<u8>> {
    let n = check(len)? as usize;
    let mut v = vec![0u8; n];
    unsafe { imports::take_blob(v.as_mut_ptr()) };
    Ok(v)
}

/// Opens (creating as needed) the share at an OPFS path and its metadata area, as M1's
/// `Store.open` and `MetadataArea.open` do: (share root, journal sync handle, tables/, orphans/).
pub fn open_share(path: &str) -> Res<(Handle, Handle, Handle, Handle)> {
    let mut out = [0u32; 4];
    check(unsafe { imports::open_share(path.as_ptr(), path.len(), out.as_mut_ptr()) })?;
    Ok((out[0], out[1], out[2], out[3]))
}
pub fn get_dir(dir: Handle, name: &str, create: bool) -> Res<Handle> {
    check(unsafe { imports::get_dir(dir, name.as_ptr(), name.len(), create as u32) })
}
pub fn get_file(dir: Handle, name: &str, create: bool) -> Res<Handle> {
    check(unsafe { imports::get_file(dir, name.as_ptr(), name.len(), create as u32) })
}
pub fn remove_entry(dir: Handle, name: &str, recursive: bool) -> Res<()> {
    check(unsafe { imports::remove_entry(dir, name.as_ptr(), name.len(), recursive as u32) }).map(|_| ())
}
/// A directory's OPFS entries, read together with its metadata table (None when it has none).
/// Entries: kind u8 (1 file, 2 directory), handle u32, OPFS name str.
pub fn list_dir(dir: Handle, tables: Handle, table: &str) -> Res<(Option<Vec<u8>>, Vec<u8>)> {
    let mut all = blob(unsafe { imports::list_dir(dir, tables, table.as_ptr(), table.len()) })?;
    let n = u32::from_le_bytes(all[0..4].try_into().unwrap());
    if n == u32::MAX {
        return Ok((None, all.split_off(4)));
    }
    let entries = all.split_off(4 + n as usize);
    Ok((Some(all.split_off(4)), entries))
}
/// The bytes of a metadata table, or None when it does not exist.
pub fn read_table(tables: Handle, table: &str) -> Option<Vec<u8>> {
    blob(unsafe { imports::read_table(tables, table.as_ptr(), table.len()) }).ok()
}
pub fn move_file(file: Handle, dir: Handle, name: &str) -> Res<()> {
    check(unsafe { imports::move_file(file, dir, name.as_ptr(), name.len()) }).map(|_| ())
}
/// Moves every entry of `from` into `to` (files with move(), directories recreated).
pub fn move_tree(from: Handle, to: Handle) -> Res<()> {
    check(unsafe { imports::move_tree(from, to) }).map(|_| ())
}
/// Removes `old` from `parent` once its entries were moved to `moved_to`; entries other code
/// added meanwhile are moved too rather than deleted.
pub fn remove_moved_dir(parent: Handle, old: Handle, moved_to: Handle) -> Res<()> {
    check(unsafe { imports::remove_moved_dir(parent, old, moved_to) }).map(|_| ())
}
/// The directory at an OPFS path (names already in OPFS form) below `root`.
pub fn resolve_dir(root: Handle, path: &str) -> Option<Handle> {
    check(unsafe { imports::resolve_dir(root, path.as_ptr(), path.len()) }).ok()
}
/// A FileSystemSyncAccessHandle; `shared` asks for mode "readwrite-unsafe".
pub fn open_sync(file: Handle, shared: bool) -> Res<Handle> {
    check(unsafe { imports::open_sync(file, shared as u32) })
}
/// (size, lastModified in ms) from getFile().
pub fn file_info(file: Handle) -> Res<(u64, f64)> {
    let mut out = [0f64; 2];
    check(unsafe { imports::file_info(file, out.as_mut_ptr()) })?;
    Ok((out[0] as u64, out[1]))
}
/// (quota, usage) from navigator.storage.estimate().
pub fn estimate() -> (f64, f64) {
    let mut out = [0f64; 2];
    let _ = unsafe { imports::estimate(out.as_mut_ptr()) };
    (out[0], out[1])
}

pub fn sah_read(h: Handle, buf: &mut [u8], at: u64) -> Res<usize> {
    check(unsafe { imports::sah_read(h, buf.as_mut_ptr(), buf.len(), at as f64) }).map(|n| n as usize)
}
/// Reads straight into the caller's reply buffer (the channel's shared memory) at `out_offset`:
/// a large Rread's data never passes through wasm memory.
pub fn sah_read_out(h: Handle, len: usize, at: u64, out_offset: usize) -> Res<usize> {
    check(unsafe { imports::sah_read_out(h, len, at as f64, out_offset) }).map(|n| n as usize)
}
pub fn sah_write(h: Handle, buf: &[u8], at: u64) -> Res<usize> {
    check(unsafe { imports::sah_write(h, buf.as_ptr(), buf.len(), at as f64) }).map(|n| n as usize)
}
pub fn sah_size(h: Handle) -> u64 {
    unsafe { imports::sah_size(h) as u64 }
}
pub fn sah_truncate(h: Handle, size: u64) -> Res<()> {
    check(unsafe { imports::sah_truncate(h, size as f64) }).map(|_| ())
}
pub fn sah_flush(h: Handle) -> Res<()> {
    check(unsafe { imports::sah_flush(h) }).map(|_| ())
}
pub fn sah_close(h: Handle) {
    unsafe { imports::sah_close(h) }
}
/// Lets the host drop a handle it no longer needs to keep.
pub fn forget(h: Handle) {
    if h != 0 {
        unsafe { imports::forget(h) }
    }
}
pub fn now_ms() -> f64 {
    unsafe { imports::now_ms() }
}
pub fn now() -> Time {
    crate::format::time_from_ms(now_ms())
}
pub fn random_u32() -> u32 {
    unsafe { imports::random_u32() }
}
pub fn warn(msg: &str) {
    unsafe { imports::warn(msg.as_ptr(), msg.len()) }
}
/// Tells the host why the module is about to trap.
pub fn panicked(msg: &str) {
    unsafe { imports::panicked(msg.as_ptr(), msg.len()) }
}
