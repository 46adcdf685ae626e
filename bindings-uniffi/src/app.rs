//! `OAuthApp`, `TokenSet`, `AuthorizationUrl` and `DeviceAuthorization`: the flows of the core's
//! `OAuthApp`, with options converted in and results converted out.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use zoho_oauth::{
    AppConfig, AuthorizationRequest, CallbackOptions, DeviceFlowRequest, ExchangeRequest, GrantCode, PkceVerifier,
    RefreshToken,
};

use crate::convert::{ClientType, pairs};
use crate::error::Result;
use crate::runtime::on_core;

/// The tokens one grant yields: access token, refresh token (offline grants only), the
/// `apiDomain` and accounts server of the user's data centre, expiry and scopes.
///
/// `toString()` never shows the tokens; read them with `accessToken()` and `refreshToken()`.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct TokenSet {
    pub(crate) inner: zoho_oauth::TokenSet,
}

impl fmt::Display for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.inner;
        write!(
            f,
            "TokenSet(accessToken=[redacted], refreshToken={}, apiDomain={}, accountsServer={}, expiresAtMs={}, scopes={:?})",
            if t.refresh_token.is_some() { "[redacted]" } else { "null" },
            t.api_domain.as_deref().unwrap_or("null"),
            t.accounts_server,
            t.expires_at_ms,
            t.scopes,
        )
    }
}

#[uniffi::export]
impl TokenSet {
    /// The access token (valid for one hour).
    pub fn access_token(&self) -> String {
        self.inner.access_token.secret().to_string()
    }

    /// The refresh token: present after an offline code or device exchange, never after a
    /// refresh.
    pub fn refresh_token(&self) -> Option<String> {
        self.inner.refresh_token.as_ref().map(|r| r.secret().to_string())
    }

    /// Base URL of the `www.zohoapis.*` APIs in the user's data centre, as Zoho sent it.
    pub fn api_domain(&self) -> Option<String> {
        self.inner.api_domain.clone()
    }

    /// The accounts server that issued the tokens: refreshes and revocation go there. Keep it
    /// with the refresh token and pass it as `accountsUrl` to `Client`.
    pub fn accounts_server(&self) -> String {
        self.inner.accounts_server.clone()
    }

    /// Token type as Zoho sent it (`Bearer`).
    pub fn token_type(&self) -> String {
        self.inner.token_type.clone()
    }

    /// Absolute expiry, Unix time in milliseconds.
    pub fn expires_at_ms(&self) -> i64 {
        self.inner.expires_at_ms
    }

    /// Granted scopes.
    pub fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// OpenID `id_token`, present when the `email` scope was granted.
    pub fn id_token(&self) -> Option<String> {
        self.inner.id_token.clone()
    }
}

fn token_set(t: zoho_oauth::TokenSet) -> Arc<TokenSet> {
    Arc::new(TokenSet { inner: t })
}

/// An authorization URL and what must be kept until the callback: `url()`, `state()` and, for
/// PKCE (mobile clients), `codeVerifier()`. `toString()` never shows the verifier.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct AuthorizationUrl {
    url: String,
    state: String,
    verifier: Option<PkceVerifier>,
}

impl fmt::Display for AuthorizationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AuthorizationUrl(url={}, state={}, codeVerifier={})",
            self.url,
            self.state,
            if self.verifier.is_some() { "[redacted]" } else { "null" }
        )
    }
}

#[uniffi::export]
impl AuthorizationUrl {
    /// Send the user's browser here.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Compare it with the callback's (keep it with the user's session).
    pub fn state(&self) -> String {
        self.state.clone()
    }

    /// The PKCE verifier to pass to `handleCallback`/`exchangeCode` (mobile clients), or null.
    pub fn code_verifier(&self) -> Option<String> {
        self.verifier.as_ref().map(|v| v.secret().to_string())
    }
}

/// A started device flow: show `userCode()` and `verificationUrl()` to the user, then call
/// `wait()`, which polls Zoho no faster than every 30 seconds until the user approves
/// (tokens), denies (`ZohoException.AccessDenied`) or the code expires
/// (`ZohoException.DeviceFlowExpired`).
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct DeviceAuthorization {
    inner: Arc<zoho_oauth::DeviceAuthorization>,
}

impl fmt::Display for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeviceAuthorization(userCode={}, verificationUrl={}, expiresInSecs={}, intervalSecs={})",
            self.inner.user_code,
            self.inner.verification_url,
            self.inner.expires_in.as_secs(),
            self.inner.interval.as_secs()
        )
    }
}

#[uniffi::export]
impl DeviceAuthorization {
    /// The code the user types at `verificationUrl()`.
    pub fn user_code(&self) -> String {
        self.inner.user_code.clone()
    }

    /// Where the user enters the code.
    pub fn verification_url(&self) -> String {
        self.inner.verification_url.clone()
    }

    /// A URL with the code pre-filled, when Zoho sends one.
    pub fn verification_url_complete(&self) -> Option<String> {
        self.inner.verification_url_complete.clone()
    }

    /// Seconds the user code stays valid.
    pub fn expires_in_secs(&self) -> f64 {
        self.inner.expires_in.as_secs_f64()
    }

    /// Seconds between polls (at least 30, Zoho's rule).
    pub fn interval_secs(&self) -> f64 {
        self.inner.interval.as_secs_f64()
    }

    /// Poll until the user approves, denies or the code expires. Cancelling the coroutine
    /// stops the polling.
    pub async fn wait(&self) -> Result<Arc<TokenSet>> {
        let flow = self.inner.clone();
        on_core(async move { flow.wait().await }).await.map(token_set)
    }
}

/// A Zoho OAuth client registration (client id, secret, home data centre): builds
/// authorization URLs, handles callbacks, exchanges codes, refreshes, revokes and runs the
/// device flow. Network calls are `suspend` functions running on zoho-oauth's own threads.
///
/// `dc` is the home data centre (`us eu in au jp cn ca sa uk`); `accountsUrl` overrides its
/// accounts server (a proxy, or `MockServer` on loopback); `dcSecrets` and `dcAccountsUrls` map
/// a DC code to that DC's secret or server (multi-DC clients). `clientType` is `SERVER` (the
/// default), `SELF_CLIENT`, `MOBILE` (PKCE S256) or `DEVICE`.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct OAuthApp {
    pub(crate) app: zoho_oauth::OAuthApp,
}

impl fmt::Display for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OAuthApp(clientId={}, dc={}, accountsServer={}, clientSecret=[redacted])",
            self.app.client_id(),
            self.app.dc().code(),
            self.app.home_accounts_server()
        )
    }
}

#[uniffi::export]
impl OAuthApp {
    /// A client registration. Throws `ZohoException.Config` for an unknown DC code or a bad
    /// URL, before any network I/O.
    #[uniffi::constructor(default(
        client_secret = None,
        dc = "us",
        client_type = None,
        accounts_url = None,
        timeout_secs = 30.0
    ), default(dc_accounts_urls), default(dc_secrets))]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client_id: String,
        client_secret: Option<String>,
        dc: String,
        client_type: Option<ClientType>,
        accounts_url: Option<String>,
        dc_accounts_urls: HashMap<String, String>,
        dc_secrets: HashMap<String, String>,
        timeout_secs: f64,
    ) -> Result<Arc<Self>> {
        let app = AppConfig {
            client_id,
            client_secret,
            dc: Some(dc),
            client_type: ClientType::name(client_type),
            accounts_url,
            dc_accounts_urls: pairs(dc_accounts_urls),
            dc_secrets: pairs(dc_secrets),
            timeout: Some(timeout_secs),
            ..AppConfig::default()
        }
        .build()?;
        Ok(Arc::new(OAuthApp { app }))
    }

    /// The client id.
    pub fn client_id(&self) -> String {
        self.app.client_id().to_string()
    }

    /// The home data centre code.
    pub fn dc(&self) -> String {
        self.app.dc().code().to_string()
    }

    /// The home data centre's accounts server (where authorization URLs point).
    pub fn home_accounts_server(&self) -> String {
        self.app.home_accounts_server()
    }

    /// Build the URL that starts the authorization code flow at the home DC's accounts server.
    /// A random state is generated unless one is given; mobile clients (or `pkce = true`) get
    /// PKCE S256: keep `codeVerifier()` for the exchange.
    #[uniffi::method(default(access_type = "offline", prompt = None, state = None, pkce = None))]
    pub fn authorization_url(
        &self,
        scopes: Vec<String>,
        redirect_uri: String,
        access_type: String,
        prompt: Option<String>,
        state: Option<String>,
        pkce: Option<bool>,
    ) -> Result<Arc<AuthorizationUrl>> {
        let req = AuthorizationRequest { scopes, redirect_uri, access_type: Some(access_type), prompt, state, pkce };
        let a = self.app.authorization_url(&req)?;
        Ok(Arc::new(AuthorizationUrl { url: a.url, state: a.state, verifier: a.code_verifier }))
    }

    /// Handle the redirect Zoho sent back: parse it, check `state` against `expectedState` and
    /// the `accounts-server` against Zoho's hosts, and exchange the code at the user's DC
    /// (with `codeVerifier` for PKCE).
    #[uniffi::method(default(expected_state = None, redirect_uri = None, code_verifier = None))]
    pub async fn handle_callback(
        &self,
        callback_url: String,
        expected_state: Option<String>,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    ) -> Result<Arc<TokenSet>> {
        let app = self.app.clone();
        let opts = CallbackOptions {
            expected_state,
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            skip_state_check: false,
        };
        on_core(async move { app.handle_callback(&callback_url, &opts).await }).await.map(token_set)
    }

    /// Exchange a grant code (self client: just the code; server-based: with `redirectUri`;
    /// mobile: with `codeVerifier`; a user of another DC: with that DC's `accountsServer`).
    #[uniffi::method(default(redirect_uri = None, code_verifier = None, accounts_server = None))]
    pub async fn exchange_code(
        &self,
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        accounts_server: Option<String>,
    ) -> Result<Arc<TokenSet>> {
        let app = self.app.clone();
        let req = ExchangeRequest {
            code: GrantCode::new(code),
            redirect_uri,
            code_verifier: code_verifier.map(PkceVerifier::new),
            accounts_server,
        };
        on_core(async move { app.exchange_code_with(&req).await }).await.map(token_set)
    }

    /// A new access token from a refresh token, at `accountsServer` (the home DC's by
    /// default). Prefer `Client`, which caches tokens and respects Zoho's refresh limits.
    #[uniffi::method(default(accounts_server = None))]
    pub async fn refresh(&self, refresh_token: String, accounts_server: Option<String>) -> Result<Arc<TokenSet>> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        on_core(async move { app.refresh(&rt, accounts_server.as_deref()).await }).await.map(token_set)
    }

    /// Revoke a refresh token (and every access token minted from it).
    #[uniffi::method(default(accounts_server = None))]
    pub async fn revoke(&self, refresh_token: String, accounts_server: Option<String>) -> Result<()> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        on_core(async move { app.revoke(&rt, accounts_server.as_deref()).await }).await
    }

    /// Client-credentials grant (self clients only): an access token without a refresh token.
    /// `soid` is `Service.orgid` (for example `ZohoCRM.600000434`) when Zoho asks for it.
    #[uniffi::method(default(soid = None))]
    pub async fn client_credentials(&self, scopes: Vec<String>, soid: Option<String>) -> Result<Arc<TokenSet>> {
        let app = self.app.clone();
        on_core(async move {
            let s: Vec<&str> = scopes.iter().map(String::as_str).collect();
            app.client_credentials(&s, soid.as_deref()).await
        })
        .await
        .map(token_set)
    }

    /// Start the device flow (non-browser clients) at the home DC; show the returned
    /// `userCode()` and `verificationUrl()`, then call `wait()`.
    #[uniffi::method(default(access_type = None, prompt = None))]
    pub async fn start_device_flow(
        &self,
        scopes: Vec<String>,
        access_type: Option<String>,
        prompt: Option<String>,
    ) -> Result<Arc<DeviceAuthorization>> {
        let app = self.app.clone();
        let req = DeviceFlowRequest { scopes, access_type, prompt };
        let d = on_core(async move { app.start_device_flow(&req).await }).await?;
        Ok(Arc::new(DeviceAuthorization { inner: Arc::new(d) }))
    }
}
