//! `memory://`: the in-process store. Every `MemoryStore::shared()` sees the same state per
//! identity, so a web app that builds a client per request still refreshes once.

use std::future::ready;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use super::record::{self, Record, Records};
use super::{Backoff, Snapshot, StoreKey, StoredIdentity, TokenStore, window_ms};
use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

type Map = Mutex<Records>;

static SHARED: LazyLock<Arc<Map>> = LazyLock::new(|| Arc::new(Mutex::new(Records::new())));

/// In-memory token store.
#[derive(Clone)]
pub struct MemoryStore {
    map: Arc<Map>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl MemoryStore {
    /// The process-wide store behind `memory://`.
    pub fn shared() -> Self {
        MemoryStore { map: SHARED.clone() }
    }

    /// A store private to its holder (and its clones); for tests and for isolating tenants.
    pub fn isolated() -> Self {
        MemoryStore { map: Arc::new(Mutex::new(Records::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        // A panic while holding this lock cannot leave a record half-written in a way that
        // matters (each operation is a few assignments), so recover from poisoning.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` on the record of `key` (created when missing) and answer its result at once.
    fn with<'a, T: Send + 'a>(&self, key: &StoreKey, f: impl FnOnce(&mut Record) -> T) -> BoxFuture<'a, Result<T>> {
        let out = f(record::entry(&mut self.lock(), key));
        Box::pin(ready(Ok(out)))
    }
}

impl TokenStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>> {
        let t = self.lock().get(key.as_str()).and_then(Record::token);
        Box::pin(ready(Ok(t)))
    }

    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.put(&token))
    }

    fn put_fenced<'a>(&'a self, key: &'a StoreKey, token: TokenSet, fence: u64) -> BoxFuture<'a, Result<bool>> {
        self.with(key, |r| r.put_fenced(&token, fence))
    }

    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        self.with(key, |r| r.invalidate_if(rejected))
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<u64>>> {
        self.with(key, |r| r.try_lease(holder, now_ms.saturating_add(window_ms(ttl)), now_ms))
    }

    fn release_lease<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.release_lease(holder))
    }

    fn record_refresh<'a>(
        &'a self,
        key: &'a StoreKey,
        at_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        self.with(key, |r| r.record_refresh(at_ms, window_ms(window)))
    }

    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        self.with(key, |r| r.history(now_ms, window_ms(window)))
    }

    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.cooldown_until_ms = Some(until_ms))
    }

    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>> {
        self.with(key, |r| r.cooldown_until_ms)
    }

    fn set_backoff<'a>(&'a self, key: &'a StoreKey, backoff: Backoff) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.backoff = Some(backoff))
    }

    fn backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Backoff>>> {
        self.with(key, |r| r.backoff.clone())
    }

    fn clear_backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.backoff = None)
    }

    fn snapshot<'a>(&'a self, key: &'a StoreKey, now_ms: i64, window: Duration) -> BoxFuture<'a, Result<Snapshot>> {
        self.with(key, |r| r.snapshot(now_ms, window_ms(window)))
    }

    fn save_refresh_token<'a>(
        &'a self,
        key: &'a StoreKey,
        refresh_token: &'a RefreshToken,
        label: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        self.with(key, |r| r.save_refresh_token(refresh_token, label))
    }

    fn load_refresh_token<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<RefreshToken>>> {
        self.with(key, |r| r.load_refresh_token())
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredIdentity>>> {
        let l = record::list(&self.lock());
        Box::pin(ready(Ok(l)))
    }

    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<bool>> {
        let existed = self.lock().remove(key.as_str()).is_some();
        Box::pin(ready(Ok(existed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::RefreshToken;

    fn token(at: &str) -> TokenSet {
        match TokenSet::parse(200, &format!(r#"{{"access_token":"{at}"}}"#), 0, "https://accounts.zoho.com") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn compare_and_invalidate() {
        let s = MemoryStore::isolated();
        let k = StoreKey::new("a", "c", &RefreshToken::new("r"));
        s.put(&k, token("new")).await.ok();
        assert_eq!(s.invalidate_if(&k, &AccessToken::new("old")).await.ok(), Some(false));
        assert!(s.get(&k).await.ok().flatten().is_some());
        assert_eq!(s.invalidate_if(&k, &AccessToken::new("new")).await.ok(), Some(true));
        assert!(s.get(&k).await.ok().flatten().is_none());
    }

    #[tokio::test]
    async fn shared_instances_share_state() {
        let k = StoreKey::new("shared-test", "c", &RefreshToken::new("r-shared"));
        MemoryStore::shared().put(&k, token("x")).await.ok();
        assert!(MemoryStore::shared().get(&k).await.ok().flatten().is_some());
        assert!(MemoryStore::isolated().get(&k).await.ok().flatten().is_none());
    }

    #[tokio::test]
    async fn lease_and_budget() {
        let s = MemoryStore::isolated();
        let k = StoreKey::new("a", "c", &RefreshToken::new("r"));
        assert_eq!(s.try_lease(&k, "a", Duration::from_secs(10), 0).await.ok(), Some(Some(1)));
        assert_eq!(s.try_lease(&k, "b", Duration::from_secs(10), 5_000).await.ok(), Some(None));
        assert_eq!(s.try_lease(&k, "b", Duration::from_secs(10), 10_001).await.ok(), Some(Some(2)));
        s.release_lease(&k, "a").await.ok();
        assert_eq!(s.try_lease(&k, "c", Duration::from_secs(10), 10_002).await.ok(), Some(None));
        for i in 0..12 {
            s.record_refresh(&k, i * 1000, Duration::from_secs(600)).await.ok();
        }
        let h = s.refresh_history(&k, 600_500, Duration::from_secs(600)).await.unwrap_or_default();
        assert_eq!(h.len(), 11);
        assert_eq!(h.first().copied(), Some(1000));
    }

    #[test]
    fn key_hides_the_refresh_token() {
        let k = StoreKey::new("https://accounts.zoho.com", "1000.ID", &RefreshToken::new("1000.secret"));
        assert!(!k.as_str().contains("secret"));
        assert_ne!(k, StoreKey::new("https://accounts.zoho.eu", "1000.ID", &RefreshToken::new("1000.secret")));
    }
}
