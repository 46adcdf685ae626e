//! The mock's public configuration and control types: what tests register, mint and read back.
//!
//! Every type here is plain data with serde support, because the same shapes travel over the
//! `/__mock/` control API as JSON and through the Rust handle as values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Client id of the self client registered at start-up and after a reset.
pub const DEFAULT_CLIENT_ID: &str = "1000.MOCKSELFCLIENT";
/// Client secret of [`DEFAULT_CLIENT_ID`] (the same in every data centre).
pub const DEFAULT_CLIENT_SECRET: &str = "mock-self-secret";
/// Email of the user registered at start-up; lives in the first configured data centre.
pub const DEFAULT_USER: &str = "user@example.com";

/// Data-centre codes the mock knows. Zoho's `location` values for these regions.
pub const KNOWN_DCS: &[&str] = &["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk", "ae"];

/// Behaviour switches and limits, changeable at run time with `POST /__mock/config`.
///
/// Defaults follow Zoho's documented values (zoho-protocol.md section 5).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of a grant code (Zoho: 3 minutes by default for self clients).
    pub grant_code_ttl_secs: u64,
    /// Lifetime of an access token (Zoho: one hour).
    pub access_token_ttl_secs: u64,
    /// Access tokens one refresh token may mint per window (Zoho: 10).
    pub refresh_throttle_max: usize,
    /// The throttle window (Zoho: 10 minutes).
    pub refresh_throttle_window_secs: u64,
    /// Live access tokens per refresh token before the oldest is evicted (Zoho: 15).
    pub max_live_access_tokens: usize,
    /// Refresh tokens per user and client before the oldest is evicted (Zoho: 20).
    pub max_refresh_tokens: usize,
    /// Grant codes per client per window from `/oauth/v2/auth` (Zoho: 10 per 10 minutes).
    pub max_codes_per_window: usize,
    /// Device-flow polling interval (Zoho's rule: one poll per 30 seconds).
    pub device_interval_secs: u64,
    /// Device-flow user code lifetime (Zoho: 5 minutes).
    pub device_expires_secs: u64,
    /// Unit of `interval` and `expires_in` in the device-code answer: `"s"` or `"ms"`.
    pub device_units: String,
    /// Answer token requests with the legacy `expires_in_sec` + `expires_in` in milliseconds.
    pub legacy_expiry: bool,
    /// Wording of the throttle body: `"legacy"` (with `"status":"failure"`) or `"new"`.
    pub throttle_body: String,
    /// Field naming the user's DC in an `other_dc` answer: `"user_location"` or `"dc"`.
    pub other_dc_field: String,
    /// Concurrent CRM calls allowed per org; `None` means unlimited.
    pub crm_concurrency: Option<u32>,
    /// CRM credits per org per rolling 24 hours; `None` means unlimited.
    pub crm_credits: Option<u64>,
    /// Extra latency added to every product API call, in milliseconds.
    pub latency_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grant_code_ttl_secs: 180,
            access_token_ttl_secs: 3600,
            refresh_throttle_max: 10,
            refresh_throttle_window_secs: 600,
            max_live_access_tokens: 15,
            max_refresh_tokens: 20,
            max_codes_per_window: 10,
            device_interval_secs: 30,
            device_expires_secs: 300,
            device_units: "s".into(),
            legacy_expiry: false,
            throttle_body: "legacy".into(),
            other_dc_field: "user_location".into(),
            crm_concurrency: None,
            crm_credits: None,
            latency_ms: 0,
        }
    }
}

impl Settings {
    /// These settings with the keys of a JSON object applied on top, validated. Unknown keys and
    /// values of the wrong type are errors, so a typo never silently keeps a default.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<Settings, String> {
        let serde_json::Value::Object(patch) = patch else {
            return Err("settings must be a JSON object, for example {\"legacy_expiry\": true}".into());
        };
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        for (k, v) in patch {
            current[k] = v.clone();
        }
        let next: Settings = serde_json::from_value(current).map_err(|e| format!("bad setting: {e}"))?;
        next.validate()?;
        Ok(next)
    }

    /// Checks the string-valued switches, so a typo is an error instead of a silent default.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, value: &str, allowed: &[&str]| {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(format!("setting {name} must be one of {allowed:?}, got {value:?}"))
            }
        };
        check("device_units", &self.device_units, &["s", "ms"])?;
        check("throttle_body", &self.throttle_body, &["legacy", "new"])?;
        check("other_dc_field", &self.other_dc_field, &["user_location", "dc"])?;
        if self.refresh_throttle_max == 0 || self.max_live_access_tokens == 0 {
            return Err("refresh_throttle_max and max_live_access_tokens must be at least 1".into());
        }
        Ok(())
    }
}

/// How the mock starts: which data centres get a listener, on which port, with which settings.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Data-centre codes, one listener each; the first is the default user's home.
    pub dcs: Vec<String>,
    /// Port of the first listener (0 picks a free one); the others always use 0.
    pub port: u16,
    /// Initial settings (also restored by a reset).
    pub settings: Settings,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig { dcs: vec!["us".into()], port: 0, settings: Settings::default() }
    }
}

impl MockConfig {
    /// A config with one listener per given data centre, the first being the default user's home.
    pub fn with_dcs(dcs: &[&str]) -> Self {
        MockConfig { dcs: dcs.iter().map(|d| d.to_string()).collect(), ..Default::default() }
    }
}

/// Zoho's client types, as chosen in the API console.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// Server-based application: code flow with a registered redirect URI.
    Server,
    /// Self client: grant codes come from the console, exchanged without a redirect URI.
    #[serde(rename = "self")]
    SelfClient,
    /// Mobile-based application: code flow with mandatory PKCE.
    Mobile,
    /// Non-browser application: the device flow.
    Device,
    /// Client-based (JavaScript) application.
    Js,
}

/// A client to register with `POST /__mock/clients` or [`crate::MockZoho::register_client`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSpec {
    /// The client id (Zoho's look like `1000.XXXX`).
    pub client_id: String,
    /// The secret used in every DC without an entry in `secrets`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Per-DC secrets (Zoho lets multi-DC clients have a different secret per DC).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Registered redirect URIs (exact match, as Zoho requires).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The client type.
    pub client_type: ClientType,
    /// DCs the client is enabled in; `None` means every DC.
    #[serde(default)]
    pub dcs: Option<Vec<String>>,
}

impl ClientSpec {
    /// A client with one secret for every DC, enabled everywhere, with no redirect URIs yet.
    pub fn new(client_id: &str, secret: &str, client_type: ClientType) -> Self {
        ClientSpec {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            secrets: BTreeMap::new(),
            redirect_uris: Vec::new(),
            client_type,
            dcs: None,
        }
    }

    /// The secret this client uses in `dc`.
    pub fn secret_for(&self, dc: &str) -> Option<&str> {
        self.secrets.get(dc).or(self.client_secret.as_ref()).map(String::as_str)
    }

    /// Whether the client is enabled in `dc` (multi-DC support is per client in Zoho).
    pub fn enabled_in(&self, dc: &str) -> bool {
        self.dcs.as_ref().is_none_or(|dcs| dcs.iter().any(|d| d == dc))
    }
}

/// A user to register with `POST /__mock/users` or [`crate::MockZoho::register_user`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserSpec {
    /// The user's email, also their identifier in the mock.
    pub email: String,
    /// The user's home data centre.
    pub dc: String,
    /// CRM organisation id (generated when absent).
    #[serde(default)]
    pub crm_org_id: Option<String>,
    /// Desk organisation ids the user belongs to (one generated when empty).
    #[serde(default)]
    pub desk_org_ids: Vec<String>,
    /// Books organisation ids the user belongs to (one generated when empty).
    #[serde(default)]
    pub books_org_ids: Vec<String>,
}

impl UserSpec {
    /// A user in `dc` with generated organisation ids.
    pub fn new(email: &str, dc: &str) -> Self {
        UserSpec {
            email: email.into(),
            dc: dc.into(),
            crm_org_id: None,
            desk_org_ids: Vec::new(),
            books_org_ids: Vec::new(),
        }
    }
}

/// A request to mint a self-client grant code (`POST /__mock/codes`) or a refresh token
/// (`POST /__mock/refresh-tokens`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MintCode {
    /// The client; the default self client when absent.
    #[serde(default = "default_client")]
    pub client_id: String,
    /// Granted scopes, for example `ZohoCRM.modules.ALL`.
    pub scopes: Vec<String>,
    /// The consenting user's email; the default user when absent.
    #[serde(default)]
    pub user: Option<String>,
    /// Code lifetime; `grant_code_ttl_secs` when absent.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// `offline` (the default for self clients) or `online` (no refresh token).
    #[serde(default)]
    pub access_type: Option<String>,
}

fn default_client() -> String {
    DEFAULT_CLIENT_ID.into()
}

impl MintCode {
    /// A request for `client_id` with `scopes`, the default user and TTL, offline access.
    pub fn new(client_id: &str, scopes: &[&str]) -> Self {
        MintCode {
            client_id: client_id.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            user: None,
            ttl_secs: None,
            access_type: None,
        }
    }
}

/// A minted grant code and where it must be exchanged.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MintedCode {
    /// The grant code.
    pub code: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The accounts server of the user's DC (the only place the code works).
    pub accounts_server: String,
    /// The user's DC code.
    pub location: String,
}

/// A refresh token minted directly, without a token request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MintedRefreshToken {
    /// The refresh token.
    pub refresh_token: String,
    /// The accounts server of the user's DC.
    pub accounts_server: String,
    /// The API domain of the user's DC.
    pub api_domain: String,
}

/// A fault to inject on the next `count` requests whose path starts with `path`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    /// Path prefix to match, for example `/oauth/v2/token` or `/crm/v8/Leads`.
    pub path: String,
    /// Only requests with this method (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests the fault applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Answer with this status instead of the real handler.
    #[serde(default)]
    pub status: Option<u16>,
    /// Add a `Retry-After` header with this exact value (seconds or an HTTP date).
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Delay before answering (or before the real handler runs), in milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Close the connection with a TCP reset instead of answering.
    #[serde(default)]
    pub reset: bool,
    /// `"malformed"`, `"truncated"`, `"html"`, `"endless"` (a body without a length that never
    /// ends) or a literal body to answer with.
    #[serde(default)]
    pub body: Option<String>,
    /// The fault stops applying once the mock's (virtual) clock reaches this time, in Unix ms,
    /// whatever is left of `count`: an outage of a given length.
    #[serde(default)]
    pub until_ms: Option<i64>,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault on the next `count` requests under `path` that does nothing until a field is set.
    pub fn new(path: &str, count: u32) -> Self {
        Fault {
            path: path.into(),
            method: None,
            count,
            status: None,
            retry_after: None,
            delay_ms: None,
            reset: false,
            body: None,
            until_ms: None,
        }
    }
}

/// What the mock has seen, read with `GET /__mock/counters` or [`crate::MockZoho::counters`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Counters {
    /// Token-endpoint requests by grant type, then by outcome (`success` or the `error` value).
    pub token_requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every request that reached a token endpoint (including device polls and faulted ones),
    /// counted when its answer was sent.
    pub token_requests_total: u64,
    /// Every request that arrived at a token endpoint, counted on arrival (so requests whose
    /// client went away before the answer are included).
    #[serde(default)]
    pub token_requests_received: u64,
    /// Revocation requests.
    pub revocations: u64,
    /// Device-token polls.
    pub device_polls: u64,
    /// Product API calls by `METHOD path`, then by status.
    pub api_calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every product API call.
    pub api_calls_total: u64,
}

impl Counters {
    /// Token requests with this grant type and outcome.
    pub fn token_requests(&self, grant_type: &str, outcome: &str) -> u64 {
        self.token_requests.get(grant_type).and_then(|m| m.get(outcome)).copied().unwrap_or(0)
    }

    /// Token requests with this grant type, whatever the outcome.
    pub fn token_requests_for(&self, grant_type: &str) -> u64 {
        self.token_requests.get(grant_type).map(|m| m.values().sum()).unwrap_or(0)
    }

    /// Every token request.
    pub fn token_requests_total(&self) -> u64 {
        self.token_requests_total
    }

    /// Calls to one route (`"GET /crm/v8/Leads"`), whatever the status.
    pub fn api_calls(&self, route: &str) -> u64 {
        self.api_calls.get(route).map(|m| m.values().sum()).unwrap_or(0)
    }

    /// Every product API call.
    pub fn api_calls_total(&self) -> u64 {
        self.api_calls_total
    }
}
