//! `OAuthApp`, `TokenSet`, `AuthorizationUrl` and `DeviceAuthorization`: the flows of the core's
//! `OAuthApp`, with options converted in and results converted out.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use zoho_oauth::config::Naming;
use zoho_oauth::{
    AppConfig, AuthorizationRequest, CallbackOptions, DeviceFlowRequest, ExchangeRequest, GrantCode, PkceVerifier,
    RefreshToken,
};

use crate::errors::PyResultExt;
use crate::mock::MockServer;
use crate::runtime::{block_on, into_py_future};

/// The tokens one grant yields: access token, refresh token (offline grants only), the
/// `api_domain` and accounts server of the user's data centre, expiry and scopes.
///
/// `repr()` and `str()` never show the tokens; read them from the attributes.
#[pyclass(module = "zoho_oauth", frozen)]
#[derive(Clone)]
pub struct TokenSet {
    pub(crate) inner: zoho_oauth::TokenSet,
}

#[pymethods]
impl TokenSet {
    /// The access token (valid for one hour).
    #[getter]
    fn access_token(&self) -> &str {
        self.inner.access_token.secret()
    }

    /// The refresh token: present after an offline code or device exchange, never after a refresh.
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token.as_ref().map(|r| r.secret())
    }

    /// Base URL of the `www.zohoapis.*` APIs in the user's data centre, as Zoho sent it.
    #[getter]
    fn api_domain(&self) -> Option<&str> {
        self.inner.api_domain.as_deref()
    }

    /// The accounts server that issued the tokens: refreshes and revocation go there. Keep it
    /// with the refresh token and pass it as `accounts_url` to `Client`.
    #[getter]
    fn accounts_server(&self) -> &str {
        &self.inner.accounts_server
    }

    /// Token type as Zoho sent it (`Bearer`).
    #[getter]
    fn token_type(&self) -> &str {
        &self.inner.token_type
    }

    /// Absolute expiry, Unix time in seconds.
    #[getter]
    fn expires_at(&self) -> f64 {
        self.inner.expires_at_ms as f64 / 1000.0
    }

    /// Absolute expiry, Unix time in milliseconds.
    #[getter]
    fn expires_at_ms(&self) -> i64 {
        self.inner.expires_at_ms
    }

    /// Granted scopes.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// OpenID `id_token`, present when the `email` scope was granted.
    #[getter]
    fn id_token(&self) -> Option<&str> {
        self.inner.id_token.as_deref()
    }

    fn __repr__(&self) -> String {
        let api_domain = match &self.inner.api_domain {
            Some(d) => py_str(d),
            None => "None".to_string(),
        };
        let scopes: Vec<String> = self.inner.scopes.iter().map(|s| py_str(s)).collect();
        format!(
            "TokenSet(access_token='[redacted]', refresh_token={}, api_domain={api_domain}, accounts_server={}, expires_at_ms={}, scopes=[{}])",
            if self.inner.refresh_token.is_some() { "'[redacted]'" } else { "None" },
            py_str(&self.inner.accounts_server),
            self.inner.expires_at_ms,
            scopes.join(", "),
        )
    }

    fn __str__(&self) -> String {
        self.__repr__()
    }
}

/// An authorization URL and what must be kept until the callback: `url`, `state` and, for
/// PKCE (mobile clients), `code_verifier`. Unpacks as `url, state = app.authorization_url(...)`.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct AuthorizationUrl {
    /// Send the user's browser here.
    #[pyo3(get)]
    url: String,
    /// Compare it with the callback's (keep it in the user's session).
    #[pyo3(get)]
    state: String,
    verifier: Option<PkceVerifier>,
}

#[pymethods]
impl AuthorizationUrl {
    /// The PKCE verifier to pass to `handle_callback`/`exchange_code` (mobile clients), or None.
    #[getter]
    fn code_verifier(&self) -> Option<&str> {
        self.verifier.as_ref().map(|v| v.secret())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTuple::new(py, [self.url.as_str(), self.state.as_str()])?.try_iter().map(|i| i.into_any())
    }

    fn __len__(&self) -> usize {
        2
    }

    fn __getitem__(&self, index: isize) -> PyResult<String> {
        match index {
            0 | -2 => Ok(self.url.clone()),
            1 | -1 => Ok(self.state.clone()),
            _ => Err(pyo3::exceptions::PyIndexError::new_err("AuthorizationUrl has two items: url and state")),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "AuthorizationUrl(url={:?}, state={:?}, code_verifier={})",
            self.url,
            self.state,
            if self.verifier.is_some() { "'[redacted]'" } else { "None" }
        )
    }
}

/// A started device flow: show `user_code` and `verification_url` to the user, then call
/// `wait()` (or `await wait_async()`), which polls Zoho no faster than every 30 seconds until
/// the user approves (tokens), denies (`AuthError` `access_denied`) or the code expires
/// (`AuthError` `device_flow_expired`).
#[pyclass(module = "zoho_oauth", frozen)]
pub struct DeviceAuthorization {
    inner: Arc<zoho_oauth::DeviceAuthorization>,
}

#[pymethods]
impl DeviceAuthorization {
    /// The code the user types at `verification_url`.
    #[getter]
    fn user_code(&self) -> &str {
        &self.inner.user_code
    }

    /// Where the user enters the code.
    #[getter]
    fn verification_url(&self) -> &str {
        &self.inner.verification_url
    }

    /// A URL with the code pre-filled, when Zoho sends one.
    #[getter]
    fn verification_url_complete(&self) -> Option<&str> {
        self.inner.verification_url_complete.as_deref()
    }

    /// Seconds the user code stays valid.
    #[getter]
    fn expires_in(&self) -> f64 {
        self.inner.expires_in.as_secs_f64()
    }

    /// Seconds between polls (at least 30, Zoho's rule).
    #[getter]
    fn interval(&self) -> f64 {
        self.inner.interval.as_secs_f64()
    }

    /// Poll until the user approves, denies or the code expires. Releases the GIL while waiting;
    /// Ctrl-C interrupts it.
    fn wait(&self, py: Python<'_>) -> PyResult<TokenSet> {
        let flow = self.inner.clone();
        let out = block_on(py, async move { flow.wait().await })?.py_err(py)?;
        Ok(TokenSet { inner: out })
    }

    /// `wait()` for asyncio: an awaitable that never blocks the event loop. Cancelling it stops
    /// the polling.
    fn wait_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flow = self.inner.clone();
        into_py_future(py, async move { flow.wait().await.map(|t| TokenSet { inner: t }) })
    }

    fn __repr__(&self) -> String {
        format!(
            "DeviceAuthorization(user_code={:?}, verification_url={:?}, expires_in={}, interval={})",
            self.inner.user_code,
            self.inner.verification_url,
            self.inner.expires_in.as_secs(),
            self.inner.interval.as_secs()
        )
    }
}

/// A string as Python's `repr` writes it: single quotes, with `\\`, `'` and control
/// characters escaped.
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Map keyword arguments (a dict of DC code to value) onto the core's pairs.
pub(crate) fn dc_pairs(m: Option<HashMap<String, String>>) -> Vec<(String, String)> {
    m.map(|m| m.into_iter().collect()).unwrap_or_default()
}

/// A Zoho OAuth client registration (client id, secret, home data centre): builds
/// authorization URLs, handles callbacks, exchanges codes, refreshes, revokes and runs the
/// device flow. Network calls release the GIL.
///
/// `dc` is the home data centre (`us eu in au jp cn ca sa uk`); `accounts_url` overrides its
/// accounts server (a proxy, or `zoho_oauth.testing.MockZoho` on loopback); `dc_secrets` and
/// `dc_accounts_urls` map a DC code to that DC's secret or server (multi-DC clients).
/// `client_type` is `server` (default), `self`, `mobile` (PKCE) or `device`.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct OAuthApp {
    pub(crate) app: zoho_oauth::OAuthApp,
}

#[pymethods]
impl OAuthApp {
    #[new]
    #[pyo3(signature = (client_id, client_secret = None, dc = "us", *, accounts_url = None, client_type = None,
        dc_secrets = None, dc_accounts_urls = None, timeout = 30.0, _mock_clock = None),
        // The test-only `_mock_clock` (set by zoho_oauth.testing) stays out of help() and stubs.
        text_signature = "(client_id, client_secret=None, dc='us', *, accounts_url=None, client_type=None, dc_secrets=None, dc_accounts_urls=None, timeout=30.0)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client_id: &str,
        client_secret: Option<&str>,
        dc: &str,
        accounts_url: Option<&str>,
        client_type: Option<&str>,
        dc_secrets: Option<HashMap<String, String>>,
        dc_accounts_urls: Option<HashMap<String, String>>,
        timeout: f64,
        _mock_clock: Option<PyRef<'_, MockServer>>,
    ) -> PyResult<Self> {
        let app = AppConfig {
            client_id: client_id.to_string(),
            client_secret: client_secret.map(str::to_string),
            dc: Some(dc.to_string()),
            client_type: client_type.map(str::to_string),
            accounts_url: accounts_url.map(str::to_string),
            dc_accounts_urls: dc_pairs(dc_accounts_urls),
            dc_secrets: dc_pairs(dc_secrets),
            timeout: Some(timeout),
            clock: _mock_clock.map(|m| m.clock()),
            naming: Naming::Snake,
        }
        .build()
        .py_err(py)?;
        Ok(OAuthApp { app })
    }

    /// The client id.
    #[getter]
    fn client_id(&self) -> &str {
        self.app.client_id()
    }

    /// The home data centre code.
    #[getter]
    fn dc(&self) -> &'static str {
        self.app.dc().code()
    }

    /// Build the URL that starts the authorization code flow at the home DC's accounts server.
    /// Returns an `AuthorizationUrl` that unpacks as `url, state`; a random state is generated
    /// unless one is given, and mobile clients (or `pkce=True`) get PKCE S256.
    #[pyo3(signature = (scopes, redirect_uri, *, access_type = "offline", prompt = None, state = None, pkce = None))]
    #[allow(clippy::too_many_arguments)]
    fn authorization_url(
        &self,
        py: Python<'_>,
        scopes: Vec<String>,
        redirect_uri: String,
        access_type: &str,
        prompt: Option<String>,
        state: Option<String>,
        pkce: Option<bool>,
    ) -> PyResult<AuthorizationUrl> {
        let req = AuthorizationRequest {
            scopes,
            redirect_uri,
            access_type: Some(access_type.to_string()),
            prompt,
            state,
            pkce,
        };
        let a = self.app.authorization_url(&req).py_err(py)?;
        Ok(AuthorizationUrl { url: a.url, state: a.state, verifier: a.code_verifier })
    }

    /// Handle the redirect Zoho sent back: parse it, check `state` against `expected_state`
    /// (required unless `skip_state_check=True`, for callers that check it themselves) and the
    /// `accounts-server` against Zoho's hosts, and exchange the code at the user's DC.
    #[pyo3(signature = (callback_url, *, expected_state = None, redirect_uri = None, code_verifier = None,
        skip_state_check = false))]
    fn handle_callback(
        &self,
        py: Python<'_>,
        callback_url: String,
        expected_state: Option<String>,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        skip_state_check: bool,
    ) -> PyResult<TokenSet> {
        let app = self.app.clone();
        let opts = CallbackOptions {
            expected_state,
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            skip_state_check,
        };
        let t = block_on(py, async move { app.handle_callback(&callback_url, &opts).await })?.py_err(py)?;
        Ok(TokenSet { inner: t })
    }

    /// Exchange a grant code (self client: just the code; server-based: with `redirect_uri`;
    /// mobile: with `code_verifier`; a user of another DC: with that DC's `accounts_server`).
    #[pyo3(signature = (code, *, redirect_uri = None, code_verifier = None, accounts_server = None))]
    fn exchange_code(
        &self,
        py: Python<'_>,
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        accounts_server: Option<String>,
    ) -> PyResult<TokenSet> {
        let app = self.app.clone();
        let req = ExchangeRequest {
            code: GrantCode::new(code),
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            accounts_server,
        };
        let t = block_on(py, async move { app.exchange_code_with(&req).await })?.py_err(py)?;
        Ok(TokenSet { inner: t })
    }

    /// A new access token from a refresh token, at `accounts_server` (the home DC's by
    /// default). Prefer `Client`, which caches tokens and respects Zoho's refresh limits.
    #[pyo3(signature = (refresh_token, *, accounts_server = None))]
    fn refresh(&self, py: Python<'_>, refresh_token: String, accounts_server: Option<String>) -> PyResult<TokenSet> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        let t = block_on(py, async move { app.refresh(&rt, accounts_server.as_deref()).await })?.py_err(py)?;
        Ok(TokenSet { inner: t })
    }

    /// Revoke a refresh token (and every access token minted from it).
    #[pyo3(signature = (refresh_token, *, accounts_server = None))]
    fn revoke(&self, py: Python<'_>, refresh_token: String, accounts_server: Option<String>) -> PyResult<()> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        block_on(py, async move { app.revoke(&rt, accounts_server.as_deref()).await })?.py_err(py)
    }

    /// Client-credentials grant (self clients only): an access token without a refresh token.
    /// `soid` is `Service.orgid` (for example `ZohoCRM.600000434`) when Zoho asks for it.
    #[pyo3(signature = (scopes, *, soid = None))]
    fn client_credentials(&self, py: Python<'_>, scopes: Vec<String>, soid: Option<String>) -> PyResult<TokenSet> {
        let app = self.app.clone();
        let t = block_on(py, async move {
            let s: Vec<&str> = scopes.iter().map(String::as_str).collect();
            app.client_credentials(&s, soid.as_deref()).await
        })?
        .py_err(py)?;
        Ok(TokenSet { inner: t })
    }

    /// Start the device flow (non-browser clients) at the home DC; show the returned
    /// `user_code` and `verification_url`, then call `wait()`.
    #[pyo3(signature = (scopes, *, access_type = None, prompt = None))]
    fn start_device_flow(
        &self,
        py: Python<'_>,
        scopes: Vec<String>,
        access_type: Option<String>,
        prompt: Option<String>,
    ) -> PyResult<DeviceAuthorization> {
        let app = self.app.clone();
        let req = DeviceFlowRequest { scopes, access_type, prompt };
        let d = block_on(py, async move { app.start_device_flow(&req).await })?.py_err(py)?;
        Ok(DeviceAuthorization { inner: Arc::new(d) })
    }

    /// `handle_callback()` for asyncio: an awaitable that never blocks the event loop.
    #[pyo3(signature = (callback_url, *, expected_state = None, redirect_uri = None, code_verifier = None,
        skip_state_check = false))]
    fn handle_callback_async<'py>(
        &self,
        py: Python<'py>,
        callback_url: String,
        expected_state: Option<String>,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        skip_state_check: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app = self.app.clone();
        let opts = CallbackOptions {
            expected_state,
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            skip_state_check,
        };
        into_py_future(
            py,
            async move { app.handle_callback(&callback_url, &opts).await.map(|t| TokenSet { inner: t }) },
        )
    }

    /// `exchange_code()` for asyncio: an awaitable that never blocks the event loop.
    #[pyo3(signature = (code, *, redirect_uri = None, code_verifier = None, accounts_server = None))]
    fn exchange_code_async<'py>(
        &self,
        py: Python<'py>,
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        accounts_server: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app = self.app.clone();
        let req = ExchangeRequest {
            code: GrantCode::new(code),
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            accounts_server,
        };
        into_py_future(py, async move { app.exchange_code_with(&req).await.map(|t| TokenSet { inner: t }) })
    }

    /// `refresh()` for asyncio: an awaitable that never blocks the event loop.
    #[pyo3(signature = (refresh_token, *, accounts_server = None))]
    fn refresh_async<'py>(
        &self,
        py: Python<'py>,
        refresh_token: String,
        accounts_server: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        into_py_future(
            py,
            async move { app.refresh(&rt, accounts_server.as_deref()).await.map(|t| TokenSet { inner: t }) },
        )
    }

    /// `revoke()` for asyncio: an awaitable that never blocks the event loop.
    #[pyo3(signature = (refresh_token, *, accounts_server = None))]
    fn revoke_async<'py>(
        &self,
        py: Python<'py>,
        refresh_token: String,
        accounts_server: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        into_py_future(py, async move { app.revoke(&rt, accounts_server.as_deref()).await })
    }

    /// `start_device_flow()` for asyncio: an awaitable that never blocks the event loop.
    #[pyo3(signature = (scopes, *, access_type = None, prompt = None))]
    fn start_device_flow_async<'py>(
        &self,
        py: Python<'py>,
        scopes: Vec<String>,
        access_type: Option<String>,
        prompt: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app = self.app.clone();
        let req = DeviceFlowRequest { scopes, access_type, prompt };
        into_py_future(py, async move {
            app.start_device_flow(&req).await.map(|d| DeviceAuthorization { inner: Arc::new(d) })
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "OAuthApp(client_id={:?}, dc={:?}, accounts_server={:?}, client_secret='[redacted]')",
            self.app.client_id(),
            self.app.dc().code(),
            self.app.home_accounts_server()
        )
    }
}
