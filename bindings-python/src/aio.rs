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

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::intern;
use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::errors::Outcome;

type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// A finished call waiting for its loop: the asyncio future, how to build its result, and the
/// future's [`Canceller`], taken off before the result is set (see [`Completer::drain`]).
struct Done {
    fut: Py<PyAny>,
    convert: Convert,
    canceller: Py<Canceller>,
}

/// The completion queue of one event loop.
struct Completer {
    event_loop: Py<PyAny>,
    queue: Mutex<Vec<Done>>,
    /// The writing end of the wake-up socket whose reading end the loop watches (Unix; unset
    /// when the loop cannot watch a descriptor).
    #[cfg(unix)]
    wake: std::sync::OnceLock<std::os::unix::net::UnixStream>,
    /// Whether the loop watches its thread's runtime (see [`spawn_request`]), for which
    /// process: `None` until a request asks.
    watching: Mutex<Option<(u32, bool)>>,
    /// Requests of this loop in flight, and which run on its thread ([`spawn_request`]).
    requests: Arc<zoho_oauth::LoopRequests>,
    /// Whether a [`Tick`] is scheduled on the loop.
    ticking: AtomicBool,
}

fn lock<T>(q: &Mutex<T>) -> MutexGuard<'_, T> {
    q.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// The completer of the loop last seen on this thread (a thread runs one loop at a time).
    /// Holding the loop keeps its address from being reused while the entry lives.
    static CURRENT: RefCell<Option<Arc<Completer>>> = const { RefCell::new(None) };
    /// The completer whose loop is running a turn of this thread's runtime: it drains its
    /// queue right after the turn, so a result finished during the turn needs no wake-up.
    static TURN_OF: Cell<*const Completer> = const { Cell::new(std::ptr::null()) };
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
            watching: Mutex::new(None),
            requests: Arc::default(),
            ticking: AtomicBool::new(false),
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
            if TURN_OF.get() == Arc::as_ptr(self) {
                return;
            }
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
        self.completer.drain(py);
    }
}

impl Completer {
    /// Complete every queued future that is still pending (on the loop's thread).
    fn drain(&self, py: Python<'_>) {
        let batch = std::mem::take(&mut *lock(&self.queue));
        for done in batch {
            let fut = done.fut.bind(py);
            match fut.call_method0(intern!(py, "done")).and_then(|d| d.is_truthy()) {
                Ok(false) => {}
                _ => continue, // cancelled meanwhile
            }
            // Finished: nothing left to abort. Without its done-callback the future schedules
            // no callback of ours on the loop (a handle made and run per request, for nothing).
            let _ = fut.call_method1(intern!(py, "remove_done_callback"), (done.canceller.bind(py),));
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
    /// Set right after the task is spawned, before the callback is added.
    handle: std::sync::OnceLock<AbortHandle>,
}

impl Canceller {
    fn new(py: Python<'_>) -> PyResult<Py<Canceller>> {
        Py::new(py, Canceller { handle: std::sync::OnceLock::new() })
    }

    /// Let `canceller` abort `handle`'s task when `py_fut` is cancelled.
    fn watch(
        py_fut: &Bound<'_, PyAny>,
        canceller: Py<Canceller>,
        handle: &tokio::task::JoinHandle<()>,
    ) -> PyResult<()> {
        let _ = canceller.get().handle.set(handle.abort_handle());
        py_fut.call_method1(intern!(py_fut.py(), "add_done_callback"), (canceller,))?;
        Ok(())
    }
}

#[pymethods]
impl Canceller {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0(intern!(fut.py(), "cancelled"))?.is_truthy()?
            && let Some(h) = self.handle.get()
        {
            h.abort();
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
    let canceller = Canceller::new(py)?;
    let taken_off = canceller.clone_ref(py);
    let handle = zoho_oauth::runtime().spawn(async move {
        let out = fut.await;
        let convert: Convert = Box::new(move |py| Outcome(out).into_pyobject(py));
        completer.push(Done { fut: target, convert, canceller: taken_off });
    });
    Canceller::watch(&py_fut, canceller, &handle)?;
    Ok(py_fut)
}

/// A request future on `event_loop`: like [`spawn`], but on Linux the request runs on the
/// loop's own thread, on that thread's runtime (`zoho_oauth::drive_here`), which the loop
/// watches through `zoho_oauth::here_fd`: the loop's thread sends the request and reads the
/// answer itself when it arrives, with no hand-off to a runtime worker and back (two thread
/// wake-ups per request). Token refreshes and store calls still run on the shared runtime.
/// Only when `zoho_oauth::LoopRequests` says so (the loop's only request in flight, past the
/// thread's warm-up); anywhere the runtime's descriptor cannot be watched, or inside a tokio
/// runtime (a callback calling back in), this is [`spawn`].
pub(crate) fn spawn_request<'py, F, T>(
    py: Python<'py>,
    event_loop: Bound<'py, PyAny>,
    fut: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, zoho_oauth::Error>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let completer = completer_for(&event_loop);
    let counted = completer.requests.admit(|| completer.watch_here(&event_loop));
    if !counted.here() {
        return spawn(py, event_loop, async move {
            let _counted = counted;
            fut.await
        });
    }
    let py_fut = event_loop.call_method0(intern!(py, "create_future"))?;
    let target = py_fut.clone().unbind();
    let canceller = Canceller::new(py)?;
    let taken_off = canceller.clone_ref(py);
    let done_to = completer.clone();
    let handle = completer.turn(py, false, move || {
        tokio::spawn(async move {
            let out = fut.await;
            let convert: Convert = Box::new(move |py| Outcome(out).into_pyobject(py));
            done_to.push(Done { fut: target, convert, canceller: taken_off });
            drop(counted);
        })
    });
    Canceller::watch(&py_fut, canceller, &handle)?;
    Ok(py_fut)
}

impl Completer {
    /// Whether the loop watches this thread's runtime, asking it to on first use. A loop
    /// inherited through fork() keeps the parent's registration; its requests take the shared
    /// runtime.
    fn watch_here(self: &Arc<Self>, event_loop: &Bound<'_, PyAny>) -> bool {
        let pid = std::process::id();
        let mut here = lock(&self.watching);
        if let Some((p, watching)) = *here {
            return p == pid && watching;
        }
        let watching = zoho_oauth::here_fd().is_some_and(|fd| {
            event_loop
                .call_method1(intern!(event_loop.py(), "add_reader"), (fd, Turn { completer: self.clone(), pid }))
                .is_ok()
        });
        *here = Some((pid, watching));
        watching
    }

    /// One turn of this thread's runtime (running `start` in it first; `ticked`: the
    /// [`Tick`]'s), then complete what it finished and keep a [`Tick`] scheduled while
    /// requests are pending (`zoho_oauth::LoopRequests::next_tick`; a `call_later` handle is
    /// too dear to replace after every turn, so the next is scheduled once the last fired).
    fn turn<R>(self: &Arc<Self>, py: Python<'_>, ticked: bool, start: impl FnOnce() -> R) -> R {
        struct Restore(*const Completer);
        impl Drop for Restore {
            fn drop(&mut self) {
                TURN_OF.set(self.0);
            }
        }
        let out = {
            let _restore = Restore(TURN_OF.replace(Arc::as_ptr(self)));
            zoho_oauth::drive_here(start)
        };
        self.drain(py);
        if let Some(delay) = self.requests.next_tick(ticked)
            && !self.ticking.swap(true, Ordering::Relaxed)
        {
            let tick = Tick { completer: self.clone() };
            let after = delay.as_secs_f64();
            if self.event_loop.bind(py).call_method1(intern!(py, "call_later"), (after, tick)).is_err() {
                self.ticking.store(false, Ordering::Relaxed);
            }
        }
        out
    }
}

/// The loop's reader callback for its thread's runtime descriptor: a turn of the runtime.
#[pyclass(frozen, module = "zoho_oauth._native")]
struct Turn {
    completer: Arc<Completer>,
    pid: u32,
}

#[pymethods]
impl Turn {
    fn __call__(&self, py: Python<'_>) {
        // Never in a forked child (the descriptor is the parent's), never inside a runtime.
        if self.pid == std::process::id() && zoho_oauth::can_block_here() {
            self.completer.turn(py, false, || ());
        }
    }
}

/// A turn of the runtime now and then while requests are pending (`zoho_oauth::LoopRequests::next_tick`).
#[pyclass(frozen, module = "zoho_oauth._native")]
struct Tick {
    completer: Arc<Completer>,
}

#[pymethods]
impl Tick {
    fn __call__(&self, py: Python<'_>) {
        self.completer.ticking.store(false, Ordering::Relaxed);
        if zoho_oauth::can_block_here() {
            self.completer.turn(py, true, || ());
        }
    }
}
