//! `Client`: one Zoho identity with a cached access token and authenticated requests.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use napi::bindgen_prelude::{Buffer, External, Object};
use napi::{Env, Result, sys};
use napi_derive::napi;
use zoho_oauth::config::Naming;
use zoho_oauth::{Body, Client, ClientConfig, Error as CoreError, Paginator, Product, RequestConfig};

use crate::convert::{AppOptions, NativeTokenSet};
use crate::logger::NativeLogger;
use crate::mock::MockClock;
use crate::promise::{CancelToken, Runs, check, spawn};
use crate::store::NativeKeyValueStore;

/// Options of `new Client(...)`. Field for field the core's `zoho_oauth::ClientConfig` in
/// camelCase (napi needs a `#[napi(object)]` of its own to read a JavaScript object); every rule
/// about the values lives in the core.
#[napi(object, object_to_js = false)]
pub struct ClientOptions {
    /// The client id (`1000.XXXX`).
    pub client_id: String,
    /// The client secret.
    pub client_secret: Option<String>,
    /// The refresh token (from a code exchange with `access_type=offline`).
    pub refresh_token: String,
    /// The app's home DC (default `us`).
    pub dc: Option<String>,
    /// server (default), self, mobile or device.
    pub client_type: Option<String>,
    /// Where tokens are cached and the refresh budget is counted, by URL: `memory://` (default,
    /// this process), `file:///path/tokens.json` (this machine), `redis://host:6379/0`,
    /// `postgres://…` or `mysql://…` (a fleet). A store object of the user's is passed to the
    /// constructor instead.
    pub token_store: Option<String>,
    /// Override the home DC's accounts server (a proxy, or the mock on loopback).
    pub accounts_url: Option<String>,
    /// Accounts servers of other DCs by code.
    pub dc_accounts_urls: Option<HashMap<String, String>>,
    /// Client secrets of other DCs by code.
    pub dc_secrets: Option<HashMap<String, String>>,
    /// The user's accounts server (from the exchange); default: the home DC's.
    pub accounts_server: Option<String>,
    /// Explicit base URL for relative paths of every product.
    pub api_domain: Option<String>,
    /// More origins tokens may be sent to.
    pub allow_hosts: Option<Vec<String>>,
    /// Refresh this many seconds before expiry (default 300).
    pub refresh_margin: Option<f64>,
    /// Refreshes allowed per 10 minutes, 1 to 10 (default 10, Zoho's limit).
    pub refresh_budget: Option<i64>,
    /// Timeout of one request attempt, in seconds (default 30).
    pub timeout: Option<f64>,
    /// Retries after the first attempt, 0 to 100 (default 3).
    pub max_retries: Option<i64>,
    /// At most this many requests of this client in flight.
    pub max_concurrency: Option<i64>,
    /// Largest response body read, in bytes (default 64 MiB); a larger one rejects with
    /// `response_too_large`.
    pub max_response_bytes: Option<i64>,
}

/// Per-request options. Pairs travel as flat `[key, value, key, value, ...]` arrays.
#[napi(object, object_to_js = false)]
pub struct RequestOptions {
    /// Query parameters.
    pub params: Option<Vec<String>>,
    /// Extra headers.
    pub headers: Option<Vec<String>>,
    /// A JSON body, already serialized.
    pub json: Option<String>,
    /// A form body.
    pub form: Option<Vec<String>>,
    /// A raw body; its content type comes from `headers`.
    pub body: Option<Buffer>,
    /// crm (default), books, desk, mail or campaigns.
    pub product: Option<String>,
    /// Timeout of each attempt, in seconds.
    pub timeout: Option<f64>,
    /// Retries for this request, 0 to 100.
    pub max_retries: Option<i64>,
    /// Retry 5xx and connection errors for POST/PATCH too.
    pub retry_non_idempotent: Option<bool>,
}

/// A copy of the cached access token for `index.js`: serve it while `Date.now()` is before
/// `freshUntilMs` and the counter of `cacheGenerationBuffer()` still holds `generation`.
#[napi(object, object_from_js = false)]
pub struct CacheEntry {
    /// The access token.
    pub token: String,
    /// Unix ms (wall clock) until which the token is fresh; far in the past on a virtual clock.
    pub fresh_until_ms: f64,
    /// The cache generation the token was read in.
    pub generation: u32,
}

/// Rate-limit headers of the last response that carried any.
#[napi(object)]
pub struct RateLimitInfo {
    /// `X-API-CREDITS-REMAINING`.
    pub credits_remaining: Option<f64>,
    /// `Retry-After` of the last 429/503, in seconds.
    pub retry_after: Option<f64>,
    /// Status of the response these were read from.
    pub status: Option<u32>,
}

fn pairs(name: &str, flat: Vec<String>) -> Result<Vec<(String, String)>> {
    if !flat.len().is_multiple_of(2) {
        return check(Err(CoreError::config(format!("{name} must be key/value pairs"), "pass an object of strings")));
    }
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// Finalizer of `cacheGenerationBuffer`: drops the Arc that kept the counter alive.
unsafe extern "C" fn release_cell(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the boxed Arc `cache_generation_buffer` leaked for this buffer.
    drop(unsafe { Box::from_raw(hint as *mut Arc<AtomicU32>) });
}

/// One Zoho identity: app + refresh token + store.
#[napi]
pub struct NativeClient {
    client: Client,
    logger: Option<tracing::Dispatch>,
}

impl NativeClient {
    fn with_logger<T>(logger: Option<&NativeLogger>, f: impl FnOnce() -> T) -> T {
        match logger {
            Some(l) => tracing::dispatcher::with_default(&l.dispatch, f),
            None => f(),
        }
    }
}

#[napi]
impl NativeClient {
    /// Validate the options and build the client (no network I/O).
    #[napi(constructor)]
    pub fn new(
        options: ClientOptions,
        clock: Option<&MockClock>,
        logger: Option<&NativeLogger>,
        initial_token: Option<&NativeTokenSet>,
        store: Option<&NativeKeyValueStore>,
    ) -> Result<Self> {
        let o = options;
        let config = ClientConfig {
            app: AppOptions {
                client_id: o.client_id,
                client_secret: o.client_secret,
                dc: o.dc,
                client_type: o.client_type,
                accounts_url: o.accounts_url,
                dc_accounts_urls: o.dc_accounts_urls,
                dc_secrets: o.dc_secrets,
                timeout: None,
            }
            .into_config(clock),
            refresh_token: o.refresh_token,
            token_store: o.token_store,
            accounts_server: o.accounts_server,
            api_domain: o.api_domain,
            allow_hosts: o.allow_hosts.unwrap_or_default(),
            refresh_margin: o.refresh_margin,
            refresh_budget: o.refresh_budget,
            timeout: o.timeout,
            max_retries: o.max_retries,
            max_concurrency: o.max_concurrency,
            max_response_bytes: o.max_response_bytes,
            initial_token: initial_token.map(|t| t.inner.clone()),
            naming: Naming::Camel,
        };
        // A URL string is in the options; a store object of the user's comes separately.
        let build = || match store {
            Some(s) => config.builder().and_then(|b| b.token_store(s.store.clone()).build()),
            None => config.build(),
        };
        let client = check(Self::with_logger(logger, build))?;
        Ok(NativeClient { client, logger: logger.map(|l| l.dispatch.clone()) })
    }

    /// Build from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`, `ZOHO_DC`,
    /// `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and `ZOHO_API_DOMAIN`.
    #[napi(factory)]
    pub fn from_env(logger: Option<&NativeLogger>) -> Result<Self> {
        let client = check(Self::with_logger(logger, Client::from_env))?;
        Ok(NativeClient { client, logger: logger.map(|l| l.dispatch.clone()) })
    }

    /// The client id.
    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.client.app().client_id().to_string()
    }

    /// The user's DC code.
    #[napi(getter)]
    pub fn dc(&self) -> String {
        self.client.dc().code().to_string()
    }

    /// The accounts server refreshes go to.
    #[napi(getter)]
    pub fn accounts_server(&self) -> String {
        self.client.accounts_server().to_string()
    }

    /// The base URL a relative path of `product` (crm, books, desk, mail, campaigns) goes to
    /// now: `apiDomain`, else the cached token's, else the user's DC's host. No I/O.
    #[napi]
    pub fn base_url(&self, product: Option<String>) -> Result<String> {
        let p = check(product.as_deref().unwrap_or("crm").parse::<Product>())?;
        Ok(self.client.base_url(p))
    }

    /// The non-secret store key of this identity.
    #[napi(getter)]
    pub fn store_key(&self) -> String {
        self.client.store_key().as_str().to_string()
    }

    /// A valid access token (cached, or one refresh shared by every concurrent caller).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn access_token<'e>(&self, env: &'e Env, cancel: Option<&CancelToken>) -> Result<Object<'e>> {
        let c = self.client.clone();
        let fut = async move { c.access_token().await };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, |t| Ok(t.secret().to_string()))
    }

    /// The cached access token with its wall-clock freshness deadline and the cache generation,
    /// for `index.js` to keep a copy of (the core's `Client::cache_entry`); null when
    /// `accessToken()` would have to refresh.
    #[napi]
    pub fn cache_entry(&self) -> Option<CacheEntry> {
        self.client.cache_entry().map(|e| CacheEntry {
            token: e.access_token.secret().to_string(),
            fresh_until_ms: e.fresh_until_ms as f64,
            generation: e.generation,
        })
    }

    /// The core's cache generation counter (`Client::cache_generation_cell`) as a 4-byte
    /// ArrayBuffer over the counter itself: `index.js` reads it with `Atomics.load` on a
    /// `Uint32Array`, so a cache hit makes no call into the addon.
    #[napi(ts_return_type = "ArrayBuffer")]
    pub fn cache_generation_buffer<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        let cell = Box::new(self.client.cache_generation_cell());
        let data = Arc::as_ptr(&cell) as *mut c_void;
        let hint = Box::into_raw(cell) as *mut c_void;
        let mut value = std::ptr::null_mut();
        // SAFETY: the buffer's memory is the counter, which the boxed Arc (the finalize hint)
        // keeps alive until V8 collects the buffer; `release_cell` then drops it.
        let status =
            unsafe { sys::napi_create_external_arraybuffer(env.raw(), data, 4, Some(release_cell), hint, &mut value) };
        if status != sys::Status::napi_ok {
            // SAFETY: not adopted by a finalizer: still ours.
            drop(unsafe { Box::from_raw(hint as *mut Arc<AtomicU32>) });
            return Err(napi::Error::new(napi::Status::GenericFailure, "cannot map the cache generation"));
        }
        Ok(Object::from_raw(env.raw(), value))
    }

    /// The cached token set (refreshed if needed); `force` refreshes now.
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn token_set<'e>(&self, env: &'e Env, force: bool, cancel: Option<&CancelToken>) -> Result<Object<'e>> {
        let c = self.client.clone();
        let fut = async move { if force { c.force_refresh().await } else { c.token_set().await } };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, |t| Ok(NativeTokenSet { inner: (*t).clone() }))
    }

    /// Revoke the refresh token at Zoho and drop the cached access token.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn revoke<'e>(&self, env: &'e Env, cancel: Option<&CancelToken>) -> Result<Object<'e>> {
        let c = self.client.clone();
        let fut = async move { c.revoke().await };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, |()| Ok(()))
    }

    /// Drop the cached token only if it is still `access_token` (compare-and-invalidate), so a
    /// late 401 on an old token never discards a newer one. Resolves to whether it was dropped.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn invalidate<'e>(
        &self,
        env: &'e Env,
        access_token: String,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let c = self.client.clone();
        let fut = async move { c.invalidate(&zoho_oauth::AccessToken::new(access_token)).await };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, Ok)
    }

    /// Keep this identity's refresh token in the token store, with an optional label.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn save_refresh_token<'e>(
        &self,
        env: &'e Env,
        label: Option<String>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let c = self.client.clone();
        let fut = async move { c.save_refresh_token(label.as_deref()).await };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, |()| Ok(()))
    }

    /// Rate-limit headers from the last response that carried any.
    #[napi]
    pub fn rate_limits(&self) -> RateLimitInfo {
        let r = self.client.rate_limits();
        RateLimitInfo {
            credits_remaining: r.credits_remaining.map(|n| n as f64),
            retry_after: r.retry_after.map(|d| d.as_secs_f64()),
            status: r.status.map(u32::from),
        }
    }

    /// Send a request: a path (resolved against the product's base URL) or an absolute URL.
    #[napi(ts_return_type = "Promise<ExternalObject<Response>>")]
    pub fn request<'e>(
        &self,
        env: &'e Env,
        method_name: String,
        url: String,
        options: Option<RequestOptions>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let mut rc = RequestConfig { method: Some(method_name), url, naming: Naming::Camel, ..Default::default() };
        if let Some(o) = options {
            rc.params = pairs("params", o.params.unwrap_or_default())?;
            rc.headers = pairs("headers", o.headers.unwrap_or_default())?;
            if let Some(j) = o.json {
                rc.bodies.push(Body::Json(j.into_bytes()));
            }
            if let Some(f) = o.form {
                rc.bodies.push(Body::Form(pairs("form", f)?));
            }
            if let Some(b) = o.body {
                rc.bodies.push(Body::Raw { bytes: b.to_vec(), content_type: None });
            }
            rc.product = o.product;
            rc.timeout = o.timeout;
            rc.max_retries = o.max_retries;
            rc.retry_non_idempotent = o.retry_non_idempotent;
        }
        let req = check(rc.request(&self.client))?;
        spawn(Runs::Request, env, cancel, self.logger.as_ref(), req.send(), |r| Ok(External::new(r)))
    }

    /// Pages of a CRM list (`page` up to 2,000 records, then `page_token`).
    #[napi]
    pub fn paginate(
        &self,
        path: String,
        per_page: Option<i64>,
        params: Option<Vec<String>>,
    ) -> Result<NativePaginator> {
        let mut p = self.client.paginate(path);
        if let Some(n) = per_page {
            p = p.per_page(check(zoho_oauth::config::per_page("perPage", n))?);
        }
        for (k, v) in pairs("params", params.unwrap_or_default())? {
            p = p.query_pair(k, v);
        }
        Ok(NativePaginator { inner: Arc::new(tokio::sync::Mutex::new(p)), logger: self.logger.clone() })
    }
}

/// Pages of a CRM list.
#[napi]
pub struct NativePaginator {
    inner: Arc<tokio::sync::Mutex<Paginator>>,
    logger: Option<tracing::Dispatch>,
}

#[napi]
impl NativePaginator {
    /// The next page as a JSON array text, or null after the last one.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn next_page<'e>(&self, env: &'e Env, cancel: Option<&CancelToken>) -> Result<Object<'e>> {
        let p = self.inner.clone();
        let fut = async move {
            let page = p.lock().await.next_page().await?;
            Ok(page.map(|records| serde_json::Value::Array(records).to_string()))
        };
        spawn(Runs::Request, env, cancel, self.logger.as_ref(), fut, Ok)
    }
}
