//! `memory://`: the in-process store. Every `MemoryStore::shared()` sees the same state per
//! identity, so a web app that builds a client per request still refreshes once.

use std::future::{Future, ready};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::StoreKey;
use super::backend::RecordBackend;
use super::record::{self, Record, Records};
use crate::error::Result;

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
}

impl RecordBackend for MemoryStore {
    fn read<'a, T: Send + 'a>(
        &'a self,
        key: &'a StoreKey,
        f: impl FnOnce(Option<&Record>) -> T + Send + 'a,
    ) -> impl Future<Output = Result<T>> + Send + 'a {
        ready(Ok(f(self.lock().get(key.as_str()))))
    }

    fn update<'a, T: Send + 'a>(
        &'a self,
        _what: &'static str,
        key: &'a StoreKey,
        f: impl Fn(&mut Record) -> (T, bool) + Send + Sync + 'a,
    ) -> impl Future<Output = Result<T>> + Send + 'a {
        ready(Ok(f(record::entry(&mut self.lock(), key)).0))
    }

    fn records(&self) -> impl Future<Output = Result<Vec<(String, Record)>>> + Send + '_ {
        ready(Ok(self.lock().iter().map(|(id, r)| (id.clone(), r.clone())).collect()))
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> impl Future<Output = Result<bool>> + Send + 'a {
        ready(Ok(self.lock().remove(key.as_str()).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::secret::{AccessToken, RefreshToken};
    use crate::store::TokenStore;
    use crate::token::TokenSet;

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
