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
    /// The runtime's readiness descriptor, looked up on first use ([`here_fd`]).
    fd: std::cell::OnceCell<Option<i32>>,
}

impl Here {
    /// The runtime's readiness descriptor, looked up the first time it is asked for.
    fn epoll_fd(&self) -> Option<i32> {
        #[allow(clippy::expect_used)]
        *self.fd.get_or_init(|| find_epoll_fd(self.runtime.as_ref().expect("set until dropped")))
    }
}

/// This thread's runtime descriptor if it is already known (never looks it up).
fn known_fd() -> Option<i32> {
    HERE.with(|cell| cell.borrow().as_ref().and_then(|h| h.fd.get().copied().flatten()))
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
    /// During a [`drive_here`] turn: how to end it once the runtime runs out of work.
    static TURN: RefCell<Option<std::task::Waker>> = const { RefCell::new(None) };
    /// Set when the turn's runtime was about to wait for events: the turn is over.
    static IDLE: Cell<bool> = const { Cell::new(false) };
    /// When the turn's park hook last found the descriptor empty ([`end_turn`]).
    static LOOKED: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
    /// Set when tokio's poll of its driver came [`LATE_POLL`] or more after that look: the
    /// poll may have taken in an event whose task has not run ([`drive_here`]).
    static LATE: Cell<bool> = const { Cell::new(false) };
}

/// How long after a turn's last look at its descriptor tokio's own poll of the driver may come
/// before [`drive_here`] takes another turn. Normally a microsecond apart (two system calls);
/// much later means the thread was switched out in between, for as long as a loopback server
/// takes to answer.
const LATE_POLL: std::time::Duration = std::time::Duration::from_micros(5);

/// Turns [`drive_here`] takes after a late poll, at most, before leaving the rest to the event
/// loop's tick.
const LATE_TURNS: u32 = 4;

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
        let mut builder = tokio::runtime::Builder::new_current_thread();
        builder.enable_all().on_thread_park(end_turn).on_thread_unpark(after_driver_poll);
        let runtime = builder.build().inspect_err(|e| {
            tracing::warn!(target: "zoho_oauth", error = %e,
                "cannot start this thread's own runtime; sending through the shared runtime")
        })?;
        drop(runtime.spawn(anchor_timers()));
        let fresh = Rc::new(Here {
            pid,
            runtime: Some(runtime),
            http: RefCell::new(Vec::new()),
            fd: std::cell::OnceCell::new(),
        });
        *slot = Some(fresh.clone());
        Ok(fresh)
    })
}

/// How far ahead [`anchor_timers`] keeps a timer on a thread's runtime.
const ANCHOR: std::time::Duration = std::time::Duration::from_secs(1);

/// A timer that is always pending on a thread's runtime, re-armed [`ANCHOR`] ahead when it
/// fires (which it only does while the thread drives its runtime).
///
/// Every request arms a timer (its timeout). tokio's time driver wakes its I/O driver (an
/// eventfd write) whenever a timer is armed earlier than the earliest one it knew of when it
/// last parked, which, with no timer left after the previous request, is every request's:
/// one system call more per request, and on an event loop's thread an extra readable event,
/// so an extra turn. With this timer pending, a request's timeout (seconds ahead) is later
/// than the earliest known and arms quietly; only a timeout under [`ANCHOR`] still wakes.
async fn anchor_timers() {
    loop {
        tokio::time::sleep(ANCHOR).await;
    }
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
    block_on_here_raw(async move {
        take_in_events().await;
        future.await
    })
}

/// Nothing ran on this thread's runtime since its last call: let it first take in what
/// happened meanwhile. A server that closed an idle connection left an end-of-file to read;
/// the first yield polls the I/O driver, the second lets the connection's task read it and
/// leave the pool, so the request does not go out on a dead connection (and fail without a
/// retry when it is not idempotent).
///
/// Each yield costs a wake-up of the runtime (an eventfd write) and a poll of its descriptor;
/// when the descriptor is known (looked up once per thread, on its first call) and holds no
/// event, nothing happened and both are skipped. An event the runtime took in at the very end
/// of the last call already marked its connection readable, and hyper's connection task reads
/// (and finds the end-of-file) before it writes a request handed to it, which then goes out on
/// a new connection.
async fn take_in_events() {
    if known_fd().is_none_or(readable) {
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
    }
}

/// `block_on` on this thread's runtime, marked as driving ([`driving_here`]).
fn block_on_here_raw<F: Future>(future: F) -> F::Output {
    #[allow(clippy::expect_used)]
    let here = here().expect("zoho-oauth: cannot start this thread's tokio runtime (out of file descriptors?)");
    struct Driving(bool);
    impl Drop for Driving {
        fn drop(&mut self) {
            DRIVING.set(self.0);
        }
    }
    let _restore = Driving(DRIVING.replace(true));
    // Known from the first call on: `take_in_events` and a turn's end look at it.
    here.epoll_fd();
    #[allow(clippy::expect_used)]
    here.runtime.as_ref().expect("set until dropped").block_on(future)
}

/// The `on_thread_park` hook of every thread's runtime: the runtime has no task to run and is
/// about to wait for events. Outside a [`drive_here`] turn it lets it wait (a [`block_on_here`]
/// call blocks until its future is done). Inside a turn it ends the turn instead, unless the
/// runtime's descriptor already holds events: then it lets the runtime take them in and run the
/// tasks they wake first.
fn end_turn() {
    let Some(waker) = TURN.with(|t| t.borrow_mut().take()) else { return };
    let pending = known_fd().is_some_and(readable);
    IDLE.set(!pending);
    if !pending {
        LOOKED.set(Some(std::time::Instant::now()));
        #[cfg(test)]
        tests::after_look();
    }
    // Waking the turn's future makes the runtime look for events without waiting (tokio polls
    // its driver once with a zero timeout when a park hook leaves work), then poll the future.
    waker.wake();
}

/// The `on_thread_unpark` hook of every thread's runtime: tokio has just polled its driver.
/// After [`end_turn`] found the descriptor empty, that poll may still have taken in an event
/// that arrived since, and scheduled its task, which the turn then leaves unrun while the
/// descriptor no longer shows the event. tokio tells no one, so the time between the look and
/// the poll decides: a late poll marks the turn for [`drive_here`] to follow with another.
fn after_driver_poll() {
    if let Some(looked) = LOOKED.take()
        && looked.elapsed() >= LATE_POLL
    {
        LATE.set(true);
    }
}

/// Whether `fd` has events to read, without taking them.
#[cfg(unix)]
fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 && p.revents & libc::POLLIN != 0 }
}

#[cfg(not(unix))]
fn readable(_fd: i32) -> bool {
    false
}

/// The descriptor that becomes readable when this thread's runtime ([`block_on_here`]) has
/// events to handle, so an event loop of this thread (asyncio's, libuv's) can watch it and call
/// [`drive_here`] when it does; `None` when there is none to watch (not Linux, the runtime
/// cannot be made, or its descriptor cannot be identified with certainty).
///
/// tokio does not expose its I/O driver's epoll instance. It is found by registering a probe
/// socket with the runtime and looking, in `/proc/self/fdinfo`, for the one epoll instance that
/// lists that socket (its descriptor and inode): exact, not a guess. Looked up once per thread
/// and process.
pub fn here_fd() -> Option<i32> {
    here().ok()?.epoll_fd()
}

#[cfg(target_os = "linux")]
fn find_epoll_fd(rt: &Runtime) -> Option<i32> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let _in_runtime = rt.enter();
    let (probe, _peer) = std::os::unix::net::UnixStream::pair().ok()?;
    probe.set_nonblocking(true).ok()?;
    let ino = std::fs::metadata(format!("/proc/self/fd/{}", probe.as_raw_fd())).ok()?.ino();
    // Registers the socket with this runtime's I/O driver (epoll_ctl) right away.
    let probe = tokio::net::UnixStream::from_std(probe).ok()?;
    let probe_fd = probe.as_raw_fd();
    // Only this runtime registered the probe (it is brand new, and its inode with it), so any
    // epoll instance that lists it is the runtime's (tokio holds the instance under two
    // descriptors, the poller's and its registry's).
    std::fs::read_dir("/proc/self/fd").ok()?.flatten().find_map(|entry| {
        let fd = entry.file_name().to_str()?.parse::<i32>().ok()?;
        if std::fs::read_link(entry.path()).ok()?.as_os_str() != "anon_inode:[eventpoll]" {
            return None;
        }
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
        info.lines().any(|line| lists(line, probe_fd, ino)).then_some(fd)
    })
}

/// Whether an epoll `fdinfo` line (`tfd: 7 events: 19 data: … pos:0 ino:1a2b sdev:8`) is the
/// registration of descriptor `fd` with inode `ino`.
#[cfg(target_os = "linux")]
fn lists(line: &str, fd: i32, ino: u64) -> bool {
    let mut words = line.split_whitespace();
    if words.next() != Some("tfd:") || words.next().and_then(|n| n.parse::<i32>().ok()) != Some(fd) {
        return false;
    }
    words.any(|w| w.strip_prefix("ino:").and_then(|h| u64::from_str_radix(h, 16).ok()) == Some(ino))
}

#[cfg(not(target_os = "linux"))]
fn find_epoll_fd(_rt: &Runtime) -> Option<i32> {
    None
}

/// One turn of this thread's runtime that never waits: run `start` inside the runtime (a
/// `tokio::spawn` there puts a task on it), then run every task that can make progress, taking
/// in the events already at hand, and return as soon as the runtime would have to wait. An
/// event loop calls it when [`here_fd`] is readable, and again now and then while tasks of its
/// are pending (timers do not show on the descriptor).
///
/// Tasks run as under [`block_on_here`]: requests use this thread's connections, and what
/// other threads may wait for (token refreshes, store calls) runs on the shared runtime.
///
/// A turn ends when the runtime has no task to run and its descriptor shows no event. tokio
/// then takes in events once more before it returns (tokio 1.54 polls its driver after a park
/// hook that leaves work); one that arrives in between has its task scheduled but not run, and
/// the descriptor no longer shows it. The time between is about a microsecond, unless the
/// thread is switched out there (a loopback server woken by the request just sent preempting
/// the client on its CPU). Measured on sequential Node requests to nginx: 0.04-0.2 % of the
/// requests lost their answer that way, each then waiting for the event loop's next tick, 1.6
/// to 12 % of a run's time while that tick came after 10 ms. So when tokio's poll comes late
/// after the last look (`LATE_POLL`, 5 µs, or more: 45 times in 60,000 such requests), this
/// takes another turn, which runs what that poll scheduled; the rest wait for the event loop's
/// tick ([`LoopRequests::next_tick`], 1 ms after a request starts).
///
/// # Panics
///
/// As [`block_on_here`]: inside a tokio runtime, or if this thread's runtime cannot be made
/// (check [`here_fd`] first).
pub fn drive_here<R>(start: impl FnOnce() -> R) -> R {
    let out = turn(start);
    for _ in 0..LATE_TURNS {
        if !LATE.replace(false) {
            break;
        }
        turn(|| ());
    }
    LATE.set(false);
    out
}

/// One turn of [`drive_here`].
fn turn<R>(start: impl FnOnce() -> R) -> R {
    struct EndTurn;
    impl Drop for EndTurn {
        fn drop(&mut self) {
            TURN.with(|t| t.borrow_mut().take());
            IDLE.set(false);
            LOOKED.set(None);
        }
    }
    block_on_here_raw(async move {
        let _end = EndTurn;
        // As in `block_on_here`: take in what happened since the last turn (an idle connection
        // the server closed) before `start` can pick a connection.
        take_in_events().await;
        let out = start();
        std::future::poll_fn(|cx| {
            if IDLE.replace(false) {
                return std::task::Poll::Ready(());
            }
            TURN.with(|t| *t.borrow_mut() = Some(cx.waker().clone()));
            std::task::Poll::Pending
        })
        .await;
        out
    })
}

/// The requests an event loop (a Python asyncio loop, the JavaScript thread of a Node env) has
/// in flight, and the rule for where the next one runs: on the loop's own thread, driven by
/// [`drive_here`] turns, or on the shared [`runtime()`].
///
/// On the loop's thread only when the request is the loop's **only** one in flight and the
/// loop's request before it was not part of a burst (below), the thread is past its warm-up
/// ([`request_here`]) and the loop watches [`here_fd`]. A lone request then costs no thread hand-off (two wake-ups each way
/// saved). With others in flight the loop's thread is the busy one (it runs the caller's code
/// of every request) while the runtime's workers have cores to spare: measured, one request at
/// a time on the loop's thread with 64 in flight lost 15-30 % of the requests per second.
///
/// "Alone" alone is not enough to tell a sequential caller from a busy one: a loop with 64
/// requests in flight hears of their ends in batches, and when a batch holds all of them the
/// count is zero as the first of the next 64 is sent (measured: a quarter of the requests of a
/// 64-in-flight Node benchmark ran on the JavaScript thread that way). The request before it
/// was sent with [`LoopRequests::BURST`] or more others in flight, so this one is not a
/// sequential caller's. The first request after a burst goes to the shared runtime; the
/// sequential caller's next one runs on the loop's thread again. A loop with two requests at
/// a time still runs the lone ones on its thread: it has time to spare between them.
///
/// While a request runs on the loop's thread the loop must take a turn now and then even when
/// the descriptor shows nothing ([`Self::next_tick`]).
///
/// Both bindings hold one per loop; this type is the one place the rule lives.
#[derive(Debug, Default)]
pub struct LoopRequests {
    /// Requests of the loop in flight, wherever they run.
    requests: std::sync::atomic::AtomicUsize,
    /// Those of them running on the loop's thread.
    here: std::sync::atomic::AtomicUsize,
    /// Whether the loop's last request was sent with [`Self::BURST`] or more others in flight.
    after_burst: std::sync::atomic::AtomicBool,
    /// The delay of the loop's next tick in milliseconds ([`Self::next_tick`]); 0 before the first.
    tick_ms: std::sync::atomic::AtomicU64,
}

impl LoopRequests {
    /// The longest a loop with requests on its thread's runtime goes without a turn even when
    /// the descriptor shows nothing: tokio's timers (request timeouts, retry back-off) do not
    /// show on it, nor does an event that lands in the last instant of a turn (see
    /// [`drive_here`]).
    pub const TICK: std::time::Duration = std::time::Duration::from_millis(10);

    /// The first tick after a request starts on the loop's thread. An event lost at the end of
    /// a turn is most likely right after the request was sent (a loopback or nearby server
    /// answering while the thread is switched out), and waits for this tick: measured on
    /// sequential Node requests to nginx, 2 in 1,000 lost that way, 1.6-12 % of a run's time
    /// with a 10 ms first tick. It doubles at each tick that finds requests still pending, up
    /// to [`Self::TICK`], so a slow server costs about as many turns as before (an answer after
    /// 200 ms: 22 ticks instead of 20).
    /// One millisecond: libuv's timers count whole milliseconds.
    pub const FIRST_TICK: std::time::Duration = std::time::Duration::from_millis(1);

    /// Requests already in flight when a request is sent that make it part of a burst: the
    /// loop's next request does not run on the loop's thread even when it is alone then.
    /// Measured on Node (paired runs, requests per second against the rule without bursts):
    /// two in flight at a time 0.98, four 1.07, 64 1.19; with 1 instead of 2, two in flight at
    /// a time made 0.90 of that (bench/README.md, change 7).
    pub const BURST: usize = 2;

    /// Counts a new request of the loop and says where it runs: [`LoopRequest::here`]. `watch`
    /// is asked only when everything else allows the loop's thread; it makes sure the loop
    /// watches [`here_fd`] and answers whether it does. Keep the guard alive as long as the
    /// request's task (move it into the task): dropping it is what counts the request out.
    pub fn admit(self: &Arc<Self>, watch: impl FnOnce() -> bool) -> LoopRequest {
        let others = self.requests.fetch_add(1, Ordering::Relaxed);
        let alone = others == 0;
        let after_burst = self.after_burst.swap(others >= Self::BURST, Ordering::Relaxed);
        let here = alone && !after_burst && request_here() && watch();
        if here {
            self.here.fetch_add(1, Ordering::Relaxed);
            self.tick_ms.store(0, Ordering::Relaxed);
        }
        LoopRequest { of: self.clone(), here }
    }

    /// Whether a request of the loop runs on its thread: the loop must then keep ticking.
    pub fn pending_here(&self) -> bool {
        self.here.load(Ordering::Relaxed) > 0
    }

    /// After a turn of the loop (`ticked`: one its tick took): how long until its next tick,
    /// or `None` when no request of the loop runs on its thread (no tick needed). The delay is
    /// [`Self::FIRST_TICK`] after a request starts on the loop's thread and doubles at every
    /// tick, up to [`Self::TICK`]. A loop that can restart its timer cheaply (libuv) restarts it
    /// after every turn; one that cannot (asyncio) schedules the next only once the last fired.
    pub fn next_tick(&self, ticked: bool) -> Option<std::time::Duration> {
        if !self.pending_here() {
            return None;
        }
        let (first, most) = (Self::FIRST_TICK.as_millis() as u64, Self::TICK.as_millis() as u64);
        let now = self.tick_ms.load(Ordering::Relaxed).max(first);
        let next = if ticked { (now * 2).min(most) } else { now };
        self.tick_ms.store(next, Ordering::Relaxed);
        Some(std::time::Duration::from_millis(next))
    }

    /// Requests of the loop in flight.
    pub fn in_flight(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

/// A request counted in its loop's [`LoopRequests`] until dropped (finished, failed or aborted).
#[derive(Debug)]
#[must_use = "dropping the guard counts the request out"]
pub struct LoopRequest {
    of: Arc<LoopRequests>,
    here: bool,
}

impl LoopRequest {
    /// True: run the request on the loop's thread (a `tokio::spawn` inside a [`drive_here`]
    /// turn). False: on the shared [`runtime()`].
    pub fn here(&self) -> bool {
        self.here
    }
}

impl Drop for LoopRequest {
    fn drop(&mut self) {
        self.of.requests.fetch_sub(1, Ordering::Relaxed);
        if self.here {
            self.of.here.fetch_sub(1, Ordering::Relaxed);
        }
    }
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
    // Driving: `block_on_here_raw` took this runtime for this process's PID in this very call.
    let here = HERE.with(|cell| cell.borrow().clone())?;
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
    use std::cell::RefCell;

    thread_local! {
        /// Run once by the next turn's park hook right after it found the descriptor empty.
        static AFTER_LOOK: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    pub(super) fn after_look() {
        if let Some(f) = AFTER_LOOK.with(|h| h.borrow_mut().take()) {
            f();
        }
    }

    /// An event that arrives after a turn's last look at the descriptor, while the thread is
    /// away (a server preempting it), is taken in by tokio's last poll and no longer shows on
    /// the descriptor: `drive_here` must still run its task before it returns, or the event
    /// loop would only run it at its next tick (up to 10 ms later).
    #[cfg(target_os = "linux")]
    #[test]
    fn an_event_taken_in_after_the_last_look_runs_its_task() {
        use std::io::Write;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        std::thread::spawn(|| {
            let fd = super::here_fd().expect("found on Linux");
            let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
            a.set_nonblocking(true).expect("nonblocking");
            let a = super::drive_here(|| tokio::net::UnixStream::from_std(a).expect("registered"));
            super::drive_here(|| ());
            let read = Arc::new(AtomicBool::new(false));
            let flag = read.clone();
            AFTER_LOOK.with(|h| {
                *h.borrow_mut() = Some(Box::new(move || {
                    b.write_all(b"x").expect("write");
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }))
            });
            super::drive_here(|| {
                tokio::spawn(async move {
                    a.readable().await.expect("readable");
                    let mut buf = [0u8; 1];
                    assert_eq!(a.try_read(&mut buf).expect("read"), 1);
                    flag.store(true, Ordering::SeqCst);
                })
            });
            assert!(AFTER_LOOK.with(|h| h.borrow().is_none()), "the turn ended through the hook");
            assert!(!super::readable(fd), "tokio took the event in: the descriptor does not show it");
            assert!(read.load(Ordering::SeqCst), "the task woken by that event ran within the call");
        })
        .join()
        .expect("event handled");
    }

    #[test]
    fn same_runtime_twice() {
        let a = super::runtime() as *const _;
        let b = super::runtime() as *const _;
        assert_eq!(a, b);
        assert_eq!(super::block_on(async { 41 + 1 }), 42);
    }

    /// The descriptor is an epoll instance that shows this runtime's events: it becomes readable
    /// when a socket registered with the runtime is written to, and a turn takes the event in.
    #[cfg(target_os = "linux")]
    #[test]
    fn here_fd_shows_this_runtimes_events() {
        use std::io::Write;
        let fd = super::here_fd().expect("found on Linux");
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("open descriptor");
        assert_eq!(link.as_os_str(), "anon_inode:[eventpoll]");
        let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("pair");
        a.set_nonblocking(true).expect("nonblocking");
        let a = super::drive_here(|| tokio::net::UnixStream::from_std(a).expect("registered"));
        super::drive_here(|| ());
        assert!(!super::readable(fd), "nothing happened yet");
        b.write_all(b"x").expect("write");
        assert!(super::readable(fd), "the write shows on the runtime's descriptor");
        super::drive_here(|| ());
        assert!(!super::readable(fd), "the turn took the event in");
        // A descriptor of another thread's runtime is another instance.
        let other = std::thread::spawn(super::here_fd).join().expect("thread").expect("found");
        assert_ne!(other, fd);
        drop(a);
    }

    /// Where a loop's requests run: the loop's thread only past the warm-up, only alone and
    /// after a lone request, only when the loop watches; every guard counts its request out
    /// when dropped.
    #[test]
    fn loop_requests_rule() {
        use super::{LoopRequests, WARM_UP_REQUESTS};
        use std::cell::Cell;
        use std::sync::Arc;
        std::thread::spawn(|| {
            let l = Arc::new(LoopRequests::default());
            let asked = Cell::new(0);
            let watch = |answer: bool| {
                asked.set(asked.get() + 1);
                answer
            };
            for _ in 0..WARM_UP_REQUESTS {
                let r = l.admit(|| watch(true));
                assert!(!r.here(), "warm-up requests go to the shared runtime");
            }
            assert_eq!(asked.get(), 0, "no watch asked during the warm-up");
            let first = l.admit(|| watch(true));
            assert!(first.here(), "alone, warm, watched");
            assert!(l.pending_here());
            let second = l.admit(|| watch(true));
            assert!(!second.here(), "not alone");
            assert_eq!(asked.get(), 1, "watch asked only when alone");
            assert_eq!(l.in_flight(), 2);
            drop(first);
            assert!(!l.pending_here(), "the request on the loop's thread is over");
            assert_eq!(l.in_flight(), 1);
            drop(second);
            assert_eq!(l.in_flight(), 0);
            let pair = l.admit(|| watch(true));
            assert!(pair.here(), "alone; the one before it had one other in flight: not a burst");
            drop(pair);
            let burst: Vec<_> = (0..=LoopRequests::BURST).map(|_| l.admit(|| watch(true))).collect();
            assert!(burst[0].here(), "the first of the burst was alone after a lone request");
            assert!(burst[1..].iter().all(|r| !r.here()), "the rest were not alone");
            drop(burst);
            assert_eq!(l.in_flight(), 0);
            let asked_before = asked.get();
            let after = l.admit(|| watch(true));
            assert!(!after.here(), "alone, but the request before it was sent in a burst");
            assert_eq!(asked.get(), asked_before, "watch not asked after a burst");
            drop(after);
            let next = l.admit(|| watch(true));
            assert!(next.here(), "alone after a lone request: a sequential caller again");
            drop(next);
            let unwatched = l.admit(|| watch(false));
            assert!(!unwatched.here(), "a loop that cannot watch keeps the shared runtime");
            assert!(!l.pending_here());
            drop(unwatched);
            assert_eq!(l.in_flight(), 0);
        })
        .join()
        .expect("rule holds");
    }

    /// The tick after a request starts on the loop's thread comes after `FIRST_TICK`, then
    /// doubles at every tick up to `TICK`; other turns keep the delay; a new request starts
    /// over; no tick without a request on the loop's thread.
    #[test]
    fn next_tick_backs_off() {
        use super::{LoopRequests, WARM_UP_REQUESTS};
        use std::sync::Arc;
        std::thread::spawn(|| {
            let l = Arc::new(LoopRequests::default());
            for _ in 0..WARM_UP_REQUESTS {
                drop(l.admit(|| true));
            }
            let ms = |ticked| l.next_tick(ticked).map(|d| d.as_millis());
            assert_eq!(ms(false), None, "nothing runs on the loop's thread");
            let first = l.admit(|| true);
            assert!(first.here());
            assert_eq!(ms(false), Some(1));
            assert_eq!(ms(false), Some(1), "a turn that was not a tick keeps the delay");
            let ticks: Vec<_> = (0..5).map(|_| ms(true)).collect();
            assert_eq!(ticks, [Some(2), Some(4), Some(8), Some(10), Some(10)]);
            drop(first);
            assert_eq!(ms(true), None, "the request is over");
            let next = l.admit(|| true);
            assert!(next.here());
            assert_eq!(ms(false), Some(1), "a new request starts over");
            drop(next);
        })
        .join()
        .expect("backs off");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fdinfo_lines() {
        let line = "tfd:        8 events: 80002019 data:                1  pos:0 ino:16cd46 sdev:9";
        assert!(super::lists(line, 8, 0x16cd46));
        assert!(!super::lists(line, 8, 0x16cd47), "another inode");
        assert!(!super::lists(line, 9, 0x16cd46), "another descriptor");
        assert!(!super::lists("flags:\t02000002", 8, 0x16cd46));
        assert!(!super::lists("tfd: x events: 1", 8, 0x16cd46));
    }
}
