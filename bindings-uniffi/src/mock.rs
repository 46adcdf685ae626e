//! `MockServer`: `zoho-mock` running inside the JVM process, on the core's shared runtime, for
//! tests of Kotlin code. Control operations cross as JSON text through
//! `zoho_mock::MockZoho::call_json`, as in the Python and Node bindings; the typed helpers
//! below only build and read that JSON, so a Kotlin test needs no JSON library.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use zoho_mock::{DEFAULT_CLIENT_ID, MockConfig, MockZoho, Settings};
use zoho_oauth::{AppConfig, ClientConfig, Clock, SystemClock};

use crate::app::OAuthApp;
use crate::client::Client;
use crate::convert::{ClientType, pairs};
use crate::error::{Result, ZohoError};

/// The secret of the mock's default self client (the same in every data centre).
const DEFAULT_CLIENT_SECRET: &str = "mock-self-secret";
/// Scopes of the refresh tokens `client()` mints when none are given.
const DEFAULT_SCOPES: [&str; 2] = ["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"];

type Slot = Mutex<Option<Arc<MockZoho>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<Arc<MockZoho>>> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

fn mock_error(reason: String) -> ZohoError {
    ZohoError::config(reason, "check the arguments of the mock operation (see mock/README.md)")
}

fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// A running fake Zoho on 127.0.0.1 (the `zoho-mock` crate), for tests: one listener per data
/// centre in `dcs`. It answers like Zoho Accounts and the CRM, Desk and Books APIs, quirks
/// included, and lets a test mint grant codes, approve device codes, move a virtual clock
/// instead of sleeping, inject faults and read counters. `settingsJson` changes Zoho's
/// defaults (see mock/README.md). Errors of the mock itself are `ZohoException.Config`.
///
/// Clients wired to it (its accounts server, and its virtual clock, so expiry and backoff need
/// no real waiting) come from `client()` and `app()`.
#[derive(uniffi::Object)]
pub struct MockServer {
    inner: Slot,
}

impl MockServer {
    fn with<R>(&self, f: impl FnOnce(&MockZoho) -> std::result::Result<R, String>) -> Result<R> {
        let guard = lock(&self.inner);
        let mock = guard.as_ref().ok_or_else(|| mock_error("the mock was stopped".into()))?;
        f(mock).map_err(mock_error)
    }

    fn call_value(&self, op: &str, body: Value) -> Result<Value> {
        let text = self.with(|m| m.call_json(op, &drop_nulls(body).to_string()))?;
        serde_json::from_str(&text).map_err(|e| mock_error(format!("{op}: the mock answered bad JSON: {e}")))
    }

    fn clock(&self) -> Arc<dyn Clock> {
        match lock(&self.inner).as_ref() {
            Some(m) => zoho_mock::VirtualClock::new(m),
            None => Arc::new(SystemClock),
        }
    }

    fn home_dc(&self) -> Result<String> {
        self.with(|m| m.dcs().into_iter().next().ok_or_else(|| "the mock serves no data centre".to_string()))
    }

    fn dc_urls(&self) -> Result<HashMap<String, String>> {
        self.with(|m| Ok(m.dcs().into_iter().filter_map(|dc| m.url(&dc).map(|u| (dc, u))).collect()))
    }
}

#[uniffi::export]
impl MockServer {
    /// Starts the mock: one listener per data centre (`us` by default) on 127.0.0.1; the first
    /// on `port` (0 picks a free one).
    #[uniffi::constructor(default(dcs = [], port = 0, settings_json = "{}"))]
    pub fn new(dcs: Vec<String>, port: i32, settings_json: String) -> Result<Arc<Self>> {
        let patch: Value =
            serde_json::from_str(&settings_json).map_err(|e| mock_error(format!("settings are not JSON: {e}")))?;
        let settings = Settings::default().patched(&patch).map_err(mock_error)?;
        let port = u16::try_from(port).map_err(|_| mock_error(format!("port must be 0 to 65535, got {port}")))?;
        let dcs = if dcs.is_empty() { vec!["us".to_string()] } else { dcs };
        let config = MockConfig { dcs, port, settings };
        let mock = zoho_oauth::runtime()
            .block_on(MockZoho::start(config))
            .map_err(|e| mock_error(format!("cannot start the mock: {e}")))?;
        Ok(Arc::new(MockServer { inner: Mutex::new(Some(Arc::new(mock))) }))
    }

    /// Base URL of the first data centre: its accounts server and its API domain.
    pub fn base_url(&self) -> Result<String> {
        self.with(|m| Ok(m.base_url()))
    }

    /// Base URL of `dc`'s listener, or null when the mock does not serve it.
    pub fn url(&self, dc: String) -> Result<Option<String>> {
        self.with(|m| Ok(m.url(&dc)))
    }

    /// Runs any control operation with a JSON body and answers JSON (see
    /// `MockZoho::call_json` and mock/README.md): the whole control API, typed helpers or not.
    pub fn call(&self, op: String, body_json: String) -> Result<String> {
        self.with(|m| m.call_json(&op, &body_json))
    }

    /// Registers a client: `clientType` is server, self, mobile, device or js.
    #[uniffi::method(default(client_secret = None, client_type = "server", redirect_uris = []))]
    pub fn register_client(
        &self,
        client_id: String,
        client_secret: Option<String>,
        client_type: String,
        redirect_uris: Vec<String>,
    ) -> Result<()> {
        let spec = json!({"client_id": client_id, "client_secret": client_secret, "client_type": client_type,
                          "redirect_uris": redirect_uris});
        self.call_value("register_client", spec).map(drop)
    }

    /// Registers a user living in `dc` (one of the served data centres).
    pub fn register_user(&self, email: String, dc: String) -> Result<()> {
        self.call_value("register_user", json!({"email": email, "dc": dc})).map(drop)
    }

    /// Mints a self-client grant code (of the default self client unless `clientId` is given),
    /// as the API console's "Generate Code" tab does.
    #[uniffi::method(default(client_id = None, user = None))]
    pub fn mint_code(&self, scopes: Vec<String>, client_id: Option<String>, user: Option<String>) -> Result<String> {
        let req = json!({"client_id": client_id, "scopes": scopes, "user": user});
        let v = self.call_value("mint_code", req)?;
        v["code"].as_str().map(str::to_string).ok_or_else(|| mock_error("mint_code answered no code".into()))
    }

    /// Mints a refresh token without a token request (the counters do not change).
    #[uniffi::method(default(client_id = None, user = None))]
    pub fn mint_refresh_token(
        &self,
        scopes: Vec<String>,
        client_id: Option<String>,
        user: Option<String>,
    ) -> Result<String> {
        let req = json!({"client_id": client_id, "scopes": scopes, "user": user});
        let v = self.call_value("mint_refresh_token", req)?;
        v["refresh_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| mock_error("mint_refresh_token answered no refresh token".into()))
    }

    /// Approves (or with `deny`, refuses) a pending device authorization.
    #[uniffi::method(default(user = None, deny = false))]
    pub fn approve_device(&self, user_code: String, user: Option<String>, deny: bool) -> Result<()> {
        self.call_value("approve_device", json!({"user_code": user_code, "user": user, "deny": deny})).map(drop)
    }

    /// Moves the virtual clock forward; returns the new time in Unix milliseconds.
    pub fn advance_clock(&self, seconds: f64) -> Result<i64> {
        let v = self.call_value("advance_clock", json!({"seconds": seconds}))?;
        Ok(v["now_ms"].as_i64().unwrap_or_default())
    }

    /// The virtual clock in Unix milliseconds.
    pub fn now_ms(&self) -> Result<i64> {
        self.with(|m| Ok(m.now_ms()))
    }

    /// Makes the next `count` requests under `path` fail: a `status` (with `retryAfter`), a
    /// `delayMs`, a connection `reset`, or a `body` of "malformed", "truncated", "html" or
    /// literal text.
    #[uniffi::method(default(
        count = 1,
        method = None,
        status = None,
        retry_after = None,
        delay_ms = None,
        reset = false,
        body = None
    ))]
    #[allow(clippy::too_many_arguments)]
    pub fn inject_fault(
        &self,
        path: String,
        count: i32,
        method: Option<String>,
        status: Option<i32>,
        retry_after: Option<String>,
        delay_ms: Option<i64>,
        reset: bool,
        body: Option<String>,
    ) -> Result<()> {
        let fault = json!({"path": path, "count": count, "method": method, "status": status,
                           "retry_after": retry_after, "delay_ms": delay_ms, "reset": reset, "body": body});
        self.call_value("inject_fault", fault).map(drop)
    }

    /// Replaces a CRM module's records with `count` generated ones.
    pub fn seed_crm(&self, module: String, count: i32) -> Result<()> {
        self.call_value("seed_crm", json!({"module": module, "count": count})).map(drop)
    }

    /// Token requests by grant type and outcome, API calls by route and status, and totals,
    /// as JSON.
    pub fn counters_json(&self) -> Result<String> {
        self.call("counters".into(), String::new())
    }

    /// How many token requests of `grantType` (`refresh_token`, `authorization_code` ...)
    /// ended with `outcome` (`success` or Zoho's error value).
    #[uniffi::method(default(outcome = "success"))]
    pub fn token_requests(&self, grant_type: String, outcome: String) -> Result<i64> {
        let v = self.call_value("counters", Value::Null)?;
        Ok(v["token_requests"][grant_type.as_str()][outcome.as_str()].as_i64().unwrap_or(0))
    }

    /// How many product API calls to `route` (`GET /crm/v8/Leads`) answered `status`.
    pub fn api_calls(&self, route: String, status: i32) -> Result<i64> {
        let v = self.call_value("counters", Value::Null)?;
        Ok(v["api_calls"][route.as_str()][status.to_string().as_str()].as_i64().unwrap_or(0))
    }

    /// Back to the start-up state: default client and user, no tokens, no faults, zero
    /// counters. The clock keeps its time.
    pub fn reset(&self) -> Result<()> {
        self.call_value("reset", Value::Null).map(drop)
    }

    /// An `OAuthApp` whose data centres map to this mock's listeners (the default self client
    /// unless `clientId` is given). With `virtualClock` (the default) its waits (device
    /// polling) advance the mock's clock.
    #[uniffi::method(default(client_id = None, client_secret = None, client_type = None, virtual_clock = true))]
    pub fn app(
        &self,
        client_id: Option<String>,
        client_secret: Option<String>,
        client_type: Option<ClientType>,
        virtual_clock: bool,
    ) -> Result<Arc<OAuthApp>> {
        let app = AppConfig {
            client_id: client_id.unwrap_or_else(|| DEFAULT_CLIENT_ID.to_string()),
            client_secret: Some(client_secret.unwrap_or_else(|| DEFAULT_CLIENT_SECRET.to_string())),
            dc: Some(self.home_dc()?),
            client_type: ClientType::name(Some(client_type.unwrap_or(ClientType::SelfClient))),
            dc_accounts_urls: pairs(self.dc_urls()?),
            clock: virtual_clock.then(|| self.clock()),
            ..AppConfig::default()
        }
        .build()?;
        Ok(Arc::new(OAuthApp { app }))
    }

    /// A `Client` of the default self client on this mock: on `refreshToken`, or on a freshly
    /// minted one with `scopes` (CRM scopes when empty). Every product is served by the mock.
    /// With `virtualClock` (the default) the client reads the mock's clock and its backoff
    /// sleeps advance it.
    #[uniffi::method(default(
        refresh_token = None,
        scopes = [],
        virtual_clock = true,
        token_store = "memory://",
        refresh_margin_secs = 300.0
    ))]
    pub fn client(
        &self,
        refresh_token: Option<String>,
        scopes: Vec<String>,
        virtual_clock: bool,
        token_store: String,
        refresh_margin_secs: f64,
    ) -> Result<Arc<Client>> {
        let refresh_token = match refresh_token {
            Some(t) => t,
            None => {
                let scopes =
                    if scopes.is_empty() { DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect() } else { scopes };
                self.mint_refresh_token(scopes, None, None)?
            }
        };
        let base = self.base_url()?;
        let inner = ClientConfig {
            app: AppConfig {
                client_id: DEFAULT_CLIENT_ID.to_string(),
                client_secret: Some(DEFAULT_CLIENT_SECRET.to_string()),
                dc: Some(self.home_dc()?),
                accounts_url: Some(base.clone()),
                clock: virtual_clock.then(|| self.clock()),
                ..AppConfig::default()
            },
            refresh_token,
            token_store: Some(token_store),
            api_domain: Some(base),
            refresh_margin: Some(refresh_margin_secs),
            ..ClientConfig::default()
        }
        .build()?;
        Ok(Arc::new(Client { inner }))
    }

    /// Stops the listeners. Calling it twice is harmless.
    pub fn stop(&self) {
        let taken = lock(&self.inner).take();
        if let Some(mock) = taken {
            zoho_oauth::runtime().block_on(mock.stop());
        }
    }
}
