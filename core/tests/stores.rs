//! Shared token stores with real processes, a real file system and a real Redis.
//!
//! Cross-process tests re-run this test binary as worker processes (the ignored `store_worker`
//! test, selected with `--ignored --exact`), each a separate OS process with its own client,
//! all talking to one zoho-mock over HTTP. Redis tests use `REDIS_URL` (the test command
//! starts a server and sets it) and, for the outage test, a `redis-server` of their own; they
//! are skipped when Redis is not available, unless `ZOHO_REQUIRE_REDIS=1` (set by the test
//! command) makes that a failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Env, SCOPES};
use zoho_mock::Fault;
use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{
    AccessToken, CasStore, Client, ErrorCode, FileStore, KeyValueStore, KvError, OAuthApp, RedisStore, RefreshToken,
    SqlStore, StoreKey, TokenSet, TokenStore, import_zoho_sdk_csv, open_store,
};

// ---------------------------------------------------------------------------------------------
// Worker processes

/// Entry point of a worker process; does nothing unless started by [`spawn_worker`].
#[test]
#[ignore = "entry point of the worker processes that the cross-process tests start"]
fn store_worker() {
    let Ok(mode) = std::env::var("ZW_MODE") else { return };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by the parent test"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        // The refreshing modes' client: the mock's self client, the store and lease given.
        let client = || {
            let timeout = std::env::var("ZW_TIMEOUT_MS").ok().and_then(|t| t.parse().ok()).unwrap_or(30_000);
            let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
                .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
                .client_type(zoho_oauth::ClientType::SelfClient)
                .accounts_url(var("ZW_ACCOUNTS"))
                .timeout(Duration::from_millis(timeout))
                .build()
                .expect("app");
            Client::builder(app, var("ZW_RT"))
                .token_store(open_test_store(&var("ZW_STORE")))
                .refresh_lease(Duration::from_millis(var("ZW_LEASE_MS").parse().expect("lease ms")))
                .build()
                .expect("client")
        };
        match mode.as_str() {
            "refresh" => {
                let client = client();
                wait_for(Path::new(&var("ZW_GO")));
                let started = Instant::now();
                let token = client.access_token().await.expect("access token");
                let waited = started.elapsed().as_millis();
                let r = client.get("/crm/v8/Leads").send().await.expect("crm call");
                assert_eq!(r.status(), 200);
                println!("WORKER-OK {} {waited}", token.fingerprint());
            }
            "badday" => {
                // One process of a fleet on a bad day: its outcome, never a panic.
                let client = client();
                wait_for(Path::new(&var("ZW_GO")));
                let started = Instant::now();
                let outcome = client.access_token().await;
                let waited = started.elapsed().as_millis();
                match outcome {
                    Ok(t) => println!("WORKER-OK ok {} {waited}", t.fingerprint()),
                    Err(e) => println!("WORKER-OK err {} {waited}", e.code()),
                }
            }
            "write" => {
                let store = open_test_store(&var("ZW_STORE"));
                wait_for(Path::new(&var("ZW_GO")));
                let me = var("ZW_ID");
                for i in 0..5 {
                    let rt = RefreshToken::new(format!("1000.rt-{me}-{i}"));
                    let key = StoreKey::new(&var("ZW_ACCOUNTS"), "1000.CLIENT", &rt);
                    store.put(&key, token(&format!("at-{me}-{i}"), 4_000_000_000_000)).await.expect("put");
                    store.save_refresh_token(&key, &rt, Some(&me)).await.expect("save");
                }
                println!("WORKER-OK wrote");
            }
            other => panic!("unknown worker mode {other}"),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// A store of the user's own: `CasStore` on a key-value map, here one JSON file shared by the
// worker processes with an OS lock around each compare-and-set (what a user would write over
// their own database). URL `cas+file:///path` (this test's opener only).

/// `open_store`, plus `cas+file://` for the user-store suite.
fn open_test_store(url: &str) -> Arc<dyn TokenStore> {
    match url.strip_prefix("cas+file://") {
        Some(path) => Arc::new(CasStore::new(Arc::new(FileKv(PathBuf::from(path))), "FileKv")),
        None => open_store(url).expect("store"),
    }
}

/// A string map in one JSON file; every operation holds an exclusive lock on a lock file beside
/// it (not on the data file itself, which each write replaces by a rename).
struct FileKv(PathBuf);

type KvResult<T> = std::result::Result<T, KvError>;

impl FileKv {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, String>) -> (T, bool)) -> KvResult<T> {
        let lock =
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(self.0.with_extension("lock"))?;
        lock.lock()?;
        let text = std::fs::read_to_string(&self.0).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(String::new()),
            _ => Err(e),
        })?;
        let mut map: BTreeMap<String, String> =
            if text.is_empty() { BTreeMap::new() } else { serde_json::from_str(&text)? };
        let (out, changed) = f(&mut map);
        if changed {
            let tmp = self.0.with_extension(format!("tmp-{}", std::process::id()));
            std::fs::write(&tmp, serde_json::to_vec(&map)?)?;
            std::fs::rename(&tmp, &self.0)?;
        }
        drop(lock);
        Ok(out)
    }
}

impl KeyValueStore for FileKv {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, KvResult<Option<String>>> {
        Box::pin(async move { self.with(|m| (m.get(key).cloned(), false)) })
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> BoxFuture<'a, KvResult<bool>> {
        Box::pin(async move {
            self.with(|m| {
                if m.get(key).map(String::as_str) != expected {
                    return (false, false);
                }
                match new {
                    Some(v) => m.insert(key.to_string(), v.to_string()),
                    None => m.remove(key),
                };
                (true, true)
            })
        })
    }

    fn keys(&self) -> BoxFuture<'_, KvResult<Vec<String>>> {
        Box::pin(async move { self.with(|m| (m.keys().cloned().collect(), false)) })
    }
}

fn wait_for(go: &Path) {
    let until = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < until, "the parent never said go");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn spawn_worker(vars: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args(["--ignored", "--exact", "store_worker", "--nocapture", "--test-threads=1", "-q"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("worker starts")
}

/// The `WORKER-OK …` line of a finished worker, or a failure with its output.
fn worker_result(child: Child) -> String {
    let out = child.wait_with_output().expect("worker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix("WORKER-OK ")) {
        Some(line) if out.status.success() => line.to_string(),
        _ => panic!("worker failed ({}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr)),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zoho-oauth-stores-{}-{name}-{}", std::process::id(), rand_u32()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A `file://` store URL in a scratch folder of its own.
fn file_store_url(name: &str) -> String {
    format!("file://{}", scratch(name).join("tokens.json").display())
}

fn rand_u32() -> u32 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(7))
        ^ std::process::id().rotate_left(16)
}

fn token(at: &str, expires_at_ms: i64) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(at),
        refresh_token: None,
        api_domain: None,
        accounts_server: "https://accounts.zoho.com".into(),
        token_type: "Bearer".into(),
        expires_at_ms,
        issued_at_ms: expires_at_ms - 3_600_000,
        scopes: vec!["ZohoCRM.modules.ALL".into()],
        id_token: None,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The mock, a refresh token, and the store seeded with an expired token for that identity.
async fn expired_identity(env: &Env, store_url: &str) -> String {
    let rt = env.refresh_token(SCOPES);
    let key = StoreKey::new(&env.url(), zoho_mock::DEFAULT_CLIENT_ID, &RefreshToken::new(rt.clone()));
    let store = open_test_store(store_url);
    store.put(&key, token("1000.expired", now_ms() - 1_000)).await.expect("seed");
    rt
}

/// Eight processes on an expired token, released at once: exactly one token request.
async fn eight_processes_refresh_once(store_url: &str) {
    let env = Env::start().await;
    let rt = expired_identity(&env, store_url).await;
    let go = scratch("go").join("go");
    let workers: Vec<Child> = (0..8)
        .map(|_| {
            spawn_worker(&[
                ("ZW_MODE", "refresh".into()),
                ("ZW_ACCOUNTS", env.url()),
                ("ZW_RT", rt.clone()),
                ("ZW_STORE", store_url.to_string()),
                ("ZW_LEASE_MS", "10000".into()),
                ("ZW_GO", go.display().to_string()),
            ])
        })
        .collect();
    // Let every process start and block on the go file, then release them together.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"go").expect("go");
    let results: Vec<String> = workers.into_iter().map(worker_result).collect();
    let fingerprints: std::collections::BTreeSet<&str> =
        results.iter().filter_map(|r| r.split_whitespace().next()).collect();
    assert_eq!(fingerprints.len(), 1, "every process uses the one refreshed token: {results:?}");
    assert_eq!(env.refreshes(), 1, "8 processes on an expired token make exactly 1 token request");
    assert_eq!(env.mock.counters().api_calls_total, 8);
}

/// Wait until `holder`'s token request has reached the mock (it hangs there), then kill -9 it.
fn kill_at_the_token_endpoint(env: &Env, mut holder: Child) {
    let until = Instant::now() + Duration::from_secs(20);
    while env.mock.counters().token_requests_received == 0 {
        assert!(Instant::now() < until, "the holder never reached the token endpoint");
        std::thread::sleep(Duration::from_millis(10));
    }
    holder.kill().expect("kill -9");
    let _ = holder.wait();
}

/// kill -9 of the lease holder mid-refresh: the others recover within the lease time and make
/// at most one more token request.
async fn killed_holder_does_not_block(store_url: &str, lease: Duration) {
    let env = Env::start().await;
    let rt = expired_identity(&env, store_url).await;
    env.mock.inject_fault(Fault { delay_ms: Some(4_000), ..Fault::new("/oauth/v2/token", 1) }).expect("fault");
    let dir = scratch("kill");
    let vars = |go: &Path| {
        vec![
            ("ZW_MODE", "refresh".to_string()),
            ("ZW_ACCOUNTS", env.url()),
            ("ZW_RT", rt.clone()),
            ("ZW_STORE", store_url.to_string()),
            ("ZW_LEASE_MS", lease.as_millis().to_string()),
            ("ZW_GO", go.display().to_string()),
        ]
    };
    let go_holder = dir.join("go-holder");
    std::fs::write(&go_holder, b"go").expect("go");
    // The holder's token request hangs at the mock for 4 s: kill it there.
    kill_at_the_token_endpoint(&env, spawn_worker(&vars(&go_holder)));

    let go = dir.join("go");
    let workers: Vec<Child> = (0..7).map(|_| spawn_worker(&vars(&go))).collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"go").expect("go");
    let results: Vec<String> = workers.into_iter().map(worker_result).collect();
    let waited_ms: Vec<u128> = results.iter().filter_map(|r| r.split_whitespace().nth(1)?.parse().ok()).collect();
    let slowest = waited_ms.iter().copied().max().unwrap_or(0);
    // Within the lease time, plus slack for a shared 2-core machine.
    assert!(slowest < lease.as_millis() + 3_000, "recovery took {slowest} ms with a {} ms lease", lease.as_millis());
    // Let the killed holder's delayed request finish at the mock before counting.
    std::thread::sleep(Duration::from_millis(100));
    let total = env.mock.counters().token_requests_total;
    assert!(total <= 2, "at most one token request beyond the dead holder's: {total}");
}

/// What a fleet of `n` processes got: (`ok` or `err`, fingerprint or error code, ms waited).
fn run_fleet(
    env: &Env,
    rt: &str,
    store_url: &str,
    n: usize,
    timeout_ms: u64,
    lease: Duration,
) -> Vec<(String, String, u128)> {
    let go = scratch("fleet").join("go");
    let workers: Vec<Child> = (0..n)
        .map(|_| {
            spawn_worker(&[
                ("ZW_MODE", "badday".into()),
                ("ZW_ACCOUNTS", env.url()),
                ("ZW_RT", rt.to_string()),
                ("ZW_STORE", store_url.to_string()),
                ("ZW_TIMEOUT_MS", timeout_ms.to_string()),
                ("ZW_LEASE_MS", lease.as_millis().to_string()),
                ("ZW_GO", go.display().to_string()),
            ])
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"go").expect("go");
    workers
        .into_iter()
        .map(|w| {
            let line = worker_result(w);
            let mut parts = line.split_whitespace().map(str::to_string);
            let kind = parts.next().unwrap_or_default();
            let what = parts.next().unwrap_or_default();
            let waited = parts.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            (kind, what, waited)
        })
        .collect()
}

/// Twenty processes on one store, on an expired token, against a token endpoint that fails
/// the way `fault` says: every process gets the one flight's error, the endpoint sees at most
/// `max_requests`, and failures never spend the budget into a lockout. Then time passes the
/// backoff window (the store's record is aged, as the clock would) and the endpoint recovers:
/// exactly one refresh serves all twenty.
async fn fleet_on_a_bad_day(store_url: &str, fault: Fault, code: &str, max_requests: u64, timeout_ms: u64) {
    let env = Env::start().await;
    let rt = expired_identity(&env, store_url).await;
    env.mock.inject_fault(fault).expect("fault");
    let results = run_fleet(&env, &rt, store_url, 20, timeout_ms, Duration::from_secs(10));
    let requests = env.mock.counters().token_requests_received;
    assert!(results.iter().all(|(k, what, _)| k == "err" && what == code), "every process gets {code}: {results:?}");
    assert!(requests >= 1 && requests <= max_requests, "{code}: {requests} token requests (at most {max_requests})");

    // The backoff (or cooldown) window passes; the endpoint works again.
    let key = StoreKey::new(&env.url(), zoho_mock::DEFAULT_CLIENT_ID, &RefreshToken::new(rt.clone()));
    let store = open_test_store(store_url);
    if let Some(mut b) = store.backoff(&key).await.expect("backoff") {
        b.until_ms = now_ms() - 1;
        store.set_backoff(&key, b).await.expect("age the backoff");
    }
    if store.cooldown_until(&key).await.expect("cooldown").is_some() {
        store.set_cooldown(&key, now_ms() - 1).await.expect("age the cooldown");
    }
    let results = run_fleet(&env, &rt, store_url, 20, timeout_ms, Duration::from_secs(10));
    let fingerprints: std::collections::BTreeSet<&str> =
        results.iter().filter(|(k, _, _)| k == "ok").map(|(_, fp, _)| fp.as_str()).collect();
    assert_eq!(fingerprints.len(), 1, "after recovery every process has the one new token: {results:?}");
    assert!(results.iter().all(|(k, _, _)| k == "ok"), "{results:?}");
    assert_eq!(env.refreshes_succeeded(), 1, "exactly one refresh after recovery");
    assert_eq!(env.mock.counters().token_requests_received, requests + 1);
}

fn token_fault(count: u32, edit: impl FnOnce(&mut Fault)) -> Fault {
    let mut f = Fault::new("/oauth/v2/token", count);
    edit(&mut f);
    f
}

const ACCESS_DENIED: &str = r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#;

/// Every bad day of the issue on one store: Access Denied (1 request), a 500 outage, resets
/// and an endpoint slower than the timeout (one leader's 3 attempts each), then recovery.
async fn every_bad_day(store_url: impl Fn(&str) -> String) {
    fleet_on_a_bad_day(
        &store_url("denied"),
        token_fault(1, |f| f.body = Some(ACCESS_DENIED.into())),
        "token_throttled",
        1,
        5_000,
    )
    .await;
    fleet_on_a_bad_day(&store_url("500"), token_fault(3, |f| f.status = Some(500)), "invalid_response", 3, 5_000).await;
    fleet_on_a_bad_day(&store_url("reset"), token_fault(3, |f| f.reset = true), "transport", 3, 5_000).await;
    fleet_on_a_bad_day(&store_url("slow"), token_fault(3, |f| f.delay_ms = Some(1_500)), "timeout", 3, 300).await;
}

/// kill -9 of the lease holder while the endpoint is failing: the others take over after the
/// lease, one of them makes at most 3 attempts, and every one gets the error in bounded time.
async fn killed_holder_during_an_outage(store_url: &str, lease: Duration) {
    let env = Env::start().await;
    let rt = expired_identity(&env, store_url).await;
    env.mock.inject_fault(token_fault(1, |f| f.delay_ms = Some(4_000))).expect("fault");
    let go = scratch("kill-outage").join("go");
    std::fs::write(&go, b"go").expect("go");
    let holder = spawn_worker(&[
        ("ZW_MODE", "badday".into()),
        ("ZW_ACCOUNTS", env.url()),
        ("ZW_RT", rt.clone()),
        ("ZW_STORE", store_url.to_string()),
        ("ZW_TIMEOUT_MS", "30000".into()),
        ("ZW_LEASE_MS", lease.as_millis().to_string()),
        ("ZW_GO", go.display().to_string()),
    ]);
    kill_at_the_token_endpoint(&env, holder);
    env.mock.inject_fault(token_fault(3, |f| f.status = Some(500))).expect("fault");
    let results = run_fleet(&env, &rt, store_url, 19, 5_000, lease);
    assert!(results.iter().all(|(k, what, _)| k == "err" && what == "invalid_response"), "{results:?}");
    let slowest = results.iter().map(|(_, _, w)| *w).max().unwrap_or(0);
    assert!(slowest < lease.as_millis() + 3_000, "bounded by the lease: {slowest} ms");
    let requests = env.mock.counters().token_requests_received;
    assert!(requests <= 4, "the dead holder's request and one leader's 3 attempts: {requests}");
}

/// Twenty rounds of four processes writing five identities each at once: nothing lost, and
/// every entry keeps its refresh token and label.
async fn concurrent_writers_never_lose_entries(store_url: &str) {
    let dir = scratch("writers");
    let store = open_test_store(store_url);
    for round in 0..20 {
        let go = dir.join(format!("go-{round}"));
        let workers: Vec<Child> = (0..4)
            .map(|w| {
                spawn_worker(&[
                    ("ZW_MODE", "write".into()),
                    ("ZW_STORE", store_url.to_string()),
                    ("ZW_ACCOUNTS", "https://accounts.zoho.com".into()),
                    ("ZW_ID", format!("r{round}w{w}")),
                    ("ZW_GO", go.display().to_string()),
                ])
            })
            .collect();
        std::fs::write(&go, b"go").expect("go");
        for w in workers {
            worker_result(w);
        }
        if let Some(path) = store_url.strip_prefix("file://") {
            let text = std::fs::read_to_string(path).expect("store file");
            let _: serde_json::Value = serde_json::from_str(&text).expect("the file always parses");
        }
        let n = store.list().await.expect("list").len();
        assert_eq!(n, (round + 1) * 4 * 5, "no entry lost after round {round}");
    }
    let listed = store.list().await.expect("list");
    assert_eq!(listed.len(), 400);
    assert!(listed.iter().all(|i| i.has_refresh_token && i.label.is_some()));
}

/// Taken for writing by the failover tests, which move a Redis master: no other suite test runs
/// meanwhile (each takes it for reading).
static FAILOVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The shared-store suite for one kind of store: `$url` gives a store URL of its own for a test
/// name (None skips: the server is not configured), `lease_ms` the refresh lease the killed-holder
/// tests use. Every store passes the same tests; only the URL differs.
macro_rules! shared_store_suite {
    ($kind:ident, $url:expr, lease_ms = $lease:expr) => {
        mod $kind {
            use super::*;

            fn url(name: &str) -> Option<String> {
                let f: fn(&str) -> Option<String> = $url;
                f(name)
            }

            /// Shared with the other suites; a failover test waits for them and runs alone.
            async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
                FAILOVER.read().await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn eight_processes_on_an_expired_token_make_one_token_request() {
                let _shared = shared().await;
                let Some(u) = url("eight") else { return };
                eight_processes_refresh_once(&u).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fleet_on_a_bad_day() {
                let _shared = shared().await;
                if url("probe").is_none() {
                    return;
                }
                every_bad_day(|name| url(&format!("bad-day-{name}")).expect("configured")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn killed_lease_holder_blocks_nobody_past_the_lease() {
                let _shared = shared().await;
                let Some(u) = url("killed") else { return };
                killed_holder_does_not_block(&u, Duration::from_millis($lease)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn killed_lease_holder_during_an_outage() {
                let _shared = shared().await;
                let Some(u) = url("killed-outage") else { return };
                killed_holder_during_an_outage(&u, Duration::from_millis($lease)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_writers_never_corrupt_or_lose_entries() {
                let _shared = shared().await;
                let Some(u) = url("writers") else { return };
                concurrent_writers_never_lose_entries(&u).await;
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// File store

shared_store_suite!(file_store, |name: &str| Some(file_store_url(name)), lease_ms = 10_000);

// ---------------------------------------------------------------------------------------------
// A user's key-value store (`CasStore` on `FileKv`): the same suite, across processes.

shared_store_suite!(
    user_key_value_store,
    |name: &str| Some(format!("cas+{}", file_store_url(name))),
    lease_ms = 10_000
);

#[tokio::test]
async fn file_store_persists_tokens_without_secrets_unless_asked() {
    let env = Env::start().await;
    let dir = scratch("persist").join("nested").join("deeper");
    let path = dir.join("tokens.json");
    let url = format!("file://{}", path.display());
    let rt = env.refresh_token(SCOPES);
    let build = || Client::builder(env.app(), rt.clone()).token_store_url(url.clone()).build().expect("client");
    let first = build().access_token().await.expect("token");
    assert_eq!(env.refreshes(), 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "the store file is private");
        assert_eq!(mode(&dir), 0o700, "a created parent folder is private");
    }
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(text.contains(first.secret()), "the access token is what the file is for");
    assert!(!text.contains(&rt), "the refresh token is not stored unless asked");
    assert!(!text.contains(zoho_mock::DEFAULT_CLIENT_SECRET), "the client secret is never stored");

    // A client in another process would read the file; a new store object shows the same.
    let second =
        Client::builder(env.app(), rt.clone()).token_store(Arc::new(FileStore::new(&path))).build().expect("client");
    assert_eq!(second.access_token().await.expect("token"), first);
    assert_eq!(env.refreshes(), 1, "the second client used the stored token");

    second.save_refresh_token(Some("user@example.com")).await.expect("save");
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(text.contains(&rt), "saved on request");
    assert!(!text.contains(zoho_mock::DEFAULT_CLIENT_SECRET));
    let listed = second.store().list().await.expect("list");
    assert_eq!(listed.len(), 1);
    let id = &listed[0];
    assert_eq!(id.key, *second.store_key());
    assert_eq!(id.label.as_deref(), Some("user@example.com"));
    assert!(id.has_refresh_token);
    assert_eq!(id.refreshes.len(), 1);
    assert!(!format!("{listed:?}").contains(first.secret()) && !format!("{listed:?}").contains(&rt));
    assert_eq!(
        second.store().load_refresh_token(&id.key).await.expect("load").map(|r| r.secret().to_string()),
        Some(rt)
    );
    assert!(second.store().delete(&id.key).await.expect("delete"));
    assert!(second.store().list().await.expect("list").is_empty());
}

#[tokio::test]
async fn corrupt_foreign_and_newer_files_are_never_overwritten() {
    let dir = scratch("corrupt");
    let key = StoreKey::new("https://accounts.zoho.com", "1000.C", &RefreshToken::new("1000.r"));

    // Truncated store file: kept aside under a new name, the operation says so, then the
    // store starts empty.
    let path = dir.join("truncated.json");
    let truncated = r#"{"format":"zoho-oauth-token-store","version":1,"entries":{"zoho-oauth:v1:ab"#;
    std::fs::write(&path, truncated).expect("write");
    let store = FileStore::new(&path);
    let err = store.put(&key, token("1000.a", 1)).await.expect_err("corrupt");
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(err.to_string().contains("kept aside"), "{err}");
    let aside: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.display().to_string().contains("truncated.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "kept aside once");
    assert_eq!(std::fs::read_to_string(&aside[0]).expect("aside"), truncated, "kept byte for byte");
    store.put(&key, token("1000.a", 1)).await.expect("a fresh store works");
    assert!(store.get(&key).await.expect("get").is_some());

    // A foreign file (valid JSON, or not JSON at all) and a newer schema: errors, untouched.
    for (name, body) in [
        ("package.json", r#"{"name":"app","version":"1.0.0"}"#),
        ("notes.txt", "not json at all"),
        ("newer.json", r#"{"format":"zoho-oauth-token-store","version":99,"entries":{}}"#),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        let store = FileStore::new(&path);
        let err = store.put(&key, token("1000.a", 1)).await.expect_err("refused");
        assert_eq!(err.code(), ErrorCode::Store, "{name}");
        assert!(err.hint().is_some_and(|h| !h.is_empty()), "{name}: a hint");
        assert!(store.get(&key).await.is_err(), "{name}: reads refuse too");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), body, "{name} was left untouched");
    }
}

#[test]
fn store_urls_are_parsed_with_clear_errors() {
    assert!(open_store("memory://").is_ok());
    assert!(open_store("file:///tmp/zoho/tokens.json").is_ok());
    assert!(open_store("redis://127.0.0.1:6379/0?prefix=app:&timeout_ms=500").is_ok());
    assert!(open_store("rediss://user:pw@redis.example:6380/1").is_ok());
    assert!(open_store("redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3?prefix=app:").is_ok());
    assert!(open_store("rediss+cluster://user:pw@redis.example:7000").is_ok());
    assert!(open_store("redis+sentinel://s1:26379,s2:26379/mymaster/2?timeout_ms=500").is_ok());
    assert!(open_store("postgres://user:pw@db.example:5432/app?sslmode=require&table=tokens").is_ok());
    assert!(open_store("postgresql://db.example/app").is_ok());
    assert!(open_store("mysql://user:pw@db.example:3306/app?ssl-mode=REQUIRED").is_ok());
    for bad in [
        "file://tokens.json",
        "file:///tmp/dir/",
        "redis://",
        "redis://127.0.0.1:6379/0?timeout_ms=zero",
        "postgres://",
        "redis+cluster://",
        "redis+sentinel://s1:26379",
        "redis+sentinel://s1:26379/mymaster/zero",
        "mysql://db:3306/x?table=bad-name",
        "postgres://db/x?pool_size=0",
        "s3://bucket/key",
    ] {
        let err = open_store(bad).err().unwrap_or_else(|| panic!("{bad} must be refused"));
        assert_eq!(err.code(), ErrorCode::Config, "{bad}");
        assert!(err.hint().is_some(), "{bad}");
    }
    let err = open_store("redis://user:hunter2@127.0.0.1:1/0?timeout_ms=abc").err().map(|e| e.to_string());
    assert!(!err.unwrap_or_default().contains("hunter2"), "no password in errors");
}

#[tokio::test]
async fn zoho_sdk_csv_import_lets_a_client_start_without_a_new_grant_code() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let csv = format!(
        "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url\n\
         1,user@example.com,{},{},{rt},,,,\n",
        zoho_mock::DEFAULT_CLIENT_ID,
        zoho_mock::DEFAULT_CLIENT_SECRET
    );
    let rows = import_zoho_sdk_csv(&csv).expect("parse");
    assert_eq!(rows.len(), 1);
    let path = scratch("import").join("tokens.json");
    let store: Arc<dyn TokenStore> = Arc::new(FileStore::new(&path));
    let key = rows[0].save_to(store.as_ref(), &env.url()).await.expect("import");
    assert!(!std::fs::read_to_string(&path).expect("file").contains(zoho_mock::DEFAULT_CLIENT_SECRET));

    // Build a client from what the store holds: the refresh token comes from the store.
    let listed = store.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label.as_deref(), Some("user@example.com"));
    let stored_rt = store.load_refresh_token(&key).await.expect("load").expect("saved by import");
    let client = Client::builder(env.app(), stored_rt).token_store(store.clone()).build().expect("client");
    let r = client.get("/crm/v8/Leads").send().await.expect("call");
    assert_eq!(r.status(), 200);
    assert_eq!(env.mock.counters().token_requests_for("authorization_code"), 0, "no grant code spent");
}

// ---------------------------------------------------------------------------------------------
// Redis store

/// The URL in `var` (set by the test command, which starts the server), or None (skip) when
/// unset; with `require=1` in the environment (set by the test command) a missing server fails.
fn server_url(var: &str, require: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(std::env::var(require).as_deref() != Ok("1"), "{require}=1 but {var} is not set");
            eprintln!("skipped: {var} is not set");
            None
        }
    }
}

/// `REDIS_URL`, or None (skip) when unset; with `ZOHO_REQUIRE_REDIS=1` a missing Redis fails.
fn redis_url() -> Option<String> {
    server_url("REDIS_URL", "ZOHO_REQUIRE_REDIS")
}

/// `base` with an option added to its query.
fn with_option(base: &str, option: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{option}")
}

/// The Redis URL with a prefix of its own, so tests never see each other's keys.
fn redis_store_url(base: &str, name: &str) -> String {
    with_option(base, &format!("prefix=test-{name}-{}-{}:", std::process::id(), rand_u32()))
}

shared_store_suite!(redis_store, |name: &str| redis_url().map(|base| redis_store_url(&base, name)), lease_ms = 2_000);

#[tokio::test]
async fn redis_fencing_lease_release_list_and_delete() {
    let Some(base) = redis_url() else { return };
    let url = redis_store_url(&base, "fence");
    let prefix = url.split("prefix=").nth(1).expect("prefix").to_string();
    // Redis expires a lease on its own clock (PX): the test deletes the key, as Redis would.
    store_semantics(&url, |key| async move {
        let raw = redis::Client::open(base.as_str()).expect("client");
        let mut c = raw.get_multiplexed_async_connection().await.expect("connect");
        let lease_key = format!("{prefix}{{{}}}:lease", key.as_str());
        let _: i64 = redis::cmd("DEL").arg(&lease_key).query_async(&mut c).await.expect("del");
    })
    .await;
    assert!(format!("{:?}", RedisStore::from_url(&url).expect("store")).contains("RedisStore"));
}

/// A `redis-server` of the test's own on a free port, so the test can stop and restart it.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl OwnRedis {
    fn start(port: Option<u16>, dir: Option<PathBuf>) -> Option<OwnRedis> {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port")
        });
        let dir = dir.unwrap_or_else(|| scratch("redis"));
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(OwnRedis { port, child: Some(child), dir })
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A store server a test can stop and start again.
trait Outage {
    fn stop(&mut self);
    fn restart(&mut self);
}

impl Outage for OwnRedis {
    fn stop(&mut self) {
        OwnRedis::stop(self);
    }

    fn restart(&mut self) {
        // Empty again (no persistence): the store has lost every token.
        *self = OwnRedis::start(Some(self.port), Some(self.dir.clone())).expect("restart");
    }
}

/// The store at `url` goes down (`server.stop()`): cached tokens keep serving; once a refresh is
/// due every caller gets a `store` error whose hint names `hint_word`, and Zoho sees no request.
/// Back up: exactly one refresh.
async fn outage_is_a_store_error_never_a_refresh_storm(url: &str, server: &mut dyn Outage, hint_word: &str) {
    let env = Env::start().await;
    let client = Client::builder(env.app(), env.refresh_token(SCOPES)).token_store_url(url).build().expect("client");
    let first = client.access_token().await.expect("token");
    assert_eq!(env.refreshes(), 1);

    server.stop();
    // While the cached token is fresh, the store being down changes nothing.
    assert_eq!(client.access_token().await.expect("cached"), first);
    assert_eq!(client.get("/crm/v8/Leads").send().await.expect("call").status(), 200);

    // Once it needs a refresh, every caller gets a store error and Zoho sees no request.
    env.mock.advance_clock(Duration::from_secs(3_600));
    for _ in 0..20 {
        let err = client.access_token().await.expect_err("store down");
        assert_eq!(err.code(), ErrorCode::Store);
        assert!(err.hint().is_some_and(|h| h.contains(hint_word)), "{err}");
    }
    assert_eq!(env.refreshes(), 1, "no refresh without the shared lease and budget");

    server.restart();
    let mut ok = None;
    for _ in 0..50 {
        match client.access_token().await {
            Ok(t) => {
                ok = Some(t);
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Store);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let second = ok.expect("recovers once the store is back");
    assert_ne!(second, first);
    assert_eq!(client.access_token().await.expect("cached"), second);
    assert_eq!(env.refreshes(), 2, "exactly one refresh after the outage, within the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_a_store_error_never_a_refresh_storm() {
    if redis_url().is_none() {
        return;
    }
    let Some(mut redis) = OwnRedis::start(None, None) else {
        panic!("redis-server is not on PATH although REDIS_URL is set");
    };
    let url = format!("redis://127.0.0.1:{}/0?timeout_ms=300", redis.port);
    outage_is_a_store_error_never_a_refresh_storm(&url, &mut redis, "Redis").await;
}

// ---------------------------------------------------------------------------------------------
// SQL stores (PostgreSQL, MySQL/MariaDB)

/// A SQL store URL with a table of its own, so tests never see each other's rows.
fn sql_store_url(var: &str, name: &str) -> Option<String> {
    let base = server_url(var, "ZOHO_REQUIRE_STORES")?;
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Some(with_option(&base, &format!("table=t_{name}_{}_{}", std::process::id(), rand_u32())))
}

fn postgres_store_url(name: &str) -> Option<String> {
    sql_store_url("ZOHO_TEST_POSTGRES_URL", name)
}

fn mysql_store_url(name: &str) -> Option<String> {
    sql_store_url("ZOHO_TEST_MYSQL_URL", name)
}

shared_store_suite!(postgres_store, postgres_store_url, lease_ms = 2_000);
shared_store_suite!(mysql_store, mysql_store_url, lease_ms = 2_000);

/// A TCP forwarder to a database server, so a test can cut the server off (every connection
/// and the listening port) and bring it back on the same port, without owning the server.
struct Cutoff {
    port: u16,
    target: std::net::SocketAddr,
    running: Option<(Arc<std::sync::atomic::AtomicBool>, std::thread::JoinHandle<()>)>,
    conns: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Cutoff {
    fn start(target: std::net::SocketAddr) -> Cutoff {
        let mut c = Cutoff { port: 0, target, running: None, conns: Arc::default() };
        c.listen();
        c
    }

    fn listen(&mut self) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).expect("bind");
        self.port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, conns, target) = (stop.clone(), self.conns.clone(), self.target);
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((down, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = down.set_nonblocking(false);
                let Ok(up) = std::net::TcpStream::connect(target) else { continue };
                let mut held = conns.lock().expect("conns");
                for (mut from, mut to) in [(down.try_clone(), up.try_clone()), (up.try_clone(), down.try_clone())]
                    .into_iter()
                    .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                held.extend([down, up]);
            }
        });
        self.running = Some((stop, accept));
    }
}

impl Outage for Cutoff {
    fn stop(&mut self) {
        if let Some((stop, accept)) = self.running.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = accept.join();
        }
        for c in self.conns.lock().expect("conns").drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restart(&mut self) {
        self.listen();
    }
}

impl Drop for Cutoff {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The SQL store of `var` behind a [`Cutoff`]: its URL (300 ms timeout) and the cutoff.
fn sql_behind_cutoff(var: &str, name: &str) -> Option<(String, Cutoff)> {
    let url = sql_store_url(var, name)?;
    let mut parsed = url::Url::parse(&url).expect("url");
    let target = (parsed.host_str().expect("host"), parsed.port().expect("port"));
    let target = std::net::ToSocketAddrs::to_socket_addrs(&target).expect("resolve").next().expect("address");
    let cutoff = Cutoff::start(target);
    parsed.set_port(Some(cutoff.port)).expect("port");
    Some((with_option(parsed.as_str(), "timeout_ms=300"), cutoff))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_a_store_error_never_a_refresh_storm() {
    let Some((url, mut cutoff)) = sql_behind_cutoff("ZOHO_TEST_POSTGRES_URL", "outage") else { return };
    outage_is_a_store_error_never_a_refresh_storm(&url, &mut cutoff, "PostgreSQL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_outage_is_a_store_error_never_a_refresh_storm() {
    let Some((url, mut cutoff)) = sql_behind_cutoff("ZOHO_TEST_MYSQL_URL", "outage") else { return };
    outage_is_a_store_error_never_a_refresh_storm(&url, &mut cutoff, "MySQL").await;
}

/// Fencing, compare-and-delete release, compare-and-invalidate, budget, cooldown, backoff, the
/// refresh token on request, list without secrets and delete. a's lease expires 30 s later on the
/// caller's clock (`now_ms`, the SQL stores) or by `expire` (Redis, whose lease lives on the
/// server's clock).
async fn store_semantics<F: Future<Output = ()>>(url: &str, expire: impl FnOnce(StoreKey) -> F) {
    let store = open_store(url).expect("store");
    let key = StoreKey::new("https://accounts.zoho.eu", "1000.F", &RefreshToken::new("1000.rt-fence"));
    let ttl = Duration::from_secs(30);
    let t0 = 1_000_000;

    let a = store.try_lease(&key, "holder-a", ttl, t0).await.expect("lease").expect("free");
    assert_eq!(store.try_lease(&key, "holder-b", ttl, t0 + 29_999).await.expect("lease"), None, "held by a");
    expire(key.clone()).await;
    let b = store.try_lease(&key, "holder-b", ttl, t0 + 30_001).await.expect("lease").expect("free again");
    assert!(b > a, "fences increase");
    assert!(store.put_fenced(&key, token("1000.from-b", 4_000_000_000_000), b).await.expect("put"));
    assert!(
        !store.put_fenced(&key, token("1000.from-a", 4_000_000_000_000), a).await.expect("put"),
        "stale holder refused"
    );
    assert_eq!(store.get(&key).await.expect("get").map(|t| t.access_token), Some(AccessToken::new("1000.from-b")));
    store.release_lease(&key, "holder-a").await.expect("release");
    assert_eq!(store.try_lease(&key, "holder-c", ttl, t0 + 30_002).await.expect("lease"), None, "a cannot release b's");
    store.release_lease(&key, "holder-b").await.expect("release");
    assert!(store.try_lease(&key, "holder-c", ttl, t0 + 30_003).await.expect("lease").is_some());

    assert!(!store.invalidate_if(&key, &AccessToken::new("1000.other")).await.expect("inv"));
    assert!(store.invalidate_if(&key, &AccessToken::new("1000.from-b")).await.expect("inv"));
    assert!(store.get(&key).await.expect("get").is_none());

    for i in 0..3 {
        store.record_refresh(&key, 1_000 + i, Duration::from_secs(600)).await.expect("record");
    }
    assert_eq!(
        store.refresh_history(&key, 2_000, Duration::from_secs(600)).await.expect("hist"),
        vec![1_000, 1_001, 1_002]
    );
    store.set_cooldown(&key, 9_999).await.expect("cooldown");
    assert_eq!(store.cooldown_until(&key).await.expect("cooldown"), Some(9_999));
    let backoff = zoho_oauth::Backoff {
        until_ms: 5_000,
        streak: 2,
        error: zoho_oauth::FailureSummary::of(&zoho_oauth::Error::new(ErrorCode::Transport, "reset")),
    };
    store.set_backoff(&key, backoff.clone()).await.expect("backoff");
    let snap = store.snapshot(&key, 2_000, Duration::from_secs(600)).await.expect("snapshot");
    assert_eq!((snap.cooldown_until_ms, snap.backoff, snap.refreshes.len()), (Some(9_999), Some(backoff), 3));
    store.clear_backoff(&key).await.expect("clear");
    assert!(store.backoff(&key).await.expect("backoff").is_none());

    assert!(store.load_refresh_token(&key).await.expect("load").is_none(), "not stored unless asked");
    store.save_refresh_token(&key, &RefreshToken::new("1000.rt-fence"), Some("fence@example.com")).await.expect("save");
    let listed = store.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, key);
    assert_eq!(listed[0].label.as_deref(), Some("fence@example.com"));
    assert!(!format!("{listed:?}").contains("1000.rt-fence"));
    assert!(store.delete(&key).await.expect("delete"));
    assert!(!store.delete(&key).await.expect("delete"));
    assert!(store.list().await.expect("list").is_empty());
}

/// A table of a newer schema is refused with a `store` error and left as it is; a password
/// never shows in an error or `Debug`.
async fn sql_store_refuses_newer_schemas_and_hides_passwords(url: &str) {
    let store = SqlStore::from_url(url).expect("store");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrate is idempotent");
    // Bump the version row as a newer build would, through a second store on the same table.
    let key = StoreKey::new("https://accounts.zoho.eu", "1000.S", &RefreshToken::new("1000.rt-schema"));
    store.put(&key, token("1000.kept", 4_000_000_000_000)).await.expect("put");
    bump_schema_version(url).await;
    let newer = open_store(url).expect("store");
    let err = newer.get(&key).await.expect_err("newer schema refused");
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(err.to_string().contains("schema version 99"), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("upgrade")), "{err}");

    let with_password = {
        let mut u = url::Url::parse(url).expect("url");
        u.set_password(Some("hunter2-secret")).expect("password");
        u.set_port(Some(1)).expect("port");
        with_option(u.as_str(), "timeout_ms=300")
    };
    let unreachable = open_store(&with_password).expect("opening does no I/O");
    let err = unreachable.get(&key).await.expect_err("nothing listens on port 1");
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    assert!(!format!("{:?}", SqlStore::from_url(&with_password).expect("store")).contains("hunter2"));
}

/// Set the version row of the table in `url` to 99, with the same driver the store uses.
async fn bump_schema_version(url: &str) {
    let table = url.split("table=").nth(1).and_then(|t| t.split('&').next()).expect("table");
    let state = r#"{"schema_version":99}"#;
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url.split('?').next().expect("base")).await.expect("connect");
        sqlx::query(&format!("UPDATE {table} SET state = $1 WHERE id = '!schema'"))
            .bind(state)
            .execute(&pool)
            .await
            .map(|_| ())
    } else {
        let pool = sqlx::MySqlPool::connect(url.split('?').next().expect("base")).await.expect("connect");
        sqlx::query(&format!("UPDATE {table} SET state = ? WHERE id = '!schema'"))
            .bind(state)
            .execute(&pool)
            .await
            .map(|_| ())
    }
    .expect("bump");
}

#[tokio::test]
async fn postgres_fencing_lease_release_list_and_delete() {
    let Some(url) = postgres_store_url("fence") else { return };
    store_semantics(&url, |_| async {}).await;
}

#[tokio::test]
async fn mysql_fencing_lease_release_list_and_delete() {
    let Some(url) = mysql_store_url("fence") else { return };
    store_semantics(&url, |_| async {}).await;
}

#[tokio::test]
async fn postgres_refuses_newer_schemas_and_hides_passwords() {
    let Some(url) = postgres_store_url("schema") else { return };
    sql_store_refuses_newer_schemas_and_hides_passwords(&url).await;
}

#[tokio::test]
async fn mysql_refuses_newer_schemas_and_hides_passwords() {
    let Some(url) = mysql_store_url("schema") else { return };
    sql_store_refuses_newer_schemas_and_hides_passwords(&url).await;
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster and Sentinel

fn cluster_store_url(name: &str) -> Option<String> {
    server_url("ZOHO_TEST_REDIS_CLUSTER_URL", "ZOHO_REQUIRE_STORES").map(|base| redis_store_url(&base, name))
}

fn sentinel_store_url(name: &str) -> Option<String> {
    server_url("ZOHO_TEST_REDIS_SENTINEL_URL", "ZOHO_REQUIRE_STORES").map(|base| redis_store_url(&base, name))
}

shared_store_suite!(redis_cluster_store, cluster_store_url, lease_ms = 2_000);
shared_store_suite!(redis_sentinel_store, sentinel_store_url, lease_ms = 2_000);

/// The `host:port`s of a `redis+cluster://` or `redis+sentinel://` URL.
fn hosts_of(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit('@').next().unwrap_or_default().split(',').map(str::to_string).collect()
}

fn redis_at(host: &str) -> redis::Connection {
    redis::Client::open(format!("redis://{host}")).and_then(|c| c.get_connection()).expect("connect")
}

/// One line of `CLUSTER NODES`.
struct Node {
    addr: String,
    id: String,
    master: bool,
    master_id: String,
    slots: Vec<(i64, i64)>,
}

fn cluster_nodes(host: &str) -> Vec<Node> {
    let text: String = redis::cmd("CLUSTER").arg("NODES").query(&mut redis_at(host)).expect("cluster nodes");
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let slots = f[8.min(f.len())..]
                .iter()
                .filter_map(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Node {
                addr: f.get(1)?.split('@').next()?.to_string(),
                id: f[0].to_string(),
                master: f.get(2)?.contains("master"),
                master_id: f.get(3)?.to_string(),
                slots,
            })
        })
        .collect()
}

/// `CLUSTER FAILOVER` on the replica of the master that holds `key`'s slot, then wait until
/// that replica is the slot's master.
fn fail_over_cluster_slot(seed: &str, key: &StoreKey) {
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(format!("{{{}}}", key.as_str()))
        .query(&mut redis_at(seed))
        .expect("slot");
    let nodes = cluster_nodes(seed);
    let master = nodes
        .iter()
        .find(|n| n.master && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .expect("the slot's master");
    let replica =
        nodes.iter().find(|n| !n.master && n.master_id == master.id).expect("a replica of that master").addr.clone();
    let _: String = redis::cmd("CLUSTER").arg("FAILOVER").query(&mut redis_at(&replica)).expect("failover");
    let until = Instant::now() + Duration::from_secs(20);
    while !cluster_nodes(&replica).iter().any(|n| n.addr == replica && n.master) {
        assert!(Instant::now() < until, "the replica never took over");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `SENTINEL FAILOVER` of the group, then wait until the failover is over everywhere: every
/// sentinel names the new master, and the old master is its replica with the link up. Until
/// then a process may still be sent to the old master by a sentinel that has not heard yet, and
/// whatever it writes there is dropped when that master resyncs as a replica; the tests after
/// this one must not run in that window.
fn fail_over_sentinel(sentinels: &[String]) {
    let master_of = |s: &str| -> Vec<String> {
        redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg("zoho").query(&mut redis_at(s)).expect("master")
    };
    let before = master_of(&sentinels[0]);
    let _: String =
        redis::cmd("SENTINEL").arg("FAILOVER").arg("zoho").query(&mut redis_at(&sentinels[0])).expect("failover");
    let until = Instant::now() + Duration::from_secs(30);
    let old = format!("{}:{}", before[0], before[1]);
    loop {
        let now = master_of(&sentinels[0]);
        let agreed = now != before && sentinels.iter().all(|s| master_of(s) == now);
        let demoted = agreed && {
            let info: String = redis::cmd("INFO").arg("replication").query(&mut redis_at(&old)).unwrap_or_default();
            let new_port = format!("master_port:{}", now[1]);
            info.contains("role:slave") && info.contains(&new_port) && info.contains("master_link_status:up")
        };
        if demoted {
            break;
        }
        assert!(Instant::now() < until, "the sentinel failover never settled");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Eight processes on an expired token while the master holding it fails over (`fail_over`,
/// started as the token request hangs at the mock for a second): every process gets a token,
/// and Zoho sees at most one extra refresh. `lossless`: the failover waits for the replica to
/// catch up (Redis Cluster's manual failover), so the store keeps the token too; Sentinel's
/// replication is asynchronous, so a write to the old master during the switch may be lost.
async fn failover_during_a_refresh_storm(
    url: &str,
    lossless: bool,
    fail_over: impl FnOnce(&StoreKey) + Send + 'static,
) {
    let _alone = FAILOVER.write().await;
    let env = Env::start().await;
    let url = with_option(url, "timeout_ms=5000");
    let rt = expired_identity(&env, &url).await;
    let key = StoreKey::new(&env.url(), zoho_mock::DEFAULT_CLIENT_ID, &RefreshToken::new(rt.clone()));
    env.mock.inject_fault(token_fault(1, |f| f.delay_ms = Some(1_000))).expect("fault");
    let counters = env.mock.clone();
    let failover = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(20);
        while counters.counters().token_requests_received == 0 {
            assert!(Instant::now() < until, "no token request came");
            std::thread::sleep(Duration::from_millis(5));
        }
        fail_over(&key);
    });
    let results = run_fleet(&env, &rt, &url, 8, 5_000, Duration::from_secs(10));
    failover.join().expect("failover");
    assert!(results.iter().all(|(k, _, _)| k == "ok"), "every process gets a token: {results:?}");
    let requests = env.mock.counters().token_requests_received;
    assert!(requests <= 2, "at most one extra refresh: {requests} token requests");

    // A client that starts now: with a lossless failover it uses the stored token (no token
    // lost); after an asynchronous one the token written to the old master in the failover
    // window may be gone, and it refreshes once, still within one extra refresh in all.
    let client = Client::builder(env.app(), rt).token_store_url(url).build().expect("client");
    let token = client.access_token().await.expect("token");
    let total = env.mock.counters().token_requests_received;
    if lossless {
        assert!(results.iter().any(|(_, fp, _)| *fp == token.fingerprint()), "the stored token is one the fleet got");
        assert_eq!(total, requests, "the stored token was used");
    } else {
        assert!(total <= 2, "at most one extra refresh in all: {requests} by the fleet, {total} in all");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_master_failover_during_a_refresh_storm() {
    let Some(url) = cluster_store_url("failover") else { return };
    let seed = hosts_of(&url)[0].clone();
    failover_during_a_refresh_storm(&url, true, move |key| fail_over_cluster_slot(&seed, key)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_failover_during_a_refresh_storm() {
    let Some(url) = sentinel_store_url("failover") else { return };
    let sentinels = hosts_of(&url);
    failover_during_a_refresh_storm(&url, false, move |_| fail_over_sentinel(&sentinels)).await;
}

/// Every master of a Redis Cluster or Sentinel group stops taking writes (`CLIENT PAUSE … WRITE`;
/// `restart` is `CLIENT UNPAUSE`): the scripts that take the refresh lease hang like commands to a
/// server that stopped answering, and so does everything queued behind them on the connection,
/// while the cluster bus keeps running and the sentinels (told to wait a minute before calling a
/// master down) see no reason to fail over. So the outage is the store's alone, as in the
/// single-server test, without a failover the test did not ask for.
struct PausedMasters {
    masters: Vec<String>,
    /// Sentinels whose `down-after-milliseconds` is raised while the masters are paused.
    sentinels: Vec<String>,
}

impl PausedMasters {
    fn cluster(seed: &str) -> Self {
        let masters = cluster_nodes(seed).into_iter().filter(|n| n.master).map(|n| n.addr).collect();
        PausedMasters { masters, sentinels: Vec::new() }
    }

    fn sentinel(sentinels: Vec<String>) -> Self {
        let master: Vec<String> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg("zoho")
            .query(&mut redis_at(&sentinels[0]))
            .expect("master");
        PausedMasters { masters: vec![format!("{}:{}", master[0], master[1])], sentinels }
    }

    fn down_after(&self, ms: u64) -> redis::RedisResult<()> {
        for s in &self.sentinels {
            redis::cmd("SENTINEL")
                .arg("SET")
                .arg("zoho")
                .arg("down-after-milliseconds")
                .arg(ms)
                .query::<()>(&mut redis_at(s))?;
        }
        Ok(())
    }
}

impl Outage for PausedMasters {
    fn stop(&mut self) {
        self.down_after(60_000).expect("sentinel set");
        for m in &self.masters {
            let _: () =
                redis::cmd("CLIENT").arg("PAUSE").arg(60_000).arg("WRITE").query(&mut redis_at(m)).expect("pause");
        }
    }

    fn restart(&mut self) {
        for m in &self.masters {
            let _: () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut redis_at(m)).expect("unpause");
        }
        self.down_after(1_000).expect("sentinel set");
    }
}

impl Drop for PausedMasters {
    fn drop(&mut self) {
        // A failed assertion must not leave the servers paused for the tests after this one.
        for m in &self.masters {
            let _: redis::RedisResult<()> = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut redis_at(m));
        }
        let _ = self.down_after(1_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_outage_is_a_store_error_never_a_refresh_storm() {
    let Some(url) = cluster_store_url("outage") else { return };
    let _alone = FAILOVER.write().await;
    let mut masters = PausedMasters::cluster(&hosts_of(&url)[0]);
    outage_is_a_store_error_never_a_refresh_storm(&with_option(&url, "timeout_ms=300"), &mut masters, "Redis").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_outage_is_a_store_error_never_a_refresh_storm() {
    let Some(url) = sentinel_store_url("outage") else { return };
    let _alone = FAILOVER.write().await;
    let mut masters = PausedMasters::sentinel(hosts_of(&url));
    outage_is_a_store_error_never_a_refresh_storm(&with_option(&url, "timeout_ms=300"), &mut masters, "Redis").await;
}

#[tokio::test]
async fn redis_cluster_and_sentinel_semantics() {
    for url in [cluster_store_url("semantics"), sentinel_store_url("semantics")].into_iter().flatten() {
        let _shared = FAILOVER.read().await;
        let prefix = url.split("prefix=").nth(1).expect("prefix").to_string();
        let cluster = url.starts_with("redis+cluster");
        let host = hosts_of(&url)[0].clone();
        store_semantics(&url, |key| async move {
            let lease_key = format!("{prefix}{{{}}}:lease", key.as_str());
            if cluster {
                let nodes: Vec<String> = vec![format!("redis://{host}")];
                let client = redis::cluster::ClusterClient::new(nodes).expect("cluster client");
                let mut c = client.get_async_connection().await.expect("connect");
                let _: i64 = redis::cmd("DEL").arg(&lease_key).query_async(&mut c).await.expect("del");
            } else {
                let master: Vec<String> = redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg("zoho")
                    .query(&mut redis_at(&host))
                    .expect("master");
                let _: i64 = redis::cmd("DEL").arg(&lease_key).query(&mut redis_at(&master.join(":"))).expect("del");
            }
        })
        .await;
        let shown = format!("{:?}", RedisStore::from_url(&url.replacen("://", "://app:pw-secret@", 1)).expect("store"));
        assert!(!shown.contains("pw-secret") && shown.contains("app:***@"), "{shown}");
    }
}
