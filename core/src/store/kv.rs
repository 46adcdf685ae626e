//! Token stores written by the user: any key-value map with an atomic compare-and-set.
//!
//! A store for a database this crate does not speak (DynamoDB, etcd, a Django cache, an
//! in-house service), or one written in Python or JavaScript, implements three small operations,
//! [`KeyValueStore`]; [`CasStore`] builds every [`TokenStore`](super::TokenStore) operation on
//! them: the refresh lease with its fencing number, fenced token writes,
//! compare-and-invalidate, the refresh budget, the throttle cooldown and the failure backoff are
//! fields of one JSON record per identity (the record the memory, file and SQL stores keep),
//! changed by read → change → compare-and-set, retried when another client changed it first.
//! So a user's store gets the same single-flight refresh across threads, processes and hosts as
//! the built-in ones, as long as its `compare_and_set` is atomic where it is shared (a lock in
//! one process; a conditional write in a database shared by hosts).
//!
//! The values hold the cached access token (and the refresh token when the caller asks for it
//! to be kept): store them as the secrets they are. Keys are `zoho-oauth:v1:<hash>` and reveal
//! nothing. Every operation is bounded by a timeout (default 2 s): a store that fails or hangs
//! gives a `store` error, clients with a fresh cached token keep working, and no client refreshes
//! without the shared lease and budget, so a broken store never causes a refresh storm.

use std::sync::Arc;
use std::time::Duration;

use super::StoreKey;
use super::backend::{self, RecordBackend};
use super::record::Record;
use crate::clock::BoxFuture;
use crate::config::Naming;
use crate::error::{Error, ErrorCode, Result};

/// What a [`KeyValueStore`] operation failed with: any error (its message is shown, with
/// anything shaped like a Zoho token removed).
pub type KvError = Box<dyn std::error::Error + Send + Sync>;

/// A string map with an atomic compare-and-set: all a store of one's own has to provide.
pub trait KeyValueStore: Send + Sync + 'static {
    /// The value of `key`, or `None` when it has none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::result::Result<Option<String>, KvError>>;

    /// Atomically: if the value of `key` is `expected` (`None`: it has no value), set it to
    /// `new` (`None`: remove it) and answer `true`; otherwise change nothing and answer
    /// `false`. Atomic with respect to every other client sharing the store.
    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> BoxFuture<'a, std::result::Result<bool, KvError>>;

    /// Every key that has a value (for listing; the order does not matter).
    fn keys(&self) -> BoxFuture<'_, std::result::Result<Vec<String>, KvError>>;
}

/// Attempts of one change before giving up: each lost attempt means another client changed the
/// same identity in between, so this many in a row means the store's compare-and-set never
/// succeeds (a broken implementation), not contention.
const ATTEMPTS: u32 = 100;
/// The default bound on each [`KeyValueStore`] call.
pub const DEFAULT_KV_TIMEOUT: Duration = Duration::from_secs(2);

/// A [`TokenStore`](super::TokenStore) on a [`KeyValueStore`] (see the module docs).
pub struct CasStore {
    kv: Arc<dyn KeyValueStore>,
    name: String,
    naming: Naming,
    timeout: Duration,
}

impl std::fmt::Debug for CasStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CasStore").field("name", &self.name).field("timeout", &self.timeout).finish()
    }
}

impl CasStore {
    /// A token store on `kv`; `kind` names it in error messages (the user's type name, such as
    /// `MyStore`: "the token store MyStore: get() failed …").
    pub fn new(kv: Arc<dyn KeyValueStore>, kind: &str) -> Self {
        let name = format!("the token store {}", crate::dc::truncate(kind, 60));
        CasStore { kv, name, naming: Naming::Snake, timeout: DEFAULT_KV_TIMEOUT }
    }

    /// Bound each call of the store by `timeout` instead of [`DEFAULT_KV_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// [`with_timeout`](Self::with_timeout) from seconds as a binding gets them (a store
    /// object's `timeout` property): a `config` error unless above 0 and at most 3600.
    pub fn with_timeout_secs(self, secs: f64) -> Result<Self> {
        if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
            return Err(Error::config(
                format!("{}: its timeout must be a number of seconds above 0 and at most 3600", self.name),
                "set timeout to the seconds one call of the store may take (default 2), or leave it unset",
            ));
        }
        Ok(self.with_timeout(Duration::from_secs_f64(secs)))
    }

    /// How messages spell the store's method names (`compareAndSet` for a JavaScript store).
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    fn err(&self, method: &str, what: &str, why: &str) -> Error {
        let m = self.naming.name(method);
        let message = format!("{}: {m}() failed while trying to {what}: {why}", self.name);
        Error::new(ErrorCode::Store, crate::log::redact_tokens(&message)).with_hint(format!(
            "check the store's {m}(): it must answer within {} ms as the KeyValueStore contract says; clients \
             with a fresh cached token keep working meanwhile, and none refreshes until the store answers",
            self.timeout.as_millis()
        ))
    }

    /// One call of the user's store, bounded by the timeout, its failure made a `store` error.
    async fn call<T>(&self, method: &str, what: &str, op: BoxFuture<'_, std::result::Result<T, KvError>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.err(method, what, &e.to_string())),
            Err(_) => Err(self.err(method, what, &format!("no answer within {} ms", self.timeout.as_millis()))),
        }
    }

    async fn get_state(&self, what: &str, key: &str) -> Result<Option<String>> {
        self.call("get", what, self.kv.get(key)).await
    }

    /// Set `key` from `expected` to `new`; whether it was still `expected`.
    async fn swap(&self, what: &str, key: &str, expected: Option<&str>, new: Option<&str>) -> Result<bool> {
        self.call("compare_and_set", what, self.kv.compare_and_set(key, expected, new)).await
    }

    /// A short pause after a lost race, growing with the attempts (at most 5 ms), so clients
    /// racing for one record spread out instead of colliding in step.
    async fn pause(attempt: u32) {
        let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(2_654_435_761)) % 500;
        let micros = (u64::from(attempt.min(10)) * 500 + jitter).min(5_000);
        tokio::time::sleep(Duration::from_micros(micros)).await;
    }

    fn gave_up(&self, what: &str) -> Error {
        self.err(
            "compare_and_set",
            what,
            &format!("it answered false {ATTEMPTS} times in a row for a value just read by get()"),
        )
    }
}

impl RecordBackend for CasStore {
    async fn read<'a, T: Send + 'a>(
        &'a self,
        key: &'a StoreKey,
        f: impl FnOnce(Option<&Record>) -> T + Send + 'a,
    ) -> Result<T> {
        let state = self.get_state("read the cached token", key.as_str()).await?;
        Ok(f(state.as_deref().and_then(backend::parse).as_ref()))
    }

    async fn update<'a, T: Send + 'a>(
        &'a self,
        what: &'static str,
        key: &'a StoreKey,
        f: impl Fn(&mut Record) -> (T, bool) + Send + Sync + 'a,
    ) -> Result<T> {
        for attempt in 0..ATTEMPTS {
            let state = self.get_state(what, key.as_str()).await?;
            let mut rec = state.as_deref().and_then(backend::parse).unwrap_or_else(|| backend::fresh(key));
            let (out, changed) = f(&mut rec);
            if !changed {
                return Ok(out);
            }
            let body = serde_json::to_string(&rec).map_err(|e| self.err("compare_and_set", what, &e.to_string()))?;
            if self.swap(what, key.as_str(), state.as_deref(), Some(&body)).await? {
                return Ok(out);
            }
            Self::pause(attempt).await;
        }
        Err(self.gave_up(what))
    }

    async fn records(&self) -> Result<Vec<(String, Record)>> {
        let mut keys = self.call("keys", "list the identities", self.kv.keys()).await?;
        keys.retain(|k| k.starts_with("zoho-oauth:"));
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(r) = self.get_state("list the identities", &k).await?.as_deref().and_then(backend::parse) {
                out.push((k, r));
            }
        }
        Ok(out)
    }

    async fn remove(&self, key: &StoreKey) -> Result<bool> {
        let what = "delete an identity";
        for attempt in 0..ATTEMPTS {
            let Some(state) = self.get_state(what, key.as_str()).await? else {
                return Ok(false);
            };
            if self.swap(what, key.as_str(), Some(&state), None).await? {
                return Ok(true);
            }
            Self::pause(attempt).await;
        }
        Err(self.gave_up(what))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::secret::{AccessToken, RefreshToken};
    use crate::store::TokenStore;
    use crate::token::TokenSet;

    type KvResult<T> = std::result::Result<T, KvError>;

    /// A map whose every call yields first, so concurrent updates interleave between the read
    /// and the compare-and-set; `fail` makes every call fail, `hang` never answer, `deaf`
    /// makes compare-and-set always answer false.
    #[derive(Default)]
    struct Map {
        map: Mutex<BTreeMap<String, String>>,
        fail: bool,
        hang: bool,
        deaf: bool,
        swaps: AtomicU32,
    }

    impl Map {
        async fn enter(&self) -> KvResult<()> {
            tokio::task::yield_now().await;
            if self.hang {
                std::future::pending::<()>().await;
            }
            if self.fail {
                return Err("connection refused while writing 1000.abcdefabcdefabcdefabcdef".into());
            }
            Ok(())
        }
    }

    impl KeyValueStore for Map {
        fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, KvResult<Option<String>>> {
            Box::pin(async move {
                self.enter().await?;
                Ok(self.map.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned())
            })
        }

        fn compare_and_set<'a>(
            &'a self,
            key: &'a str,
            expected: Option<&'a str>,
            new: Option<&'a str>,
        ) -> BoxFuture<'a, KvResult<bool>> {
            Box::pin(async move {
                self.enter().await?;
                self.swaps.fetch_add(1, Ordering::SeqCst);
                let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
                if self.deaf || m.get(key).map(String::as_str) != expected {
                    return Ok(false);
                }
                match new {
                    Some(v) => m.insert(key.to_string(), v.to_string()),
                    None => m.remove(key),
                };
                Ok(true)
            })
        }

        fn keys(&self) -> BoxFuture<'_, KvResult<Vec<String>>> {
            Box::pin(async move {
                self.enter().await?;
                Ok(self.map.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect())
            })
        }
    }

    fn store(map: Map) -> Arc<CasStore> {
        Arc::new(CasStore::new(Arc::new(map), "TestMap").with_timeout(Duration::from_millis(200)))
    }

    fn key(n: u32) -> StoreKey {
        StoreKey::new("https://accounts.zoho.com", "1000.C", &RefreshToken::new(format!("1000.r{n}")))
    }

    fn token(at: &str) -> TokenSet {
        match TokenSet::parse(200, &format!(r#"{{"access_token":"{at}"}}"#), 0, "https://accounts.zoho.com") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_clients_take_one_lease_and_lose_no_update() {
        let s = store(Map::default());
        let k = key(1);
        let leases = (0..16).map(|i| {
            let (s, k) = (s.clone(), k.clone());
            tokio::spawn(async move { s.try_lease(&k, &format!("h{i}"), Duration::from_secs(60), 1_000).await })
        });
        let mut taken = 0;
        for l in leases {
            if l.await.expect("task").expect("lease").is_some() {
                taken += 1;
            }
        }
        assert_eq!(taken, 1, "one lease among 16 racing holders");

        let refreshes = (0..20).map(|i| {
            let (s, k) = (s.clone(), k.clone());
            tokio::spawn(async move { s.record_refresh(&k, 10_000 + i, Duration::from_secs(600)).await })
        });
        for r in refreshes {
            r.await.expect("task").expect("record");
        }
        let h = s.refresh_history(&k, 20_000, Duration::from_secs(600)).await.expect("history");
        assert_eq!(h.len(), 20, "no refresh lost to a race: {h:?}");
    }

    #[tokio::test]
    async fn every_operation_matches_the_built_in_stores() {
        let s = store(Map::default());
        let k = key(2);
        assert!(s.get(&k).await.expect("get").is_none());
        s.put(&k, token("new")).await.expect("put");
        assert!(!s.invalidate_if(&k, &AccessToken::new("old")).await.expect("cai"));
        assert!(s.invalidate_if(&k, &AccessToken::new("new")).await.expect("cai"));
        assert!(s.get(&k).await.expect("get").is_none());

        let fence = s.try_lease(&k, "a", Duration::from_secs(10), 0).await.expect("lease");
        assert_eq!(fence, Some(1));
        assert_eq!(s.try_lease(&k, "b", Duration::from_secs(10), 5_000).await.expect("lease"), None);
        assert!(s.put_fenced(&k, token("t2"), 2).await.expect("fenced"));
        assert!(!s.put_fenced(&k, token("t1"), 1).await.expect("fenced"), "an older lease cannot overwrite");
        assert_eq!(s.get(&k).await.expect("get").map(|t| t.access_token.secret().to_string()), Some("t2".into()));
        s.release_lease(&k, "a").await.expect("release");
        assert!(s.try_lease(&k, "c", Duration::from_secs(10), 6_000).await.expect("lease").is_some());

        s.set_cooldown(&k, 99).await.expect("cooldown");
        assert_eq!(s.cooldown_until(&k).await.expect("cooldown"), Some(99));
        s.save_refresh_token(&k, &RefreshToken::new("1000.r2"), Some("me@example.com")).await.expect("save");
        let listed = s.list().await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, k);
        assert_eq!(listed[0].label.as_deref(), Some("me@example.com"));
        assert!(s.delete(&k).await.expect("delete"));
        assert!(!s.delete(&k).await.expect("delete"));
        assert!(s.list().await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_failing_store_gives_store_errors_without_the_token() {
        let s = store(Map { fail: true, ..Map::default() });
        let e = s.put(&key(3), token("x")).await.expect_err("fails");
        assert_eq!(e.code(), ErrorCode::Store);
        assert!(e.message().contains("get() failed") && e.message().contains("connection refused"), "{e}");
        assert!(!e.message().contains("1000.abcdef"), "a token-shaped value is redacted: {e}");
        assert!(e.hint().is_some_and(|h| h.contains("get()")), "{e:?}");
    }

    #[test]
    fn timeouts_in_seconds_are_checked() {
        let s = || CasStore::new(Arc::new(Map::default()), "TestMap");
        assert_eq!(s().with_timeout_secs(0.25).map(|s| s.timeout).ok(), Some(Duration::from_millis(250)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 3601.0] {
            let e = s().with_timeout_secs(bad).err().map(|e| (e.code(), e.to_string()));
            assert!(matches!(&e, Some((ErrorCode::Config, m)) if m.contains("TestMap")), "{bad}: {e:?}");
        }
    }

    #[tokio::test]
    async fn a_hanging_store_times_out() {
        let s = store(Map { hang: true, ..Map::default() });
        let e = s.get(&key(4)).await.expect_err("times out");
        assert_eq!(e.code(), ErrorCode::Store);
        assert!(e.message().contains("no answer within 200 ms"), "{e}");
    }

    #[tokio::test]
    async fn a_compare_and_set_that_never_writes_is_reported() {
        let map = Arc::new(Map { deaf: true, ..Map::default() });
        let s = CasStore::new(map.clone(), "TestMap").with_naming(Naming::Camel);
        let e = s.put(&key(5), token("x")).await.expect_err("gives up");
        assert_eq!(e.code(), ErrorCode::Store);
        assert!(
            e.message().contains("the token store TestMap: compareAndSet() failed")
                && e.message().contains("100 times"),
            "{e}"
        );
        assert_eq!(map.swaps.load(Ordering::SeqCst), ATTEMPTS);
    }
}
