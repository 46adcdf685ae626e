//! `Client` (sync, GIL released for every network wait), `AsyncClient` (asyncio) and
//! `Paginator`: thin shells around one `zoho_oauth::Client`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use serde_json::Value;
use zoho_oauth::config::Naming;
use zoho_oauth::{AppConfig, Body, ClientConfig, RequestBuilder, RequestConfig};

use crate::app::{TokenSet, dc_pairs};
use crate::convert::{Json, json_to_py, pairs};
use crate::errors::{PyResultExt, config};
use crate::mock::MockServer;
use crate::response::Response;
use crate::runtime::{block_on, block_on_request, into_py_future, into_py_request_future, ready_future};

/// The core client behind a Python client; `close()` drops it.
struct Shared {
    inner: RwLock<Option<zoho_oauth::Client>>,
    label: String,
}

impl Shared {
    fn new(c: zoho_oauth::Client) -> Self {
        let label = format!(
            "client_id={:?}, dc={:?}, accounts_server={:?}",
            c.app().client_id(),
            c.dc().code(),
            c.accounts_server()
        );
        Shared { inner: RwLock::new(Some(c)), label }
    }

    fn get(&self, py: Python<'_>) -> PyResult<zoho_oauth::Client> {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| config(py, "the client is closed", "create a new client", None))
    }

    fn close(&self) {
        let taken = self.inner.write().unwrap_or_else(|p| p.into_inner()).take();
        drop(taken);
    }

    fn closed(&self) -> bool {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }
}

static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

const REQUEST_KWARGS: [&str; 9] =
    ["params", "json", "data", "content", "headers", "product", "timeout", "max_retries", "retry_non_idempotent"];

/// Build a core request from Python arguments (`params`, `json`, `data`, `content`, `headers`,
/// `product`, `timeout`, `max_retries`, `retry_non_idempotent`).
fn build_request(
    py: Python<'_>,
    client: &zoho_oauth::Client,
    method: &str,
    url: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<RequestBuilder> {
    let mut rc = RequestConfig { method: Some(method.to_string()), url: url.to_string(), ..Default::default() };
    for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
        let key = k.cast::<PyString>()?.to_cow()?.into_owned();
        if v.is_none() {
            if !REQUEST_KWARGS.contains(&key.as_str()) {
                return Err(PyTypeError::new_err(format!("unexpected keyword argument {key:?}")));
            }
            continue;
        }
        match key.as_str() {
            "params" => rc.params = pairs(py, "query parameter", &v)?,
            "headers" => rc.headers = pairs(py, "header", &v)?,
            "json" => {
                let dumps = JSON_DUMPS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import("json")?.getattr("dumps")?.unbind())
                })?;
                let kw = PyDict::new(py);
                kw.set_item("separators", (",", ":"))?;
                kw.set_item("ensure_ascii", false)?;
                kw.set_item("allow_nan", false)?;
                let text = dumps.bind(py).call((&v,), Some(&kw)).map_err(|e| {
                    config(
                        py,
                        "the json body cannot be serialized to JSON",
                        "pass dicts, lists, str, int, float, bool and None only",
                        Some(e),
                    )
                })?;
                rc.bodies.push(Body::Json(text.cast::<PyString>()?.to_cow()?.as_bytes().to_vec()));
            }
            "data" => rc.bodies.push(match text_or_bytes(&v)? {
                Some(bytes) => Body::Raw { bytes, content_type: Some("application/x-www-form-urlencoded".into()) },
                None => Body::Form(pairs(py, "form field", &v)?),
            }),
            "content" => {
                let content_type =
                    if v.is_instance_of::<PyString>() { Some("text/plain; charset=utf-8".into()) } else { None };
                let Some(bytes) = text_or_bytes(&v)? else {
                    return Err(config(py, "content must be bytes or str", "pass bytes, or use json= or data=", None));
                };
                rc.bodies.push(Body::Raw { bytes, content_type });
            }
            "product" => rc.product = Some(v.extract()?),
            "timeout" => rc.timeout = Some(v.extract()?),
            "max_retries" => rc.max_retries = Some(v.extract()?),
            "retry_non_idempotent" => rc.retry_non_idempotent = Some(v.is_truthy()?),
            other => return Err(PyTypeError::new_err(format!("unexpected keyword argument {other:?}"))),
        }
    }
    rc.request(client).py_err(py)
}

/// The bytes of a `bytes` or `str` value; None for anything else.
fn text_or_bytes(v: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        Ok(Some(b.as_bytes().to_vec()))
    } else if let Ok(s) = v.cast::<PyString>() {
        Ok(Some(s.to_cow()?.as_bytes().to_vec()))
    } else {
        Ok(None)
    }
}

fn rate_limits_dict<'py>(py: Python<'py>, c: &zoho_oauth::Client) -> PyResult<Bound<'py, PyDict>> {
    let r = c.rate_limits();
    let d = PyDict::new(py);
    d.set_item("credits_remaining", r.credits_remaining)?;
    d.set_item("retry_after", r.retry_after.map(|d| d.as_secs_f64()))?;
    d.set_item("status", r.status)?;
    Ok(d)
}

fn paginator(
    py: Python<'_>,
    c: zoho_oauth::Client,
    path: &str,
    params: Option<&Bound<'_, PyAny>>,
    per_page: i64,
) -> PyResult<Paginator> {
    let mut p = c.paginate(path).per_page(zoho_oauth::config::per_page("per_page", per_page).py_err(py)?);
    if let Some(params) = params.filter(|p| !p.is_none()) {
        for (k, v) in pairs(py, "query parameter", params)? {
            p = p.query_pair(k, v);
        }
    }
    Ok(Paginator { state: Arc::new(tokio::sync::Mutex::new(PagerState { pager: p, buffer: VecDeque::new() })) })
}

fn adapter<'py>(py: Python<'py>, factory: &str, client: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    py.import("zoho_oauth._adapters")?.getattr(factory)?.call1((client,))
}

/// One Zoho identity (app + refresh token + token store) for synchronous code: a cached access
/// token refreshed once for every concurrent caller, and authenticated requests with retries
/// and the 401 refresh. Every network wait releases the GIL. Thread-safe: share one client.
///
/// Keyword arguments: `client_id`, `client_secret`, `refresh_token`, `dc` (home data centre,
/// default `us`), `token_store` (`memory://` by default: shared by every client of the same
/// identity in the process; `file:///path/tokens.json` for every process on the machine;
/// `redis://host:6379/0`, `postgres://…` or `mysql://…` for a fleet; or an object of your own
/// with `get`, `compare_and_set` and `keys`: see `zoho_oauth.KeyValueStore`), `accounts_url` (the user's accounts server from the callback, or
/// an explicit override such as the mock), `api_domain` (explicit base URL of relative paths),
/// `refresh_margin` (seconds before expiry to refresh, 300), `timeout` (seconds per attempt,
/// 30), `max_retries` (3), `max_concurrency` (requests in flight, unlimited),
/// `max_response_bytes` (largest response body read, 64 MiB; a larger one raises
/// `TransportError` with code `response_too_large`), `allow_hosts`
/// (more origins the token may be sent to) and `initial_token` (the `TokenSet` of a code
/// exchange, used until it expires so no refresh is spent; its accounts server is the user's).
///
/// After `os.fork()` the child must create its own client: a client inherited from the parent
/// raises `ConfigError` on any call that needs the network.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct Client {
    shared: Shared,
}

/// `Client` for asyncio: the same identity, cache and behaviour, with awaitable methods that
/// never block the event loop. Not bound to a loop: one client serves several `asyncio.run()`
/// calls and loops in several threads. Cancelling an awaitable aborts its request.
///
/// Takes the keyword arguments of `Client`.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct AsyncClient {
    shared: Shared,
}

/// One `#[pymethods]` block per class (pyo3 allows one), written once: the constructor, the
/// verbs and everything that does not wait are the same for `Client` and `AsyncClient`; the
/// methods that wait (sync `block_on` or an asyncio awaitable) are passed in.
macro_rules! client_class {
    ($class:ident, { $($waiting:tt)* }) => {
        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = (*, client_id, client_secret, refresh_token, dc = "us", token_store = None,
                accounts_url = None, accounts_server = None, api_domain = None, client_type = None,
                dc_secrets = None, dc_accounts_urls = None, refresh_margin = 300.0, refresh_budget = 10,
                timeout = 30.0, max_retries = 3, max_concurrency = None, max_response_bytes = None,
                allow_hosts = None, initial_token = None, _mock_clock = None),
                // The test-only `_mock_clock` (set by zoho_oauth.testing) stays out of help() and stubs.
                text_signature = "(*, client_id, client_secret, refresh_token, dc='us', token_store='memory://', accounts_url=None, accounts_server=None, api_domain=None, client_type=None, dc_secrets=None, dc_accounts_urls=None, refresh_margin=300.0, refresh_budget=10, timeout=30.0, max_retries=3, max_concurrency=None, max_response_bytes=None, allow_hosts=None, initial_token=None)")]
            #[allow(clippy::too_many_arguments)]
            fn new(
                py: Python<'_>,
                client_id: String,
                client_secret: String,
                refresh_token: String,
                dc: &str,
                token_store: Option<&Bound<'_, PyAny>>,
                accounts_url: Option<String>,
                accounts_server: Option<String>,
                api_domain: Option<String>,
                client_type: Option<String>,
                dc_secrets: Option<HashMap<String, String>>,
                dc_accounts_urls: Option<HashMap<String, String>>,
                refresh_margin: f64,
                refresh_budget: i64,
                timeout: f64,
                max_retries: i64,
                max_concurrency: Option<i64>,
                max_response_bytes: Option<i64>,
                allow_hosts: Option<Vec<String>>,
                initial_token: Option<PyRef<'_, TokenSet>>,
                _mock_clock: Option<PyRef<'_, MockServer>>,
            ) -> PyResult<Self> {
                // A URL string, or the user's own store object (`crate::store`).
                let (store_url, store) = match token_store {
                    Some(s) if s.is_instance_of::<PyString>() => (Some(s.extract::<String>()?), None),
                    Some(o) if !o.is_none() => (None, Some(crate::store::user_store(py, o)?)),
                    _ => (None, None),
                };
                let config = ClientConfig {
                    app: AppConfig {
                        client_id,
                        client_secret: Some(client_secret),
                        dc: Some(dc.to_string()),
                        client_type,
                        accounts_url,
                        dc_accounts_urls: dc_pairs(dc_accounts_urls),
                        dc_secrets: dc_pairs(dc_secrets),
                        timeout: None,
                        clock: _mock_clock.map(|m| m.clock()),
                        naming: Naming::Snake,
                    },
                    refresh_token,
                    token_store: store_url,
                    accounts_server,
                    api_domain,
                    allow_hosts: allow_hosts.unwrap_or_default(),
                    refresh_margin: Some(refresh_margin),
                    refresh_budget: Some(refresh_budget),
                    timeout: Some(timeout),
                    max_retries: Some(max_retries),
                    max_concurrency,
                    max_response_bytes,
                    initial_token: initial_token.map(|t| t.inner.clone()),
                    naming: Naming::Snake,
                };
                let mut builder = config.builder().py_err(py)?;
                if let Some(s) = store {
                    builder = builder.token_store(s);
                }
                Ok($class { shared: Shared::new(builder.build().py_err(py)?) })
            }

            /// A client from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`,
            /// `ZOHO_DC` (default `us`), `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and
            /// `ZOHO_API_DOMAIN`. A missing variable raises `ConfigError` naming it.
            #[staticmethod]
            fn from_env(py: Python<'_>) -> PyResult<Self> {
                Ok($class { shared: Shared::new(zoho_oauth::Client::from_env().py_err(py)?) })
            }

            /// Raise `ConfigError` unless the access token may be sent to the absolute `url` (the
            /// DC's Zoho hosts, the token's `api_domain`, or origins configured explicitly). No I/O.
            fn check_url(&self, py: Python<'_>, url: &str) -> PyResult<()> {
                self.shared.get(py)?.check_url(url).py_err(py)
            }

            /// The base URL a relative path of `product` (crm, books, desk, mail, campaigns) goes
            /// to now: `api_domain`, else the cached token's, else the user's DC's host. No I/O.
            #[pyo3(signature = (product = "crm"))]
            fn base_url(&self, py: Python<'_>, product: &str) -> PyResult<String> {
                Ok(self.shared.get(py)?.base_url(product.parse().py_err(py)?))
            }

            /// The user's data centre (`us`, `eu`, ...).
            #[getter]
            fn dc(&self, py: Python<'_>) -> PyResult<&'static str> {
                Ok(self.shared.get(py)?.dc().code())
            }

            /// The accounts server refreshes go to.
            #[getter]
            fn accounts_server(&self, py: Python<'_>) -> PyResult<String> {
                Ok(self.shared.get(py)?.accounts_server().to_string())
            }

            /// The identity's key in the token store (`zoho-oauth:v1:<hash>`): no secret, safe to
            /// log; the key a store of your own (`KeyValueStore`) sees.
            #[getter]
            fn store_key(&self, py: Python<'_>) -> PyResult<String> {
                Ok(self.shared.get(py)?.store_key().as_str().to_string())
            }

            /// A GET request; see `request()`.
            #[pyo3(signature = (url, **kwargs))]
            fn get<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
                self.request(py, "GET", url, kwargs)
            }

            /// A POST request; see `request()`. Not retried on 5xx unless `retry_non_idempotent=True`.
            #[pyo3(signature = (url, **kwargs))]
            fn post<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
                self.request(py, "POST", url, kwargs)
            }

            /// A PUT request; see `request()`.
            #[pyo3(signature = (url, **kwargs))]
            fn put<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
                self.request(py, "PUT", url, kwargs)
            }

            /// A PATCH request; see `request()`.
            #[pyo3(signature = (url, **kwargs))]
            fn patch<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
                self.request(py, "PATCH", url, kwargs)
            }

            /// A DELETE request; see `request()`.
            #[pyo3(signature = (url, **kwargs))]
            fn delete<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
                self.request(py, "DELETE", url, kwargs)
            }

            /// The records of a CRM list (`/crm/v8/Leads`), fetched page by page: `page` for the
            /// first 2,000 records, then `page_token`. `params` go with every page (`fields`,
            /// `sort_by` ...); `per_page` is 1 to 200. `for` with `Client`, `async for` with
            /// `AsyncClient`.
            #[pyo3(signature = (path, *, params = None, per_page = 200))]
            fn paginate(&self, py: Python<'_>, path: &str, params: Option<&Bound<'_, PyAny>>, per_page: i64) -> PyResult<Paginator> {
                paginator(py, self.shared.get(py)?, path, params, per_page)
            }

            /// Rate-limit headers of the last response that carried any: `credits_remaining`,
            /// `retry_after` (seconds) and `status`.
            fn rate_limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                rate_limits_dict(py, &self.shared.get(py)?)
            }

            /// An `httpx.Auth` (for `httpx.Client` or `httpx.AsyncClient`) that adds the cached
            /// token, refuses hosts the token must not go to, and refreshes and resends once on a
            /// dead-token 401.
            fn httpx_auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                adapter(slf.py(), "httpx_auth", slf.clone().into_any())
            }

            /// Release the client; later calls raise `ConfigError`. Other clients of the same
            /// identity keep the shared cache.
            fn close(&self) {
                self.shared.close();
            }

            /// True after `close()`.
            #[getter]
            fn closed(&self) -> bool {
                self.shared.closed()
            }

            fn __repr__(&self) -> String {
                format!("{}({}, refresh_token='[redacted]')", stringify!($class), self.shared.label)
            }

            $($waiting)*
        }
    };
}

client_class!(Client, {
    /// A valid access token: the cached one (no I/O, no lock beyond a read) until
    /// `expires_at - refresh_margin`, else one refresh shared by every concurrent caller. When
    /// the refresh fails or is refused (backoff, cooldown, budget) and the current token still
    /// works, that token is returned and a warning logged (README "Behaviour").
    fn access_token(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.shared.get(py)?;
        if let Some(t) = c.cached_access_token() {
            return Ok(t.secret().to_string());
        }
        let t = block_on(py, async move { c.access_token().await })?.py_err(py)?;
        Ok(t.secret().to_string())
    }

    /// The cached token set (refreshed if needed).
    fn token_set(&self, py: Python<'_>) -> PyResult<TokenSet> {
        let c = self.shared.get(py)?;
        let t = block_on(py, async move { c.token_set().await })?.py_err(py)?;
        Ok(TokenSet { inner: (*t).clone() })
    }

    /// Refresh now (still single-flight, budgeted, throttle-aware and backed off after
    /// failures). Unlike `token_set()`, a failure raises even while the current token works.
    fn force_refresh(&self, py: Python<'_>) -> PyResult<TokenSet> {
        let c = self.shared.get(py)?;
        let t = block_on(py, async move { c.force_refresh().await })?.py_err(py)?;
        Ok(TokenSet { inner: (*t).clone() })
    }

    /// Drop the cached token only if it is still `access_token` (compare-and-invalidate), so a
    /// late 401 on an old token never discards a newer one. Returns whether it was dropped.
    fn invalidate(&self, py: Python<'_>, access_token: String) -> PyResult<bool> {
        let c = self.shared.get(py)?;
        let t = zoho_oauth::AccessToken::new(access_token);
        block_on(py, async move { c.invalidate(&t).await })?.py_err(py)
    }

    /// Send a request: `url` is absolute or a path resolved against the product's base URL
    /// (`product` = crm (default), books, desk, mail, campaigns). Keyword arguments: `params`,
    /// `json`, `data`, `content` (one body at most), `headers`, `product`, `timeout`,
    /// `max_retries`, `retry_non_idempotent`. Returns the `Response` for every status.
    #[pyo3(signature = (method, url, **kwargs))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = build_request(py, &self.shared.get(py)?, method, url, kwargs)?;
        let r = block_on_request(py, req.send())?.py_err(py)?;
        Ok(Bound::new(py, Response { inner: r })?.into_any())
    }

    /// Revoke the refresh token at Zoho and drop the cached access token.
    fn revoke(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.shared.get(py)?;
        block_on(py, async move { c.revoke().await })?.py_err(py)
    }

    /// Keep this identity's refresh token in the token store (with an optional label such as
    /// the user's email), so other processes and the `zoho-oauth` command can use it. Stores
    /// never keep a refresh token unless asked; the client secret never.
    #[pyo3(signature = (label = None))]
    fn save_refresh_token(&self, py: Python<'_>, label: Option<String>) -> PyResult<()> {
        let c = self.shared.get(py)?;
        block_on(py, async move { c.save_refresh_token(label.as_deref()).await })?.py_err(py)
    }

    /// A `requests` auth (`session.auth = client.requests_auth()`) with the behaviour of
    /// `httpx_auth()`.
    fn requests_auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        adapter(slf.py(), "requests_auth", slf.clone().into_any())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.shared.close();
        false
    }
});

client_class!(AsyncClient, {
    /// Awaitable: a valid access token. A cache hit completes at once, without the runtime.
    fn access_token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        if let Some(t) = c.cached_access_token() {
            return ready_future(py, t.secret());
        }
        into_py_future(py, async move { c.access_token().await.map(|t| t.secret().to_string()) })
    }

    /// Awaitable: the cached token set (refreshed if needed).
    fn token_set<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        into_py_future(py, async move { c.token_set().await.map(|t| TokenSet { inner: (*t).clone() }) })
    }

    /// Awaitable: refresh now (still single-flight, budgeted, throttle-aware and backed off
    /// after failures). Unlike `token_set()`, a failure raises even while the current token works.
    fn force_refresh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        into_py_future(py, async move { c.force_refresh().await.map(|t| TokenSet { inner: (*t).clone() }) })
    }

    /// Awaitable: compare-and-invalidate the cached token; see `Client.invalidate()`.
    fn invalidate<'py>(&self, py: Python<'py>, access_token: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        let t = zoho_oauth::AccessToken::new(access_token);
        into_py_future(py, async move { c.invalidate(&t).await })
    }

    /// Awaitable: send a request; see `Client.request()`.
    #[pyo3(signature = (method, url, **kwargs))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = build_request(py, &self.shared.get(py)?, method, url, kwargs)?;
        into_py_request_future(py, async move { req.send().await.map(|r| Response { inner: r }) })
    }

    /// Awaitable: revoke the refresh token at Zoho and drop the cached access token.
    fn revoke<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        into_py_future(py, async move { c.revoke().await })
    }

    /// Awaitable: keep the refresh token in the token store; see `Client.save_refresh_token()`.
    #[pyo3(signature = (label = None))]
    fn save_refresh_token<'py>(&self, py: Python<'py>, label: Option<String>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.shared.get(py)?;
        into_py_future(py, async move { c.save_refresh_token(label.as_deref()).await })
    }

    /// Awaitable `close()`.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.close();
        ready_future(py, py.None())
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        ready_future(py, slf)
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(&self, py: Python<'py>, _exc: &Bound<'py, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.close();
        ready_future(py, false)
    }
});

struct PagerState {
    pager: zoho_oauth::Paginator,
    buffer: VecDeque<Value>,
}

impl PagerState {
    async fn next(&mut self) -> zoho_oauth::Result<Option<Value>> {
        loop {
            if let Some(v) = self.buffer.pop_front() {
                return Ok(Some(v));
            }
            match self.pager.next_page().await? {
                Some(page) => self.buffer.extend(page),
                None => return Ok(None),
            }
        }
    }
}

/// The records of a CRM list, fetched page by page: a sync iterator (`for`) from
/// `Client.paginate()` and an async iterator (`async for`) from `AsyncClient.paginate()`.
/// Records are dicts; an error is raised once and ends the iteration.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct Paginator {
    state: Arc<tokio::sync::Mutex<PagerState>>,
}

#[pymethods]
impl Paginator {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // A buffered record is taken under the GIL without waiting; the lock is only ever
        // awaited with the GIL released.
        if let Ok(mut st) = self.state.try_lock()
            && let Some(v) = st.buffer.pop_front()
        {
            return json_to_py(py, &v).map(Some);
        }
        let state = self.state.clone();
        // A page is a request: driven on this thread once it is past its warm-up.
        let next = block_on_request(py, async move { state.lock().await.next().await })?.py_err(py)?;
        next.map(|v| json_to_py(py, &v)).transpose()
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(mut st) = self.state.try_lock()
            && let Some(v) = st.buffer.pop_front()
        {
            return ready_future(py, json_to_py(py, &v)?);
        }
        let state = self.state.clone();
        into_py_request_future(py, async move { state.lock().await.next().await.map(Json) })
    }

    fn __repr__(&self) -> String {
        "Paginator(...)".to_string()
    }
}
