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
use zoho_oauth::{CasStore, Client, ErrorCode, KeyValueStore, KvError, RetryPolicy};

const LEADS: &str = "GET /crm/v8/Leads";

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
    let (parked_tx, parked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let a = {
        let client = client.clone();
        std::thread::spawn(move || {
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
    assert_eq!(env.mock.counters().api_calls(LEADS), 8);
    assert_eq!(env.refreshes(), 1);
}

/// A caller that gives up while it leads a refresh (its deadline passes) stops driving; the
/// flight must go on for the caller that waits for it, so it runs on the shared runtime.
#[test]
fn a_caller_that_gives_up_does_not_stall_the_refresh_another_waits_for() {
    let env = zoho_oauth::block_on(Env::start());
    let rt = env.refresh_token(SCOPES);
    let mut slow = Fault::new("/oauth/v2/token", 1);
    slow.delay_ms = Some(1_500);
    env.mock.inject_fault(slow).expect("fault");
    let impatient = Client::builder(env.app(), rt.clone())
        .retry_policy(RetryPolicy { deadline: Duration::from_millis(300), ..RetryPolicy::default() })
        .build()
        .expect("client");
    let patient = Client::builder(env.app(), rt).build().expect("client");
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let a = std::thread::spawn(move || {
        started_tx.send(()).expect("main waits");
        let e = impatient.get("/crm/v8/Leads").send_blocking().expect_err("gave up");
        // A stops driving its runtime from here on, until the end of the test.
        done_rx.recv().expect("main ends the test");
        e.code()
    });
    started_rx.recv().expect("A started");
    std::thread::sleep(Duration::from_millis(50));
    let b = std::thread::spawn(move || {
        let started = Instant::now();
        let r = patient.get("/crm/v8/Leads").send_blocking().expect("B gets the flight's token");
        (r.status(), started.elapsed())
    });
    let (status, took) = b.join().expect("B ran");
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(5), "B waited for a flight nobody drove: {took:?}");
    assert_eq!(env.refreshes(), 1, "one flight for both callers");
    done_tx.send(()).expect("A waits");
    assert_eq!(a.join().expect("A ran"), ErrorCode::Timeout);
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
    let me = std::thread::current().id();
    let r = client.get("/crm/v8/Leads").send_blocking().expect("send");
    assert_eq!(r.status(), 200, "the dead token's 401 was followed by a refresh and a retry");
    assert_eq!(env.refreshes(), 1);
    assert_eq!(env.mock.counters().api_calls(LEADS), 2);
    let threads = kv.threads.lock().expect("lock").clone();
    assert!(!threads.is_empty(), "the refresh used the store");
    assert!(!threads.contains(&me), "a store call ran on the calling thread");
}
