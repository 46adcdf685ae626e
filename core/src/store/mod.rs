//! Token stores: where the cached access token, the refresh lease, the refresh budget and the
//! throttle cooldown of one identity live, so that every client sharing the store (threads,
//! processes, hosts) refreshes once and backs off together.
//!
//! A store is chosen by one URL string with the same meaning in every language:
//!
//! | URL | store | shared by |
//! | --- | --- | --- |
//! | `memory://` (the default) | [`MemoryStore`] | every client of the same identity in this process |
//! | `file:///path/tokens.json` | [`FileStore`] | every process on this machine |
//! | `redis://host:port/db`, `rediss://…` | [`RedisStore`] | every host of a fleet |
//! | `redis+cluster://host:port[,host:port…]` (`rediss+cluster://`) | [`RedisStore`] on a Redis Cluster | every host of a fleet |
//! | `redis+sentinel://host:port[,host:port…]/service[/db]` | [`RedisStore`] on the master Sentinel names | every host of a fleet |
//! | `postgres://user@host:5432/db` (`postgresql://`) | [`SqlStore`] | every host of a fleet |
//! | `mysql://user@host:3306/db` (MySQL and MariaDB) | [`SqlStore`] | every host of a fleet |
//!
//! `redis://` URLs take two query options: `prefix` (a key prefix, default `zoho-oauth:`) and
//! `timeout_ms` (per Redis command, default 2000). When Redis is down or slow, every store
//! operation fails with a `store` error: a client whose cached token is still fresh keeps
//! working (the hot path never touches the store), and no client refreshes without the shared
//! lease and budget, so an outage can never turn into a refresh storm. The SQL stores
//! (features `postgres` and `mysql`, on by default) behave the same way; their table, DDL and
//! options are described in [`SqlStore`]'s module.
//!
//! A store of one's own is either a [`TokenStore`] (the one extension point; Rust only) or, much
//! smaller, a [`KeyValueStore`]: a string map with an atomic compare-and-set, on which
//! [`CasStore`] builds every operation with the same record and semantics as the built-in
//! stores. The Python and Node packages take an object with those three methods as their
//! `token_store` / `tokenStore` option.
//!
//! The refresh token is stored only when the caller asks ([`TokenStore::save_refresh_token`],
//! used after a code exchange or by the CLI); the client secret never is.

mod backend;
mod file;
#[cfg(feature = "csv")]
mod import;
mod kv;
mod memory;
mod record;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod sql;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use file::FileStore;
#[cfg(feature = "csv")]
pub use import::{SdkToken, import_zoho_sdk_csv};
pub use kv::{CasStore, DEFAULT_KV_TIMEOUT, KeyValueStore, KvError};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use sql::{SCHEMA_VERSION, SqlStore};

use crate::clock::BoxFuture;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// Identity of one cached token: accounts server + client id + refresh token. The id is a hash,
/// so the key reveals no secret and can be logged or used as a Redis key; the accounts server
/// and client id (not secrets) travel with it so a store can list what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    id: String,
    accounts_server: String,
    client_id: String,
}

impl StoreKey {
    /// The key of (accounts server, client id, refresh token).
    pub fn new(accounts_server: &str, client_id: &str, refresh_token: &RefreshToken) -> Self {
        let accounts_server = accounts_server.trim_end_matches('/');
        let mut h = Sha256::new();
        h.update(accounts_server.as_bytes());
        h.update([0]);
        h.update(client_id.as_bytes());
        h.update([0]);
        h.update(refresh_token.secret().as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        StoreKey {
            id: format!("zoho-oauth:v1:{}", &hex[..40]),
            accounts_server: accounts_server.to_string(),
            client_id: client_id.to_string(),
        }
    }

    /// A key read back from a store (its parts were written by [`StoreKey::new`]).
    pub(crate) fn from_parts(id: String, accounts_server: String, client_id: String) -> Self {
        StoreKey { id, accounts_server, client_id }
    }

    /// The key as a string (`zoho-oauth:v1:<hash>`).
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The accounts server of this identity.
    pub fn accounts_server(&self) -> &str {
        &self.accounts_server
    }

    /// The client id of this identity.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl std::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// What a store holds for one identity, without any secret: for `status` screens, listings and
/// choosing an identity to delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIdentity {
    /// The key (accounts server, client id and the hash of the refresh token).
    pub key: StoreKey,
    /// A label such as the user's email, when one was given (for example by an SDK import).
    pub label: Option<String>,
    /// The cached token's `api_domain`.
    pub api_domain: Option<String>,
    /// The cached token's scopes.
    pub scopes: Vec<String>,
    /// When the cached access token expires (Unix ms); `None` when no token is cached.
    pub expires_at_ms: Option<i64>,
    /// Whether the store holds the refresh token of this identity.
    pub has_refresh_token: bool,
    /// Refresh times the store knows of (Unix ms, oldest first), for the budget.
    pub refreshes: Vec<i64>,
    /// The end of an `Access Denied` cooldown, if one was recorded.
    pub cooldown_until_ms: Option<i64>,
    /// The end of a failure backoff, if one was recorded.
    pub backoff_until_ms: Option<i64>,
}

/// The failure backoff of one identity, shared through the store like the cooldown: after a
/// failed refresh, no client of the identity calls the token endpoint before `until_ms`, and
/// each caller gets the failure at once (DESIGN "Refresh on a bad day").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// No refresh before this time (Unix ms).
    pub until_ms: i64,
    /// Failed refreshes in a row (1 after the first); the window doubles with each.
    pub streak: u32,
    /// What the last failed refresh gave, without any secret or body.
    pub error: FailureSummary,
}

/// An [`Error`] as a store keeps it: code, message, status, Zoho's code and message, hint. No
/// body is kept (it may carry anything a server sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureSummary {
    /// The stable error code (`transport`, `invalid_response`, ...).
    pub code: String,
    /// The error's message.
    pub message: String,
    /// HTTP status, when an answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Zoho's error code, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoho_code: Option<String>,
    /// Zoho's error message, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoho_message: Option<String>,
    /// The hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl FailureSummary {
    /// The storable form of `e`.
    pub fn of(e: &Error) -> Self {
        FailureSummary {
            code: e.code().as_str().to_string(),
            message: e.message().to_string(),
            status: e.status(),
            zoho_code: e.zoho_code().map(str::to_string),
            zoho_message: e.zoho_message().map(str::to_string),
            hint: e.hint().map(str::to_string),
        }
    }

    /// Back to an error (an unknown code, from a newer build, reads as `transport`).
    pub fn to_error(&self) -> Error {
        let mut e = Error::new(ErrorCode::from_code(&self.code).unwrap_or(ErrorCode::Transport), self.message.clone());
        if let Some(s) = self.status {
            e = e.with_status(s);
        }
        if let Some(z) = &self.zoho_code {
            e = e.with_zoho_code(z.clone());
        }
        if let Some(z) = &self.zoho_message {
            e = e.with_zoho_message(z.clone());
        }
        if let Some(h) = &self.hint {
            e = e.with_hint(h.clone());
        }
        e
    }
}

/// Everything the refresh path reads about one identity before deciding to call Zoho, read in
/// one go (one lock for the file store, one round trip for Redis).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The cached token, if any (possibly expired).
    pub token: Option<TokenSet>,
    /// The end of an `Access Denied` cooldown, if one was recorded.
    pub cooldown_until_ms: Option<i64>,
    /// The failure backoff, if one was recorded (possibly over).
    pub backoff: Option<Backoff>,
    /// Refresh times within the window, oldest first (the budget count).
    pub refreshes: Vec<i64>,
}

/// Storage for the shared state of an identity. All methods are async and object-safe so that
/// stores backed by files, Redis or a binding's own code can implement it.
///
/// Times are Unix milliseconds from the client's clock.
pub trait TokenStore: Send + Sync + 'static {
    /// The cached token, if any (expired ones may be returned; the client checks expiry).
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>>;

    /// Replace the cached token unconditionally (a token from a code exchange, or a seed).
    /// The token's refresh token is never written by this method.
    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>>;

    /// Replace the cached token with one obtained under the lease numbered `fence` (from
    /// [`try_lease`](TokenStore::try_lease)). Refused (returns false) when a token obtained
    /// under a later lease was already written, so a holder whose lease expired mid-refresh
    /// cannot overwrite a newer token.
    fn put_fenced<'a>(&'a self, key: &'a StoreKey, token: TokenSet, fence: u64) -> BoxFuture<'a, Result<bool>>;

    /// Remove the cached token only if it is still `rejected` (compare-and-invalidate), so a
    /// late 401 on an old token never discards a newer one. Returns whether it removed it.
    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>>;

    /// Try to take the refresh lease for `ttl` (cross-process single flight). Returns the
    /// lease's fencing number (strictly increasing per key) when taken, `None` while another
    /// live holder has it.
    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<u64>>>;

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

    /// Record a failure backoff (replacing any earlier one).
    fn set_backoff<'a>(&'a self, key: &'a StoreKey, backoff: Backoff) -> BoxFuture<'a, Result<()>>;

    /// The recorded failure backoff, if any (it may be over; the caller compares `until_ms`).
    fn backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Backoff>>>;

    /// Forget the failure backoff (after a successful refresh).
    fn clear_backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>>;

    /// Token, cooldown, backoff and the refresh times within `window` before `now_ms`, read
    /// together. The default reads them one by one; stores override it to read them at once.
    fn snapshot<'a>(&'a self, key: &'a StoreKey, now_ms: i64, window: Duration) -> BoxFuture<'a, Result<Snapshot>> {
        Box::pin(async move {
            Ok(Snapshot {
                token: self.get(key).await?,
                cooldown_until_ms: self.cooldown_until(key).await?,
                backoff: self.backoff(key).await?,
                refreshes: self.refresh_history(key, now_ms, window).await?,
            })
        })
    }

    /// Keep the refresh token of this identity (only when the caller asks: after a code
    /// exchange, an SDK import, or with the CLI), with an optional label such as the email.
    fn save_refresh_token<'a>(
        &'a self,
        key: &'a StoreKey,
        refresh_token: &'a RefreshToken,
        label: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>>;

    /// The stored refresh token of this identity, if one was saved.
    fn load_refresh_token<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<RefreshToken>>>;

    /// Every identity the store holds, without secrets, ordered by key.
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredIdentity>>>;

    /// Forget everything about one identity (token, refresh token, budget, cooldown). Returns
    /// whether it existed.
    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<bool>>;
}

/// Open a store from its URL: `memory://` (the default), `file:///path/tokens.json`,
/// `redis://host:port/db` / `rediss://…` with the options `prefix` and `timeout_ms`, or
/// `postgres://…` / `mysql://…` with `table`, `timeout_ms` and `pool_size`. Anything
/// else is a `config` error naming what is supported. Opening never does I/O: a file is read and
/// Redis connected on first use.
pub fn open_store(url: &str) -> Result<Arc<dyn TokenStore>> {
    let u = url.trim();
    if u.is_empty() || u == "memory://" || u == "memory:" || u == "memory" {
        return Ok(Arc::new(MemoryStore::shared()));
    }
    let scheme = u.split(':').next().unwrap_or_default().to_ascii_lowercase();
    match scheme.as_str() {
        "file" => Ok(Arc::new(FileStore::from_url(u)?)),
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" | "redis+sentinel" | "rediss+sentinel" => {
            Ok(Arc::new(RedisStore::from_url(u)?))
        }
        #[cfg(not(feature = "redis"))]
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" | "redis+sentinel" | "rediss+sentinel" => {
            Err(Error::config(
                "this build of zoho-oauth has no Redis token store (the `redis` feature is off)",
                "enable the `redis` feature of the zoho-oauth crate (it is on by default), or use memory:// or file:///absolute/path/tokens.json",
            ))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => Ok(Arc::new(SqlStore::from_url(u)?)),
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => Ok(Arc::new(SqlStore::from_url(u)?)),
        _ => Err(Error::config(
            format!("token store {:?} is not supported", crate::dc::truncate(&scheme, 20)),
            "use memory://, file:///absolute/path/tokens.json, redis://host:6379/0, \
             postgres://user@host:5432/db or mysql://user@host:3306/db",
        )),
    }
}

pub(crate) fn window_ms(w: Duration) -> i64 {
    w.as_millis().min(i64::MAX as u128) as i64
}

/// Keep at most this many refresh times per identity (the budget only needs the last ten).
pub(crate) const MAX_HISTORY: usize = 64;

#[cfg(all(test, not(feature = "redis")))]
mod without_redis {
    #[test]
    fn a_redis_url_names_the_feature_to_enable() {
        let err = super::open_store("redis://127.0.0.1:6379/0").err().map(|e| (e.code(), e.to_string()));
        let (code, shown) = err.unwrap_or_else(|| panic!("a redis:// store opened without the redis feature"));
        assert_eq!(code, crate::ErrorCode::Config);
        assert!(shown.contains("`redis` feature"), "{shown}");
    }
}
