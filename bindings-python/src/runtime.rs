//! Running core futures from Python: sync calls block on the core's runtime with the GIL
//! released; async calls return asyncio futures completed from that runtime.
//!
//! Calls run on the core's shared runtime, `zoho_oauth::runtime()` (PID-aware, so a forked
//! child gets a fresh one), except requests past a thread's warm-up, which run on that thread's
//! own runtime (`zoho_oauth::block_on_here` for `Client`, `zoho_oauth::drive_here` from the
//! event loop for `AsyncClient`, see [`crate::aio`]); nothing here starts a runtime itself.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Set by an `atexit` hook: from then on no runtime thread attaches to Python.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Runtime threads inside [`attach_unless_exiting`] (attached, or waiting for the GIL).
static ATTACHING: AtomicUsize = AtomicUsize::new(0);

/// Registered with `atexit` when the module loads; runs before the interpreter finalizes.
///
/// A thread still waiting for the GIL when finalization starts is ended by CPython with
/// `pthread_exit`, which unwinds through pyo3's attach guard and aborts the process
/// (`PyGILState_Release: thread state must be current`). So: forbid new attaches, then give the
/// GIL up until every thread already on its way in has left again (bounded, in case one is
/// stuck in Python code).
#[pyfunction]
pub(crate) fn _at_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while ATTACHING.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Run `f` with the GIL from a runtime thread, unless the interpreter is exiting (then the work
/// is dropped: nobody is left to see it, and the Python objects it holds are released through
/// pyo3's pool instead of during finalization).
pub(crate) fn attach_unless_exiting(f: impl FnOnce(Python<'_>)) {
    // Announce first, then check: with [`_at_exit`] setting the flag first and then counting,
    // either this thread sees the flag or the hook waits for it.
    ATTACHING.fetch_add(1, Ordering::SeqCst);
    if !EXITING.load(Ordering::SeqCst) {
        let _ = Python::try_attach(|py| {
            if !EXITING.load(Ordering::SeqCst) {
                f(py)
            }
        });
    }
    ATTACHING.fetch_sub(1, Ordering::SeqCst);
}

/// How often a blocked sync call looks for a pending signal (Ctrl-C) on the main thread.
const SIGNAL_POLL: Duration = Duration::from_millis(200);

/// Run `fut` to completion on the core runtime from synchronous Python code.
///
/// The future runs as a runtime task (so it and the connection tasks it talks to stay on the
/// runtime's threads, with no hand-off through this one) while this thread waits on a channel
/// with the GIL released, so other Python threads (and an in-process HTTP server) keep
/// running. Every [`SIGNAL_POLL`] it looks for a pending signal: a handler that raises (Ctrl-C's
/// `KeyboardInterrupt`) aborts the task, which drops its I/O, and the exception propagates.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    py.detach(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let task = zoho_oauth::runtime().spawn(async move {
            let _ = tx.send(fut.await);
        });
        loop {
            match rx.recv_timeout(SIGNAL_POLL) {
                Ok(out) => return Ok(out),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        task.abort();
                        return Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // The task ended without an answer: it panicked (a bug) or the runtime is
                    // shutting down.
                    return Err(PyRuntimeError::new_err(
                        "zoho_oauth: the call ended without a result (internal error)",
                    ));
                }
            }
        }
    })
}

/// Run a request to completion from synchronous Python code: once this thread has sent a few
/// (`zoho_oauth::request_here`), on this thread (`zoho_oauth::block_on_here`: the request, its
/// connection and its timers run here, no thread hand-off), else as [`block_on`] does. The GIL
/// is released; every [`SIGNAL_POLL`] it looks for a pending signal as [`block_on`] does, and a
/// handler that raises drops the request.
pub(crate) fn block_on_request<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if !zoho_oauth::request_here() {
        return block_on(py, fut);
    }
    // On the heap once: the wrappers below then move a pointer, not the request's state.
    let fut = Box::pin(fut);
    py.detach(|| {
        zoho_oauth::block_on_here(async move {
            let signals = async {
                loop {
                    tokio::time::sleep(SIGNAL_POLL).await;
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        return e;
                    }
                }
            };
            tokio::select! {
                // The request first: no random pick per wake-up.
                biased;
                out = fut => Ok(out),
                e = signals => Err(e),
            }
        })
    })
}

/// An asyncio future on the running loop, completed from the core runtime with `fut`'s
/// outcome (see [`crate::aio`]). The loop is looked up at call time, so nothing binds to one
/// loop; cancelling the asyncio future aborts the Rust task, which aborts its I/O.
pub(crate) fn into_py_future<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, zoho_oauth::Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    // On the heap once: the task wrapping it then moves a pointer, not the call's state (a
    // request's is 2 KB, and each wrapper around it would copy all of it again).
    crate::aio::spawn(py, running_loop(py)?, Box::pin(fut))
}

/// [`into_py_future`] for a request: on Linux it runs on the loop's own thread (see
/// [`crate::aio::spawn_request`]).
pub(crate) fn into_py_request_future<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, zoho_oauth::Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    crate::aio::spawn_request(py, running_loop(py)?, Box::pin(fut))
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `asyncio.get_running_loop()`: a `RuntimeError` outside a coroutine.
pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let get_loop = GET_RUNNING_LOOP.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    get_loop.bind(py).call0()
}

/// An asyncio future on the running loop that is already done with `value`: the cache-hit
/// answer of async methods, without a round trip through the runtime.
pub(crate) fn ready_future<'py, T>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>>
where
    T: IntoPyObject<'py>,
{
    let fut = running_loop(py)?.call_method0(pyo3::intern!(py, "create_future"))?;
    fut.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    Ok(fut)
}
