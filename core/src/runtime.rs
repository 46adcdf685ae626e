//! One process-wide tokio runtime for the language bindings, safe across `fork()`, and a
//! runtime per thread for requests driven on the calling thread.
//!
//! Bindings (Python, Node, uniffi) run every future on the shared runtime, except synchronous
//! requests ([`block_on_here`]: the Python `Client`, Rust's `send_blocking`), which run on the
//! caller's thread to save two thread wake-ups per request; the token logic and store calls
//! such a request needs still run on the shared runtime. After a `fork()` the child has no
//! worker threads, so both are keyed by PID: a child gets fresh ones and the parent's are
//! leaked (dropping them in the child is unsafe). Lock-free on purpose: a mutex held at fork
//! time would deadlock the child.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Weak};

use tokio::runtime::Runtime;

struct PidRuntime {
    pid: u32,
    runtime: Runtime,
}

static RUNTIME: AtomicPtr<PidRuntime> = AtomicPtr::new(std::ptr::null_mut());

/// The shared multi-thread runtime (2 workers, threads named `zoho-oauth-rt`), created on first
/// use and re-created in a forked child.
///
/// # Panics
///
/// Panics only if the operating system refuses to start threads.
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    loop {
        let current = RUNTIME.load(Ordering::Acquire);
        // SAFETY: pointers stored in RUNTIME come from Box::into_raw and are never freed
        // (leaked on purpose), so a non-null pointer stays valid for 'static.
        if let Some(existing) = unsafe { current.as_ref() }
            && existing.pid == pid
        {
            return &existing.runtime;
        }
        #[allow(clippy::expect_used)]
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zoho-oauth-rt")
            .enable_all()
            .build()
            .expect("zoho-oauth: cannot start the tokio runtime (out of threads?)");
        let fresh = Box::into_raw(Box::new(PidRuntime { pid, runtime }));
        match RUNTIME.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: `fresh` was just created from a Box and is now owned by RUNTIME forever.
            Ok(_) => return unsafe { &(*fresh).runtime },
            Err(_) => {
                // Another thread won the race. Ours was never published; it is leaked rather
                // than dropped, because dropping a runtime inside an async context panics.
                continue;
            }
        }
    }
}

/// Run a future to completion on the shared runtime from synchronous code.
///
/// Must not be called from inside an async context (tokio forbids nested `block_on`).
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// This thread's own current-thread runtime, and the HTTP clients whose connections live on
/// it (one per [`OAuthApp`](crate::OAuthApp) used from this thread), for the PID that made them.
struct Here {
    pid: u32,
    runtime: Option<Runtime>,
    http: RefCell<Vec<(Weak<dyn Any + Send + Sync>, reqwest::Client)>>,
}

impl Drop for Here {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            self.http.get_mut().clear();
            if let Some(rt) = self.runtime.take() {
                // The thread is ending (or the value is being replaced): nothing waits here,
                // so a slow DNS lookup on the runtime's blocking pool must not hold the exit.
                rt.shutdown_background();
            }
        } else {
            // Copied from the parent by fork(): its epoll instance and sockets are the parent's.
            // Touching them here would steal the parent's events; leak them instead.
            std::mem::forget(std::mem::take(self.http.get_mut()));
            std::mem::forget(self.runtime.take());
        }
    }
}

thread_local! {
    static HERE: RefCell<Option<Rc<Here>>> = const { RefCell::new(None) };
    static DRIVING: Cell<bool> = const { Cell::new(false) };
    static REQUESTS: Cell<u32> = const { Cell::new(0) };
}

/// Synchronous requests a thread sends through the shared runtime before it drives its
/// requests itself ([`request_here`]).
pub const WARM_UP_REQUESTS: u32 = 16;

/// True when [`block_on_here`] may be called on this thread: it is not inside any tokio
/// runtime (its own included). A binding falls back to waiting on [`runtime()`] otherwise.
pub fn can_block_here() -> bool {
    tokio::runtime::Handle::try_current().is_err()
}

/// Whether this thread should drive the synchronous request it is about to send itself
/// ([`block_on_here`]) rather than wait for the shared runtime ([`block_on`]); counts the
/// request.
///
/// A thread's first [`WARM_UP_REQUESTS`] go through the shared runtime: a thread started for
/// one job (a thread per web request, say) then reuses the process's warm connections instead
/// of paying for a runtime, an HTTP client and a TCP and TLS handshake of its own. A thread
/// that keeps sending requests drives them itself from then on, saving two thread wake-ups per
/// request. Never inside a tokio runtime.
///
/// False too when this thread's runtime cannot be made (the process is out of file
/// descriptors, say): the request then goes through the shared runtime, with a warning.
pub fn request_here() -> bool {
    let n = REQUESTS.get();
    REQUESTS.set(n.saturating_add(1));
    n >= WARM_UP_REQUESTS && can_block_here() && here().is_ok()
}

/// This thread's runtime for this process, made on first use.
fn here() -> std::io::Result<Rc<Here>> {
    let pid = std::process::id();
    HERE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(h) = slot.as_ref()
            && h.pid == pid
        {
            return Ok(h.clone());
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().inspect_err(|e| {
            tracing::warn!(target: "zoho_oauth", error = %e,
                "cannot start this thread's own runtime; sending through the shared runtime")
        })?;
        let fresh = Rc::new(Here { pid, runtime: Some(runtime), http: RefCell::new(Vec::new()) });
        *slot = Some(fresh.clone());
        Ok(fresh)
    })
}

/// Run `future` to completion on the calling thread.
///
/// The shared runtime hands every call to a worker thread and the answer back: two thread
/// wake-ups per request, most of a loopback request's time. Here the request, its
/// connection's I/O and its timers run on the caller's thread, on a current-thread runtime of
/// its own, with HTTP connections of its own (hyper's connections belong to the runtime that
/// made them: one checked out by a thread that is not driving its runtime would never move).
/// What other threads may wait for runs on the shared runtime instead: a token refresh flight
/// (so a caller that gives up cannot stall the callers waiting for it) and token-store calls
/// (whose connections, such as Redis's, are shared by every thread).
///
/// A forked child makes fresh ones; the parent's are leaked, never used.
///
/// # Panics
///
/// When called inside a tokio runtime ([`can_block_here`] is false), as tokio's `block_on`
/// does, or if the operating system refuses an epoll instance or a timer ([`request_here`]
/// checks both first and answers false instead).
pub fn block_on_here<F: Future>(future: F) -> F::Output {
    #[allow(clippy::expect_used)]
    let here = here().expect("zoho-oauth: cannot start this thread's tokio runtime (out of file descriptors?)");
    struct Driving(bool);
    impl Drop for Driving {
        fn drop(&mut self) {
            DRIVING.set(self.0);
        }
    }
    let _restore = Driving(DRIVING.replace(true));
    #[allow(clippy::expect_used)]
    here.runtime.as_ref().expect("set until dropped").block_on(async move {
        // Nothing ran here since the last call: first let the runtime take in what happened
        // meanwhile. A server that closed an idle connection left an end-of-file to read; the
        // first yield polls the I/O driver, the second lets the connection's task read it and
        // leave the pool, so the request does not go out on a dead connection (and fail
        // without a retry when it is not idempotent).
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        future.await
    })
}

/// True while this thread drives a future through [`block_on_here`].
pub(crate) fn driving_here() -> bool {
    DRIVING.get()
}

/// The HTTP client `owner` uses on this thread while it drives [`block_on_here`] (built by
/// `build` on first use), or `None` on any other thread: use the owner's shared client there.
pub(crate) fn http_here<T: Any + Send + Sync, E>(
    owner: &Arc<T>,
    build: impl FnOnce() -> std::result::Result<reqwest::Client, E>,
) -> Option<std::result::Result<reqwest::Client, E>> {
    if !driving_here() {
        return None;
    }
    let pid = std::process::id();
    let here = HERE.with(|cell| cell.borrow().as_ref().filter(|h| h.pid == pid).cloned())?;
    let key: Weak<dyn Any + Send + Sync> = Arc::downgrade(owner) as Weak<dyn Any + Send + Sync>;
    let mut http = here.http.borrow_mut();
    if let Some((_, c)) = http.iter().find(|(k, _)| k.ptr_eq(&key)) {
        return Some(Ok(c.clone()));
    }
    // Clients of owners that are gone would keep their idle connections forever.
    http.retain(|(k, _)| k.strong_count() > 0);
    Some(build().inspect(|c| http.push((key, c.clone()))))
}

/// Run `future` where every thread can rely on it making progress: on the shared runtime when
/// this thread drives [`block_on_here`] (the caller may stop driving at any time), else right
/// here. Dropping the returned future aborts the task.
pub(crate) async fn off_caller<F, T>(future: F) -> crate::Result<T>
where
    F: Future<Output = crate::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    use tracing::Instrument;
    use tracing::instrument::WithSubscriber;
    if !driving_here() {
        return future.await;
    }
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(runtime().spawn(future.in_current_span().with_current_subscriber()));
    (&mut task.0).await.unwrap_or_else(|e| {
        Err(crate::Error::new(crate::ErrorCode::Transport, format!("an internal task ended abnormally: {e}"))
            .with_hint("retry; if it persists, report it with the log"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_runtime_twice() {
        let a = super::runtime() as *const _;
        let b = super::runtime() as *const _;
        assert_eq!(a, b);
        assert_eq!(super::block_on(async { 41 + 1 }), 42);
    }
}
