//! One process-wide tokio runtime for the language bindings, safe across `fork()`.
//!
//! Bindings (Python, Node, uniffi) run every future on this runtime. After a `fork()` the
//! child has no worker threads, so the runtime is keyed by PID: a child gets a fresh one and the
//! parent's is leaked (dropping it in the child is unsafe). Lock-free on purpose: a mutex held
//! at fork time would deadlock the child.

use std::future::Future;
use std::sync::atomic::{AtomicPtr, Ordering};

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
