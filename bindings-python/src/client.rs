//! `Client` (sync, GIL released for every network wait), `AsyncClient` (asyncio) and
//! `Paginator`: thin shells around one `zoho_oauth::Client`.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use serde_json::Value;
use zoho_oauth::{DataCenter, Method, Product, RequestBuilder};

use crate::app::{AppOptions, TokenSet, build_app};
use crate::convert::{Json, json_to_py, pairs, seconds};
use crate::errors::{PyResultExt, config};
use crate::mock::MockServer;
use crate::response::Response;
use crate::runtime::{block_on, into_py_future, ready_future};

/// Constructor options shared by `Client` and `AsyncClient`.
struct ClientOptions<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    refresh_token: &'a str,
    dc: &'a str,
    token_store: &'a str,
    accounts_url: Option<&'a str>,
    api_domain: Option<&'a str>,
    refresh_margin: f64,
    timeout: f64,
    max_retries: i64,
    max_concurrency: Option<i64>,
    max_response_bytes: Option<i64>,
    allow_hosts: Option<Vec<String>>,
    initial_token: Option<zoho_oauth::TokenSet>,
    mock_clock: Option<&'a MockServer>,
}

fn build_client(py: Python<'_>, o: ClientOptions<'_>) -> PyResult<zoho_oauth::Client> {
    // A Zoho accounts server names the user's DC (the callback's `accounts-server`); anything
    // else (a proxy, the mock on loopback) overrides the home DC's accounts server.
    // With tokens from an exchange and no accounts_url, the tokens name the user's accounts server.
    let token_server = o.initial_token.as_ref().map(|t| t.accounts_server.as_str());
    let zoho_server = o.accounts_url.or(token_server).filter(|u| DataCenter::from_accounts_url(u).is_ok());
    let app = build_app(
        py,
        AppOptions {
            client_id: o.client_id,
            client_secret: Some(o.client_secret),
            dc: o.dc,
            accounts_url: if zoho_server.is_some() { None } else { o.accounts_url },
            client_type: None,
            dc_secrets: None,
            dc_accounts_urls: None,
            timeout: Some(o.timeout),
            mock_clock: o.mock_clock,
        },
    )?;
    let mut b = zoho_oauth::Client::builder(app, o.refresh_token)
        .token_store_url(o.token_store)
        .refresh_margin(seconds(py, "refresh_margin", o.refresh_margin, false)?)
        .timeout(seconds(py, "timeout", o.timeout, true)?)
        .max_retries(retries(py, o.max_retries)?);
    if let Some(s) = zoho_server {
        b = b.accounts_server(s);
    }
    if let Some(d) = o.api_domain {
        b = b.api_domain(d);
    }
    if let Some(n) = o.max_concurrency {
        if n < 1 {
            return Err(config(
                py,
                format!("max_concurrency must be at least 1, got {n}"),
                "pass a positive integer or None",
                None,
            ));
        }
        b = b.max_concurrency(n as usize);
    }
    if let Some(n) = o.max_response_bytes {
        if n < 1 {
            return Err(config(
                py,
                format!("max_response_bytes must be at least 1, got {n}"),
                "pass a positive number of bytes or None (64 MiB)",
                None,
            ));
        }
        b = b.max_response_bytes(usize::try_from(n).unwrap_or(usize::MAX));
    }
    for h in o.allow_hosts.unwrap_or_default() {
        b = b.allow_host(h);
    }
    if let Some(t) = o.initial_token {
        b = b.initial_token(t);
    }
    b.build().py_err(py)
}

fn retries(py: Python<'_>, n: i64) -> PyResult<u32> {
    if !(0..=100).contains(&n) {
        return Err(config(
            py,
            format!("max_retries must be between 0 and 100, got {n}"),
            "pass a small non-negative integer",
            None,
        ));
    }
    Ok(n as u32)
}

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
    let m = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
        config(
            py,
            format!("invalid HTTP method {:?}", method.chars().take(20).collect::<String>()),
            "use GET, POST, PUT, PATCH or DELETE",
            None,
        )
    })?;
    let mut req = client.request(m, url);
    let Some(kwargs) = kwargs else {
        return Ok(req);
    };
    let mut body_given: Option<&str> = None;
    for (k, v) in kwargs.iter() {
        let key = k.cast::<PyString>()?.to_cow()?.into_owned();
        if v.is_none() {
            if !REQUEST_KWARGS.contains(&key.as_str()) {
                return Err(PyTypeError::new_err(format!("unexpected keyword argument {key:?}")));
            }
            continue;
        }
        let mut set_body = |name: &'static str| -> PyResult<()> {
            if let Some(other) = body_given {
                return Err(config(
                    py,
                    format!("both {other} and {name} were given"),
                    "pass one body: json, data or content",
                    None,
                ));
            }
            body_given = Some(name);
            Ok(())
        };
        match key.as_str() {
            "params" => req = req.query(&pairs(py, "query parameter", &v)?),
            "headers" => {
                for (name, value) in pairs(py, "header", &v)? {
                    req = req.header(name, value);
                }
            }
            "json" => {
                set_body("json")?;
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
                req = req.body(text.cast::<PyString>()?.to_cow()?.as_bytes().to_vec(), Some("application/json"));
            }
            "data" => {
                set_body("data")?;
                if let Ok(b) = v.cast::<PyBytes>() {
                    req = req.body(b.as_bytes().to_vec(), Some("application/x-www-form-urlencoded"));
                } else if let Ok(s) = v.cast::<PyString>() {
                    req = req.body(s.to_cow()?.as_bytes().to_vec(), Some("application/x-www-form-urlencoded"));
                } else {
                    req = req.form(&pairs(py, "form field", &v)?);
                }
            }
            "content" => {
                set_body("content")?;
                if let Ok(b) = v.cast::<PyBytes>() {
                    req = req.body(b.as_bytes().to_vec(), None);
                } else if let Ok(s) = v.cast::<PyString>() {
                    req = req.body(s.to_cow()?.as_bytes().to_vec(), Some("text/plain; charset=utf-8"));
                } else {
                    return Err(config(py, "content must be bytes or str", "pass bytes, or use json= or data=", None));
                }
            }
            "product" => {
                let p: String = v.extract()?;
                req = req.product(p.parse::<Product>().py_err(py)?);
            }
            "timeout" => {
                let t: f64 = v.extract()?;
                req = req.timeout(seconds(py, "timeout", t, true)?);
            }
            "max_retries" => req = req.max_retries(retries(py, v.extract()?)?),
            "retry_non_idempotent" => req = req.retry_non_idempotent(v.is_truthy()?),
            other => return Err(PyTypeError::new_err(format!("unexpected keyword argument {other:?}"))),
        }
    }
    Ok(req)
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
    if !(1..=200).contains(&per_page) {
        return Err(config(
            py,
            format!("per_page must be between 1 and 200, got {per_page}"),
            "Zoho CRM serves at most 200 records per page",
            None,
        ));
    }
    let mut p = c.paginate(path).per_page(per_page as u32);
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
/// `redis://host:6379/0` for a fleet), `accounts_url` (the user's accounts server from the callback, or
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

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (*, client_id, client_secret, refresh_token, dc = "us", token_store = "memory://",
        accounts_url = None, api_domain = None, refresh_margin = 300.0, timeout = 30.0, max_retries = 3,
        max_concurrency = None, max_response_bytes = None, allow_hosts = None, initial_token = None,
        _mock_clock = None),
        // The test-only `_mock_clock` (set by zoho_oauth.testing) stays out of help() and stubs.
        text_signature = "(*, client_id, client_secret, refresh_token, dc='us', token_store='memory://', accounts_url=None, api_domain=None, refresh_margin=300.0, timeout=30.0, max_retries=3, max_concurrency=None, max_response_bytes=None, allow_hosts=None, initial_token=None)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        dc: &str,
        token_store: &str,
        accounts_url: Option<&str>,
        api_domain: Option<&str>,
        refresh_margin: f64,
        timeout: f64,
        max_retries: i64,
        max_concurrency: Option<i64>,
        max_response_bytes: Option<i64>,
        allow_hosts: Option<Vec<String>>,
        initial_token: Option<PyRef<'_, TokenSet>>,
        _mock_clock: Option<PyRef<'_, MockServer>>,
    ) -> PyResult<Self> {
        let c = build_client(
            py,
            ClientOptions {
                client_id,
                client_secret,
                refresh_token,
                dc,
                token_store,
                accounts_url,
                api_domain,
                refresh_margin,
                timeout,
                max_retries,
                max_concurrency,
                max_response_bytes,
                allow_hosts,
                initial_token: initial_token.map(|t| t.inner.clone()),
                mock_clock: _mock_clock.as_deref(),
            },
        )?;
        Ok(Client { shared: Shared::new(c) })
    }

    /// A client from `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_REFRESH_TOKEN`, `ZOHO_DC`
    /// (default `us`), `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and `ZOHO_API_DOMAIN`. A missing
    /// variable raises `ConfigError` naming it.
    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        Ok(Client { shared: Shared::new(zoho_oauth::Client::from_env().py_err(py)?) })
    }

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

    /// Raise `ConfigError` unless the access token may be sent to the absolute `url` (the DC's
    /// Zoho hosts, the token's `api_domain`, or origins configured explicitly). No I/O.
    fn check_url(&self, py: Python<'_>, url: &str) -> PyResult<()> {
        self.shared.get(py)?.check_url(url).py_err(py)
    }

    /// Send a request: `url` is absolute or a path resolved against the product's base URL
    /// (`product` = crm (default), books, desk, mail, campaigns). Keyword arguments: `params`,
    /// `json`, `data`, `content`, `headers`, `product`, `timeout`, `max_retries`,
    /// `retry_non_idempotent`. Returns the `Response` for every status.
    #[pyo3(signature = (method, url, **kwargs))]
    fn request(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Response> {
        let req = build_request(py, &self.shared.get(py)?, method, url, kwargs)?;
        let r = block_on(py, req.send())?.py_err(py)?;
        Ok(Response { inner: r })
    }

    /// A GET request; see `request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn get(&self, py: Python<'_>, url: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Response> {
        self.request(py, "GET", url, kwargs)
    }

    /// A POST request; see `request()`. Not retried on 5xx unless `retry_non_idempotent=True`.
    #[pyo3(signature = (url, **kwargs))]
    fn post(&self, py: Python<'_>, url: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Response> {
        self.request(py, "POST", url, kwargs)
    }

    /// A PUT request; see `request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn put(&self, py: Python<'_>, url: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Response> {
        self.request(py, "PUT", url, kwargs)
    }

    /// A PATCH request; see `request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn patch(&self, py: Python<'_>, url: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Response> {
        self.request(py, "PATCH", url, kwargs)
    }

    /// A DELETE request; see `request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn delete(&self, py: Python<'_>, url: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Response> {
        self.request(py, "DELETE", url, kwargs)
    }

    /// Iterate over the records of a CRM list (`/crm/v8/Leads`): `page` for the first 2,000
    /// records, then `page_token`. `params` go with every page (`fields`, `sort_by` ...).
    #[pyo3(signature = (path, *, params = None, per_page = 200))]
    fn paginate(
        &self,
        py: Python<'_>,
        path: &str,
        params: Option<&Bound<'_, PyAny>>,
        per_page: i64,
    ) -> PyResult<Paginator> {
        paginator(py, self.shared.get(py)?, path, params, per_page)
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

    /// Rate-limit headers of the last response that carried any: `credits_remaining`,
    /// `retry_after` (seconds) and `status`.
    fn rate_limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        rate_limits_dict(py, &self.shared.get(py)?)
    }

    /// A `requests` auth (`session.auth = client.requests_auth()`) that adds the cached token,
    /// refuses hosts the token must not go to, and refreshes and resends once on a dead-token 401.
    fn requests_auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        adapter(slf.py(), "requests_auth", slf.clone().into_any())
    }

    /// An `httpx.Auth` for `httpx.Client` with the same behaviour as `requests_auth()`.
    fn httpx_auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        adapter(slf.py(), "httpx_auth", slf.clone().into_any())
    }

    /// Release the client; later calls raise `ConfigError`. Other clients of the same identity
    /// keep the shared cache.
    fn close(&self) {
        self.shared.close();
    }

    /// True after `close()`.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.closed()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.shared.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("Client({}, refresh_token='[redacted]')", self.shared.label)
    }
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

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (*, client_id, client_secret, refresh_token, dc = "us", token_store = "memory://",
        accounts_url = None, api_domain = None, refresh_margin = 300.0, timeout = 30.0, max_retries = 3,
        max_concurrency = None, max_response_bytes = None, allow_hosts = None, initial_token = None,
        _mock_clock = None),
        // The test-only `_mock_clock` (set by zoho_oauth.testing) stays out of help() and stubs.
        text_signature = "(*, client_id, client_secret, refresh_token, dc='us', token_store='memory://', accounts_url=None, api_domain=None, refresh_margin=300.0, timeout=30.0, max_retries=3, max_concurrency=None, max_response_bytes=None, allow_hosts=None, initial_token=None)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        dc: &str,
        token_store: &str,
        accounts_url: Option<&str>,
        api_domain: Option<&str>,
        refresh_margin: f64,
        timeout: f64,
        max_retries: i64,
        max_concurrency: Option<i64>,
        max_response_bytes: Option<i64>,
        allow_hosts: Option<Vec<String>>,
        initial_token: Option<PyRef<'_, TokenSet>>,
        _mock_clock: Option<PyRef<'_, MockServer>>,
    ) -> PyResult<Self> {
        let c = build_client(
            py,
            ClientOptions {
                client_id,
                client_secret,
                refresh_token,
                dc,
                token_store,
                accounts_url,
                api_domain,
                refresh_margin,
                timeout,
                max_retries,
                max_concurrency,
                max_response_bytes,
                allow_hosts,
                initial_token: initial_token.map(|t| t.inner.clone()),
                mock_clock: _mock_clock.as_deref(),
            },
        )?;
        Ok(AsyncClient { shared: Shared::new(c) })
    }

    /// An `AsyncClient` from the environment; see `Client.from_env()`.
    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        Ok(AsyncClient { shared: Shared::new(zoho_oauth::Client::from_env().py_err(py)?) })
    }

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

    /// Raise `ConfigError` unless the access token may be sent to `url`; see `Client.check_url()`.
    fn check_url(&self, py: Python<'_>, url: &str) -> PyResult<()> {
        self.shared.get(py)?.check_url(url).py_err(py)
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
        into_py_future(py, async move { req.send().await.map(|r| Response { inner: r }) })
    }

    /// Awaitable GET; see `Client.request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn get<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        self.request(py, "GET", url, kwargs)
    }

    /// Awaitable POST; see `Client.request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn post<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.request(py, "POST", url, kwargs)
    }

    /// Awaitable PUT; see `Client.request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn put<'py>(&self, py: Python<'py>, url: &str, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        self.request(py, "PUT", url, kwargs)
    }

    /// Awaitable PATCH; see `Client.request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn patch<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.request(py, "PATCH", url, kwargs)
    }

    /// Awaitable DELETE; see `Client.request()`.
    #[pyo3(signature = (url, **kwargs))]
    fn delete<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.request(py, "DELETE", url, kwargs)
    }

    /// The records of a CRM list as an async iterator (`async for record in client.paginate(...)`).
    #[pyo3(signature = (path, *, params = None, per_page = 200))]
    fn paginate(
        &self,
        py: Python<'_>,
        path: &str,
        params: Option<&Bound<'_, PyAny>>,
        per_page: i64,
    ) -> PyResult<Paginator> {
        paginator(py, self.shared.get(py)?, path, params, per_page)
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

    /// Rate-limit headers of the last response that carried any; see `Client.rate_limits()`.
    fn rate_limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        rate_limits_dict(py, &self.shared.get(py)?)
    }

    /// An `httpx.Auth` for `httpx.AsyncClient`; see `Client.httpx_auth()`.
    fn httpx_auth<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        adapter(slf.py(), "httpx_auth", slf.clone().into_any())
    }

    /// Release the client; later calls raise `ConfigError`.
    fn close(&self) {
        self.shared.close();
    }

    /// Awaitable `close()`.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.close();
        ready_future(py, py.None())
    }

    /// True after `close()`.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.closed()
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

    fn __repr__(&self) -> String {
        format!("AsyncClient({}, refresh_token='[redacted]')", self.shared.label)
    }
}

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
        let next = block_on(py, async move { state.lock().await.next().await })?.py_err(py)?;
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
        into_py_future(py, async move { state.lock().await.next().await.map(Json) })
    }

    fn __repr__(&self) -> String {
        "Paginator(...)".to_string()
    }
}
