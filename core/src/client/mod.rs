//! [`Client`]: one Zoho identity (app + refresh token + store) with a cached access token,
//! single-flight refresh, the refresh budget, and authenticated requests.

mod hosts;
mod refresh;
mod request;

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::Semaphore;

pub use reqwest::Method;

use crate::app::OAuthApp;
use crate::clock::SharedClock;
use crate::dc::DataCenter;
use crate::error::{Error, Result};
use crate::redact::Scrub;
use crate::response::RateLimits;
use crate::retry::RetryPolicy;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{StoreKey, TokenStore, open_store};
use crate::token::TokenSet;

use hosts::Hosts;
pub use hosts::Product;
pub use refresh::STALE_FLOOR;
pub use request::RequestBuilder;
use request::parse_url;

/// Default refresh margin: a token is refreshed this long before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Zoho's budget: access tokens per refresh token per 10 minutes.
pub const DEFAULT_REFRESH_BUDGET: u32 = 10;
/// Default timeout of one request attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on an API response body: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How long a cross-process refresh lease lives if its holder dies (default).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// Builder for [`Client`].
pub struct ClientBuilder {
    app: OAuthApp,
    refresh_token: RefreshToken,
    accounts_server: Option<String>,
    store: Option<Arc<dyn TokenStore>>,
    store_url: Option<String>,
    api_domain: Option<String>,
    allowed_hosts: Vec<String>,
    refresh_margin: Duration,
    refresh_budget: u32,
    lease_ttl: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    max_concurrency: Option<usize>,
    initial_token: Option<TokenSet>,
    max_response_bytes: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app", &self.app)
            .field("refresh_token", &self.refresh_token)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The user's accounts server (from the callback or stored with the refresh token).
    /// Defaults to the app's home DC. Must be a Zoho accounts server or configured on the app.
    pub fn accounts_server(mut self, url: impl Into<String>) -> Self {
        self.accounts_server = Some(url.into());
        self
    }

    /// The token store by URL (`memory://`, the default).
    pub fn token_store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = Some(url.into());
        self
    }

    /// A token store object (for custom stores).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Explicit base URL for relative paths of every product (wins over the token's
    /// `api_domain`). `https://`, or `http://` on loopback.
    pub fn api_domain(mut self, url: impl Into<String>) -> Self {
        self.api_domain = Some(url.into());
        self
    }

    /// Allow tokens to be sent to one more origin (`https://host[:port]`, or a bare host).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Refresh this long before expiry (default 300 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// How long the cross-process refresh lease lasts (default 60 s): a holder that dies
    /// mid-refresh blocks the others at most this long (Redis; the file store frees it at once).
    /// Keep it above the token request's timeout.
    pub fn refresh_lease(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Refreshes allowed per 10 minutes per refresh token (default 10, Zoho's limit).
    pub fn refresh_budget(mut self, budget: u32) -> Self {
        self.refresh_budget = budget;
        self
    }

    /// Timeout of one request attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after the first attempt (default 3).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most `n` requests of this client in flight at once (Zoho limits concurrency per
    /// org: 5 to 25 by edition).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Largest API response body read (default [`DEFAULT_MAX_RESPONSE_BYTES`], 64 MiB). A
    /// larger answer fails with `response_too_large` as soon as the cap is passed, without
    /// buffering the rest. Token-endpoint answers have their own fixed cap of 1 MiB.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Seed the cache with a token you already have (for example from the code exchange),
    /// saving one refresh.
    pub fn initial_token(mut self, token: TokenSet) -> Self {
        self.initial_token = Some(token);
        self
    }

    /// Validate and build. Every check here happens before any network I/O.
    pub fn build(self) -> Result<Client> {
        if self.refresh_token.is_empty() {
            return Err(Error::config(
                "the refresh token is empty",
                "pass the refresh token from a code exchange (access_type=offline)",
            ));
        }
        // The same limits as the configuration surface (crate::config): errors, never clamps.
        if self.max_concurrency == Some(0) || self.max_response_bytes == 0 || self.refresh_budget == 0 {
            return Err(Error::config(
                "max_concurrency, max_response_bytes and refresh_budget must be at least 1",
                "pass a positive number, or leave the option unset for its default",
            ));
        }
        let (dc, accounts_server) = match &self.accounts_server {
            Some(s) => self.app.trusted_accounts_server(s)?,
            None => (self.app.dc(), self.app.home_accounts_server()),
        };
        let hosts = Hosts::new(&self.app, dc, self.api_domain.as_deref(), &self.allowed_hosts)?;
        let store = match (self.store, &self.store_url) {
            (Some(s), _) => s,
            (None, Some(url)) => open_store(url)?,
            (None, None) => open_store("memory://")?,
        };
        let key = StoreKey::new(&accounts_server, self.app.client_id(), &self.refresh_token);
        let scrub = self.app.scrub().with([self.refresh_token.secret()]);
        // The refresh token lives in the client, never in the cached token (stores may persist).
        let hot = self.initial_token.map(|mut t| {
            t.refresh_token = None;
            Arc::new(t)
        });
        let client = Client {
            inner: Arc::new(Inner {
                slot: refresh::slot_for(&key),
                app: self.app,
                refresh_token: self.refresh_token,
                accounts_server,
                key,
                store,
                hot: ArcSwapOption::new(hot.clone()),
                generation: Arc::new(AtomicU32::new(0)),
                seed: Mutex::new(hot),
                refresh_margin: self.refresh_margin,
                refresh_budget: self.refresh_budget,
                lease_ttl: self.lease_ttl.max(Duration::from_millis(100)),
                timeout: self.timeout,
                retry: self.retry,
                hosts,
                base_url: ArcSwapOption::empty(),
                limiter: self.max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
                max_response_bytes: self.max_response_bytes,
                scrub,
                rate_limits: Mutex::new(RateLimits::default()),
                pid: std::process::id(),
            }),
        };
        Ok(client)
    }
}

/// A copy of the cached access token for a binding's own cache: see [`Client::cache_entry`].
#[derive(Clone, Debug)]
pub struct CacheEntry {
    /// The token (redacted in `Debug`).
    pub access_token: AccessToken,
    /// Unix ms of the wall clock before which the copy is fresh (`expires_at` minus the
    /// effective refresh margin); `i64::MIN` when the client runs on a virtual clock, whose
    /// time a binding cannot read.
    pub fresh_until_ms: i64,
    /// [`Client::cache_generation`] when the token was read.
    pub generation: u32,
}

/// One Zoho identity: an [`OAuthApp`], a refresh token and a token store. Cheap to clone;
/// clones share the cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    app: OAuthApp,
    refresh_token: RefreshToken,
    accounts_server: String,
    key: StoreKey,
    store: Arc<dyn TokenStore>,
    /// The hot cache: lock-free reads (no shared-cache-line writes), so the hit path stays
    /// flat as threads are added.
    hot: ArcSwapOption<TokenSet>,
    /// Bumped after every change of `hot` (see [`Client::cache_generation`]); shared with
    /// bindings that read it in place ([`Client::cache_generation_cell`]).
    generation: Arc<AtomicU32>,
    seed: Mutex<Option<Arc<TokenSet>>>,
    /// The identity's refresh flight and last refusal, shared by every client of it in the
    /// process.
    slot: Arc<Mutex<refresh::Slot>>,
    refresh_margin: Duration,
    refresh_budget: u32,
    lease_ttl: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    /// Where the access token may go and where relative paths point.
    hosts: Hosts,
    /// The last base URL a relative path was resolved against, parsed (see
    /// [`request::resolve_relative`]).
    base_url: ArcSwapOption<(String, url::Url)>,
    limiter: Option<Arc<Semaphore>>,
    rate_limits: Mutex<RateLimits>,
    pid: u32,
    max_response_bytes: usize,
    /// The refresh token and client secrets, scrubbed from every error this client returns.
    scrub: Scrub,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.app.client_id())
            .field("dc", &self.inner.hosts.dc())
            .field("accounts_server", &self.inner.accounts_server)
            .field("refresh_token", &self.inner.refresh_token)
            .field("store_key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Start building a client for `refresh_token` of `app`.
    pub fn builder(app: OAuthApp, refresh_token: impl Into<RefreshToken>) -> ClientBuilder {
        ClientBuilder {
            app,
            refresh_token: refresh_token.into(),
            accounts_server: None,
            store: None,
            store_url: None,
            api_domain: None,
            allowed_hosts: Vec::new(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            refresh_budget: DEFAULT_REFRESH_BUDGET,
            lease_ttl: DEFAULT_LEASE_TTL,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_concurrency: None,
            initial_token: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Build from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`, `ZOHO_DC`
    /// (default `us`), `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and `ZOHO_API_DOMAIN`.
    pub fn from_env() -> Result<Client> {
        crate::config::ClientConfig::from_env()?.build()
    }

    /// The app.
    pub fn app(&self) -> &OAuthApp {
        &self.inner.app
    }

    /// The user's DC.
    pub fn dc(&self) -> DataCenter {
        self.inner.hosts.dc()
    }

    /// The accounts server refreshes go to.
    pub fn accounts_server(&self) -> &str {
        &self.inner.accounts_server
    }

    /// The non-secret store key of this identity.
    pub fn store_key(&self) -> &StoreKey {
        &self.inner.key
    }

    fn clock(&self) -> &SharedClock {
        self.inner.app.clock()
    }

    /// A valid access token: the cached one until `expires_at - refresh_margin`, else one
    /// refresh shared by every concurrent caller of this identity.
    pub async fn access_token(&self) -> Result<AccessToken> {
        // Hit path: one clock read and one read lock, no refcount traffic.
        {
            let now = self.clock().now_ms();
            let guard = self.inner.hot.load();
            if let Some(t) = guard.as_ref()
                && !t.refresh_due(now, self.inner.refresh_margin)
            {
                return Ok(t.access_token.clone());
            }
        }
        // Boxed so this future stays small: the hit path does not move the refresh state.
        Ok(Box::pin(self.obtain(false, self.token_deadline(None)))
            .await
            .map_err(|e| self.scrubbed(e))?
            .access_token
            .clone())
    }

    /// [`access_token`](Client::access_token) from synchronous code, on the shared runtime.
    pub fn access_token_blocking(&self) -> Result<AccessToken> {
        crate::runtime::block_on(self.access_token())
    }

    /// The cached access token when it is still fresh (before `expires_at - refresh_margin`),
    /// without any I/O, await or refresh; `None` when a call to
    /// [`access_token`](Client::access_token) would have to refresh. Bindings use it to answer
    /// cache hits without crossing into the runtime.
    pub fn cached_access_token(&self) -> Option<AccessToken> {
        let now = self.clock().now_ms();
        let guard = self.inner.hot.load();
        guard.as_ref().filter(|t| !t.refresh_due(now, self.inner.refresh_margin)).map(|t| t.access_token.clone())
    }

    /// The cached access token with what a binding needs to keep a copy of it on its own side
    /// of the FFI boundary (a hit then costs no call into Rust): the wall-clock instant until
    /// which it is fresh, and the cache's [generation](Client::cache_generation) it was read in.
    /// The copy may be served while the binding's wall clock is before
    /// [`fresh_until_ms`](CacheEntry::fresh_until_ms) and the generation is unchanged; that is
    /// the same rule as [`cached_access_token`](Client::cached_access_token), computed here.
    /// `None` when that would return `None`.
    pub fn cache_entry(&self) -> Option<CacheEntry> {
        // Generation first, then the token: a change between the two reads leaves the entry
        // with an older generation than the cache's, so the copy is refetched, never kept.
        let generation = self.inner.generation.load(Ordering::Acquire);
        let now = self.clock().now_ms();
        let guard = self.inner.hot.load();
        let t = guard.as_ref().filter(|t| !t.refresh_due(now, self.inner.refresh_margin))?;
        let margin = t.effective_margin(self.inner.refresh_margin).as_millis().min(i64::MAX as u128) as i64;
        // A virtual clock (tests) jumps independently of the wall clock: the copy must not outlive
        // this call then.
        let fresh_until_ms =
            if self.clock().is_wall_clock() { t.expires_at_ms.saturating_sub(margin) } else { i64::MIN };
        Some(CacheEntry { access_token: t.access_token.clone(), fresh_until_ms, generation })
    }

    /// A counter that changes whenever the cached token does (a refresh, a compare-and-
    /// invalidate, a revoke). One atomic read: a binding checks it before serving its copy from
    /// [`cache_entry`](Client::cache_entry).
    pub fn cache_generation(&self) -> u32 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The counter behind [`cache_generation`](Client::cache_generation) itself, for a binding
    /// that maps it into its language's memory and reads it there with an atomic load (a call
    /// into Rust costs more than the whole cache hit it guards). It wraps after 2^32 changes of
    /// the cached token.
    pub fn cache_generation_cell(&self) -> Arc<AtomicU32> {
        self.inner.generation.clone()
    }

    /// Check, without I/O, that the access token may be sent to the absolute `url` (DESIGN
    /// point 6): the DC's Zoho hosts, explicitly configured origins, or the cached token's
    /// `api_domain`. For adapters that send requests through another HTTP library.
    pub fn check_url(&self, url: &str) -> Result<()> {
        let url = parse_url(url)?;
        let token = self.inner.hot.load_full();
        self.inner.hosts.check_allowed(&url, token.as_deref())
    }

    /// The cached token set (refreshed if needed).
    pub async fn token_set(&self) -> Result<Arc<TokenSet>> {
        self.token_set_until(None).await
    }

    /// [`token_set`](Client::token_set), waiting for a refresh at most until `deadline_ms`
    /// (this client's clock) or, without one, the retry policy's overall deadline. Beyond a
    /// fresh cached token, the token logic (store, refresh flight) runs where every thread can
    /// rely on it making progress (see [`crate::runtime::block_on_here`]).
    async fn token_set_until(&self, deadline_ms: Option<i64>) -> Result<Arc<TokenSet>> {
        let now = self.clock().now_ms();
        if let Some(t) = self.hot_fresh(now) {
            return Ok(t);
        }
        let c = self.clone();
        crate::runtime::off_caller(async move {
            Box::pin(c.obtain(false, c.token_deadline(deadline_ms))).await.map_err(|e| c.scrubbed(e))
        })
        .await
    }

    /// Force a refresh now (still single-flight, budgeted, throttle-aware and backed off after
    /// failures). Unlike [`token_set`](Client::token_set), a failure is returned even while
    /// the current token still works.
    pub async fn force_refresh(&self) -> Result<Arc<TokenSet>> {
        self.obtain(true, self.token_deadline(None)).await.map_err(|e| self.scrubbed(e))
    }

    /// The real-time instant by which a caller stops waiting for a refresh.
    fn token_deadline(&self, deadline_ms: Option<i64>) -> Option<std::time::Instant> {
        let left = match deadline_ms {
            Some(d) => Duration::from_millis(d.saturating_sub(self.clock().now_ms()).max(0) as u64),
            None => self.inner.retry.deadline,
        };
        std::time::Instant::now().checked_add(left)
    }

    /// `e` without this identity's secrets: the refresh token, the client secrets and the
    /// current access token (a server may echo any of them into an error).
    fn scrubbed(&self, e: Error) -> Error {
        let current = self.inner.hot.load_full();
        e.scrub(&self.inner.scrub.with(current.as_ref().map(|t| t.access_token.secret())))
    }

    fn hot_fresh(&self, now: i64) -> Option<Arc<TokenSet>> {
        self.inner.hot.load_full().filter(|t| !t.refresh_due(now, self.inner.refresh_margin))
    }

    fn set_hot(&self, t: Arc<TokenSet>) {
        self.inner.hot.store(Some(t));
        self.bump_generation();
    }

    /// After every change of `hot` (never before: see [`cache_entry`](Client::cache_entry)).
    fn bump_generation(&self) {
        self.inner.generation.fetch_add(1, Ordering::Release);
    }

    fn check_fork(&self) -> Result<()> {
        if std::process::id() != self.inner.pid {
            return Err(Error::config(
                "this client was created in the parent process before fork()",
                "create a new Client in the child process (prefer spawn/forkserver over fork)",
            ));
        }
        Ok(())
    }

    /// Keep this identity's refresh token in the store (with an optional label such as the
    /// user's email), so another process or the CLI can build a client from the store alone.
    /// Stores never keep a refresh token unless asked this way; the client secret never.
    pub async fn save_refresh_token(&self, label: Option<&str>) -> Result<()> {
        self.inner.store.save_refresh_token(&self.inner.key, &self.inner.refresh_token, label).await
    }

    /// The token store this client uses (shared by every client of the same store URL).
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// Compare-and-invalidate: drop the cached token only if it is still `rejected`.
    pub async fn invalidate(&self, rejected: &AccessToken) -> Result<bool> {
        {
            let mut seed = self.inner.seed.lock().unwrap_or_else(|p| p.into_inner());
            if seed.as_ref().is_some_and(|t| &t.access_token == rejected) {
                *seed = None;
            }
        }
        {
            self.inner.hot.rcu(|current| match current {
                Some(t) if &t.access_token == rejected => None,
                other => other.clone(),
            });
            self.bump_generation();
        }
        // A store call: never on a thread's own runtime (see `crate::runtime::off_caller`).
        let (store, key, rejected) = (self.inner.store.clone(), self.inner.key.clone(), rejected.clone());
        crate::runtime::off_caller(async move { store.invalidate_if(&key, &rejected).await }).await
    }

    /// Revoke the refresh token at Zoho and drop the cached access token.
    pub async fn revoke(&self) -> Result<()> {
        self.check_fork()?;
        self.inner.app.revoke(&self.inner.refresh_token, Some(&self.inner.accounts_server)).await?;
        let current = self.inner.hot.swap(None);
        self.bump_generation();
        if let Some(t) = current {
            self.inner.store.invalidate_if(&self.inner.key, &t.access_token).await?;
        }
        if let Some(t) = self.inner.store.get(&self.inner.key).await? {
            self.inner.store.invalidate_if(&self.inner.key, &t.access_token).await?;
        }
        Ok(())
    }

    /// Rate-limit headers from the last response that carried any.
    pub fn rate_limits(&self) -> RateLimits {
        self.inner.rate_limits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn untrusted_accounts_server_is_refused_at_build() {
        let app = match OAuthApp::builder("1000.ID").client_secret("s").build() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let err = Client::builder(app.clone(), "r").accounts_server("https://accounts.evil.example").build().err();
        assert_eq!(err.map(|e| e.code()), Some(ErrorCode::UntrustedAccountsServer));
        let err = Client::builder(app, "").build().err();
        assert_eq!(err.map(|e| e.code()), Some(ErrorCode::Config));
    }

    struct FrozenClock(i64);
    impl crate::Clock for FrozenClock {
        fn now_ms(&self) -> i64 {
            self.0
        }
        fn sleep(&self, _: Duration) -> crate::clock::BoxFuture<'static, ()> {
            Box::pin(std::future::pending())
        }
    }

    fn seeded(app: OAuthApp, now: i64, lifetime_ms: i64) -> Client {
        let token = TokenSet {
            access_token: AccessToken::new("1000.hot"),
            refresh_token: None,
            api_domain: None,
            accounts_server: "https://accounts.zoho.com".into(),
            token_type: "Bearer".into(),
            expires_at_ms: now + lifetime_ms,
            issued_at_ms: now,
            scopes: Vec::new(),
            id_token: None,
        };
        match Client::builder(app, "1000.rt").initial_token(token).build() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn cache_entry_is_fresh_until_expiry_minus_margin_and_changes_generation_with_the_token() {
        let app = OAuthApp::builder("1000.ID").client_secret("s").build().unwrap_or_else(|e| panic!("{e}"));
        let now = crate::Clock::now_ms(&crate::SystemClock);
        let c = seeded(app, now, 3_600_000);
        let e = c.cache_entry().unwrap_or_else(|| panic!("a fresh token"));
        assert_eq!(e.access_token.secret(), "1000.hot");
        assert_eq!(e.fresh_until_ms, now + 3_600_000 - 300_000, "expires_at minus the refresh margin");
        assert_eq!(e.generation, c.cache_generation());
        // Compare-and-invalidate of another token changes nothing a copy could miss...
        assert!(c.invalidate(&AccessToken::new("1000.other")).await.is_ok());
        assert!(c.cache_entry().is_some_and(|e| e.access_token.secret() == "1000.hot"));
        // ...dropping the cached one moves the generation, so a binding's copy is not served.
        let before = c.cache_generation();
        assert!(c.invalidate(&e.access_token).await.is_ok());
        assert_ne!(c.cache_generation(), before);
        assert!(c.cache_entry().is_none());
    }

    #[test]
    fn cache_entry_on_a_virtual_clock_is_never_fresh_by_the_wall_clock() {
        let now = 1_000_000_000_000;
        let app = OAuthApp::builder("1000.ID")
            .client_secret("s")
            .clock(Arc::new(FrozenClock(now)))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let c = seeded(app, now, 60_000);
        let e = c.cache_entry().unwrap_or_else(|| panic!("fresh on its own clock"));
        assert_eq!(e.fresh_until_ms, i64::MIN);
        assert!(c.cached_access_token().is_some());
    }
}
