//! Options in (camelCase JavaScript objects) and results out (classes and plain objects).

use std::collections::HashMap;
use std::time::Duration;

use napi::Result;
use napi_derive::napi;
use zoho_oauth::{ClientType, DataCenter, Error as CoreError, OAuthApp, TokenSet};

use crate::mock::MockClock;
use crate::promise::check;

/// Seconds (a JavaScript number) to a `Duration`; negative, NaN or infinite is a config error.
pub(crate) fn seconds(name: &str, value: f64) -> Result<Duration> {
    check(Duration::try_from_secs_f64(value).map_err(|_| {
        CoreError::config(
            format!("{name} must be a finite number of seconds >= 0"),
            format!("pass {name} in seconds, for example 30"),
        )
    }))
}

pub(crate) fn data_center(code: &str) -> Result<DataCenter> {
    check(DataCenter::from_code(code))
}

fn client_type(name: &str) -> Result<ClientType> {
    match name.trim().to_ascii_lowercase().as_str() {
        "server" => Ok(ClientType::Server),
        "self" | "self_client" | "selfclient" => Ok(ClientType::SelfClient),
        "mobile" => Ok(ClientType::Mobile),
        "device" => Ok(ClientType::Device),
        _ => check(Err(CoreError::config(
            "unknown client type",
            "use one of server, self, mobile, device (the kind registered in the API console)",
        ))),
    }
}

/// Options shared by `OAuthApp` and `Client` that describe the registered app.
#[napi(object, object_to_js = false)]
pub struct AppOptions {
    /// The client id from https://api-console.zoho.com (`1000.XXXX`).
    pub client_id: String,
    /// The client secret (used in every DC without a DC-specific one).
    pub client_secret: Option<String>,
    /// The app's home data centre: us (default), eu, in, au, jp, cn, ca, sa, uk.
    pub dc: Option<String>,
    /// server (default), self, mobile or device.
    pub client_type: Option<String>,
    /// Override the home DC's accounts server (a proxy, or the mock on loopback).
    pub accounts_url: Option<String>,
    /// Accounts servers of other DCs by code; they become trusted callback servers too.
    pub dc_accounts_urls: Option<HashMap<String, String>>,
    /// Client secrets of other DCs by code, when they differ.
    pub dc_secrets: Option<HashMap<String, String>>,
    /// Timeout of one token-endpoint request, in seconds (default 30).
    pub timeout: Option<f64>,
}

pub(crate) fn build_app(o: AppOptions, clock: Option<&MockClock>) -> Result<OAuthApp> {
    let mut b = OAuthApp::builder(o.client_id);
    if let Some(s) = o.client_secret {
        b = b.client_secret(s);
    }
    if let Some(dc) = o.dc {
        b = b.dc(data_center(&dc)?);
    }
    if let Some(t) = o.client_type {
        b = b.client_type(client_type(&t)?);
    }
    if let Some(u) = o.accounts_url {
        b = b.accounts_url(u);
    }
    for (dc, url) in o.dc_accounts_urls.unwrap_or_default() {
        b = b.dc_accounts_url(data_center(&dc)?, url);
    }
    for (dc, secret) in o.dc_secrets.unwrap_or_default() {
        b = b.dc_secret(data_center(&dc)?, secret);
    }
    if let Some(t) = o.timeout {
        b = b.timeout(seconds("timeout", t)?);
    }
    if let Some(c) = clock {
        b = b.clock(c.clock());
    }
    check(b.build())
}

/// Tokens from an exchange or a refresh. Secrets are reachable only through the getters;
/// `index.js` wraps this class so `util.inspect` and `JSON.stringify` redact them.
#[napi]
pub struct NativeTokenSet {
    pub(crate) inner: TokenSet,
}

#[napi]
impl NativeTokenSet {
    /// The access token (valid about one hour).
    #[napi(getter)]
    pub fn access_token(&self) -> String {
        self.inner.access_token.secret().to_string()
    }

    /// The refresh token: only from an offline code or device exchange, never from a refresh.
    #[napi(getter)]
    pub fn refresh_token(&self) -> Option<String> {
        self.inner.refresh_token.as_ref().map(|t| t.secret().to_string())
    }

    /// Base URL of the `www.zohoapis.*` products in the user's DC.
    #[napi(getter)]
    pub fn api_domain(&self) -> Option<String> {
        self.inner.api_domain.clone()
    }

    /// The accounts server that issued the tokens; refreshes and revocation go there.
    #[napi(getter)]
    pub fn accounts_server(&self) -> String {
        self.inner.accounts_server.clone()
    }

    /// Token type as sent (`Bearer`).
    #[napi(getter)]
    pub fn token_type(&self) -> String {
        self.inner.token_type.clone()
    }

    /// Absolute expiry, Unix milliseconds.
    #[napi(getter)]
    pub fn expires_at_ms(&self) -> f64 {
        self.inner.expires_at_ms as f64
    }

    /// Granted scopes.
    #[napi(getter)]
    pub fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// OpenID id_token, when the `email` scope was granted.
    #[napi(getter)]
    pub fn id_token(&self) -> Option<String> {
        self.inner.id_token.clone()
    }
}
