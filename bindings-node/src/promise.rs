//! Promises settled from the core runtime, and cancellation tokens for `AbortSignal`.
//!
//! Settling: napi's own `Env::create_deferred` makes a threadsafe function (a libuv async handle,
//! an env cleanup hook, several allocations) for every promise and tears it down after one
//! call. Here each JavaScript thread has one threadsafe function for its whole life, and a
//! queue: a runtime worker that finishes a call pushes the settlement and calls the function
//! only when the queue was empty, so a burst of completions costs one wake-up of the event
//! loop, which then settles them all in one callback. The function keeps the event loop alive
//! only while promises are pending (ref'd from the first pending one, unref'd after the last).
//! Calls of a client with a `logger` keep napi's per-promise path, which delivers the call's
//! log records before its settlement.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Error, Result, Status, sys};
use napi_derive::napi;
use tokio::sync::Notify;
use tracing::instrument::WithSubscriber;

use crate::error::Failure;

// The option conversions import `check` from here, next to `spawn`.
pub(crate) use crate::error::check;

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelState {
    async fn cancelled(&self) {
        loop {
            // Created before the flag is read, so a cancel between the two is not missed.
            let notified = self.notify.notified();
            if self.cancelled.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// One cancellation per call: `index.js` cancels it when the call's `AbortSignal` fires; the
/// call's future is then dropped, which aborts its HTTP request.
#[napi]
#[derive(Default)]
pub struct CancelToken {
    state: Arc<CancelState>,
}

#[napi]
impl CancelToken {
    /// A token that is not cancelled yet.
    #[napi(constructor)]
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancel the call this token was given to. Idempotent.
    #[napi]
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
        self.state.notify.notify_waiters();
    }
}

/// A settlement waiting for the JavaScript thread: the promise's deferred and what settles it.
struct Settlement {
    deferred: RawDeferred,
    settle: Box<dyn FnOnce(Env) -> Result<sys::napi_value> + Send>,
}

/// A `napi_deferred`: only ever used on the JavaScript thread that created it; runtime threads
/// merely carry it through the queue.
struct RawDeferred(sys::napi_deferred);
// SAFETY: the pointer is never dereferenced off the JavaScript thread (see `drain`).
unsafe impl Send for RawDeferred {}

/// A `napi_threadsafe_function`, callable from any thread until the env tears down.
#[derive(Clone, Copy)]
struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: threadsafe functions are made to be called from other threads; the handle is taken
// out of `Queue` (under its lock) before Node frees it, so no thread calls a freed one.
unsafe impl Send for Tsfn {}

/// Shared by the JavaScript thread and the runtime workers.
struct Queue {
    items: Vec<Settlement>,
    /// None once the env tore down: settlements are dropped then (no promise to settle).
    tsfn: Option<Tsfn>,
}

struct Shared {
    queue: Mutex<Queue>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From any thread: queue `s`, and wake the JavaScript thread if it has nothing queued yet
    /// (unless this is the JavaScript thread in a turn that settles right after: [`settle_after`]).
    fn push(&self, s: Settlement) {
        let mut q = self.lock();
        let Some(tsfn) = q.tsfn else { return };
        q.items.push(s);
        if q.items.len() == 1 && !SETTLES_AFTER.get() {
            // SAFETY: `tsfn` is live while it is in the queue (taken out before teardown).
            // Non-blocking into an unbounded queue: cannot wait, fails only when closing.
            unsafe {
                sys::napi_call_threadsafe_function(
                    tsfn.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }
}

/// The JavaScript thread's half: its env, the function and the count of pending promises.
struct Local {
    env: sys::napi_env,
    tsfn: Tsfn,
    shared: Arc<Shared>,
    pending: Cell<usize>,
    /// The async context [`settle_after`] settles in, made on first use.
    context: Cell<sys::napi_async_context>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
    /// Set during [`settle_after`]'s turn: what it finishes is settled right after, no wake-up.
    static SETTLES_AFTER: Cell<bool> = const { Cell::new(false) };
}

/// This thread's settler for `env`, created on first use.
fn local(env: &Env) -> Result<Rc<Local>> {
    let raw = env.raw();
    if let Some(l) = LOCAL.with(|c| c.borrow().clone()).filter(|l| l.env == raw) {
        return Ok(l);
    }
    // Runtime threads run this addon's code after the call returns: keep it loaded.
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    let shared = Arc::new(Shared { queue: Mutex::new(Queue { items: Vec::new(), tsfn: None }) });
    let mut name = ptr::null_mut();
    let mut tsfn = ptr::null_mut();
    // SAFETY: plain napi calls on the env's own thread. The function's finalize data owns one
    // reference to `shared` (released in `finalized`); the context pointer borrows it.
    unsafe {
        status(sys::napi_create_string_utf8(raw, c"zoho-oauth settle".as_ptr(), 17, &mut name))?;
        let owned = Arc::into_raw(shared.clone()) as *mut c_void;
        let created = sys::napi_create_threadsafe_function(
            raw,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            owned,
            Some(finalized),
            owned,
            Some(drain),
            &mut tsfn,
        );
        if created != sys::Status::napi_ok {
            drop(Arc::from_raw(owned as *const Shared));
            return Err(Error::new(Status::GenericFailure, "cannot create the promise settler"));
        }
        // Idle: it must not keep the event loop alive.
        status(sys::napi_unref_threadsafe_function(raw, tsfn))?;
        // Registered after the function, so it runs before Node's own teardown of it.
        status(sys::napi_add_env_cleanup_hook(raw, Some(teardown), Arc::into_raw(shared.clone()) as *mut c_void))?;
    }
    shared.lock().tsfn = Some(Tsfn(tsfn));
    let l = Rc::new(Local {
        env: raw,
        tsfn: Tsfn(tsfn),
        shared,
        pending: Cell::new(0),
        context: Cell::new(ptr::null_mut()),
    });
    LOCAL.with(|c| *c.borrow_mut() = Some(l.clone()));
    Ok(l)
}

fn status(s: sys::napi_status) -> Result<()> {
    if s == sys::Status::napi_ok { Ok(()) } else { Err(Error::new(Status::GenericFailure, "napi call failed")) }
}

impl Local {
    fn add_pending(&self) {
        let n = self.pending.get();
        if n == 0 {
            // SAFETY: on the env's thread, with its live function.
            unsafe { sys::napi_ref_threadsafe_function(self.env, self.tsfn.0) };
        }
        self.pending.set(n + 1);
    }

    fn settled(&self, count: usize) {
        let n = self.pending.get().saturating_sub(count);
        self.pending.set(n);
        if n == 0 {
            // SAFETY: as in `add_pending`.
            unsafe { sys::napi_unref_threadsafe_function(self.env, self.tsfn.0) };
        }
    }
}

/// The threadsafe function's callback, on the JavaScript thread: settle everything queued.
unsafe extern "C" fn drain(env: sys::napi_env, _js: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
    if env.is_null() || context.is_null() {
        return; // the env is tearing down
    }
    // SAFETY: `context` is the `Shared` the function's finalize data keeps alive.
    let shared = unsafe { &*(context as *const Shared) };
    let items = std::mem::take(&mut shared.lock().items);
    let count = items.len();
    let e = Env::from_raw(env);
    for s in items {
        // SAFETY: the deferred belongs to this env and is settled exactly once, here.
        unsafe {
            match (s.settle)(e) {
                Ok(v) => sys::napi_resolve_deferred(env, s.deferred.0, v),
                Err(err) => {
                    let v = ToNapiValue::to_napi_value(env, err).unwrap_or(ptr::null_mut());
                    sys::napi_reject_deferred(env, s.deferred.0, v)
                }
            };
        }
    }
    if let Some(l) = LOCAL.with(|c| c.borrow().clone()).filter(|l| l.env == env) {
        l.settled(count);
    }
}

/// Env cleanup hook: stop handing settlements to the function before Node frees it.
unsafe extern "C" fn teardown(arg: *mut c_void) {
    // SAFETY: `arg` is the reference `local` leaked for this hook; it is released here.
    let shared = unsafe { Arc::from_raw(arg as *const Shared) };
    let (tsfn, items) = {
        let mut q = shared.lock();
        (q.tsfn.take(), std::mem::take(&mut q.items))
    };
    drop(items);
    if let Some(t) = tsfn {
        // SAFETY: still live: Node frees it only after this hook.
        unsafe { sys::napi_release_threadsafe_function(t.0, sys::ThreadsafeFunctionReleaseMode::abort) };
    }
    LOCAL.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(l) = c.as_ref().filter(|l| Arc::ptr_eq(&l.shared, &shared)) {
            let context = l.context.replace(ptr::null_mut());
            if !context.is_null() {
                // SAFETY: made by `napi_async_init` on this env, destroyed once.
                unsafe { sys::napi_async_destroy(l.env, context) };
            }
            *c = None;
        }
    });
}

/// Run `turn` (a turn of this thread's runtime, called by libuv outside any JavaScript), then
/// settle at once what finished during it, in a callback scope (as libuv callbacks into
/// JavaScript do: promise reactions and `process.nextTick` callbacks run when it closes).
/// A request on the JavaScript thread then costs no wake-up of the event loop through the
/// threadsafe function (an eventfd write and another event-loop iteration).
pub(crate) fn settle_after<R>(env: sys::napi_env, turn: impl FnOnce() -> R) -> R {
    let Some(l) = LOCAL.with(|c| c.borrow().clone()).filter(|l| l.env == env) else { return turn() };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SETTLES_AFTER.set(false);
        }
    }
    let out = {
        let _reset = Reset;
        SETTLES_AFTER.set(true);
        turn()
    };
    if !l.shared.lock().items.is_empty() {
        // SAFETY: on the env's thread, from a libuv callback (no JavaScript on the stack);
        // every scope opened here is closed here, innermost first.
        unsafe { l.drain_in_scope() };
    }
    out
}

impl Local {
    /// `drain` inside a handle scope and a callback scope of this env.
    unsafe fn drain_in_scope(&self) {
        let env = self.env;
        let shared = Arc::as_ptr(&self.shared) as *mut c_void;
        // SAFETY: see `settle_after`.
        unsafe {
            let mut handles = ptr::null_mut();
            let mut resource = ptr::null_mut();
            let mut scope = ptr::null_mut();
            let in_handles = sys::napi_open_handle_scope(env, &mut handles) == sys::Status::napi_ok;
            let opened = in_handles
                && sys::napi_create_object(env, &mut resource) == sys::Status::napi_ok
                && self.async_context(resource).is_some_and(|context| {
                    sys::napi_open_callback_scope(env, resource, context, &mut scope) == sys::Status::napi_ok
                });
            if opened {
                drain(env, ptr::null_mut(), shared, ptr::null_mut());
                sys::napi_close_callback_scope(env, scope);
            } else {
                // Settle through the threadsafe function instead.
                sys::napi_call_threadsafe_function(
                    self.tsfn.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                );
            }
            if in_handles {
                sys::napi_close_handle_scope(env, handles);
            }
        }
    }

    /// This env's async context for [`settle_after`], made on first use with `resource`.
    unsafe fn async_context(&self, resource: sys::napi_value) -> Option<sys::napi_async_context> {
        let current = self.context.get();
        if !current.is_null() {
            return Some(current);
        }
        let mut name = ptr::null_mut();
        let mut context = ptr::null_mut();
        // SAFETY: inside the handle scope `drain_in_scope` opened, on the env's thread.
        unsafe {
            if sys::napi_create_string_utf8(self.env, c"zoho-oauth settle".as_ptr(), 17, &mut name)
                != sys::Status::napi_ok
                || sys::napi_async_init(self.env, resource, name, &mut context) != sys::Status::napi_ok
            {
                return None;
            }
        }
        self.context.set(context);
        Some(context)
    }
}

/// Finalize callback of the function: release its reference to `Shared`.
unsafe extern "C" fn finalized(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the reference `local` leaked as the finalize data.
    drop(unsafe { Arc::from_raw(data as *const Shared) });
}

/// Where a call's future runs.
#[derive(Clone, Copy)]
pub(crate) enum Runs {
    /// On the core's shared runtime.
    Shared,
    /// A request (an API call, a page): without a logger, past the thread's warm-up and when no
    /// other request of the thread is in flight, on the JavaScript thread itself
    /// (`crate::here`); else on the shared runtime.
    Request,
}

/// Run `fut` on the core runtime (see [`Runs`]) and return a Promise settled with
/// `to_js(value)` or rejected with the error (built on the JavaScript thread, only then). The
/// future runs under `logger`'s dispatcher (if any) and stops when `cancel` fires.
pub(crate) fn spawn<'e, T, D, F, R>(
    runs: Runs,
    env: &'e Env,
    cancel: Option<&CancelToken>,
    dispatch: Option<&tracing::Dispatch>,
    fut: F,
    to_js: R,
) -> Result<Object<'e>>
where
    T: Send + 'static,
    D: ToNapiValue + 'static,
    F: Future<Output = zoho_oauth::Result<T>> + Send + 'static,
    R: FnOnce(T) -> Result<D> + Send + 'static,
{
    let cancel = cancel.map(|c| c.state.clone());
    // On the heap once: the wrappers below (and the task that holds them) then move a pointer,
    // not the request's state (a 2 KB future grew to an 8 KB task, copied on every move).
    let fut = Box::pin(fut);
    let outcome = async move {
        let guarded = AssertUnwindSafe(fut).catch_unwind();
        let outcome = match cancel {
            Some(c) => tokio::select! {
                r = guarded => Some(r),
                _ = c.cancelled() => None,
            },
            None => Some(guarded.await),
        };
        match outcome {
            None => Err(Failure::Aborted),
            Some(Err(_)) => Err(Failure::Panicked),
            Some(Ok(Err(e))) => Err(Failure::Core(e)),
            Some(Ok(Ok(v))) => Ok(v),
        }
    };
    // Settled on the JavaScript thread either way; a rejection's error object is built there,
    // from the classes of the environment that made the call.
    let Some(d) = dispatch else {
        let local = local(env)?;
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: on the env's thread; the deferred is settled exactly once, by `drain`.
        status(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
        local.add_pending();
        let shared = local.shared.clone();
        let deferred = RawDeferred(deferred);
        let task = async move {
            let settled = outcome.await;
            shared.push(Settlement {
                deferred,
                settle: Box::new(move |env| match settled {
                    // SAFETY: called by `drain` on the env's thread.
                    Ok(v) => to_js(v).and_then(|d| unsafe { D::to_napi_value(env.raw(), d) }),
                    Err(f) => Err(f.to_js(&env)),
                }),
            });
        };
        match runs {
            Runs::Request => crate::here::spawn_request(env, task),
            Runs::Shared => drop(zoho_oauth::runtime().spawn(task)),
        }
        return Ok(Object::from_raw(env.raw(), promise));
    };
    // With a logger: napi's own deferred, whose threadsafe function is made after the logger's,
    // so libuv delivers the call's log records before its settlement (the logger's tests rely
    // on that order; the shared settler may be older than the logger and run first).
    let (deferred, promise) = env.create_deferred()?;
    let task = async move {
        let settled = outcome.await;
        deferred.resolve(move |env| match settled {
            Ok(v) => to_js(v),
            Err(f) => Err(f.to_js(&env)),
        })
    };
    drop(zoho_oauth::runtime().spawn(task.with_subscriber(d.clone())));
    Ok(promise)
}
