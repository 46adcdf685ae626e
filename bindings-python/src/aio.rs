//! asyncio futures completed from the core's runtime.
//!
//! A call creates a future on the running loop and spawns its Rust future on
//! `zoho_oauth::runtime()`. Finished results queue up per event loop; the first one of a batch
//! wakes the loop once and the loop's own thread drains the queue, converting every result to
//! Python. On Unix the wake is one byte written to a socket pair whose other end the loop watches
//! (`loop.add_reader`): the runtime worker that finished the call needs no GIL and no other
//! thread, so one request costs two thread hand-offs (loop to worker, worker to loop), as a sync
//! call does. Elsewhere (or if the loop cannot watch a descriptor) the first result of a batch
//! asks the loop through `call_soon_threadsafe` from the blocking pool. Either way a burst of
//! completions costs one wake instead of one per request, runtime workers never wait for the
//! GIL, and nothing binds to a loop: the loop is the one running when the call is made.
//! Cancelling the asyncio future aborts the Rust task, which drops its I/O.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::intern;
use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::errors::Outcome;

type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// A finished call waiting for its loop: the asyncio future and how to build its result.
struct Done {
    fut: Py<PyAny>,
    convert: Convert,
}

/// The completion queue of one event loop.
struct Completer {
    event_loop: Py<PyAny>,
    queue: Mutex<Vec<Done>>,
    /// The writing end of the wake-up socket whose reading end the loop watches (Unix; unset
    /// when the loop cannot watch a descriptor).
    #[cfg(unix)]
    wake: std::sync::OnceLock<std::os::unix::net::UnixStream>,
}

fn lock(q: &Mutex<Vec<Done>>) -> MutexGuard<'_, Vec<Done>> {
    q.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// The completer of the loop last seen on this thread (a thread runs one loop at a time).
    /// Holding the loop keeps its address from being reused while the entry lives.
    static CURRENT: RefCell<Option<Arc<Completer>>> = const { RefCell::new(None) };
}

fn completer_for(event_loop: &Bound<'_, PyAny>) -> Arc<Completer> {
    CURRENT.with(|cell| {
        let mut current = cell.borrow_mut();
        if let Some(c) = current.as_ref()
            && c.event_loop.as_ptr() == event_loop.as_ptr()
        {
            return c.clone();
        }
        let c = Arc::new(Completer {
            event_loop: event_loop.clone().unbind(),
            queue: Mutex::new(Vec::new()),
            #[cfg(unix)]
            wake: std::sync::OnceLock::new(),
        });
        #[cfg(unix)]
        watch(event_loop, &c);
        *current = Some(c.clone());
        c
    })
}

/// Let `event_loop` watch the reading end of a new socket pair with a [`Drain`] of `completer`,
/// and give the completer the writing end. The drain owns the reading end and keeps the
/// completer (and the results queued in it) alive as long as the loop keeps the registration:
/// `loop.close()` drops both. If the loop cannot watch a descriptor, the completer keeps no
/// socket and wakes the loop through `call_soon_threadsafe`.
#[cfg(unix)]
fn watch(event_loop: &Bound<'_, PyAny>, completer: &Arc<Completer>) {
    use std::os::fd::AsRawFd;
    let Ok((reader, writer)) = std::os::unix::net::UnixStream::pair() else { return };
    if reader.set_nonblocking(true).is_err() || writer.set_nonblocking(true).is_err() {
        return;
    }
    let fd = reader.as_raw_fd();
    let drain = Drain { completer: completer.clone(), reader: Some(reader) };
    if event_loop.call_method1(intern!(event_loop.py(), "add_reader"), (fd, drain)).is_ok() {
        let _ = completer.wake.set(writer);
    }
}

impl Completer {
    /// Called on a runtime thread when a call finishes.
    fn push(self: &Arc<Self>, done: Done) {
        let first = {
            let mut q = lock(&self.queue);
            q.push(done);
            q.len() == 1
        };
        if first {
            #[cfg(unix)]
            if let Some(w) = self.wake.get() {
                use std::io::Write as _;
                // WouldBlock means the socket already holds unread wake-ups: the loop will drain.
                let _ = (&*w).write(&[1]);
                return;
            }
            let me = self.clone();
            // Attaching may wait until the loop's thread yields the GIL: do it on the blocking
            // pool, never on a runtime worker. During interpreter shutdown there is no one left
            // to wake.
            zoho_oauth::runtime().spawn_blocking(move || {
                crate::runtime::attach_unless_exiting(|py| me.schedule(py));
            });
        }
    }

    fn schedule(self: &Arc<Self>, py: Python<'_>) {
        let drain = Drain {
            completer: self.clone(),
            #[cfg(unix)]
            reader: None,
        };
        if self.event_loop.bind(py).call_method1(intern!(py, "call_soon_threadsafe"), (drain,)).is_err() {
            // The loop is closed: nobody can await these futures any more.
            let dropped = std::mem::take(&mut *lock(&self.queue));
            drop(dropped);
        }
    }
}

/// Runs on the loop's thread: completes every queued future that is still pending. As the
/// loop's reader callback it owns the reading end of the wake-up socket.
#[pyclass(frozen, module = "zoho_oauth._native")]
struct Drain {
    completer: Arc<Completer>,
    #[cfg(unix)]
    reader: Option<std::os::unix::net::UnixStream>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        #[cfg(unix)]
        if let Some(r) = &self.reader {
            use std::io::Read as _;
            let mut buf = [0u8; 256];
            // Read every pending wake-up (until WouldBlock) before taking the queue, so a result
            // pushed after the take always finds a fresh byte and a next drain.
            while matches!((&*r).read(&mut buf), Ok(n) if n > 0) {}
        }
        let batch = std::mem::take(&mut *lock(&self.completer.queue));
        for done in batch {
            let fut = done.fut.bind(py);
            match fut.call_method0(intern!(py, "done")).and_then(|d| d.is_truthy()) {
                Ok(false) => {}
                _ => continue, // cancelled meanwhile
            }
            let set = match (done.convert)(py) {
                Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
                Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
            };
            if let Err(e) = set {
                e.write_unraisable(py, Some(fut));
            }
        }
    }
}

/// Done-callback of every future: aborts the Rust task when the future was cancelled.
#[pyclass(frozen, module = "zoho_oauth._native")]
struct Canceller {
    handle: AbortHandle,
}

#[pymethods]
impl Canceller {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0(intern!(fut.py(), "cancelled"))?.is_truthy()? {
            self.handle.abort();
        }
        Ok(())
    }
}

/// A future on `event_loop` that completes with `fut`'s outcome (a value, or the typed
/// exception of a core error).
pub(crate) fn spawn<'py, F, T>(py: Python<'py>, event_loop: Bound<'py, PyAny>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, zoho_oauth::Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let completer = completer_for(&event_loop);
    let target = py_fut.clone().unbind();
    let handle = zoho_oauth::runtime().spawn(async move {
        let out = fut.await;
        let convert: Convert = Box::new(move |py| Outcome(out).into_pyobject(py));
        completer.push(Done { fut: target, convert });
    });
    py_fut.call_method1(intern!(py, "add_done_callback"), (Canceller { handle: handle.abort_handle() },))?;
    Ok(py_fut)
}
