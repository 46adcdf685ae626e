//! [`OAuthApp`]: one Zoho OAuth client registration (client id, a secret per DC, the accounts
//! servers it may talk to) and its token-endpoint requests: code exchange, refresh, client
//! credentials and revocation (in `grant`). The browser and device flows built on it are in
//! [`flows`](crate::flows).

mod grant;

pub use grant::ExchangeRequest;
pub(crate) use grant::zeroize_form;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SharedClock};
use crate::dc::{DataCenter, truncate};
use crate::error::{Error, ErrorCode, Result};
use crate::redact::Scrub;
use crate::secret::ClientSecret;

/// Largest token-endpoint answer read: Zoho's are a few hundred bytes.
pub(crate) const MAX_TOKEN_RESPONSE_BYTES: usize = 1024 * 1024;

/// Default timeout of one token-endpoint request.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The kind of client registered in Zoho's API console; it decides PKCE and redirect rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientType {
    /// Server-based application (redirect URI, client secret).
    #[default]
    Server,
    /// Self client (codes generated in the API console; no redirect URI).
    SelfClient,
    /// Mobile or desktop application: PKCE S256 is added to the authorization URL.
    Mobile,
    /// Non-browser (device-flow) application.
    Device,
}

/// A Zoho OAuth client registration: client id, a secret (per DC if they differ) and where the
/// accounts servers are. Cheap to clone; share one per application.
#[derive(Clone)]
pub struct OAuthApp {
    inner: Arc<AppInner>,
}

struct AppInner {
    client_id: String,
    default_secret: Option<ClientSecret>,
    secrets: BTreeMap<DataCenter, ClientSecret>,
    dc: DataCenter,
    client_type: ClientType,
    /// Explicitly configured accounts servers (for example the mock), by DC.
    accounts_overrides: BTreeMap<DataCenter, String>,
    /// Timeout of one token-endpoint request.
    timeout: Duration,
    http: reqwest::Client,
    clock: SharedClock,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.inner.client_id)
            .field("dc", &self.inner.dc)
            .field("client_type", &self.inner.client_type)
            .field("client_secret", &"[redacted]")
            .field("accounts_overrides", &self.inner.accounts_overrides)
            .finish()
    }
}

/// Builder for [`OAuthApp`].
#[derive(Clone)]
pub struct OAuthAppBuilder {
    client_id: String,
    default_secret: Option<ClientSecret>,
    secrets: BTreeMap<DataCenter, ClientSecret>,
    dc: DataCenter,
    client_type: ClientType,
    accounts_overrides: Vec<(Option<DataCenter>, String)>,
    timeout: Duration,
    clock: SharedClock,
}

impl fmt::Debug for OAuthAppBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAppBuilder")
            .field("client_id", &self.client_id)
            .field("dc", &self.dc)
            .finish_non_exhaustive()
    }
}

impl OAuthAppBuilder {
    /// The client secret used in every DC without a DC-specific one.
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.default_secret = Some(secret.into());
        self
    }

    /// A client secret for one DC (multi-DC clients may have a different secret per DC).
    pub fn dc_secret(mut self, dc: DataCenter, secret: impl Into<ClientSecret>) -> Self {
        self.secrets.insert(dc, secret.into());
        self
    }

    /// The app's home DC (default `us`): authorization URLs and self-client exchanges go to it.
    pub fn dc(mut self, dc: DataCenter) -> Self {
        self.dc = dc;
        self
    }

    /// The client type (default [`ClientType::Server`]).
    pub fn client_type(mut self, client_type: ClientType) -> Self {
        self.client_type = client_type;
        self
    }

    /// Override the accounts server of the home DC (a proxy, or the mock on loopback).
    /// Must be `https://`, or `http://` on a loopback host.
    pub fn accounts_url(mut self, url: impl Into<String>) -> Self {
        self.accounts_overrides.push((None, url.into()));
        self
    }

    /// Override the accounts server of another DC, which also makes it a trusted
    /// `accounts-server` in callbacks and `other_dc` answers.
    pub fn dc_accounts_url(mut self, dc: DataCenter, url: impl Into<String>) -> Self {
        self.accounts_overrides.push((Some(dc), url.into()));
        self
    }

    /// Timeout of one token-endpoint request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Use another clock (tests use a virtual one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = SharedClock(clock);
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<OAuthApp> {
        if self.client_id.trim().is_empty() {
            return Err(Error::config(
                "the client id is empty",
                "pass the client id from https://api-console.zoho.com (it looks like 1000.XXXX)",
            ));
        }
        if self.client_id.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::config(
                "the client id contains spaces or control characters",
                "copy the client id again from the API console",
            ));
        }
        if self.default_secret.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(Error::config(
                "the client secret is empty",
                "pass the client secret from the API console, or leave it unset for device initiation only",
            ));
        }
        let mut overrides = BTreeMap::new();
        for (dc, url) in &self.accounts_overrides {
            let normalized = normalize_server_url(url)?;
            overrides.insert(dc.unwrap_or(self.dc), normalized);
        }
        let http = build_http(self.timeout)?;
        Ok(OAuthApp {
            inner: Arc::new(AppInner {
                client_id: self.client_id.trim().to_string(),
                default_secret: self.default_secret,
                secrets: self.secrets,
                dc: self.dc,
                client_type: self.client_type,
                accounts_overrides: overrides,
                http,
                timeout: self.timeout,
                clock: self.clock,
            }),
        })
    }
}

/// An HTTP client with the library's settings: no redirects followed, the proxy of
/// [`crate::proxy`], `timeout` per request unless a request sets its own.
fn build_http(timeout: Duration) -> Result<reqwest::Client> {
    crate::proxy::configure(reqwest::Client::builder())
        .tls_backend_preconfigured(tls_config()?)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("zoho-oauth-rust/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            Error::config(
                format!("cannot build the HTTP client: {e}"),
                "this usually means the TLS backend could not load its root certificates",
            )
        })
}

/// The TLS settings of every HTTP client of the library: what reqwest's `rustls` feature would
/// build (rustls's safe protocol versions, the installed or aws-lc crypto provider, the
/// platform's certificate verifier with the system's roots, HTTP/2 and HTTP/1.1 by ALPN),
/// built once per process. reqwest builds them per client, reading the system's root
/// certificates each time (~4.5 ms): every app, and every thread that drives its own
/// requests, has a client of its own. Sharing one also shares TLS session resumption.
fn tls_config() -> Result<rustls::ClientConfig> {
    // Only a success is kept: a failure (roots unreadable for a moment) is tried again next time.
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let failed = |e: String| {
        Error::config(
            format!("cannot set up TLS: {e}"),
            "this usually means the system's root certificates could not be loaded",
        )
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| failed(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(CONFIG.get_or_init(|| config).clone())
}

/// Validate an explicitly configured server URL and reduce it to `scheme://host[:port][/path]`
/// without a trailing slash. `http://` only on loopback.
pub(crate) fn normalize_server_url(url: &str) -> Result<String> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| {
        Error::config(
            format!("not a valid URL: {:?}", truncate(url, 80)),
            "pass an absolute URL such as https://accounts.zoho.eu",
        )
    })?;
    let host = parsed.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::config(
            format!("URL without a host: {:?}", truncate(url, 80)),
            "pass an absolute URL such as https://accounts.zoho.eu",
        ));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(Error::config(
                format!("refusing plain http:// for {host}"),
                "use https://; plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost)",
            ));
        }
        other => {
            return Err(Error::config(format!("unsupported URL scheme {other:?}"), "use an https:// URL"));
        }
    }
    if parsed.query().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::config(
            "a server URL must not carry a query string or credentials",
            "pass only scheme, host, port and path",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Loopback hosts (`127.0.0.0/8`, `::1`, `localhost`).
pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

impl OAuthApp {
    /// Start building an app for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> OAuthAppBuilder {
        OAuthAppBuilder {
            client_id: client_id.into(),
            default_secret: None,
            secrets: BTreeMap::new(),
            dc: DataCenter::Us,
            client_type: ClientType::Server,
            accounts_overrides: Vec::new(),
            timeout: DEFAULT_TOKEN_TIMEOUT,
            clock: SharedClock::default(),
        }
    }

    /// Shortcut: a server-based app with one secret in `dc`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<ClientSecret>, dc: DataCenter) -> Result<Self> {
        OAuthApp::builder(client_id).client_secret(client_secret).dc(dc).build()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The home DC.
    pub fn dc(&self) -> DataCenter {
        self.inner.dc
    }

    /// The client type.
    pub fn client_type(&self) -> ClientType {
        self.inner.client_type
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Timeout of one token-endpoint request.
    pub(crate) fn token_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// A scrubber for every client secret of this app.
    pub(crate) fn scrub(&self) -> Scrub {
        let secrets = self.inner.secrets.values().chain(self.inner.default_secret.as_ref());
        Scrub::new(secrets.map(|s| s.secret()))
    }

    /// The HTTP client of an API request: the app's shared one, or, on a thread driving
    /// [`block_on_here`](crate::runtime::block_on_here), that thread's own (same settings).
    pub(crate) fn api_http(&self) -> Result<reqwest::Client> {
        crate::runtime::http_here(&self.inner, || build_http(self.inner.timeout))
            .unwrap_or_else(|| Ok(self.inner.http.clone()))
    }

    /// Accounts server of `dc` (an explicit override, or Zoho's).
    pub fn accounts_server(&self, dc: DataCenter) -> String {
        self.inner.accounts_overrides.get(&dc).cloned().unwrap_or_else(|| dc.accounts_server())
    }

    /// The home DC's accounts server.
    pub fn home_accounts_server(&self) -> String {
        self.accounts_server(self.inner.dc)
    }

    /// True when `url` was configured explicitly (not derived from Zoho's table).
    pub(crate) fn is_override(&self, url: &str) -> bool {
        let n = url.trim().trim_end_matches('/');
        self.inner.accounts_overrides.values().any(|o| o == n)
    }

    /// The DC of a trusted accounts server: an explicitly configured one, or one of Zoho's.
    /// Anything else is an `untrusted_accounts_server` error (the secret is not sent there).
    pub fn trusted_accounts_server(&self, url: &str) -> Result<(DataCenter, String)> {
        let n = url.trim().trim_end_matches('/');
        if let Some((dc, u)) = self.inner.accounts_overrides.iter().find(|(_, u)| u.as_str() == n) {
            return Ok((*dc, u.clone()));
        }
        match DataCenter::from_accounts_url(n) {
            Ok(dc) => Ok((dc, dc.accounts_server())),
            Err(_) => Err(Error::new(
                ErrorCode::UntrustedAccountsServer,
                format!("{:?} is not a Zoho accounts server", truncate(n, 80)),
            )
            .with_hint(
                "the callback's accounts-server must be https://accounts.zoho.<tld> of a known DC; configure other servers explicitly with dc_accounts_url",
            )),
        }
    }

    /// The client secret for `dc`.
    pub(crate) fn secret_for(&self, dc: DataCenter) -> Result<&ClientSecret> {
        self.inner.secrets.get(&dc).or(self.inner.default_secret.as_ref()).ok_or_else(|| {
            Error::config(
                format!("no client secret configured for DC {dc}"),
                "set client_secret (or dc_secret for this DC)",
            )
        })
    }

    /// The trusted (DC, server) for an optional accounts server; the home DC by default.
    pub(crate) fn resolve_server(&self, accounts_server: Option<&str>) -> Result<(DataCenter, String)> {
        match accounts_server {
            Some(s) => self.trusted_accounts_server(s),
            None => Ok((self.inner.dc, self.home_accounts_server())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_servers() {
        let a = match OAuthApp::builder("1000.ID")
            .client_secret("s")
            .dc_accounts_url(DataCenter::Eu, "http://127.0.0.1:4000/")
            .build()
        {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(a.trusted_accounts_server("https://accounts.zoho.in").ok().map(|t| t.0), Some(DataCenter::In));
        assert_eq!(a.trusted_accounts_server("http://127.0.0.1:4000").ok().map(|t| t.0), Some(DataCenter::Eu));
        let e = a.trusted_accounts_server("https://accounts.evil.com").err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::UntrustedAccountsServer));
        let dbg = format!("{a:?}");
        assert!(dbg.contains("[redacted]"));
    }
}
