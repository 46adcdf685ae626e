//! Token stores: where the cached access token, the refresh lease, the refresh budget and the
//! throttle cooldown of one identity live, so that every client sharing the store (threads,
//! processes, hosts) refreshes once and backs off together.
//!
//! A store is chosen by one URL string with the same meaning in every language:
//! `memory://` (the default, shared by every client of the same identity in this process).
//! `file://` and `redis://` stores implement the same trait in a later release.

mod memory;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use memory::MemoryStore;

use crate::clock::BoxFuture;
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// Identity of one cached token: accounts server + client id + refresh token, hashed so that
/// the key itself reveals no secret and can be logged or used as a Redis key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key of (accounts server, client id, refresh token).
    pub fn new(accounts_server: &str, client_id: &str, refresh_token: &RefreshToken) -> Self {
        let mut h = Sha256::new();
        h.update(accounts_server.trim_end_matches('/').as_bytes());
        h.update([0]);
        h.update(client_id.as_bytes());
        h.update([0]);
        h.update(refresh_token.secret().as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        StoreKey(format!("zoho-oauth:v1:{}", &hex[..40]))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Storage for the shared state of an identity. All methods are async and object-safe so that
/// stores backed by files, Redis or a binding's own code can implement it.
///
/// Times are Unix milliseconds from the client's clock.
pub trait TokenStore: Send + Sync + 'static {
    /// The cached token, if any (expired ones may be returned; the client checks expiry).
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>>;

    /// Replace the cached token.
    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>>;

    /// Remove the cached token only if it is still `rejected` (compare-and-invalidate), so a
    /// late 401 on an old token never discards a newer one. Returns whether it removed it.
    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>>;

    /// Try to take the refresh lease for `ttl` (cross-process single flight). Returns false
    /// when another live holder has it.
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Release the lease if `holder` still holds it (compare-and-delete).
    fn release_lease<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Record a refresh at `at_ms` and return every refresh time within `window` before it,
    /// oldest first (the budget count, including this one).
    fn record_refresh<'a>(&'a self, key: &'a StoreKey, at_ms: i64, window: Duration)
    -> BoxFuture<'a, Result<Vec<i64>>>;

    /// Refresh times within `window` before `now_ms`, oldest first.
    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>>;

    /// Record that Zoho throttled this refresh token until `until_ms`.
    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>>;

    /// The throttle cooldown end, if one was recorded.
    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>>;
}

/// Open a store from its URL: `memory://` (the default). Others are a `config` error naming
/// what is supported.
pub fn open_store(url: &str) -> Result<Arc<dyn TokenStore>> {
    let u = url.trim();
    if u.is_empty() || u == "memory://" || u == "memory:" || u == "memory" {
        return Ok(Arc::new(MemoryStore::shared()));
    }
    let scheme = u.split("://").next().unwrap_or_default();
    Err(Error::config(
        format!("token store {scheme:?} is not supported by this build"),
        "use token_store=\"memory://\"; file:// and redis:// stores arrive in a later release",
    ))
}
