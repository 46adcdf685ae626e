//! Requests driven on the calling thread (`send_blocking`, and the Python binding's sync
//! `Client`, through `block_on_here`): what must keep working when the thread that drove a
//! request stops driving its runtime. Against zoho-mock over real HTTP, the mock on the shared
//! runtime.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::{Env, SCOPES};
use zoho_mock::Fault;
use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{CasStore, Client, ErrorCode, KeyValueStore, KvError, RetryPolicy, WARM_UP_REQUESTS};

const LEADS: &str = "GET /crm/v8/Leads";

/// Send this thread's warm-up requests, so that its next ones are driven on it.
fn warm_up_this_thread(client: &Client) {
    for _ in 0..WARM_UP_REQUESTS {
        assert_eq!(client.get("/crm/v8/Leads").send_blocking().expect("warm-up request").status(), 200);
    }
}

/// A connection made by one thread's request is never handed to another thread: thread A's
/// runtime does not run while A waits on a channel, so a connection of A's taken by B would
/// never answer (B would hit its timeout).
#[test]
fn a_thread_that_stops_driving_keeps_its_connections_to_itself() {
    let env = zoho_oauth::block_on(Env::start());
    // The token comes from another app (another connection pool), so that no connection of the
    // refresh, made on the shared runtime, serves the API requests below.
    let rt = env.refresh_token(SCOPES);
    let warm = Client::builder(env.app(), rt.clone()).build().expect("client");
    let token = zoho_oauth::block_on(warm.token_set()).expect("token");
    let client = Client::builder(env.app(), rt).initial_token((*token).clone()).build().expect("client");
    // Each thread warms up on a client of its own, so that `client`'s first connection is
    // made by A's own runtime.
    let (warm_a, warm_b) = (env.client(), env.client());
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let a = {
        let client = client.clone();
        std::thread::spawn(move || {
            warm_up_this_thread(&warm_a);
            for _ in 0..3 {
                let r = client.get("/crm/v8/Leads").send_blocking().expect("A's request");
                assert_eq!(r.status(), 200);
            }
            // A lets its connection settle into the pool (idle and ready for a next request),
            // then stops driving its runtime.
            zoho_oauth::block_on_here(async { tokio::time::sleep(Duration::from_millis(50)).await });
            parked_tx.send(()).expect("main waits");
            release_rx.recv().expect("main releases");
            let r = client.get("/crm/v8/Leads").send_blocking().expect("A's request after the pause");
            assert_eq!(r.status(), 200);
        })
    };
    parked_rx.recv().expect("A parked");
    let b = {
        let client = client.clone();
        std::thread::spawn(move || {
            warm_up_this_thread(&warm_b);
            let started = Instant::now();
            for _ in 0..3 {
                let r =
                    client.get("/crm/v8/Leads").timeout(Duration::from_secs(5)).send_blocking().expect("B's request");
                assert_eq!(r.status(), 200);
            }
            started.elapsed()
        })
    };
    let took = b.join().expect("B ran");
    assert!(took < Duration::from_secs(4), "B waited on a connection of the parked thread: {took:?}");
    release_tx.send(()).expect("A waits");
    a.join().expect("A ran");
    // And the shared runtime's pool is not disturbed by either thread's.
    let r = zoho_oauth::block_on(client.get("/crm/v8/Leads").send()).expect("async request");
    assert_eq!(r.status(), 200);
    assert_eq!(env.mock.counters().api_calls(LEADS), u64::from(2 * WARM_UP_REQUESTS + 8));
    assert_eq!(env.refreshes(), 3, "the two warm-up clients' and the client's");
}

/// A caller that gives up while it leads a refresh (its deadline passes) stops driving; the
/// flight must go on for the caller that waits for it, so it runs on the shared runtime.
#[test]
fn a_caller_that_gives_up_does_not_stall_the_refresh_another_waits_for() {
    let env = zoho_oauth::block_on(Env::start());
    let rt = env.refresh_token(SCOPES);
    let impatient = Client::builder(env.app(), rt.clone())
        .retry_policy(RetryPolicy { deadline: Duration::from_millis(300), ..RetryPolicy::default() })
        .build()
        .expect("client");
    let patient = Client::builder(env.app(), rt).build().expect("client");
    // Each thread warms up (so it drives its next request itself), waits for its turn, sends
    // its request, reports, and stays alive without driving its runtime until released.
    let thread = |client: Client, turn: mpsc::Receiver<()>, warmed: mpsc::Sender<()>| {
        let warm = env.client();
        let (report_tx, report_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            warm_up_this_thread(&warm);
            warmed.send(()).expect("main waits");
            turn.recv().expect("main gives the turn");
            let started = Instant::now();
            let outcome = client.get("/crm/v8/Leads").send_blocking().map(|r| r.status()).map_err(|e| e.code());
            report_tx.send((outcome, started.elapsed())).expect("main waits");
            let _ = release_rx.recv();
        });
        (report_rx, release_tx, handle)
    };
    let (warmed_tx, warmed_rx) = mpsc::channel();
    let (a_go, a_turn) = mpsc::channel();
    let (b_go, b_turn) = mpsc::channel();
    let (a, a_release, a_thread) = thread(impatient, a_turn, warmed_tx.clone());
    let (b, b_release, b_thread) = thread(patient, b_turn, warmed_tx);
    warmed_rx.recv().expect("a thread warmed up");
    warmed_rx.recv().expect("both threads warmed up");
    let before = env.refreshes();
    let mut slow = Fault::new("/oauth/v2/token", 1);
    slow.delay_ms = Some(1_500);
    env.mock.inject_fault(slow).expect("fault");
    // A starts the flight, gives up after 300 ms and stops driving its runtime; B joins the
    // flight meanwhile and waits for it.
    a_go.send(()).expect("A waits");
    std::thread::sleep(Duration::from_millis(50));
    b_go.send(()).expect("B waits");
    let (a_outcome, _) = a.recv().expect("A reports");
    assert_eq!(a_outcome, Err(ErrorCode::Timeout));
    let (b_outcome, took) = b.recv_timeout(Duration::from_secs(20)).expect("B reports");
    assert_eq!(b_outcome, Ok(200), "B gets the flight's token");
    assert!(took < Duration::from_secs(5), "B waited for a flight nobody drove: {took:?}");
    assert_eq!(env.refreshes(), before + 1, "one flight for both callers");
    for (release, handle) in [(a_release, a_thread), (b_release, b_thread)] {
        release.send(()).expect("the thread waits");
        handle.join().expect("the thread ran");
    }
}

/// A string map that records which thread called it.
#[derive(Default)]
struct ThreadRecordingKv {
    map: Mutex<HashMap<String, String>>,
    threads: Mutex<Vec<ThreadId>>,
}

impl ThreadRecordingKv {
    fn saw(&self) {
        self.threads.lock().expect("lock").push(std::thread::current().id());
    }
}

impl KeyValueStore for ThreadRecordingKv {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, KvError>> {
        self.saw();
        let v = self.map.lock().expect("lock").get(key).cloned();
        Box::pin(async move { Ok(v) })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, KvError>> {
        self.saw();
        let mut map = self.map.lock().expect("lock");
        let ok = map.get(key).map(String::as_str) == expected;
        if ok {
            match new {
                Some(v) => map.insert(key.to_string(), v.to_string()),
                None => map.remove(key),
            };
        }
        Box::pin(async move { Ok(ok) })
    }

    fn keys(&self) -> BoxFuture<'_, Result<Vec<String>, KvError>> {
        self.saw();
        let keys = self.map.lock().expect("lock").keys().cloned().collect();
        Box::pin(async move { Ok(keys) })
    }
}

/// Store calls (a first refresh, a dead-token 401's invalidation and refresh) never run on a
/// thread's own runtime: a store's connections (Redis's reconnects, say) would otherwise be
/// made there and stall every other thread once this one stops driving.
#[test]
fn store_calls_never_run_on_the_calling_thread() {
    let env = zoho_oauth::block_on(Env::start());
    let kv = Arc::new(ThreadRecordingKv::default());
    let store = Arc::new(CasStore::new(kv.clone(), "ThreadRecordingKv"));
    let seeded = env.dead_token();
    let client = Client::builder(env.app(), env.refresh_token(SCOPES))
        .token_store(store)
        .initial_token(seeded)
        .build()
        .expect("client");
    warm_up_this_thread(&env.client());
    let me = std::thread::current().id();
    let r = client.get("/crm/v8/Leads").send_blocking().expect("send");
    assert_eq!(r.status(), 200, "the dead token's 401 was followed by a refresh and a retry");
    assert_eq!(env.refreshes(), 2, "the warm-up client's and this one's");
    assert_eq!(env.mock.counters().api_calls(LEADS), u64::from(WARM_UP_REQUESTS) + 2);
    let threads = kv.threads.lock().expect("lock").clone();
    assert!(!threads.is_empty(), "the refresh used the store");
    assert!(!threads.contains(&me), "a store call ran on the calling thread");
}

/// A bare HTTP/1.1 server with keep-alive that counts its connections and, when asked, closes a
/// connection that stays idle for `close_idle_after` (as servers and load balancers do).
struct RawServer {
    url: String,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl RawServer {
    fn start(close_idle_after: Option<Duration>) -> RawServer {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = zoho_oauth::block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        zoho_oauth::runtime().spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // Read one request: its head, then its Content-Length body.
                        let mut chunk = [0u8; 4096];
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let read = socket.read(&mut chunk);
                            let n = match close_idle_after {
                                Some(idle) if buf.is_empty() => match tokio::time::timeout(idle, read).await {
                                    Ok(r) => r,
                                    Err(_) => return, // idle too long: close
                                },
                                _ => read.await,
                            };
                            match n {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                        let body_len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buf.len() < head_end + body_len {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + body_len);
                        let answer =
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        RawServer { url, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A client of `env`'s identity whose API requests go to `server`.
fn client_for(env: &Env, server: &RawServer) -> Client {
    Client::builder(env.app(), env.refresh_token(SCOPES)).api_domain(server.url.clone()).build().expect("client")
}

/// A connection the server closed while the thread was not driving its runtime is not used for
/// the next request: a POST (never retried) on it would fail.
#[test]
fn a_connection_closed_while_the_thread_was_away_is_not_reused() {
    let env = zoho_oauth::block_on(Env::start());
    let server = RawServer::start(Some(Duration::from_millis(100)));
    let client = client_for(&env, &server);
    for _ in 0..WARM_UP_REQUESTS + 2 {
        assert_eq!(client.get("/crm/v8/Leads").send_blocking().expect("get").status(), 200);
    }
    let before = server.connections();
    // The server closes the idle connection; this thread is not driving its runtime meanwhile.
    std::thread::sleep(Duration::from_millis(400));
    for _ in 0..3 {
        let r =
            client.post("/crm/v8/Leads").json_str(r#"{"data":[]}"#).send_blocking().expect("a POST after the close");
        assert_eq!(r.status(), 200);
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(server.connections() > before, "the closed connections were replaced");
}

/// Threads that send a request or two (a thread per job) share the process's warm connections
/// instead of each opening its own.
#[test]
fn short_lived_threads_share_the_warm_connections() {
    let env = zoho_oauth::block_on(Env::start());
    let server = RawServer::start(None);
    let client = client_for(&env, &server);
    assert_eq!(client.get("/crm/v8/Leads").send_blocking().expect("get").status(), 200);
    for _ in 0..8 {
        let c = client.clone();
        std::thread::spawn(move || {
            for _ in 0..2 {
                assert_eq!(c.get("/crm/v8/Leads").send_blocking().expect("get").status(), 200);
            }
        })
        .join()
        .expect("thread");
    }
    // Usually one; a request that comes before the previous one's connection is back in the
    // shared pool opens another. A connection per thread (nine or more) is what must not be.
    let connections = server.connections();
    assert!(connections < 8, "{connections} connections for 9 threads of 1 or 2 requests each");
}

// `drive_here`: an event loop (asyncio's, libuv's) watches its thread's runtime through
// `here_fd` and takes non-blocking turns of it. The loop below stands in for one.

/// Wait until the thread's runtime descriptor is readable, then take a turn; until `done` says
/// so. Returns `done`'s answer and how many waits ended without the descriptor being readable
/// (with `tick`, the loop's timer; without, after 2 s).
#[cfg(target_os = "linux")]
fn event_loop<T>(tick: Option<Duration>, mut done: impl FnMut() -> Option<T>) -> (T, usize) {
    let fd = zoho_oauth::here_fd().expect("the runtime's descriptor on Linux");
    let wait_ms = tick.map_or(2000, |t| t.as_millis() as i32);
    let mut silent = 0;
    loop {
        if let Some(v) = done() {
            return (v, silent);
        }
        assert!(silent < 5 || tick.is_some(), "the descriptor never became readable");
        if !holds_event(fd, wait_ms) {
            silent += 1;
        }
        zoho_oauth::drive_here(|| ());
    }
}

/// A keep-alive HTTP/1.1 server on a plain thread that tells when a request came in and
/// answers it only when released.
#[cfg(target_os = "linux")]
fn held_server() -> (String, mpsc::Receiver<()>, mpsc::Sender<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (came_tx, came_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else { return };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            buf.clear();
            if came_tx.send(()).is_err() || release_rx.recv().is_err() {
                return;
            }
            let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
            if socket.write_all(answer).is_err() {
                return;
            }
        }
    });
    (url, came_rx, release_tx)
}

/// A client with a valid token whose API domain is a [`held_server`].
#[cfg(target_os = "linux")]
fn held_client(env: &Env) -> (Client, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (url, came, release) = held_server();
    let token = zoho_oauth::block_on(env.client().token_set()).expect("token");
    let client = Client::builder(env.app(), env.refresh_token(SCOPES))
        .initial_token((*token).clone())
        .api_domain(url)
        .build()
        .expect("client");
    (client, came, release)
}

/// A turn sends the request and returns without waiting for the answer; the answer makes the
/// runtime's descriptor readable, which is what wakes the loop.
#[cfg(target_os = "linux")]
#[test]
fn a_turn_never_waits_and_the_answer_wakes_the_loop() {
    let env = zoho_oauth::block_on(Env::start());
    let (client, came, release) = held_client(&env);
    let mut silent = 0;
    for round in 0..3 {
        let out = Arc::new(Mutex::new(None));
        let (c, o) = (client.clone(), out.clone());
        zoho_oauth::drive_here(move || {
            tokio::spawn(async move {
                let status = c.get("/crm/v8/Leads").send().await.map(|r| r.status());
                *o.lock().expect("lock") = Some(status);
            })
        });
        // Turns (a connection's set-up may take some) send the request; the server holds the
        // answer, and every turn returns meanwhile.
        event_loop(Some(Duration::from_millis(10)), || came.try_recv().ok());
        for _ in 0..3 {
            zoho_oauth::drive_here(|| ());
        }
        assert!(out.lock().expect("lock").is_none(), "no answer yet");
        release.send(()).expect("server waits");
        let (status, s) = event_loop(None, || out.lock().expect("lock").take());
        assert_eq!(status.expect("request").to_string(), "200", "round {round}");
        silent += s;
    }
    // See `a_turn_keeps_store_calls_off_the_loop_thread` on the one tolerated.
    assert!(silent <= 1, "the loop was woken by the descriptor, not by its guard: {silent} waits ran out");
}

/// Arming a request's timeout does not wake the thread's runtime. tokio's time driver writes
/// its wake-up eventfd whenever a timer is armed earlier than the earliest it knew of when it
/// last parked; with no timer left from the previous request that is every request's timeout,
/// a system call and an event (an extra turn of an event loop) per request. Each thread's
/// runtime keeps a timer pending ahead of any timeout for this.
#[cfg(target_os = "linux")]
#[test]
fn arming_a_requests_timeout_does_not_wake_the_runtime() {
    use std::future::Future;
    let env = zoho_oauth::block_on(Env::start());
    let (client, came, release) = held_client(&env);
    let fd = zoho_oauth::here_fd().expect("the runtime's descriptor on Linux");
    for round in 0..3 {
        // The state of the descriptor right after the request's first poll, which arms its
        // timeout (reqwest polls it first) and hands the request to its pooled connection.
        let woken = Arc::new(Mutex::new(None));
        let out = Arc::new(Mutex::new(None));
        let (c, w, o) = (client.clone(), woken.clone(), out.clone());
        zoho_oauth::drive_here(move || {
            tokio::spawn(async move {
                let mut send = std::pin::pin!(c.get("/crm/v8/Leads").send());
                let mut first = true;
                let status = std::future::poll_fn(|cx| {
                    let r = send.as_mut().poll(cx);
                    if std::mem::take(&mut first) {
                        *w.lock().expect("lock") = Some(holds_event(fd, 0));
                    }
                    r
                })
                .await
                .map(|r| r.status());
                *o.lock().expect("lock") = Some(status);
            })
        });
        event_loop(Some(Duration::from_millis(10)), || came.try_recv().ok());
        release.send(()).expect("server waits");
        let (status, _) = event_loop(Some(Duration::from_millis(10)), || out.lock().expect("lock").take());
        assert_eq!(status.expect("request").to_string(), "200", "round {round}");
        let woken = woken.lock().expect("lock").take().expect("polled");
        // Round 0 connects (a new socket's events); later rounds reuse the idle connection.
        if round > 0 {
            assert!(!woken, "round {round}: arming the timeout woke the runtime");
        }
    }
}

/// Whether `fd` holds an event, waiting up to `wait_ms` for one (0: now).
#[cfg(target_os = "linux")]
fn holds_event(fd: i32, wait_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, wait_ms) > 0 && p.revents & libc::POLLIN != 0 }
}

/// A turn's token work and store calls run on the shared runtime, whose answers wake the loop
/// through the descriptor too. (A wait may rarely end on the guard instead: see `drive_here`
/// on an event that arrives as a turn ends; one in three rounds is tolerated.)
#[cfg(target_os = "linux")]
#[test]
fn a_turn_keeps_store_calls_off_the_loop_thread() {
    let env = zoho_oauth::block_on(Env::start());
    let mut silent = 0;
    for round in 1..=3 {
        let kv = Arc::new(ThreadRecordingKv::default());
        let client = Client::builder(env.app(), env.refresh_token(SCOPES))
            .token_store(Arc::new(CasStore::new(kv.clone(), "ThreadRecordingKv")))
            .initial_token(env.dead_token())
            .build()
            .expect("client");
        let out = Arc::new(Mutex::new(None));
        let (c, o) = (client.clone(), out.clone());
        zoho_oauth::drive_here(move || {
            tokio::spawn(async move {
                let status = c.get("/crm/v8/Leads").send().await.map(|r| r.status());
                *o.lock().expect("lock") = Some(status);
            })
        });
        let (status, s) = event_loop(None, || out.lock().expect("lock").take());
        silent += s;
        assert_eq!(status.expect("the dead token's 401, a refresh and a retry").to_string(), "200");
        assert_eq!(env.refreshes(), round);
        let threads = kv.threads.lock().expect("lock").clone();
        assert!(!threads.is_empty(), "the refresh used the store");
        assert!(!threads.contains(&std::thread::current().id()), "a store call ran on the loop's thread");
    }
    assert!(silent <= 1, "the loop was woken by the descriptor, not by its guard: {silent} waits ran out");
}

/// A loop busy elsewhere while the server closed an idle connection: the next turn takes the
/// close in before its request picks a connection (a POST on the dead one would fail).
#[cfg(target_os = "linux")]
#[test]
fn a_turn_does_not_reuse_a_connection_closed_meanwhile() {
    let env = zoho_oauth::block_on(Env::start());
    let server = RawServer::start(Some(Duration::from_millis(100)));
    let client = client_for(&env, &server);
    assert_eq!(zoho_oauth::block_on(client.token_set()).map(|_| ()).ok(), Some(()));
    let send = |post: bool| {
        let out = Arc::new(Mutex::new(None));
        let (c, o) = (client.clone(), out.clone());
        zoho_oauth::drive_here(move || {
            tokio::spawn(async move {
                let req =
                    if post { c.post("/crm/v8/Leads").json_str(r#"{"data":[]}"#) } else { c.get("/crm/v8/Leads") };
                *o.lock().expect("lock") = Some(req.send().await.map(|r| r.status()));
            })
        });
        event_loop(Some(Duration::from_millis(10)), || out.lock().expect("lock").take()).0
    };
    assert_eq!(send(false).expect("get").to_string(), "200");
    let before = server.connections();
    for _ in 0..3 {
        // The loop does other work (no turn) while the server closes the idle connection.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(send(true).expect("a POST after the close").to_string(), "200");
    }
    assert!(server.connections() > before, "the closed connections were replaced");
}
