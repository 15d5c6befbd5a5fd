//! L1: container-vm's 9P2000.L server over OPFS, in Rust for WebAssembly. It answers exactly as
//! M1 (src/p9/m1-server.ts) does and reads and writes the same share format
//! (docs/storage-format.md). The host side is src/l1/ (docs/l1.md explains the design).
//!
//! The exports below are called one at a time: the host serializes every call, including those
//! that suspend on OPFS through JSPI, so the single global server is never entered twice.

mod area;
mod errno;
mod format;
mod host;
mod server;
mod store;
mod wire;

use server::Server;
use store::Store;

static mut SERVER: Option<Server> = None;
/// The request the host copies in, and the reply it copies out.
static mut REQUEST: Vec<u8> = Vec::new();
static mut REPLY: Vec<u8> = Vec::new();
/// Set when a reply's payload was written straight into the host's reply buffer (Rread data):
/// the host then copies only the header.
static mut PAYLOAD_IN_PLACE: bool = false;

pub(crate) fn set_payload_in_place() {
    unsafe { PAYLOAD_IN_PLACE = true }
}

#[allow(clippy::mut_from_ref)]
fn server() -> &'static mut Server {
    unsafe { SERVER.as_mut().expect("the L1 server is not open") }
}

/// Makes room for a request of `request` bytes and a reply of `reply` bytes.
#[no_mangle]
pub extern "C" fn l1_reserve(request: usize, reply: usize) {
    unsafe {
        if REQUEST.len() < request {
            REQUEST.resize(request, 0);
        }
        if REPLY.len() < reply {
            REPLY.resize(reply, 0);
        }
    }
}

#[no_mangle]
pub extern "C" fn l1_request_ptr() -> *mut u8 {
    unsafe { REQUEST.as_mut_ptr() }
}

#[no_mangle]
pub extern "C" fn l1_reply_ptr() -> *mut u8 {
    unsafe { REPLY.as_mut_ptr() }
}

/// Opens the share whose OPFS path (UTF-8) is the first `len` bytes of the request buffer.
/// Returns 0, or a negative errno. Suspends (JSPI).
#[no_mangle]
pub extern "C" fn l1_open(len: usize) -> i32 {
    install_panic_hook();
    let path = unsafe { String::from_utf8_lossy(&REQUEST[..len]).into_owned() };
    match Store::open(&path) {
        Ok(store) => {
            unsafe { SERVER = Some(Server::new(store)) };
            0
        }
        Err(e) => -(e as i32),
    }
}

#[no_mangle]
pub extern "C" fn l1_open_session(id: u32, max_message: u32) {
    server().open_session(id, max_message);
}

/// Ends a session as if every fid were clunked. May suspend.
#[no_mangle]
pub extern "C" fn l1_close_session(id: u32) {
    server().close_session(id);
}

/// A session exported for a VM snapshot (Server::export_session), kept until the next export.
static mut EXPORTED: Vec<u8> = Vec::new();

/// Encodes session `id`'s state; returns its length. Its bytes are at `l1_exported_ptr`.
#[no_mangle]
pub extern "C" fn l1_export_session(id: u32) -> usize {
    unsafe {
        EXPORTED = server().export_session(id);
        EXPORTED.len()
    }
}

#[no_mangle]
pub extern "C" fn l1_exported_ptr() -> *const u8 {
    unsafe { EXPORTED.as_ptr() }
}

/// Gives session `id` the fids of the exported state in the request buffer's first `len` bytes.
/// Returns 0, or -EPROTO if the state is malformed. Suspends (JSPI).
#[no_mangle]
pub extern "C" fn l1_import_session(id: u32, len: usize) -> i32 {
    match unsafe { server().import_session(id, &REQUEST[..len]) } {
        Ok(()) => 0,
        Err(_) => -(errno::EPROTO as i32),
    }
}

/// Whether `l1_handle` can answer the request in the buffer without suspending.
#[no_mangle]
pub extern "C" fn l1_can_answer_now(session: u32, len: usize) -> u32 {
    unsafe { server().can_answer_now(session, &REQUEST[..len]) as u32 }
}

/// Answers the request in the request buffer; returns the reply's length (0: no reply). The
/// reply is in the reply buffer, except that with `l1_payload_in_place` only its header is.
#[no_mangle]
pub extern "C" fn l1_handle(session: u32, len: usize, reply_capacity: usize) -> usize {
    unsafe {
        PAYLOAD_IN_PLACE = false;
        let cap = reply_capacity.min(REPLY.len());
        server().handle(session, &REQUEST[..len], &mut REPLY[..cap])
    }
}

#[no_mangle]
pub extern "C" fn l1_payload_in_place() -> u32 {
    unsafe { PAYLOAD_IN_PLACE as u32 }
}

/// Quiet-time work: journal times, compact, flush. May suspend. Returns 0 or a negative errno.
#[no_mangle]
pub extern "C" fn l1_idle() -> i32 {
    match server().store.idle() {
        Ok(()) => 0,
        Err(e) => -(e as i32),
    }
}

/// Flushes everything and releases OPFS handles. May suspend.
#[no_mangle]
pub extern "C" fn l1_close() -> i32 {
    let result = server().close();
    unsafe { SERVER = None };
    match result {
        Ok(()) => 0,
        Err(e) => -(e as i32),
    }
}

/// A panic aborts (a trap the host sees); first its message goes to the host, which reports it.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        host::panicked(&msg);
    }));
}
