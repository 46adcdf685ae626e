//! Options in: Kotlin values to the core's types. Bad input becomes `ZohoException.Config`
//! before any network I/O, naming the argument and never echoing a secret.

use std::collections::HashMap;
use std::sync::Arc;
use zoho_oauth::config::Naming;
use zoho_oauth::{AppConfig, ClientConfig, Clock};

use crate::error::Result;

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

impl AppOptions {
    /// The core's configuration of these options (every rule lives there).
    fn into_config(self) -> AppConfig {
        AppConfig {
            client_id: self.client_id,
            client_secret: self.client_secret,
            dc: Some(self.dc),
            client_type: self.client_type.map(|t| zoho_oauth::ClientType::from(t).as_str().to_string()),
            accounts_url: self.accounts_url,
            dc_accounts_urls: self.dc_accounts_urls.into_iter().collect(),
            dc_secrets: self.dc_secrets.into_iter().collect(),
            timeout: Some(self.timeout_secs),
            clock: self.clock,
            naming: Naming::Snake,
        }
    }
}

pub(crate) fn build_app(o: AppOptions) -> Result<zoho_oauth::OAuthApp> {
    Ok(o.into_config().build()?)
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
    pub accounts_server: Option<String>,
    pub client_type: Option<ClientType>,
    pub dc_accounts_urls: HashMap<String, String>,
    pub dc_secrets: HashMap<String, String>,
    pub refresh_budget: i32,
    pub initial_token: Option<zoho_oauth::TokenSet>,
    pub clock: Option<Arc<dyn Clock>>,
}

pub(crate) fn build_client(o: ClientOptions) -> Result<zoho_oauth::Client> {
    let app = AppOptions {
        client_id: o.client_id,
        client_secret: Some(o.client_secret),
        dc: o.dc,
        client_type: o.client_type,
        accounts_url: o.accounts_url,
        dc_accounts_urls: o.dc_accounts_urls,
        dc_secrets: o.dc_secrets,
        timeout_secs: o.timeout_secs,
        clock: o.clock,
    };
    let config = ClientConfig {
        app: app.into_config(),
        refresh_token: o.refresh_token,
        token_store: Some(o.token_store),
        accounts_server: o.accounts_server,
        api_domain: o.api_domain,
        allow_hosts: o.allow_hosts,
        refresh_margin: Some(o.refresh_margin_secs),
        refresh_budget: Some(i64::from(o.refresh_budget)),
        timeout: Some(o.timeout_secs),
        max_retries: Some(i64::from(o.max_retries)),
        max_concurrency: o.max_concurrency.map(i64::from),
        max_response_bytes: o.max_response_bytes,
        initial_token: o.initial_token,
        naming: Naming::Snake,
    };
    Ok(config.build()?)
}
