//! `Client`, `Response` and `Paginator`: thin shells around one `zoho_oauth::Client`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use zoho_oauth::config::Naming;
use zoho_oauth::{AppConfig, Body, ClientConfig, Product, RequestBuilder, RequestConfig};

use crate::app::TokenSet;
use crate::convert::{ClientType, pairs};
use crate::error::Result;
use crate::runtime::on_core;

/// Per-request options; every field is optional.
///
/// At most one body: `json` (a JSON document as text), `form` (URL-encoded fields) or `body`
/// (raw bytes with `contentType`).
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct RequestOptions {
    /// Query parameters.
    #[uniffi(default)]
    pub params: HashMap<String, String>,
    /// Extra headers (for example `orgId` for Desk).
    #[uniffi(default)]
    pub headers: HashMap<String, String>,
    /// A JSON body, already serialized.
    #[uniffi(default = None)]
    pub json: Option<String>,
    /// A form body (`application/x-www-form-urlencoded`).
    #[uniffi(default = None)]
    pub form: Option<HashMap<String, String>>,
    /// A raw body.
    #[uniffi(default = None)]
    pub body: Option<Vec<u8>>,
    /// The content type of `body`.
    #[uniffi(default = None)]
    pub content_type: Option<String>,
    /// `crm` (the default), `books`, `desk`, `mail` or `campaigns`: picks the base URL of a
    /// relative path.
    #[uniffi(default = None)]
    pub product: Option<String>,
    /// Timeout of each attempt, in seconds (the client's by default).
    #[uniffi(default = None)]
    pub timeout_secs: Option<f64>,
    /// Retries for this request (the client's by default).
    #[uniffi(default = None)]
    pub max_retries: Option<i32>,
    /// Retry 5xx and connection errors for POST and PATCH too.
    #[uniffi(default = false)]
    pub retry_non_idempotent: bool,
}

/// Rate-limit headers of the last response that carried any.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RateLimits {
    /// `X-API-CREDITS-REMAINING` (CRM sends it once half the daily credits are used).
    pub credits_remaining: Option<i64>,
    /// `Retry-After` of the last 429/503, in seconds.
    pub retry_after_secs: Option<f64>,
    /// Status of the response these were read from.
    pub status: Option<i32>,
}

fn build_request(client: &zoho_oauth::Client, method: &str, url: String, o: RequestOptions) -> Result<RequestBuilder> {
    let mut bodies = Vec::new();
    if let Some(j) = o.json {
        bodies.push(Body::Json(j.into_bytes()));
    }
    if let Some(f) = o.form {
        bodies.push(Body::Form(f.into_iter().collect()));
    }
    if let Some(bytes) = o.body {
        bodies.push(Body::Raw { bytes, content_type: o.content_type });
    }
    let rc = RequestConfig {
        method: Some(method.to_string()),
        url,
        params: o.params.into_iter().collect(),
        headers: o.headers.into_iter().collect(),
        bodies,
        product: o.product,
        timeout: o.timeout_secs,
        max_retries: o.max_retries.map(i64::from),
        retry_non_idempotent: Some(o.retry_non_idempotent),
        naming: Naming::Snake,
    };
    Ok(rc.request(client)?)
}

/// One Zoho identity (app + refresh token + token store): a cached access token refreshed once
/// for every concurrent caller, and authenticated requests with retries and the 401 refresh.
/// Network calls are `suspend` functions running on zoho-oauth's own threads; share one
/// client between coroutines and threads.
///
/// `dc` is the home data centre (`us` by default); `tokenStore` is a store URL with the same
/// meaning in every language (`memory://` by default, shared by every client of the same
/// identity in the process; `file:///path/tokens.json` to persist); `accountsUrl` is the user's
/// accounts server from the exchange (or an explicit override such as the mock);
/// `apiDomain` is an explicit base URL for relative paths; `refreshMarginSecs` (300) refreshes
/// that long before expiry; `timeoutSecs` (30) bounds one attempt; `maxRetries` (3);
/// `maxConcurrency` (unlimited) bounds requests in flight; `allowHosts` adds origins the token
/// may be sent to.
///
/// `toString()` never shows the secret or the tokens.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct Client {
    pub(crate) inner: zoho_oauth::Client,
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        write!(
            f,
            "Client(clientId={}, dc={}, accountsServer={}, clientSecret=[redacted], refreshToken=[redacted])",
            c.app().client_id(),
            c.dc().code(),
            c.accounts_server()
        )
    }
}

impl Client {
    async fn send(&self, method: &str, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        let req = build_request(&self.inner, method, url, options.unwrap_or_default())?;
        let r = on_core(req.send()).await?;
        Ok(Arc::new(Response { inner: r }))
    }
}

#[uniffi::export]
impl Client {
    /// A client for one refresh token. Throws `ZohoException.Config` for bad input (unknown DC,
    /// empty refresh token, a disallowed host, an unknown store URL) before any network I/O.
    /// `maxResponseBytes` caps an API answer's body (null: 64 MiB); a larger answer throws
    /// `ZohoException.ResponseTooLarge`.
    #[uniffi::constructor(default(
        dc = "us",
        token_store = "memory://",
        accounts_url = None,
        api_domain = None,
        refresh_margin_secs = 300.0,
        timeout_secs = 30.0,
        max_retries = 3,
        max_concurrency = None,
        allow_hosts = [],
        max_response_bytes = None,
        accounts_server = None,
        client_type = None,
        refresh_budget = 10,
        initial_token = None
    ), default(dc_secrets), default(dc_accounts_urls))]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_id: String,
        client_secret: String,
        refresh_token: String,
        dc: String,
        token_store: String,
        accounts_url: Option<String>,
        api_domain: Option<String>,
        refresh_margin_secs: f64,
        timeout_secs: f64,
        max_retries: i32,
        max_concurrency: Option<i32>,
        allow_hosts: Vec<String>,
        max_response_bytes: Option<i64>,
        accounts_server: Option<String>,
        client_type: Option<ClientType>,
        dc_secrets: HashMap<String, String>,
        dc_accounts_urls: HashMap<String, String>,
        refresh_budget: i32,
        initial_token: Option<Arc<TokenSet>>,
    ) -> Result<Arc<Self>> {
        let inner = ClientConfig {
            app: AppConfig {
                client_id,
                client_secret: Some(client_secret),
                dc: Some(dc),
                client_type: ClientType::name(client_type),
                accounts_url,
                dc_accounts_urls: pairs(dc_accounts_urls),
                dc_secrets: pairs(dc_secrets),
                ..AppConfig::default()
            },
            refresh_token,
            token_store: Some(token_store),
            accounts_server,
            api_domain,
            allow_hosts,
            refresh_margin: Some(refresh_margin_secs),
            refresh_budget: Some(i64::from(refresh_budget)),
            timeout: Some(timeout_secs),
            max_retries: Some(i64::from(max_retries)),
            max_concurrency: max_concurrency.map(i64::from),
            max_response_bytes,
            initial_token: initial_token.map(|t| t.inner.clone()),
            naming: Naming::Snake,
        }
        .build()?;
        Ok(Arc::new(Client { inner }))
    }

    /// A client from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`, `ZOHO_DC`
    /// (default `us`), `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and `ZOHO_API_DOMAIN`. A missing
    /// variable throws `ZohoException.Config` naming it.
    #[uniffi::constructor]
    pub fn from_env() -> Result<Arc<Self>> {
        Ok(Arc::new(Client { inner: zoho_oauth::Client::from_env()? }))
    }

    /// The client id.
    pub fn client_id(&self) -> String {
        self.inner.app().client_id().to_string()
    }

    /// The home data centre code.
    pub fn dc(&self) -> String {
        self.inner.dc().code().to_string()
    }

    /// The base URL a relative path of `product` (crm, books, desk, mail, campaigns) goes to
    /// now: `apiDomain`, else the cached token's, else the user's data centre's host. No I/O.
    #[uniffi::method(default(product = "crm"))]
    pub fn base_url(&self, product: String) -> Result<String> {
        Ok(self.inner.base_url(product.parse::<Product>()?))
    }

    /// The accounts server refreshes go to.
    pub fn accounts_server(&self) -> String {
        self.inner.accounts_server().to_string()
    }

    /// A valid access token: the cached one (no I/O, no lock beyond a read) until
    /// `expiresAt - refreshMargin`, else one refresh shared by every concurrent caller.
    pub async fn access_token(&self) -> Result<String> {
        if let Some(t) = self.inner.cached_access_token() {
            return Ok(t.secret().to_string());
        }
        let c = self.inner.clone();
        on_core(async move { c.access_token().await.map(|t| t.secret().to_string()) }).await
    }

    /// The cached token set (refreshed if needed).
    pub async fn token_set(&self) -> Result<Arc<TokenSet>> {
        let c = self.inner.clone();
        let t = on_core(async move { c.token_set().await }).await?;
        Ok(Arc::new(TokenSet { inner: (*t).clone() }))
    }

    /// Refresh now (still single-flight, budgeted and throttle-aware).
    pub async fn force_refresh(&self) -> Result<Arc<TokenSet>> {
        let c = self.inner.clone();
        let t = on_core(async move { c.force_refresh().await }).await?;
        Ok(Arc::new(TokenSet { inner: (*t).clone() }))
    }

    /// Drop the cached token only if it is still `accessToken` (compare-and-invalidate), so a
    /// late 401 on an old token never discards a newer one. Returns whether it was dropped.
    pub async fn invalidate(&self, access_token: String) -> Result<bool> {
        let c = self.inner.clone();
        let t = zoho_oauth::AccessToken::new(access_token);
        on_core(async move { c.invalidate(&t).await }).await
    }

    /// Throws `ZohoException.Config` unless the access token may be sent to the absolute `url`
    /// (the DC's Zoho hosts, the token's `api_domain`, or origins configured explicitly). No I/O.
    pub fn check_url(&self, url: String) -> Result<()> {
        Ok(self.inner.check_url(&url)?)
    }

    /// Send a request: `url` is absolute or a path resolved against the product's base URL.
    /// Returns the `Response` for every status once retries are done; `errorForStatus()` turns
    /// a 4xx/5xx into the typed error.
    #[uniffi::method(default(options = None))]
    pub async fn request(&self, method: String, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send(&method, url, options).await
    }

    /// A GET request; see `request()`.
    #[uniffi::method(default(options = None))]
    pub async fn get(&self, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send("GET", url, options).await
    }

    /// A POST request; see `request()`. Not retried on 5xx unless `retryNonIdempotent`.
    #[uniffi::method(default(options = None))]
    pub async fn post(&self, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send("POST", url, options).await
    }

    /// A PUT request; see `request()`.
    #[uniffi::method(default(options = None))]
    pub async fn put(&self, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send("PUT", url, options).await
    }

    /// A PATCH request; see `request()`.
    #[uniffi::method(default(options = None))]
    pub async fn patch(&self, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send("PATCH", url, options).await
    }

    /// A DELETE request; see `request()`.
    #[uniffi::method(default(options = None))]
    pub async fn delete(&self, url: String, options: Option<RequestOptions>) -> Result<Arc<Response>> {
        self.send("DELETE", url, options).await
    }

    /// The records of a CRM list (`/crm/v8/Leads`), page by page: `page` for the first 2,000
    /// records, then `page_token`. `params` go with every page (`fields`, `sort_by` ...).
    #[uniffi::method(default(per_page = 200), default(params))]
    pub fn paginate(&self, path: String, params: HashMap<String, String>, per_page: i32) -> Result<Arc<Paginator>> {
        let mut p = self.inner.paginate(path).per_page(zoho_oauth::config::per_page("per_page", i64::from(per_page))?);
        for (k, v) in params {
            p = p.query_pair(k, v);
        }
        Ok(Arc::new(Paginator { inner: Arc::new(tokio::sync::Mutex::new(p)) }))
    }

    /// Revoke the refresh token at Zoho and drop the cached access token.
    pub async fn revoke(&self) -> Result<()> {
        let c = self.inner.clone();
        on_core(async move { c.revoke().await }).await
    }

    /// Keep this identity's refresh token in the token store (with an optional label such as
    /// the user's email), so other processes and the `zoho-oauth` command can use it. Stores
    /// never keep a refresh token unless asked; the client secret never.
    #[uniffi::method(default(label = None))]
    pub async fn save_refresh_token(&self, label: Option<String>) -> Result<()> {
        let c = self.inner.clone();
        on_core(async move { c.save_refresh_token(label.as_deref()).await }).await
    }

    /// Rate-limit headers of the last response that carried any.
    pub fn rate_limits(&self) -> RateLimits {
        let r = self.inner.rate_limits();
        RateLimits {
            credits_remaining: r.credits_remaining.map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
            retry_after_secs: r.retry_after.map(|d| d.as_secs_f64()),
            status: r.status.map(i32::from),
        }
    }
}

/// An HTTP response of a Zoho API, fully read. Every status is returned; `errorForStatus()`
/// turns a 4xx/5xx into the typed error with Zoho's own code parsed from the product's error
/// envelope.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct Response {
    inner: zoho_oauth::Response,
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response(status={}, url={})", self.inner.status(), self.inner.url())
    }
}

#[uniffi::export]
impl Response {
    /// HTTP status code.
    pub fn status(&self) -> i32 {
        i32::from(self.inner.status())
    }

    /// True for a 2xx status.
    pub fn ok(&self) -> bool {
        self.inner.ok()
    }

    /// The URL that answered (no credentials are ever in it).
    pub fn url(&self) -> String {
        self.inner.url().to_string()
    }

    /// The headers, names in lower case; repeated headers are joined with ", ".
    pub fn headers(&self) -> HashMap<String, String> {
        let mut out: HashMap<String, String> = HashMap::new();
        for (k, v) in self.inner.headers() {
            out.entry(k.to_ascii_lowercase()).and_modify(|e| *e = format!("{e}, {v}")).or_insert_with(|| v.clone());
        }
        out
    }

    /// The first value of a header (case-insensitive), or null.
    pub fn header(&self, name: String) -> Option<String> {
        self.inner.header(&name).map(str::to_string)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        self.inner.text()
    }

    /// The body as bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.inner.bytes().to_vec()
    }

    /// `Retry-After` in seconds (from seconds or an HTTP date), or null.
    pub fn retry_after_secs(&self) -> Option<f64> {
        self.inner.retry_after().map(|d| d.as_secs_f64())
    }

    /// Returns this response for 1xx-3xx; throws the typed error for 4xx/5xx:
    /// `Unauthorized`, `ScopeMismatch`, `ApiError` or `RateLimited` (with `retryAfterSecs`).
    pub fn error_for_status(self: Arc<Self>) -> Result<Arc<Self>> {
        if self.inner.status() < 400 {
            return Ok(self);
        }
        self.inner.clone().error_for_status()?;
        Ok(self)
    }
}

/// The records of a CRM list, fetched page by page; records are JSON objects as text. An error
/// is thrown once and ends the iteration.
#[derive(uniffi::Object)]
pub struct Paginator {
    inner: Arc<tokio::sync::Mutex<zoho_oauth::Paginator>>,
}

fn to_json(v: &serde_json::Value) -> String {
    v.to_string()
}

#[uniffi::export]
impl Paginator {
    /// The next page of records (JSON text each), or null after the last one.
    pub async fn next_page(&self) -> Result<Option<Vec<String>>> {
        let p = self.inner.clone();
        let page = on_core(async move { p.lock().await.next_page().await }).await?;
        Ok(page.map(|records| records.iter().map(to_json).collect()))
    }

    /// The next record (JSON text), or null after the last one.
    pub async fn next_record(&self) -> Result<Option<String>> {
        let p = self.inner.clone();
        let record = on_core(async move { p.lock().await.next_record().await }).await?;
        Ok(record.as_ref().map(to_json))
    }
}
