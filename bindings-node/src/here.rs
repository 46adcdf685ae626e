//! Requests on the JavaScript thread itself: libuv watches the thread runtime's descriptor.
//!
//! A request spawned on the core's shared runtime costs two thread wake-ups (the JavaScript
//! thread hands it to a runtime worker, the worker hands the answer back). When
//! `zoho_oauth::LoopRequests` allows it (the JavaScript thread's only request in flight, past
//! the thread's warm-up) a request runs on that thread's own runtime instead: a libuv poll
//! handle watches the runtime's descriptor (`zoho_oauth::here_fd`) and takes a turn of it
//! (`zoho_oauth::drive_here`, which never waits) when it is readable, and a timer takes one
//! while the request is pending (tokio's timers do not show on the descriptor, nor does an
//! event taken in at a turn's very end), restarted after every turn with the delay
//! `LoopRequests::next_tick` gives. Requests made while others are in flight go to the shared
//! runtime, so the other cores do their HTTP while this thread runs JavaScript.
//!
//! libuv's functions are looked up in the process at run time (`dlsym`): a host without them
//! (another JavaScript runtime, a platform without the descriptor) keeps the shared runtime.
//! Both handles are unreferenced: a pending promise keeps the process alive, not they.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_int, c_void};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::OnceLock;

use napi::{Env, sys};

const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

type Handle = *mut c_void;
type PollCb = unsafe extern "C" fn(Handle, c_int, c_int);
type TimerCb = unsafe extern "C" fn(Handle);
type CloseCb = unsafe extern "C" fn(Handle);

/// The libuv functions used here, from the host process.
struct Uv {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    poll_init: unsafe extern "C" fn(*mut sys::uv_loop_s, Handle, c_int) -> c_int,
    poll_start: unsafe extern "C" fn(Handle, c_int, PollCb) -> c_int,
    poll_stop: unsafe extern "C" fn(Handle) -> c_int,
    timer_init: unsafe extern "C" fn(*mut sys::uv_loop_s, Handle) -> c_int,
    timer_start: unsafe extern "C" fn(Handle, TimerCb, u64, u64) -> c_int,
    timer_stop: unsafe extern "C" fn(Handle) -> c_int,
    unref: unsafe extern "C" fn(Handle),
    close: unsafe extern "C" fn(Handle, Option<CloseCb>),
}

fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with a NUL-terminated name on the global scope.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// The function `name` of the process as a function pointer of type `T`.
///
/// # Safety
///
/// `T` must be the function pointer type of the C function of that name.
unsafe fn func<T: Copy>(name: &CStr) -> Option<T> {
    let p = symbol(name)?;
    const { assert!(size_of::<T>() == size_of::<*mut c_void>()) };
    // SAFETY: same size; the caller vouches for the type.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

fn uv() -> Option<&'static Uv> {
    static UV: OnceLock<Option<Uv>> = OnceLock::new();
    UV.get_or_init(|| {
        // SAFETY: each symbol is libuv's function of that name, whose C signature is the one
        // declared for it in `Uv` (uv.h, stable since libuv 1.0).
        unsafe {
            Some(Uv {
                handle_size: func(c"uv_handle_size")?,
                poll_init: func(c"uv_poll_init")?,
                poll_start: func(c"uv_poll_start")?,
                poll_stop: func(c"uv_poll_stop")?,
                timer_init: func(c"uv_timer_init")?,
                timer_start: func(c"uv_timer_start")?,
                timer_stop: func(c"uv_timer_stop")?,
                unref: func(c"uv_unref")?,
                close: func(c"uv_close")?,
            })
        }
    })
    .as_ref()
}

/// One JavaScript thread's watch on its runtime.
pub(crate) struct Watch {
    env: sys::napi_env,
    uv: &'static Uv,
    poll: Handle,
    timer: Handle,
    /// Requests of this thread in flight, and which run on it ([`spawn_request`]).
    requests: Arc<zoho_oauth::LoopRequests>,
    /// Whether the timer is started.
    ticking: Cell<bool>,
}

enum Slot {
    Watching(Rc<Watch>),
    /// This env cannot watch (no libuv, no descriptor): use the shared runtime.
    Unavailable(sys::napi_env),
}

thread_local! {
    static WATCH: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

/// This thread's watch for `env`, set up on first use; `None` where it cannot be.
fn watch(env: &Env) -> Option<Rc<Watch>> {
    let raw = env.raw();
    let cached = WATCH.with(|w| match w.borrow().as_ref() {
        Some(Slot::Watching(w)) if w.env == raw => Some(Some(w.clone())),
        Some(Slot::Unavailable(e)) if *e == raw => Some(None),
        _ => None,
    });
    if let Some(c) = cached {
        return c;
    }
    let made = start(raw);
    WATCH.with(|w| {
        *w.borrow_mut() = Some(match &made {
            Some(m) => Slot::Watching(m.clone()),
            None => Slot::Unavailable(raw),
        })
    });
    made
}

fn start(env: sys::napi_env) -> Option<Rc<Watch>> {
    let uv = uv()?;
    let fd = zoho_oauth::here_fd()?;
    let mut event_loop = std::ptr::null_mut();
    // SAFETY: on the env's own thread.
    if unsafe { sys::napi_get_uv_event_loop(env, &mut event_loop) } != sys::Status::napi_ok || event_loop.is_null() {
        return None;
    }
    // SAFETY: handles are zeroed memory of libuv's size for their type, initialised on the
    // loop of this thread; freed only in `closed`, after libuv is done with them.
    unsafe {
        let poll = libc::calloc(1, (uv.handle_size)(UV_POLL));
        let timer = libc::calloc(1, (uv.handle_size)(UV_TIMER));
        if poll.is_null() || timer.is_null() {
            libc::free(poll);
            libc::free(timer);
            return None;
        }
        if (uv.poll_init)(event_loop, poll, fd) != 0 {
            libc::free(poll);
            libc::free(timer);
            return None;
        }
        if (uv.timer_init)(event_loop, timer) != 0 || (uv.poll_start)(poll, UV_READABLE, on_readable) != 0 {
            (uv.close)(poll, Some(closed));
            libc::free(timer);
            return None;
        }
        (uv.unref)(poll);
        (uv.unref)(timer);
        if sys::napi_add_env_cleanup_hook(env, Some(teardown), env as *mut c_void) != sys::Status::napi_ok {
            (uv.poll_stop)(poll);
            (uv.close)(poll, Some(closed));
            (uv.close)(timer, Some(closed));
            return None;
        }
        Some(Rc::new(Watch { env, uv, poll, timer, requests: Arc::default(), ticking: Cell::new(false) }))
    }
}

unsafe extern "C" fn closed(handle: Handle) {
    // SAFETY: allocated with calloc in `start`; libuv no longer uses it.
    unsafe { libc::free(handle) };
}

/// Env cleanup hook: stop watching and give the handles back to libuv to close.
unsafe extern "C" fn teardown(env: *mut c_void) {
    let slot = WATCH.with(|w| {
        let mut w = w.borrow_mut();
        match w.as_ref() {
            Some(Slot::Watching(x)) if x.env as *mut c_void == env => w.take(),
            _ => None,
        }
    });
    if let Some(Slot::Watching(w)) = slot {
        // SAFETY: the handles are live until these closes complete.
        unsafe {
            (w.uv.poll_stop)(w.poll);
            (w.uv.timer_stop)(w.timer);
            (w.uv.close)(w.poll, Some(closed));
            (w.uv.close)(w.timer, Some(closed));
        }
    }
}

fn current() -> Option<Rc<Watch>> {
    WATCH.with(|w| match w.borrow().as_ref() {
        Some(Slot::Watching(w)) => Some(w.clone()),
        _ => None,
    })
}

/// The poll handle's and the timer's callback (`ticked`): a turn.
fn wake(ticked: bool) {
    // Never inside a runtime: a turn there would panic (no runtime task runs JavaScript, so
    // libuv cannot call back from one; checked all the same).
    if let Some(w) = current()
        && zoho_oauth::can_block_here()
    {
        crate::promise::settle_after(w.env, || w.turn(ticked, || ()));
    }
}

unsafe extern "C" fn on_readable(_handle: Handle, _status: c_int, _events: c_int) {
    wake(false);
}

unsafe extern "C" fn on_tick(_handle: Handle) {
    wake(true);
}

impl Watch {
    /// A turn of this thread's runtime (running `start` in it first; `ticked`: the timer's),
    /// then the timer restarted while a request is pending, or stopped. Not inside a tokio
    /// runtime (`zoho_oauth::can_block_here`).
    fn turn<R>(&self, ticked: bool, start: impl FnOnce() -> R) -> R {
        let out = zoho_oauth::drive_here(start);
        let next = self.requests.next_tick(ticked);
        // SAFETY: the timer is live while the watch is (closed only in `teardown`).
        unsafe {
            match next {
                // One-shot, in whole milliseconds (libuv's unit): restarting replaces the last.
                Some(delay) => {
                    (self.uv.timer_start)(self.timer, on_tick, delay.as_millis() as u64, 0);
                }
                None if self.ticking.get() => {
                    (self.uv.timer_stop)(self.timer);
                }
                None => {}
            }
        }
        self.ticking.set(next.is_some());
        out
    }
}

/// Run the request `task`: on this JavaScript thread when its env watches the thread's runtime
/// and `zoho_oauth::LoopRequests` allows it (see the module's documentation), else on the
/// shared runtime.
pub(crate) fn spawn_request<F>(env: &Env, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let Some(w) = watch(env) else {
        drop(zoho_oauth::runtime().spawn(task));
        return;
    };
    // The watch is set up already (`watch`).
    let counted = w.requests.admit(|| true);
    if !counted.here() {
        drop(zoho_oauth::runtime().spawn(async move {
            task.await;
            drop(counted);
        }));
        return;
    }
    // `admit` said this thread is in no runtime (`zoho_oauth::request_here`): the turn can run.
    w.turn(false, move || {
        drop(tokio::spawn(async move {
            task.await;
            drop(counted);
        }))
    });
}
