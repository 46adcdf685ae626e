//! The floor for a native Node addon sending one HTTP request at a time: the least any addon
//! can do per request on the JavaScript thread. `get()` writes a prebuilt keep-alive GET to a
//! connected socket and returns a napi promise; a libuv poll handle watches the socket, and
//! when the whole answer is in (headers and `content-length` bytes) the promise settles with
//! its length inside a callback scope, so the caller's `await` continues as it would after any
//! addon's promise. No HTTP library, no runtime, no parsing beyond the answer's end.
//!
//! It measures what Node itself (the napi call, the promise, libuv's dispatch, V8's microtask
//! run) costs per request, next to `bench/raw/floor.rs` (the same without Node) and the
//! core driven the same way (`core_client … here`): bench/README.md, "Change 11". Build and run:
//!
//! ```sh
//! cargo build --release -p zoho-oauth-bench-floor
//! node bench/node/floor.mjs URL HEADER_VALUE SECONDS
//! ```

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::ptr;

use napi::bindgen_prelude::Object;
use napi::{Env, Error, Result, sys};
use napi_derive::napi;

type Handle = *mut c_void;

const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;

// libuv's functions, exported by the node binary the addon is loaded into.
unsafe extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(event_loop: *mut sys::uv_loop_s, handle: Handle, fd: c_int) -> c_int;
    fn uv_poll_start(handle: Handle, events: c_int, cb: unsafe extern "C" fn(Handle, c_int, c_int)) -> c_int;
    fn uv_ref(handle: Handle);
    fn uv_unref(handle: Handle);
}

/// The one connection of this thread.
struct Connection {
    env: sys::napi_env,
    socket: TcpStream,
    /// The poll handle: referenced (keeping the process alive) only while a request is pending.
    poll: Handle,
    request: Vec<u8>,
    answer: Vec<u8>,
    /// The pending `get()`'s promise; null when none is pending.
    deferred: sys::napi_deferred,
    resource: sys::napi_ref,
    context: sys::napi_async_context,
}

thread_local! {
    static CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

fn failed(what: &str, status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok { Ok(()) } else { Err(Error::from_reason(format!("{what} failed ({status})"))) }
}

/// Connect to `host:port` and keep `request` (a whole HTTP/1.1 request, keep-alive) to send
/// at every `get()`.
#[napi]
pub fn connect(env: Env, host: String, port: u32, request: String) -> Result<()> {
    if CONNECTION.with(|c| c.borrow().is_some()) {
        return Err(Error::from_reason("already connected: one connection per thread"));
    }
    let port = u16::try_from(port).map_err(|_| Error::from_reason("port must be below 65536"))?;
    let socket = TcpStream::connect((host.as_str(), port)).map_err(|e| Error::from_reason(format!("connect: {e}")))?;
    socket
        .set_nodelay(true)
        .and_then(|()| socket.set_nonblocking(true))
        .map_err(|e| Error::from_reason(e.to_string()))?;
    let raw = env.raw();
    // SAFETY: napi calls on the env's own thread with valid out-pointers; the poll handle is
    // zeroed memory of libuv's size for it, initialised on this env's loop and never freed (it
    // lives as long as the process, which this benchmark tool is).
    unsafe {
        let mut event_loop = ptr::null_mut();
        failed("napi_get_uv_event_loop", sys::napi_get_uv_event_loop(raw, &mut event_loop))?;
        let handle = libc::calloc(1, uv_handle_size(UV_POLL));
        if handle.is_null() {
            return Err(Error::from_reason("out of memory"));
        }
        if uv_poll_init(event_loop, handle, socket.as_raw_fd()) != 0
            || uv_poll_start(handle, UV_READABLE, on_readable) != 0
        {
            return Err(Error::from_reason("uv_poll_init/uv_poll_start failed"));
        }
        // Referenced only while a request is pending (`get`), as a socket of Node's own is.
        uv_unref(handle);
        let (mut resource, mut reference, mut name, mut context) =
            (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        failed("napi_create_object", sys::napi_create_object(raw, &mut resource))?;
        failed("napi_create_reference", sys::napi_create_reference(raw, resource, 1, &mut reference))?;
        failed("napi_create_string_utf8", sys::napi_create_string_utf8(raw, c"floor".as_ptr(), 5, &mut name))?;
        failed("napi_async_init", sys::napi_async_init(raw, resource, name, &mut context))?;
        CONNECTION.with(|c| {
            *c.borrow_mut() = Some(Connection {
                env: raw,
                socket,
                poll: handle,
                request: request.into_bytes(),
                answer: Vec::with_capacity(8192),
                deferred: ptr::null_mut(),
                resource: reference,
                context,
            })
        });
    }
    Ok(())
}

/// Send the request; the promise settles with the length of the answer, head included.
#[napi(ts_return_type = "Promise<number>")]
pub fn get<'e>(env: &'e Env) -> Result<Object<'e>> {
    CONNECTION.with(|c| {
        let mut c = c.borrow_mut();
        let c = c.as_mut().ok_or_else(|| Error::from_reason("call connect() first"))?;
        if !c.deferred.is_null() {
            return Err(Error::from_reason("one request at a time"));
        }
        // A loopback socket takes a request of a few hundred bytes at once.
        c.socket.write_all(&c.request).map_err(|e| Error::from_reason(format!("write: {e}")))?;
        c.answer.clear();
        // SAFETY: the handle lives as long as the process (`connect`).
        unsafe { uv_ref(c.poll) };
        let mut promise = ptr::null_mut();
        // SAFETY: on the env's thread, valid out-pointers.
        failed("napi_create_promise", unsafe { sys::napi_create_promise(env.raw(), &mut c.deferred, &mut promise) })?;
        // `promise` is a live value of this env, in the caller's handle scope.
        Ok(Object::from_raw(env.raw(), promise))
    })
}

/// Whether `answer` holds a whole response: its head and `content-length` bytes of body.
fn complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let length = String::from_utf8_lossy(&answer[..end])
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            if name.eq_ignore_ascii_case("content-length") { value.trim().parse::<usize>().ok() } else { None }
        })
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}

unsafe extern "C" fn on_readable(_handle: Handle, _status: c_int, _events: c_int) {
    // Read what is there; settle once the answer is whole, or reject when the connection ends
    // or fails first (never a promise left pending). The borrow ends before the promise
    // settles: the caller's continuation calls `get()` again.
    let settle = CONNECTION.with(|c| {
        let mut c = c.borrow_mut();
        let c = c.as_mut()?;
        let mut chunk = [0u8; 8192];
        let ended = loop {
            match c.socket.read(&mut chunk) {
                Ok(0) => break Some("the server closed the connection".to_owned()),
                Ok(n) => c.answer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break None,
                Err(e) => break Some(format!("read: {e}")),
            }
        };
        if c.deferred.is_null() {
            return None;
        }
        let outcome = if complete(&c.answer) { Ok(c.answer.len()) } else { Err(ended?) };
        let deferred = std::mem::replace(&mut c.deferred, ptr::null_mut());
        // SAFETY: as in `get`.
        unsafe { uv_unref(c.poll) };
        Some((c.env, deferred, c.resource, c.context, outcome))
    });
    let Some((env, deferred, resource, context, outcome)) = settle else { return };
    // SAFETY: a libuv callback on the env's thread (no JavaScript on the stack); the scopes
    // opened here are closed here, innermost first; `deferred` is settled once.
    unsafe {
        let (mut handles, mut object, mut scope, mut value) =
            (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        sys::napi_open_handle_scope(env, &mut handles);
        sys::napi_get_reference_value(env, resource, &mut object);
        sys::napi_open_callback_scope(env, object, context, &mut scope);
        match outcome {
            Ok(length) => {
                sys::napi_create_uint32(env, u32::try_from(length).unwrap_or(u32::MAX), &mut value);
                sys::napi_resolve_deferred(env, deferred, value);
            }
            Err(message) => {
                let mut text = ptr::null_mut();
                sys::napi_create_string_utf8(env, message.as_ptr().cast(), message.len() as isize, &mut text);
                sys::napi_create_error(env, ptr::null_mut(), text, &mut value);
                sys::napi_reject_deferred(env, deferred, value);
            }
        }
        // The microtasks (the caller's continuation) run as the callback scope closes.
        sys::napi_close_callback_scope(env, scope);
        sys::napi_close_handle_scope(env, handles);
    }
}
