//! [`Client`]: one Zoho identity (app + refresh token + store) with a cached access token,
//! single-flight refresh, the refresh budget, and authenticated requests.

mod refresh;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::{debug, info};

pub use reqwest::Method;

use crate::clock::SharedClock;
use crate::dc::{DataCenter, is_zoho_host, truncate};
use crate::error::{Error, ErrorCode, Result};
use crate::flows::{OAuthApp, is_loopback, normalize_server_url};
use crate::paginate::Paginator;
use crate::redact::Scrub;
use crate::response::{DEAD_TOKEN_CODES, RateLimits, Response};
use crate::retry::{RetryPolicy, StatusClass, classify, is_idempotent};
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{StoreKey, TokenStore, open_store};
use crate::token::TokenSet;

pub use refresh::{BACKOFF_CAP, BACKOFF_FIRST, STALE_FLOOR, TOKEN_RETRIES};

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

/// The Zoho product a relative path belongs to; it picks the base URL (DESIGN "Base URL of a
/// relative path").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Product {
    /// Zoho CRM (the token's `api_domain`), the default.
    #[default]
    Crm,
    /// Zoho Books (the token's `api_domain`).
    Books,
    /// Zoho Desk (`desk.zoho.<tld>`).
    Desk,
    /// Zoho Mail (`www.mail.zoho.<tld>`).
    Mail,
    /// Zoho Campaigns (`campaigns.zoho.<tld>`).
    Campaigns,
}

impl FromStr for Product {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "crm" | "" => Ok(Product::Crm),
            "books" => Ok(Product::Books),
            "desk" => Ok(Product::Desk),
            "mail" => Ok(Product::Mail),
            "campaigns" => Ok(Product::Campaigns),
            other => Err(Error::config(
                format!("unknown product {:?}", truncate(other, 30)),
                "use one of crm, books, desk, mail, campaigns, or pass an absolute URL",
            )),
        }
    }
}

/// Scheme, host and port of an explicitly allowed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &url::Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    fn parse(s: &str) -> Option<Origin> {
        url::Url::parse(s).ok().as_ref().and_then(Origin::of)
    }
}

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
        let api_domain = match &self.api_domain {
            Some(u) => Some(normalize_server_url(u)?),
            None => None,
        };
        let mut explicit = Vec::new();
        if let Some(a) = &api_domain {
            explicit.extend(Origin::parse(a));
        }
        for h in &self.allowed_hosts {
            let as_url = if h.contains("://") {
                normalize_server_url(h)?
            } else {
                normalize_server_url(&format!("https://{h}"))?
            };
            explicit.extend(Origin::parse(&as_url));
        }
        for dc in DataCenter::ALL {
            let server = self.app.accounts_server(dc);
            if self.app.is_override(&server) {
                explicit.extend(Origin::parse(&server));
            }
        }
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
                dc,
                key,
                store,
                hot: ArcSwapOption::new(hot.clone()),
                seed: Mutex::new(hot),
                refresh_margin: self.refresh_margin,
                refresh_budget: self.refresh_budget,
                lease_ttl: self.lease_ttl.max(Duration::from_millis(100)),
                timeout: self.timeout,
                retry: self.retry,
                api_domain,
                explicit,
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
    dc: DataCenter,
    key: StoreKey,
    store: Arc<dyn TokenStore>,
    /// The hot cache: lock-free reads (no shared-cache-line writes), so the hit path stays
    /// flat as threads are added.
    hot: ArcSwapOption<TokenSet>,
    seed: Mutex<Option<Arc<TokenSet>>>,
    /// The identity's refresh flight and last refusal, shared by every client of it in the
    /// process.
    slot: Arc<Mutex<refresh::Slot>>,
    refresh_margin: Duration,
    refresh_budget: u32,
    lease_ttl: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    api_domain: Option<String>,
    explicit: Vec<Origin>,
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
            .field("dc", &self.inner.dc)
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
        self.inner.dc
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

    /// Check, without I/O, that the access token may be sent to the absolute `url` (DESIGN
    /// point 6): the DC's Zoho hosts, explicitly configured origins, or the cached token's
    /// `api_domain`. For adapters that send requests through another HTTP library.
    pub fn check_url(&self, url: &str) -> Result<()> {
        let url = parse_url(url)?;
        let token = self.inner.hot.load_full();
        self.check_allowed(&url, token.as_deref())
    }

    /// The cached token set (refreshed if needed).
    pub async fn token_set(&self) -> Result<Arc<TokenSet>> {
        self.token_set_until(None).await
    }

    /// [`token_set`](Client::token_set), waiting for a refresh at most until `deadline_ms`
    /// (this client's clock) or, without one, the retry policy's overall deadline.
    async fn token_set_until(&self, deadline_ms: Option<i64>) -> Result<Arc<TokenSet>> {
        let now = self.clock().now_ms();
        if let Some(t) = self.hot_fresh(now) {
            return Ok(t);
        }
        Box::pin(self.obtain(false, self.token_deadline(deadline_ms))).await.map_err(|e| self.scrubbed(e))
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

    /// Keep a refreshed token only if its `api_domain` is one tokens may be sent to.
    fn adopt(&self, mut t: TokenSet) -> Result<Arc<TokenSet>> {
        t.refresh_token = None;
        if let Some(d) = &t.api_domain
            && !self.api_domain_trusted(d)
        {
            return Err(Error::new(
                ErrorCode::InvalidResponse,
                format!("the token's api_domain {:?} is not a Zoho host", truncate(d, 80)),
            )
            .with_hint("configure api_domain or allow_host explicitly if this host is legitimate"));
        }
        Ok(Arc::new(t))
    }

    fn api_domain_trusted(&self, d: &str) -> bool {
        let Ok(u) = url::Url::parse(d) else {
            return false;
        };
        let Some(origin) = Origin::of(&u) else {
            return false;
        };
        // Credentials in an api_domain would break (or leak through) every request.
        if !u.username().is_empty() || u.password().is_some() {
            return false;
        }
        (u.scheme() == "https" && is_zoho_host(&origin.host)) || self.inner.explicit.contains(&origin)
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
        }
        self.inner.store.invalidate_if(&self.inner.key, rejected).await
    }

    /// Revoke the refresh token at Zoho and drop the cached access token.
    pub async fn revoke(&self) -> Result<()> {
        self.check_fork()?;
        self.inner.app.revoke(&self.inner.refresh_token, Some(&self.inner.accounts_server)).await?;
        let current = self.inner.hot.swap(None);
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

    /// A request to `url`: an absolute URL, or a path resolved against the base URL of the
    /// product (see [`RequestBuilder::product`]).
    pub fn request(&self, method: Method, url: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            target: url.into(),
            product: Product::Crm,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            retry_non_idempotent: false,
            max_retries: None,
            error: None,
        }
    }

    /// A GET request.
    pub fn get(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Iterate over the records of a CRM list (`/crm/v8/Leads`): `page` up to 2,000 records,
    /// then `page_token`.
    pub fn paginate(&self, path: impl Into<String>) -> Paginator {
        Paginator::new(self.clone(), path.into())
    }

    /// The base URL a relative path of `product` goes to now: the explicit `api_domain`, else
    /// the cached token's `api_domain` (CRM, Books) when trusted, else the user's data centre's
    /// host for the product. Useful to check a configuration before any request.
    pub fn base_url(&self, product: Product) -> String {
        let token = self.inner.hot.load_full();
        self.base_for_domain(product, token.as_ref().and_then(|t| t.api_domain.as_deref()))
    }

    /// The base URL of a relative path for `product` (DESIGN "Base URL of a relative path").
    fn base_for(&self, product: Product, token: &TokenSet) -> String {
        self.base_for_domain(product, token.api_domain.as_deref())
    }

    /// [`Client::base_for`] given the token's `api_domain`, if any.
    fn base_for_domain(&self, product: Product, token_api_domain: Option<&str>) -> String {
        if let Some(d) = &self.inner.api_domain {
            return d.clone();
        }
        let dc = self.inner.dc;
        match product {
            Product::Crm | Product::Books => {
                token_api_domain.filter(|d| self.api_domain_trusted(d)).map_or_else(|| dc.api_domain(), str::to_string)
            }
            Product::Desk => dc.desk_host(),
            Product::Mail => dc.mail_host(),
            Product::Campaigns => dc.campaigns_host(),
        }
    }

    /// True when an access token may be sent to `url` without knowing the token (DC hosts and
    /// explicit origins), `Some(false)` when it never may, `None` when it depends on the
    /// token's `api_domain`.
    fn static_allowed(&self, url: &url::Url) -> Option<bool> {
        let origin = Origin::of(url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Some(false);
        }
        if self.inner.explicit.contains(&origin) {
            return Some(true);
        }
        match url.scheme() {
            "https" => {
                if self.inner.dc.api_hosts().contains(&origin.host) && origin.port == 443 {
                    Some(true)
                } else if is_zoho_host(&origin.host) {
                    None
                } else {
                    Some(false)
                }
            }
            // Plain http is allowed only for explicit loopback origins, checked above.
            _ => Some(false),
        }
    }

    fn check_allowed(&self, url: &url::Url, token: Option<&TokenSet>) -> Result<()> {
        let allowed = match self.static_allowed(url) {
            Some(b) => b,
            None => token
                .and_then(|t| t.api_domain.as_deref())
                .filter(|d| self.api_domain_trusted(d))
                .and_then(Origin::parse)
                .zip(Origin::of(url))
                .is_some_and(|(a, b)| a == b),
        };
        if allowed {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        let hint = if url.scheme() == "http" && !is_loopback(host) {
            "use https://; plain http is only allowed for loopback hosts configured explicitly"
        } else {
            "tokens go only to the DC's Zoho hosts, the token's api_domain, or hosts configured with allow_host/api_domain"
        };
        Err(Error::config(
            format!("refusing to send the access token to {}://{}", url.scheme(), truncate(host, 80)),
            hint,
        ))
    }
}

/// Body of a request.
#[derive(Clone)]
enum Body {
    Json(Vec<u8>),
    Form(String),
    Bytes(Vec<u8>, Option<String>),
}

/// A request under construction; finish with [`send`](RequestBuilder::send).
pub struct RequestBuilder {
    client: Client,
    method: Method,
    target: String,
    product: Product,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    timeout: Option<Duration>,
    retry_non_idempotent: bool,
    max_retries: Option<u32>,
    error: Option<Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// The product of a relative path (default CRM).
    pub fn product(mut self, product: Product) -> Self {
        self.product = product;
        self
    }

    /// Add query parameters.
    pub fn query<K: ToString, V: ToString>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Add one query parameter.
    pub fn query_pair(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Add a header (the `Authorization` header is set by the client and cannot be given).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case("authorization") {
            self.error = Some(Error::config(
                "the Authorization header is set by the client",
                "do not pass Authorization; the client adds Zoho-oauthtoken itself",
            ));
        } else {
            self.headers.push((name, value.into()));
        }
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => self.body = Some(Body::Json(v)),
            Err(e) => {
                self.error = Some(Error::config(
                    format!("the JSON body cannot be serialized: {e}"),
                    "pass a value that serializes to JSON",
                ))
            }
        }
        self
    }

    /// A JSON body from a raw JSON string (validated).
    pub fn json_str(mut self, json: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(_) => self.body = Some(Body::Json(json.as_bytes().to_vec())),
            Err(e) => self.error = Some(Error::config(format!("the JSON body is not valid JSON: {e}"), "fix the JSON")),
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k.as_ref(), v.as_ref());
        }
        self.body = Some(Body::Form(s.finish()));
        self
    }

    /// A raw body with an optional content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: Option<&str>) -> Self {
        self.body = Some(Body::Bytes(bytes.into(), content_type.map(str::to_string)));
        self
    }

    /// Timeout of each attempt of this request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry 5xx and connection errors even for non-idempotent methods (POST, PATCH).
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.retry_non_idempotent = yes;
        self
    }

    /// Retries for this request (overrides the client's).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// [`send`](RequestBuilder::send) from synchronous code, on the shared runtime.
    pub fn send_blocking(self) -> Result<Response> {
        crate::runtime::block_on(self.send())
    }

    /// Send: resolve and check the URL, get a token, send with retries, refresh once on a
    /// dead-token 401. Returns the response for every status; see
    /// [`Response::error_for_status`].
    pub async fn send(self) -> Result<Response> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let client = self.client.clone();
        client.check_fork()?;
        let inner = client.inner.clone();
        let absolute = is_absolute(&self.target);
        // Absolute URLs are checked before any I/O; those whose answer depends on the token's
        // api_domain are checked again once the token is known.
        // A relative path that climbs above the base URL's prefix is refused before a token is
        // fetched: it would be refused after, whatever the token says.
        let relative = if absolute {
            let url = parse_url(&self.target)?;
            if client.static_allowed(&url) == Some(false) {
                client.check_allowed(&url, None)?;
            }
            None
        } else {
            Some(normalize_relative(&self.target)?)
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                Error::config(format!("invalid header name {:?}", truncate(k, 40)), "use a valid HTTP header name")
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                Error::config(format!("invalid value for header {name}"), "header values must be visible ASCII")
            })?;
            headers.append(name, value);
        }
        let _permit = match &inner.limiter {
            Some(s) => Some(
                s.clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::config("the concurrency limiter was closed", "build a new client"))?,
            ),
            None => None,
        };
        let policy =
            RetryPolicy { max_retries: self.max_retries.unwrap_or(inner.retry.max_retries), ..inner.retry.clone() };
        let idempotent = is_idempotent(&self.method) || self.retry_non_idempotent;
        let clock = client.clock().clone();
        let deadline = clock.now_ms().saturating_add(policy.deadline.as_millis() as i64);
        let per_attempt = self.timeout.unwrap_or(inner.timeout);
        let mut attempt: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            let token = client.token_set_until(Some(deadline)).await?;
            let url = match &relative {
                None => parse_url(&self.target)?,
                Some(path) => {
                    let base = client.base_for(self.product, &token);
                    parse_url(&format!("{}{}", base.trim_end_matches('/'), path))?
                }
            };
            client.check_allowed(&url, Some(&token))?;
            let remaining = deadline.saturating_sub(clock.now_ms());
            if remaining <= 0 {
                return Err(Error::new(ErrorCode::Timeout, "the request's overall deadline passed")
                    .with_hint("raise the deadline in the retry policy"));
            }
            let timeout = per_attempt.min(Duration::from_millis(remaining as u64));
            let outcome = send_once(
                inner.app.http(),
                &self.method,
                url.clone(),
                &self.query,
                &headers,
                self.body.as_ref(),
                &token.access_token,
                timeout,
                clock.now_ms(),
                inner.max_response_bytes,
                &inner.scrub,
            )
            .await
            .map_err(|e| e.scrub(&inner.scrub.with([token.access_token.secret()])));
            match outcome {
                Ok(resp) => {
                    let limits = resp.rate_limits();
                    if limits.credits_remaining.is_some() || limits.retry_after.is_some() {
                        *inner.rate_limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
                    }
                    if resp.status() == 401 && !refreshed_after_401 {
                        let code = resp.zoho_code().unwrap_or_default();
                        if DEAD_TOKEN_CODES.contains(&code.as_str()) {
                            refreshed_after_401 = true;
                            info!(target: "zoho_oauth", zoho_code = %code, "401 with a dead token: invalidating and refreshing once");
                            client.invalidate(&token.access_token).await?;
                            continue;
                        }
                    }
                    let retryable = match classify(resp.status()) {
                        StatusClass::RateLimited => true,
                        StatusClass::ServerError => idempotent,
                        StatusClass::Final => false,
                    };
                    if !retryable || attempt >= policy.max_retries {
                        return Ok(resp);
                    }
                    let delay = match resp.retry_after() {
                        Some(ra) if ra > policy.max_retry_after => {
                            debug!(target: "zoho_oauth", retry_after_s = ra.as_secs(), "Retry-After beyond the cap; returning the response");
                            return Ok(resp);
                        }
                        Some(ra) => ra,
                        None => policy.backoff(attempt),
                    };
                    if clock.now_ms().saturating_add(delay.as_millis() as i64) >= deadline {
                        return Ok(resp);
                    }
                    info!(target: "zoho_oauth", status = resp.status(), attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying");
                    clock.sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    // An answer over the cap would be as large again: retrying only reads it again.
                    if !idempotent || attempt >= policy.max_retries || e.code() == ErrorCode::ResponseTooLarge {
                        return Err(e);
                    }
                    let delay = policy.backoff(attempt);
                    if clock.now_ms().saturating_add(delay.as_millis() as i64) >= deadline {
                        return Err(e);
                    }
                    info!(target: "zoho_oauth", error = %e.code(), attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying after a transport error");
                    clock.sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// True when `target` is an absolute URL: a scheme, then `://`, before any `/`, `?` or `#`
/// (a relative path may carry `://` in its query string).
fn is_absolute(target: &str) -> bool {
    let t = target.trim_start();
    let Some(pos) = t.find("://") else {
        return false;
    };
    let scheme = &t[..pos];
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A relative path with `.` and `..` segments resolved (also percent-encoded ones) and empty
/// segments collapsed, so it stays under the base URL's path prefix; a path that climbs above
/// it is a config error. The query string and fragment are kept as they are.
fn normalize_relative(target: &str) -> Result<String> {
    let split = target.find(['?', '#']).unwrap_or(target.len());
    let (path, rest) = target.split_at(split);
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split(['/', '\\']) {
        let lower = seg.to_ascii_lowercase();
        match lower.as_str() {
            "" | "." | "%2e" => {}
            ".." | ".%2e" | "%2e." | "%2e%2e" => {
                if segments.pop().is_none() {
                    return Err(Error::config(
                        format!("the path {:?} climbs above the base URL", truncate(target, 80)),
                        "pass a path without `..` segments, or an absolute URL",
                    ));
                }
            }
            _ => segments.push(seg),
        }
    }
    let trailing = if path.ends_with('/') && !segments.is_empty() { "/" } else { "" };
    Ok(format!("/{}{trailing}{rest}", segments.join("/")))
}

fn parse_url(s: &str) -> Result<url::Url> {
    url::Url::parse(s.trim()).map_err(|_| {
        Error::config(
            format!("not a valid URL: {:?}", truncate(s, 80)),
            "pass a path such as /crm/v8/Leads or an absolute https:// URL",
        )
    })
}

#[allow(clippy::too_many_arguments)]
async fn send_once(
    http: &reqwest::Client,
    method: &Method,
    mut url: url::Url,
    query: &[(String, String)],
    headers: &reqwest::header::HeaderMap,
    body: Option<&Body>,
    token: &AccessToken,
    timeout: Duration,
    now_ms: i64,
    max_body: usize,
    scrub: &Scrub,
) -> Result<Response> {
    if !query.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in query {
            q.append_pair(k, v);
        }
    }
    let shown = {
        let mut u = url.clone();
        u.set_fragment(None);
        u.to_string()
    };
    let mut auth = HeaderValue::from_str(&format!("Zoho-oauthtoken {}", token.secret())).map_err(|_| {
        Error::new(ErrorCode::InvalidResponse, "the access token contains characters not allowed in a header")
            .with_hint("the token endpoint returned a malformed token; it will be refreshed")
    })?;
    auth.set_sensitive(true);
    let mut req =
        http.request(method.clone(), url).headers(headers.clone()).header(AUTHORIZATION, auth).timeout(timeout);
    match body {
        Some(Body::Json(b)) => req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.clone()),
        Some(Body::Form(s)) => {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(s.clone())
        }
        Some(Body::Bytes(b, ct)) => {
            if let Some(ct) = ct {
                req = req.header(reqwest::header::CONTENT_TYPE, ct.as_str());
            }
            req = req.body(b.clone());
        }
        None => {}
    }
    let resp = req.send().await.map_err(|e| Error::from_reqwest(&e, &format!("{method} request")))?;
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let bytes = crate::response::read_capped(resp, max_body, &format!("{method} request")).await?;
    Ok(Response::new(status, headers, bytes, shown, now_ms, scrub.with([token.secret()])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(api_domain: Option<&str>, dc: DataCenter) -> Client {
        let app = match OAuthApp::builder("1000.ID").client_secret("s").dc(dc).build() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let mut b = Client::builder(app, "1000.refresh").token_store(Arc::new(crate::MemoryStore::isolated()));
        if let Some(d) = api_domain {
            b = b.api_domain(d);
        }
        match b.build() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn token(api_domain: Option<&str>) -> TokenSet {
        let body = match api_domain {
            Some(d) => format!(r#"{{"access_token":"1000.a","api_domain":"{d}"}}"#),
            None => r#"{"access_token":"1000.a"}"#.to_string(),
        };
        match TokenSet::parse(200, &body, 0, "https://accounts.zoho.eu") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn base_url_of_relative_paths() {
        let c = client(None, DataCenter::Eu);
        let t = token(Some("https://www.zohoapis.eu"));
        assert_eq!(c.base_for(Product::Crm, &t), "https://www.zohoapis.eu");
        assert_eq!(c.base_for(Product::Books, &token(None)), "https://www.zohoapis.eu");
        assert_eq!(c.base_for(Product::Desk, &t), "https://desk.zoho.eu");
        assert_eq!(c.base_for(Product::Mail, &t), "https://www.mail.zoho.eu");
        assert_eq!(c.base_for(Product::Campaigns, &t), "https://campaigns.zoho.eu");
        // A foreign api_domain in a token is ignored for relative paths.
        assert_eq!(c.base_for(Product::Crm, &token(Some("https://evil.example"))), "https://www.zohoapis.eu");
        // An explicit api_domain wins for every product.
        let c = client(Some("https://proxy.zohoapis.eu"), DataCenter::Eu);
        assert_eq!(c.base_for(Product::Desk, &t), "https://proxy.zohoapis.eu");
        let ca = client(None, DataCenter::Ca);
        assert_eq!(ca.base_for(Product::Crm, &token(None)), "https://www.zohoapis.ca");
        assert_eq!(ca.base_for(Product::Desk, &token(None)), "https://desk.zohocloud.ca");
    }

    #[test]
    fn allowlist() {
        let c = client(None, DataCenter::Eu);
        let u = |s: &str| match url::Url::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.static_allowed(&u("https://www.zohoapis.eu/crm/v8/Leads")), Some(true));
        assert_eq!(c.static_allowed(&u("https://desk.zoho.eu/api/v1/tickets")), Some(true));
        assert_eq!(c.static_allowed(&u("https://www.zohoapis.eu:8443/x")), None);
        assert_eq!(
            c.static_allowed(&u("https://www.zohoapis.com/x")),
            None,
            "another DC: only as the token's api_domain"
        );
        assert_eq!(c.static_allowed(&u("https://evil.example/x")), Some(false));
        assert_eq!(c.static_allowed(&u("http://www.zohoapis.eu/x")), Some(false));
        assert_eq!(c.static_allowed(&u("http://127.0.0.1:8080/x")), Some(false));
        let other_dc = token(Some("https://www.zohoapis.com"));
        assert!(c.check_allowed(&u("https://www.zohoapis.com/x"), Some(&other_dc)).is_ok());
        assert!(c.check_allowed(&u("https://www.zohoapis.com/x"), None).is_err());
        assert!(c.check_allowed(&u("https://www.zohoapis.in/x"), Some(&other_dc)).is_err());
        let explicit = client(Some("http://127.0.0.1:8080"), DataCenter::Eu);
        assert_eq!(explicit.static_allowed(&u("http://127.0.0.1:8080/x")), Some(true));
        assert_eq!(explicit.static_allowed(&u("http://127.0.0.1:8081/x")), Some(false));
    }

    #[test]
    fn absolute_urls_and_relative_paths() {
        assert!(is_absolute("https://www.zohoapis.eu/crm/v8/Leads"));
        assert!(!is_absolute("/crm/v8/Leads?next=https://evil.example"));
        assert!(!is_absolute("Leads?x=a://b"));
        let n = |s: &str| normalize_relative(s).map_err(|e| e.code());
        assert_eq!(n("crm/v8//Leads/"), Ok("/crm/v8/Leads/".to_string()));
        assert_eq!(n("/a/./b/../c?x=/../y"), Ok("/a/c?x=/../y".to_string()));
        assert_eq!(n("/..//x"), Err(ErrorCode::Config));
        assert_eq!(n("/a/%2E%2e/../x"), Err(ErrorCode::Config));
    }

    #[test]
    fn products_parse() {
        assert_eq!("Desk".parse::<Product>().ok(), Some(Product::Desk));
        assert_eq!("".parse::<Product>().ok(), Some(Product::Crm));
        assert!("creator".parse::<Product>().is_err());
    }

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
}
