//! Options in: Kotlin values to the core's types. Bad input becomes `ZohoException.Config`
//! before any network I/O, naming the argument and never echoing a secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use zoho_oauth::{Clock, DataCenter};

use crate::error::{Result, ZohoError};

/// A number of seconds as a `Duration`: finite, not negative, and positive when `positive`.
pub(crate) fn seconds(name: &str, value: f64, positive: bool) -> Result<Duration> {
    if !value.is_finite() || value < 0.0 || (positive && value == 0.0) {
        let want = if positive { "a positive number of seconds" } else { "zero or a positive number of seconds" };
        return Err(ZohoError::config(format!("{name} must be {want}, got {value}"), format!("pass {name} as {want}")));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| ZohoError::config(format!("{name} is too large: {value}"), format!("pass a smaller {name}")))
}

/// A retry count: 0 to 100.
pub(crate) fn retries(n: i32) -> Result<u32> {
    if !(0..=100).contains(&n) {
        return Err(ZohoError::config(
            format!("max_retries must be between 0 and 100, got {n}"),
            "pass a small non-negative integer",
        ));
    }
    Ok(n as u32)
}

/// A data-centre code (`us eu in au jp cn ca sa uk`).
pub(crate) fn data_center(code: &str) -> Result<DataCenter> {
    Ok(DataCenter::from_code(code)?)
}

/// The kind of client registered in Zoho's API console; it decides PKCE and redirect rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ClientType {
    /// Server-based application (redirect URI, client secret).
    Server,
    /// Self client (codes generated in the API console; no redirect URI).
    SelfClient,
    /// Mobile or desktop application: PKCE S256 is added to the authorization URL.
    Mobile,
    /// Non-browser (device-flow) application.
    Device,
}

impl From<ClientType> for zoho_oauth::ClientType {
    fn from(t: ClientType) -> Self {
        match t {
            ClientType::Server => zoho_oauth::ClientType::Server,
            ClientType::SelfClient => zoho_oauth::ClientType::SelfClient,
            ClientType::Mobile => zoho_oauth::ClientType::Mobile,
            ClientType::Device => zoho_oauth::ClientType::Device,
        }
    }
}

/// Options shared by `OAuthApp` and `Client` constructors (and the mock's helpers).
pub(crate) struct AppOptions {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub dc: String,
    pub client_type: Option<ClientType>,
    pub accounts_url: Option<String>,
    pub dc_accounts_urls: HashMap<String, String>,
    pub dc_secrets: HashMap<String, String>,
    pub timeout_secs: f64,
    pub clock: Option<Arc<dyn Clock>>,
}

pub(crate) fn build_app(o: AppOptions) -> Result<zoho_oauth::OAuthApp> {
    let mut b = zoho_oauth::OAuthApp::builder(o.client_id).dc(data_center(&o.dc)?);
    if let Some(s) = o.client_secret {
        b = b.client_secret(s);
    }
    if let Some(t) = o.client_type {
        b = b.client_type(t.into());
    }
    if let Some(u) = o.accounts_url {
        b = b.accounts_url(u);
    }
    for (code, secret) in o.dc_secrets {
        b = b.dc_secret(data_center(&code)?, secret);
    }
    for (code, url) in o.dc_accounts_urls {
        b = b.dc_accounts_url(data_center(&code)?, url);
    }
    b = b.timeout(seconds("timeout_secs", o.timeout_secs, true)?);
    if let Some(c) = o.clock {
        b = b.clock(c);
    }
    Ok(b.build()?)
}

/// Options of the `Client` constructor (and `MockServer.client`).
pub(crate) struct ClientOptions {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub dc: String,
    pub token_store: String,
    pub accounts_url: Option<String>,
    pub api_domain: Option<String>,
    pub refresh_margin_secs: f64,
    pub timeout_secs: f64,
    pub max_retries: i32,
    pub max_concurrency: Option<i32>,
    pub max_response_bytes: Option<i64>,
    pub allow_hosts: Vec<String>,
    pub clock: Option<Arc<dyn Clock>>,
}

pub(crate) fn build_client(o: ClientOptions) -> Result<zoho_oauth::Client> {
    // A Zoho accounts server names the user's DC (the callback's `accounts-server`); anything
    // else (a proxy, the mock on loopback) overrides the home DC's accounts server. The same
    // rule as the Python and Node constructors.
    let zoho_server = o.accounts_url.clone().filter(|u| DataCenter::from_accounts_url(u).is_ok());
    let app = build_app(AppOptions {
        client_id: o.client_id,
        client_secret: Some(o.client_secret),
        dc: o.dc,
        client_type: None,
        accounts_url: if zoho_server.is_some() { None } else { o.accounts_url },
        dc_accounts_urls: HashMap::new(),
        dc_secrets: HashMap::new(),
        timeout_secs: o.timeout_secs,
        clock: o.clock,
    })?;
    let mut b = zoho_oauth::Client::builder(app, o.refresh_token)
        .token_store_url(o.token_store)
        .refresh_margin(seconds("refresh_margin_secs", o.refresh_margin_secs, false)?)
        .timeout(seconds("timeout_secs", o.timeout_secs, true)?)
        .max_retries(retries(o.max_retries)?);
    if let Some(s) = zoho_server {
        b = b.accounts_server(s);
    }
    if let Some(d) = o.api_domain {
        b = b.api_domain(d);
    }
    if let Some(n) = o.max_concurrency {
        if n < 1 {
            return Err(ZohoError::config(
                format!("max_concurrency must be at least 1, got {n}"),
                "pass a positive number or null",
            ));
        }
        b = b.max_concurrency(n as usize);
    }
    if let Some(n) = o.max_response_bytes {
        if n < 1 {
            return Err(ZohoError::config(
                format!("max_response_bytes must be at least 1, got {n}"),
                "pass a positive number of bytes or null (64 MiB)",
            ));
        }
        b = b.max_response_bytes(usize::try_from(n).unwrap_or(usize::MAX));
    }
    for h in o.allow_hosts {
        b = b.allow_host(h);
    }
    Ok(b.build()?)
}
