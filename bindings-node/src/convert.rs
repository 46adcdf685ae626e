//! Options in (camelCase JavaScript objects) and results out (classes and plain objects).

use std::collections::HashMap;

use napi::Result;
use napi_derive::napi;
use zoho_oauth::config::Naming;
use zoho_oauth::{AppConfig, OAuthApp, TokenSet};

use crate::mock::MockClock;
use crate::promise::check;

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

impl AppOptions {
    /// The core's configuration of these options (every rule lives there).
    pub(crate) fn into_config(self, clock: Option<&MockClock>) -> AppConfig {
        AppConfig {
            client_id: self.client_id,
            client_secret: self.client_secret,
            dc: self.dc,
            client_type: self.client_type,
            accounts_url: self.accounts_url,
            dc_accounts_urls: self.dc_accounts_urls.map(|m| m.into_iter().collect()).unwrap_or_default(),
            dc_secrets: self.dc_secrets.map(|m| m.into_iter().collect()).unwrap_or_default(),
            timeout: self.timeout,
            clock: clock.map(|c| c.clock()),
            naming: Naming::Camel,
        }
    }
}

pub(crate) fn build_app(o: AppOptions, clock: Option<&MockClock>) -> Result<OAuthApp> {
    check(o.into_config(clock).build())
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
