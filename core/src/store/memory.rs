//! `memory://`: the in-process store. Every `MemoryStore::shared()` sees the same state per
//! identity, so a web app that builds a client per request still refreshes once.

use std::collections::{HashMap, VecDeque};
use std::future::ready;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use super::{StoreKey, TokenStore};
use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::AccessToken;
use crate::token::TokenSet;

#[derive(Default)]
struct Entry {
    token: Option<TokenSet>,
    lease: Option<(String, i64)>,
    refreshes: VecDeque<i64>,
    cooldown_until: Option<i64>,
}

type Map = Mutex<HashMap<StoreKey, Entry>>;

static SHARED: LazyLock<Arc<Map>> = LazyLock::new(|| Arc::new(Mutex::new(HashMap::new())));

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

/// Keep at most this many refresh times per identity (the budget only needs the last ten).
const MAX_HISTORY: usize = 64;

impl MemoryStore {
    /// The process-wide store behind `memory://`.
    pub fn shared() -> Self {
        MemoryStore { map: SHARED.clone() }
    }

    /// A store private to its holder (and its clones); for tests and for isolating tenants.
    pub fn isolated() -> Self {
        MemoryStore { map: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<StoreKey, Entry>> {
        // A panic while holding this lock cannot leave an entry half-written in a way that
        // matters (each operation is a single assignment), so recover from poisoning.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<T>(&self, key: &StoreKey, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut map = self.lock();
        f(map.entry(key.clone()).or_default())
    }
}

fn window_ms(w: Duration) -> i64 {
    w.as_millis().min(i64::MAX as u128) as i64
}

impl TokenStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>> {
        let map = self.lock();
        let t = map.get(key).and_then(|e| e.token.clone());
        Box::pin(ready(Ok(t)))
    }

    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>> {
        self.with(key, |e| e.token = Some(token));
        Box::pin(ready(Ok(())))
    }

    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        let removed = self.with(key, |e| {
            if e.token.as_ref().is_some_and(|t| &t.access_token == rejected) {
                e.token = None;
                true
            } else {
                false
            }
        });
        Box::pin(ready(Ok(removed)))
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        let got = self.with(key, |e| match &e.lease {
            Some((h, until)) if h != holder && *until > now_ms => false,
            _ => {
                e.lease = Some((holder.to_string(), now_ms.saturating_add(window_ms(ttl))));
                true
            }
        });
        Box::pin(ready(Ok(got)))
    }

    fn release_lease<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> BoxFuture<'a, Result<()>> {
        self.with(key, |e| {
            if e.lease.as_ref().is_some_and(|(h, _)| h == holder) {
                e.lease = None;
            }
        });
        Box::pin(ready(Ok(())))
    }

    fn record_refresh<'a>(
        &'a self,
        key: &'a StoreKey,
        at_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        let hist = self.with(key, |e| {
            e.refreshes.push_back(at_ms);
            while e.refreshes.len() > MAX_HISTORY {
                e.refreshes.pop_front();
            }
            let from = at_ms.saturating_sub(window_ms(window));
            e.refreshes.iter().copied().filter(|t| *t > from).collect::<Vec<_>>()
        });
        Box::pin(ready(Ok(hist)))
    }

    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        let from = now_ms.saturating_sub(window_ms(window));
        let hist = self.with(key, |e| e.refreshes.iter().copied().filter(|t| *t > from).collect::<Vec<_>>());
        Box::pin(ready(Ok(hist)))
    }

    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>> {
        self.with(key, |e| e.cooldown_until = Some(until_ms));
        Box::pin(ready(Ok(())))
    }

    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>> {
        let c = self.with(key, |e| e.cooldown_until);
        Box::pin(ready(Ok(c)))
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
        assert_eq!(s.try_lease(&k, "a", Duration::from_secs(10), 0).await.ok(), Some(true));
        assert_eq!(s.try_lease(&k, "b", Duration::from_secs(10), 5_000).await.ok(), Some(false));
        assert_eq!(s.try_lease(&k, "b", Duration::from_secs(10), 10_001).await.ok(), Some(true));
        s.release_lease(&k, "a").await.ok();
        assert_eq!(s.try_lease(&k, "c", Duration::from_secs(10), 10_002).await.ok(), Some(false));
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
