//! OAuth flows on an [`OAuthApp`]: authorization URL, callback, code exchange, refresh, revoke,
//! client credentials and the device flow.
//!
//! Every token request is a `POST` with a form body (secrets never go in URLs), redirects are
//! never followed, and the accounts server is checked before the client secret is sent to it.

mod callback;
mod device;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use callback::{Callback, parse_callback};
pub use device::{DeviceAuthorization, DeviceFlowRequest};

use crate::clock::{Clock, SharedClock};
use crate::dc::{DataCenter, truncate};
use crate::error::{Error, ErrorCode, Result};
use crate::redact::Scrub;
use crate::secret::{ClientSecret, GrantCode, PkceVerifier, RefreshToken, constant_time_eq};
use crate::token::TokenSet;

/// Largest token-endpoint answer read: Zoho's are a few hundred bytes.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 1024 * 1024;

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
        let http = crate::proxy::configure(reqwest::Client::builder())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .user_agent(concat!("zoho-oauth-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::config(
                    format!("cannot build the HTTP client: {e}"),
                    "this usually means the TLS backend could not load its root certificates",
                )
            })?;
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

/// What to put in an authorization URL.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationRequest {
    /// Scopes such as `ZohoCRM.modules.ALL` (sent comma-separated).
    pub scopes: Vec<String>,
    /// The redirect URI registered in the API console.
    pub redirect_uri: String,
    /// `offline` to get a refresh token (default), or `online`.
    pub access_type: Option<String>,
    /// `consent` to force the consent screen (needed for a new refresh token).
    pub prompt: Option<String>,
    /// The state to round-trip; a random one is generated when `None`.
    pub state: Option<String>,
    /// Force PKCE on (`Some(true)`) or off; by default it is on only for mobile clients.
    pub pkce: Option<bool>,
}

impl AuthorizationRequest {
    /// A request for `scopes` redirecting to `redirect_uri`, offline access.
    pub fn new(scopes: &[&str], redirect_uri: impl Into<String>) -> Self {
        AuthorizationRequest {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            redirect_uri: redirect_uri.into(),
            ..Default::default()
        }
    }
}

/// An authorization URL and what must be kept until the callback arrives.
#[derive(Clone, Debug)]
pub struct AuthorizationUrl {
    /// Send the user's browser here.
    pub url: String,
    /// The state to compare with the callback's (keep it in the user's session).
    pub state: String,
    /// The PKCE verifier to pass to the exchange (mobile clients).
    pub code_verifier: Option<PkceVerifier>,
}

/// Options of [`OAuthApp::handle_callback`].
#[derive(Clone, Debug, Default)]
pub struct CallbackOptions {
    /// The state the authorization URL carried; a different or missing state is rejected.
    /// Required unless [`skip_state_check`](CallbackOptions::skip_state_check) says otherwise.
    pub expected_state: Option<String>,
    /// Accept a callback without comparing its state. Only for callers that check the state
    /// themselves: without the check a forged redirect can log a user in to another account.
    pub skip_state_check: bool,
    /// The redirect URI the authorization URL carried (server-based clients).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier from [`AuthorizationUrl::code_verifier`].
    pub code_verifier: Option<PkceVerifier>,
}

/// A code exchange with every option.
#[derive(Clone, Debug)]
pub struct ExchangeRequest {
    /// The grant code.
    pub code: GrantCode,
    /// The redirect URI (server-based and mobile clients; not for self clients).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (mobile clients).
    pub code_verifier: Option<PkceVerifier>,
    /// The user's accounts server (from the callback); the home DC's when `None`.
    pub accounts_server: Option<String>,
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

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
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

    /// Build the URL that starts the authorization code flow.
    ///
    /// The URL goes to the home DC's accounts server (`us` is also the multi-DC entry point).
    /// A random `state` is generated when none is given; mobile clients get PKCE S256.
    pub fn authorization_url(&self, req: &AuthorizationRequest) -> Result<AuthorizationUrl> {
        let scopes = join_scopes(&req.scopes)?;
        let redirect = req.redirect_uri.trim();
        if !(redirect.starts_with("https://") || redirect.starts_with("http://")) || url::Url::parse(redirect).is_err()
        {
            return Err(Error::config(
                "the redirect URI must be an absolute http:// or https:// URL",
                "pass the redirect URI registered in the API console",
            ));
        }
        let state = match &req.state {
            Some(s) if !s.is_empty() => s.clone(),
            _ => random_token(16),
        };
        let base = format!("{}/oauth/v2/auth", self.home_accounts_server());
        let mut url =
            url::Url::parse(&base).map_err(|_| Error::config("the accounts URL is invalid", "check accounts_url"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.inner.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect)
                .append_pair("scope", &scopes)
                .append_pair("access_type", req.access_type.as_deref().unwrap_or("offline"));
            if let Some(p) = &req.prompt {
                q.append_pair("prompt", p);
            }
            q.append_pair("state", &state);
        }
        let pkce = req.pkce.unwrap_or(self.inner.client_type == ClientType::Mobile);
        let code_verifier = if pkce {
            let verifier = random_token(32);
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            url.query_pairs_mut()
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            Some(PkceVerifier::new(verifier))
        } else {
            None
        };
        Ok(AuthorizationUrl { url: url.into(), state, code_verifier })
    }

    /// Handle the redirect Zoho sent back: parse it, check the state and the accounts
    /// server, and exchange the code at the user's DC with that DC's secret.
    pub async fn handle_callback(&self, callback_url: &str, opts: &CallbackOptions) -> Result<TokenSet> {
        let cb = parse_callback(callback_url)?;
        if cb.code.is_none() && cb.error.is_none() {
            return Err(Error::new(ErrorCode::InvalidResponse, "the callback has no code")
                .with_hint("pass the full URL Zoho redirected to"));
        }
        match (&opts.expected_state, opts.skip_state_check) {
            (Some(expected), _) => {
                let ok = cb.state.as_deref().is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()));
                if !ok {
                    return Err(Error::new(
                        ErrorCode::StateMismatch,
                        "the callback's state is not the one this app sent",
                    )
                    .with_hint("possible CSRF or a stale browser tab: start the authorization again"));
                }
            }
            (None, true) => {}
            (None, false) => {
                return Err(Error::config(
                    "handle_callback needs the state the authorization URL carried",
                    "pass expected_state (AuthorizationUrl.state, kept in the user's session); set skip_state_check only if you check the state yourself",
                ));
            }
        }
        if let Some(err) = &cb.error {
            let code = if err == "access_denied" { ErrorCode::AccessDenied } else { ErrorCode::InvalidResponse };
            return Err(Error::new(code, "the authorization was not granted")
                .with_zoho_code(err.clone())
                .with_hint("the user denied consent or Zoho's limit of 10 grant codes per 10 minutes was hit"));
        }
        let code = cb.code.clone().ok_or_else(|| {
            Error::new(ErrorCode::InvalidResponse, "the callback has no code")
                .with_hint("pass the full URL Zoho redirected to")
        })?;
        let accounts_server = match (&cb.accounts_server, &cb.location) {
            (Some(server), _) => Some(self.trusted_accounts_server(server)?.1),
            (None, Some(loc)) => Some(self.accounts_server(DataCenter::from_code(loc)?)),
            (None, None) => None,
        };
        self.exchange_code_with(&ExchangeRequest {
            code,
            redirect_uri: opts.redirect_uri.clone(),
            code_verifier: opts.code_verifier.clone(),
            accounts_server,
        })
        .await
    }

    /// Exchange a self-client grant code at the home DC (no redirect URI).
    pub async fn exchange_code(&self, code: &GrantCode) -> Result<TokenSet> {
        self.exchange_code_with(&ExchangeRequest {
            code: code.clone(),
            redirect_uri: None,
            code_verifier: None,
            accounts_server: None,
        })
        .await
    }

    /// Exchange a grant code with every option (server-based clients pass `redirect_uri`).
    pub async fn exchange_code_with(&self, req: &ExchangeRequest) -> Result<TokenSet> {
        let (dc, server) = self.resolve_server(req.accounts_server.as_deref())?;
        let secret = self.secret_for(dc)?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("code", req.code.secret().to_string()),
        ];
        if let Some(r) = &req.redirect_uri {
            form.push(("redirect_uri", r.clone()));
        }
        if let Some(v) = &req.code_verifier {
            form.push(("code_verifier", v.secret().to_string()));
        }
        let scrub = self.scrub().with(form.iter().filter(|(k, _)| *k != "grant_type").map(|(_, v)| v.as_str()));
        let answer = self.post_form(&server, "/oauth/v2/token", &form, "code exchange").await;
        zeroize_form(form);
        let (status, body) = answer.map_err(|e| e.scrub(&scrub))?;
        TokenSet::parse(status, &body, self.inner.clock.now_ms(), &server).map_err(|e| e.scrub(&scrub))
    }

    /// Get a new access token with a refresh token, at `accounts_server` (the home DC's when
    /// `None`). Zoho does not rotate refresh tokens, so the result carries none.
    ///
    /// This is one request, without retries; [`Client`](crate::Client) adds the single flight,
    /// the budget, bounded retries and the failure backoff around it.
    pub async fn refresh(&self, refresh_token: &RefreshToken, accounts_server: Option<&str>) -> Result<TokenSet> {
        self.refresh_attempt(refresh_token, accounts_server, None).await.result
    }

    /// One refresh request, judged the way the refresh path needs: whether it may have issued a
    /// token (it counts against Zoho's budget) and whether the failure is transient.
    pub(crate) async fn refresh_attempt(
        &self,
        refresh_token: &RefreshToken,
        accounts_server: Option<&str>,
        timeout: Option<Duration>,
    ) -> TokenAttempt {
        let (dc, server) = match self.resolve_server(accounts_server) {
            Ok(v) => v,
            Err(e) => return TokenAttempt::refused(e),
        };
        let secret = match self.secret_for(dc) {
            Ok(s) => s,
            Err(e) => return TokenAttempt::refused(e),
        };
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("refresh_token", refresh_token.secret().to_string()),
        ];
        let answer = self.post_form_raw(&server, "/oauth/v2/token", &form, "token refresh", timeout).await;
        zeroize_form(form);
        match answer {
            Err(PostFailure { error, sent }) => TokenAttempt {
                // An answer beyond the size cap is not a network accident: not retried.
                transient: error.code() != ErrorCode::ResponseTooLarge,
                result: Err(error),
                // Once the request may have reached Zoho, a token may have been issued and
                // counted even though the answer never arrived.
                may_have_issued: sent,
                retry_after: None,
            },
            Ok(a) => {
                let result = TokenSet::parse(a.status, &a.body, self.inner.clock.now_ms(), &server);
                let transient = match &result {
                    Ok(_) => false,
                    // No recognisable answer from Zoho (an error page, a proxy's body) with a
                    // status that says "try again": transient. Zoho's own answers never are.
                    Err(e) => {
                        e.code() == ErrorCode::InvalidResponse
                            && e.zoho_code().is_none()
                            && is_transient_status(a.status)
                    }
                };
                TokenAttempt { may_have_issued: result.is_ok(), result, transient, retry_after: a.retry_after }
            }
        }
    }

    /// Client-credentials grant (self clients only): an access token without a refresh token.
    /// `soid` is `Service.orgid` (for example `ZohoCRM.600000434`) when Zoho asks for it.
    pub async fn client_credentials(&self, scopes: &[&str], soid: Option<&str>) -> Result<TokenSet> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let scope = join_scopes(&scopes)?;
        let (dc, server) = self.resolve_server(None)?;
        let secret = self.secret_for(dc)?;
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("scope", scope),
        ];
        if let Some(s) = soid {
            form.push(("soid", s.to_string()));
        }
        let (status, body) = self.post_form(&server, "/oauth/v2/token", &form, "client credentials").await?;
        zeroize_form(form);
        TokenSet::parse(status, &body, self.inner.clock.now_ms(), &server).map_err(|e| e.scrub(&self.scrub()))
    }

    /// Revoke a refresh token (and with it every access token minted from it).
    pub async fn revoke(&self, refresh_token: &RefreshToken, accounts_server: Option<&str>) -> Result<()> {
        let (_, server) = self.resolve_server(accounts_server)?;
        let form = vec![("token", refresh_token.secret().to_string())];
        let (status, body) = self.post_form(&server, "/oauth/v2/token/revoke", &form, "revocation").await?;
        zeroize_form(form);
        let scrub = self.scrub().with([refresh_token.secret()]);
        let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        let ok_status = parsed.as_ref().and_then(|v| v.get("status")).and_then(|s| s.as_str()).map(|s| s == "success");
        match (status, ok_status) {
            (200..=299, Some(true)) => Ok(()),
            (400, _) | (_, Some(false)) => Err(Error::new(ErrorCode::InvalidCode, "Zoho did not revoke the token")
                .with_status(status)
                .with_body(&body)
                .with_hint("the token is unknown, already revoked, or belongs to another DC")
                .scrub(&scrub)),
            _ => Err(Error::new(ErrorCode::InvalidResponse, "unexpected answer from the revoke endpoint")
                .with_status(status)
                .with_body(&body)
                .with_hint("check the accounts URL")
                .scrub(&scrub)),
        }
    }

    /// Start the device flow (non-browser clients) at the home DC.
    pub async fn start_device_flow(&self, req: &DeviceFlowRequest) -> Result<DeviceAuthorization> {
        device::start(self, req).await
    }

    /// The trusted (DC, server) for an optional accounts server; the home DC by default.
    pub(crate) fn resolve_server(&self, accounts_server: Option<&str>) -> Result<(DataCenter, String)> {
        match accounts_server {
            Some(s) => self.trusted_accounts_server(s),
            None => Ok((self.inner.dc, self.home_accounts_server())),
        }
    }

    /// POST a form to the accounts server; returns status and body text.
    pub(crate) async fn post_form(
        &self,
        server: &str,
        path: &str,
        form: &[(&str, String)],
        what: &str,
    ) -> Result<(u16, String)> {
        self.post_form_raw(server, path, form, what, None).await.map(|a| (a.status, a.body)).map_err(|f| f.error)
    }

    /// [`post_form`](Self::post_form) with the answer's `Retry-After`, an optional timeout for
    /// this request, and, on failure, whether the request may have reached the server.
    async fn post_form_raw(
        &self,
        server: &str,
        path: &str,
        form: &[(&str, String)],
        what: &str,
        timeout: Option<Duration>,
    ) -> std::result::Result<FormAnswer, PostFailure> {
        let url = format!("{server}{path}");
        let mut req = self.inner.http.post(&url).header(reqwest::header::ACCEPT, "application/json").form(form);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        // A failure to connect means nothing was sent; any later failure (a reset or timeout
        // while waiting for the answer) may come after Zoho processed the request.
        let failure = |e: reqwest::Error| PostFailure { sent: !e.is_connect(), error: Error::from_reqwest(&e, what) };
        let resp = req.send().await.map_err(failure)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry::parse_retry_after(v, self.inner.clock.now_ms()));
        // Capped: a hostile endless body cannot grow the process.
        let body = read_token_body(resp, what).await.map_err(|error| PostFailure { error, sent: true })?;
        Ok(FormAnswer { status, body, retry_after })
    }
}

/// The answer to a form POST.
struct FormAnswer {
    status: u16,
    body: String,
    retry_after: Option<Duration>,
}

/// A form POST that got no answer.
struct PostFailure {
    error: Error,
    /// Whether the request may have reached the server (anything but a failure to connect).
    sent: bool,
}

/// Statuses after which a token request may be tried again: Zoho did not process it.
fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// One token-endpoint request as the refresh path judges it (DESIGN "Refresh on a bad day").
pub(crate) struct TokenAttempt {
    /// The token, or why there is none.
    pub result: Result<TokenSet>,
    /// A token was, or may have been, issued: it counts against Zoho's budget. True for a
    /// success and for a reset or timeout after the request was sent; false for a refused
    /// connection, a 5xx or 429 answer, an error page or any answer of Zoho's without a token.
    pub may_have_issued: bool,
    /// The failure may go away by itself: no connection, no answer, or a 5xx/429 answer that is
    /// not one of Zoho's own errors. Zoho's answers (`invalid_code`, `Access Denied`, ...) never are.
    pub transient: bool,
    /// The answer's `Retry-After`, if it had one.
    pub retry_after: Option<Duration>,
}

impl TokenAttempt {
    /// An attempt stopped before any request (bad configuration).
    fn refused(e: Error) -> Self {
        TokenAttempt { result: Err(e), may_have_issued: false, transient: false, retry_after: None }
    }
}

/// A token-endpoint body as text, capped at [`MAX_TOKEN_RESPONSE_BYTES`].
pub(crate) async fn read_token_body(resp: reqwest::Response, what: &str) -> Result<String> {
    let bytes = crate::response::read_capped(resp, MAX_TOKEN_RESPONSE_BYTES, what).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn zeroize_form(form: Vec<(&str, String)>) {
    use zeroize::Zeroize;
    for (_, mut v) in form {
        v.zeroize();
    }
}

fn join_scopes(scopes: &[String]) -> Result<String> {
    let cleaned: Vec<&str> = scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if cleaned.is_empty() {
        return Err(Error::config("no scopes given", "pass at least one scope, for example ZohoCRM.modules.ALL"));
    }
    if cleaned.iter().any(|s| s.contains(',') || s.contains(' ')) {
        return Err(Error::config(
            "a scope contains a comma or a space",
            "pass scopes as separate items, for example [\"ZohoCRM.modules.ALL\", \"ZohoCRM.users.READ\"]",
        ));
    }
    Ok(cleaned.join(","))
}

/// `n` random bytes, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(client_type: ClientType) -> OAuthApp {
        match OAuthApp::builder("1000.ID").client_secret("s").client_type(client_type).build() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn authorization_url_has_state_and_no_secret() {
        let a = app(ClientType::Server);
        let u = a
            .authorization_url(&AuthorizationRequest::new(
                &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"],
                "https://app.example/cb",
            ))
            .expect("url");
        assert!(u.url.starts_with("https://accounts.zoho.com/oauth/v2/auth?"));
        assert!(u.url.contains("scope=ZohoCRM.modules.ALL%2CZohoCRM.users.READ"));
        assert!(u.url.contains(&format!("state={}", u.state)));
        assert!(u.url.contains("access_type=offline"));
        assert!(!u.url.contains("client_secret"));
        assert!(u.code_verifier.is_none());
        assert!(u.state.len() >= 20);
        let u2 = a.authorization_url(&AuthorizationRequest::new(&["a.b.C"], "https://app.example/cb")).expect("url");
        assert_ne!(u.state, u2.state);
    }

    #[test]
    fn mobile_gets_pkce_s256() {
        let u = app(ClientType::Mobile)
            .authorization_url(&AuthorizationRequest::new(&["a.b.C"], "https://app.example/cb"))
            .expect("url");
        let verifier = u.code_verifier.expect("verifier");
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes()));
        assert!(u.url.contains(&format!("code_challenge={challenge}")));
        assert!(u.url.contains("code_challenge_method=S256"));
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        let a = app(ClientType::Server);
        let e = a.authorization_url(&AuthorizationRequest::new(&[], "https://x/cb")).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        let e = a.authorization_url(&AuthorizationRequest::new(&["a"], "not a url")).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        let e = OAuthApp::builder("1000.ID").accounts_url("http://accounts.example.com").build().err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        assert!(OAuthApp::builder("1000.ID").accounts_url("http://127.0.0.1:9").build().is_ok());
        assert!(OAuthApp::builder("").build().is_err());
    }

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
