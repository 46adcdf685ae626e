//! One configuration surface for every language: options as plain values (strings, numbers of
//! seconds, integers, lists of pairs), exactly as a Python keyword argument, a JavaScript option
//! object, a Kotlin parameter, an environment variable or a command-line flag carries them,
//! validated and resolved here once.
//!
//! Why: each binding used to convert its options itself, and the copies drifted (the
//! accounts-URL rule lived in two bindings and was missing in the third; a zero timeout was an
//! error in two languages and accepted in one). Now a binding maps its idiomatic names onto
//! [`AppConfig`], [`ClientConfig`] or [`RequestConfig`] and does nothing else, so the same
//! input gives the same client, or the same `config` error, in every language. The typed
//! builders ([`OAuthAppBuilder`], [`ClientBuilder`], [`RequestBuilder`]) stay the Rust API; this
//! layer only turns loose values into their typed arguments.
//!
//! The rules, each in one place:
//! - **Seconds** are finite and not negative; timeouts are positive ([`seconds`]).
//! - **Counts**: `max_retries` 0 to 100, `max_concurrency` and `max_response_bytes` at least 1,
//!   `refresh_budget` 1 to 10 (Zoho's limit), `per_page` 1 to 200 ([`per_page`]).
//! - **Data centre**: a code (`us eu in au jp cn ca sa uk`) or a Zoho accounts URL.
//! - **Client type**: `server` (also `server-based`, `web`), `self` (also `self-client`,
//!   `self_client`, `selfclient`), `mobile` (also `desktop`), `device` (also `non-browser`).
//! - **Accounts URL**: a Zoho accounts server (`https://accounts.zoho.eu`) names the user's data
//!   centre, as the callback's `accounts-server` does; anything else (a proxy, the mock on
//!   loopback) overrides the home data centre's accounts server. Without one, an initial token
//!   from a Zoho accounts server names it.
//! - **Methods**: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, in any case ([`method`]).
//! - **One body** per request: JSON, form fields or raw bytes.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{ClientType, OAuthApp, OAuthAppBuilder};
use crate::client::{Client, ClientBuilder, Method, Product, RequestBuilder};
use crate::clock::Clock;
use crate::dc::DataCenter;
use crate::error::{Error, Result};
use crate::token::TokenSet;

/// How option names are spelled in error messages, so a message names the option as the
/// caller wrote it: `refresh_margin` (Rust, Python, Kotlin, the CLI) or `refreshMargin` (Node).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Naming {
    /// `snake_case` (the default).
    #[default]
    Snake,
    /// `camelCase`.
    Camel,
}

impl Naming {
    /// `name` (written in snake_case) in this spelling.
    pub fn name(self, name: &str) -> String {
        match self {
            Naming::Snake => name.to_string(),
            Naming::Camel => {
                let mut out = String::with_capacity(name.len());
                let mut upper = false;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// Zoho's own limit of access tokens per refresh token per 10 minutes: a larger budget would
/// only meet `Access Denied`.
const MAX_REFRESH_BUDGET: i64 = 10;
/// More retries than this is a mistake (a loop that never gives up), not a policy.
const MAX_RETRIES: i64 = 100;
/// Zoho CRM serves at most 200 records per page.
const MAX_PER_PAGE: i64 = 200;

/// The options of an [`OAuthApp`] as plain values (see the module docs for the rules).
#[derive(Clone, Default)]
pub struct AppConfig {
    /// The client id from <https://api-console.zoho.com> (`1000.XXXX`).
    pub client_id: String,
    /// The client secret, used in every data centre without one of its own.
    pub client_secret: Option<String>,
    /// The home data centre: a code or a Zoho accounts URL (default `us`).
    pub dc: Option<String>,
    /// The kind of client registered in the API console (default `server`).
    pub client_type: Option<String>,
    /// Overrides the home data centre's accounts server (a proxy, the mock on loopback).
    pub accounts_url: Option<String>,
    /// Accounts servers of other data centres, by code; they become trusted callback servers.
    pub dc_accounts_urls: Vec<(String, String)>,
    /// Client secrets of other data centres, by code, where they differ.
    pub dc_secrets: Vec<(String, String)>,
    /// Timeout of one token-endpoint request, in seconds (default 30).
    pub timeout: Option<f64>,
    /// Another clock (tests and the demo use the mock's virtual one).
    pub clock: Option<Arc<dyn Clock>>,
    /// How error messages spell option names.
    pub naming: Naming,
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dcs: Vec<&str> = self.dc_secrets.iter().map(|(dc, _)| dc.as_str()).collect();
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("dc", &self.dc)
            .field("client_type", &self.client_type)
            .field("accounts_url", &self.accounts_url)
            .field("dc_accounts_urls", &self.dc_accounts_urls)
            .field("dc_secrets_for", &dcs)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// The typed builder these values describe, for callers that set more (a clock of their own).
    pub fn builder(self) -> Result<OAuthAppBuilder> {
        let n = self.naming;
        let mut b = OAuthApp::builder(self.client_id);
        if let Some(dc) = self.dc {
            b = b.dc(data_center("dc", &dc)?);
        }
        if let Some(s) = self.client_secret {
            b = b.client_secret(s);
        }
        if let Some(t) = self.client_type {
            b = b.client_type(t.parse()?);
        }
        if let Some(u) = self.accounts_url {
            b = b.accounts_url(u);
        }
        for (code, url) in self.dc_accounts_urls {
            b = b.dc_accounts_url(data_center(&n.name("dc_accounts_urls"), &code)?, url);
        }
        for (code, secret) in self.dc_secrets {
            b = b.dc_secret(data_center(&n.name("dc_secrets"), &code)?, secret);
        }
        if let Some(t) = self.timeout {
            b = b.timeout(seconds(&n.name("timeout"), t, true)?);
        }
        if let Some(c) = self.clock {
            b = b.clock(c);
        }
        Ok(b)
    }

    /// Validate and build the app (no network I/O).
    pub fn build(self) -> Result<OAuthApp> {
        self.builder()?.build()
    }
}

/// The options of a [`Client`] as plain values (see the module docs for the rules). `timeout`
/// bounds each API attempt and, unless `app.timeout` is set, each token request too.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// The registered app.
    pub app: AppConfig,
    /// The refresh token (from a code exchange with `access_type=offline`).
    pub refresh_token: String,
    /// Token store URL: `memory://` (default), `file:///path/tokens.json`, `redis://…`.
    pub token_store: Option<String>,
    /// The user's accounts server, when known apart from `app.accounts_url` (it must be a Zoho
    /// accounts server or one configured on the app).
    pub accounts_server: Option<String>,
    /// Explicit base URL of relative paths of every product.
    pub api_domain: Option<String>,
    /// More origins the access token may be sent to.
    pub allow_hosts: Vec<String>,
    /// Seconds before expiry to refresh (default 300).
    pub refresh_margin: Option<f64>,
    /// Refreshes allowed per 10 minutes, 1 to 10 (default 10, Zoho's limit).
    pub refresh_budget: Option<i64>,
    /// Timeout of one attempt, in seconds (default 30).
    pub timeout: Option<f64>,
    /// Retries after the first attempt, 0 to 100 (default 3).
    pub max_retries: Option<i64>,
    /// At most this many requests of the client in flight (default unlimited).
    pub max_concurrency: Option<i64>,
    /// Largest API response body read, in bytes (default 64 MiB).
    pub max_response_bytes: Option<i64>,
    /// Tokens from a code exchange, used until they expire.
    pub initial_token: Option<TokenSet>,
    /// How error messages spell option names (also used for `app`).
    pub naming: Naming,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("app", &self.app)
            .field("refresh_token", &"[redacted]")
            .field("token_store", &self.token_store.as_deref().map(crate::redact::masked_url))
            .field("accounts_server", &self.accounts_server)
            .field("api_domain", &self.api_domain)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// The typed builder these values describe, for callers that set more (a store object).
    pub fn builder(self) -> Result<ClientBuilder> {
        let n = self.naming;
        let mut app = self.app;
        app.naming = n;
        if app.timeout.is_none() {
            app.timeout = self.timeout;
        }
        // The accounts-URL rule (module docs): a Zoho accounts server names the user's DC.
        // An accounts URL that is Zoho's moves from the app (override) to the client (user's DC).
        let zoho_server = if app.accounts_url.is_some() {
            app.accounts_url.take_if(|u| is_zoho_accounts_server(u))
        } else {
            self.initial_token.as_ref().map(|t| t.accounts_server.clone()).filter(|u| is_zoho_accounts_server(u))
        };
        let mut b = Client::builder(app.build()?, self.refresh_token);
        if let Some(s) = self.accounts_server.or(zoho_server) {
            b = b.accounts_server(s);
        }
        if let Some(s) = self.token_store {
            b = b.token_store_url(s);
        }
        if let Some(d) = self.api_domain {
            b = b.api_domain(d);
        }
        for h in self.allow_hosts {
            b = b.allow_host(h);
        }
        if let Some(m) = self.refresh_margin {
            b = b.refresh_margin(seconds(&n.name("refresh_margin"), m, false)?);
        }
        if let Some(v) = self.refresh_budget {
            b = b.refresh_budget(count(
                &n.name("refresh_budget"),
                v,
                1,
                MAX_REFRESH_BUDGET,
                "Zoho issues at most 10 per 10 minutes",
            )? as u32);
        }
        if let Some(t) = self.timeout {
            b = b.timeout(seconds(&n.name("timeout"), t, true)?);
        }
        if let Some(v) = self.max_retries {
            b = b.max_retries(retries(&n.name("max_retries"), v)?);
        }
        if let Some(v) = self.max_concurrency {
            b = b.max_concurrency(
                count(&n.name("max_concurrency"), v, 1, i64::MAX, "or leave it unset (unlimited)")? as usize
            );
        }
        if let Some(v) = self.max_response_bytes {
            let v = count(&n.name("max_response_bytes"), v, 1, i64::MAX, "or leave it unset (64 MiB)")?;
            b = b.max_response_bytes(usize::try_from(v).unwrap_or(usize::MAX));
        }
        if let Some(t) = self.initial_token {
            b = b.initial_token(t);
        }
        Ok(b)
    }

    /// Validate and build the client (no network I/O).
    pub fn build(self) -> Result<Client> {
        self.builder()?.build()
    }

    /// Options from the environment: `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`,
    /// `ZOHO_REFRESH_TOKEN` (required), `ZOHO_DC`, `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL` and
    /// `ZOHO_API_DOMAIN`. Empty variables count as unset.
    pub fn from_env() -> Result<ClientConfig> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let need = |k: &str| {
            var(k).ok_or_else(|| Error::config(format!("{k} is not set"), format!("export {k} (see the README)")))
        };
        let dc = var("ZOHO_DC");
        if let Some(d) = &dc {
            data_center("dc", d)
                .map_err(|e| Error::config(format!("ZOHO_DC: {}", e.message()), e.hint().unwrap_or_default()))?;
        }
        Ok(ClientConfig {
            app: AppConfig {
                client_id: need("ZOHO_CLIENT_ID")?,
                client_secret: Some(need("ZOHO_CLIENT_SECRET")?),
                dc,
                accounts_url: var("ZOHO_ACCOUNTS_URL"),
                ..AppConfig::default()
            },
            refresh_token: need("ZOHO_REFRESH_TOKEN")?,
            token_store: var("ZOHO_TOKEN_STORE"),
            api_domain: var("ZOHO_API_DOMAIN"),
            ..ClientConfig::default()
        })
    }
}

/// A request body: at most one per request.
#[derive(Clone, Debug)]
pub enum Body {
    /// A JSON document, already serialized (`application/json`).
    Json(Vec<u8>),
    /// Form fields (`application/x-www-form-urlencoded`).
    Form(Vec<(String, String)>),
    /// Raw bytes with their content type, if any.
    Raw {
        /// The bytes sent.
        bytes: Vec<u8>,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
    },
}

/// One request as plain values (see the module docs for the rules).
#[derive(Clone, Debug, Default)]
pub struct RequestConfig {
    /// The HTTP method, in any case (default GET).
    pub method: Option<String>,
    /// A path (resolved against the product's base URL) or an absolute URL.
    pub url: String,
    /// Query parameters; a key may repeat.
    pub params: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The bodies given: more than one is a `config` error.
    pub bodies: Vec<Body>,
    /// `crm` (default), `books`, `desk`, `mail` or `campaigns`.
    pub product: Option<String>,
    /// Timeout of each attempt, in seconds (the client's by default).
    pub timeout: Option<f64>,
    /// Retries of this request, 0 to 100 (the client's by default).
    pub max_retries: Option<i64>,
    /// Retry 5xx and connection errors for POST and PATCH too.
    pub retry_non_idempotent: Option<bool>,
    /// How error messages spell option names.
    pub naming: Naming,
}

impl RequestConfig {
    /// The typed request on `client` these values describe (not sent yet).
    pub fn request(self, client: &Client) -> Result<RequestBuilder> {
        let n = self.naming;
        let m = match &self.method {
            Some(m) => method(m)?,
            None => Method::GET,
        };
        if self.bodies.len() > 1 {
            return Err(Error::config(
                "more than one request body was given",
                "pass one body: JSON, form fields or raw bytes",
            ));
        }
        let mut req = client.request(m, self.url);
        if !self.params.is_empty() {
            req = req.query(&self.params);
        }
        for (name, value) in self.headers {
            req = req.header(name, value);
        }
        match self.bodies.into_iter().next() {
            Some(Body::Json(bytes)) => req = req.body(bytes, Some("application/json")),
            Some(Body::Form(pairs)) => req = req.form(&pairs),
            Some(Body::Raw { bytes, content_type }) => req = req.body(bytes, content_type.as_deref()),
            None => {}
        }
        if let Some(p) = self.product {
            req = req.product(p.parse::<Product>()?);
        }
        if let Some(t) = self.timeout {
            req = req.timeout(seconds(&n.name("timeout"), t, true)?);
        }
        if let Some(v) = self.max_retries {
            req = req.max_retries(retries(&n.name("max_retries"), v)?);
        }
        if let Some(y) = self.retry_non_idempotent {
            req = req.retry_non_idempotent(y);
        }
        Ok(req)
    }
}

/// A number of seconds as a `Duration`: finite, not negative, and above zero when `positive`.
/// `name` is the option's name in the message.
pub fn seconds(name: &str, value: f64, positive: bool) -> Result<Duration> {
    if !value.is_finite() || value < 0.0 || (positive && value == 0.0) {
        let want = if positive { "a positive number of seconds" } else { "zero or a positive number of seconds" };
        return Err(Error::config(format!("{name} must be {want}, got {value}"), format!("pass {name} as {want}")));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| Error::config(format!("{name} is too large: {value}"), format!("pass a smaller {name}")))
}

/// A retry count: 0 to 100. `name` is the option's name in the message.
pub fn retries(name: &str, n: i64) -> Result<u32> {
    Ok(count(name, n, 0, MAX_RETRIES, "a small number such as 3")? as u32)
}

/// A page size: 1 to 200 (Zoho CRM serves at most 200 records per page). `name` is the
/// option's name in the message.
pub fn per_page(name: &str, n: i64) -> Result<u32> {
    Ok(count(name, n, 1, MAX_PER_PAGE, "Zoho CRM serves at most 200 records per page")? as u32)
}

/// An HTTP method, in any case: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
pub fn method(name: &str) -> Result<Method> {
    const KNOWN: [Method; 7] =
        [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::HEAD, Method::OPTIONS];
    let trimmed = name.trim();
    KNOWN.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(trimmed)).ok_or_else(|| {
        Error::config(
            format!("invalid HTTP method {:?}", name.chars().take(20).collect::<String>()),
            "use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
        )
    })
}

/// An integer in `lo..=hi`, else a config error naming the option and the range.
fn count(name: &str, n: i64, lo: i64, hi: i64, hint: &str) -> Result<u64> {
    if n < lo || n > hi {
        let range = if hi == i64::MAX { format!("at least {lo}") } else { format!("between {lo} and {hi}") };
        return Err(Error::config(format!("{name} must be {range}, got {n}"), format!("pass {range}: {hint}")));
    }
    Ok(n as u64)
}

/// A data centre by code or Zoho accounts URL, with the option's name in the message.
fn data_center(name: &str, value: &str) -> Result<DataCenter> {
    value.parse::<DataCenter>().map_err(|e| {
        Error::config(
            format!("{name}: {}", e.message()),
            e.hint().unwrap_or("use us, eu, in, au, jp, cn, ca, sa or uk"),
        )
    })
}

/// True for a Zoho accounts server (`https://accounts.zoho.eu`), which names a data centre.
fn is_zoho_accounts_server(url: &str) -> bool {
    DataCenter::from_accounts_url(url).is_ok()
}

impl ClientType {
    /// The canonical name, as [`FromStr`] parses it: `server`, `self`, `mobile`, `device`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Server => "server",
            ClientType::SelfClient => "self",
            ClientType::Mobile => "mobile",
            ClientType::Device => "device",
        }
    }
}

impl FromStr for ClientType {
    type Err = Error;

    /// The client type as the API console names it, with the aliases of the module docs.
    fn from_str(s: &str) -> Result<ClientType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "server" | "server-based" | "web" => Ok(ClientType::Server),
            "self" | "self-client" | "self_client" | "selfclient" => Ok(ClientType::SelfClient),
            "mobile" | "desktop" => Ok(ClientType::Mobile),
            "device" | "non-browser" => Ok(ClientType::Device),
            _ => Err(Error::config(
                format!("unknown client type {:?}", s.chars().take(30).collect::<String>()),
                "use one of server, self, mobile, device (the kind registered in the API console)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn client(f: impl FnOnce(&mut ClientConfig)) -> Result<Client> {
        let mut c = ClientConfig {
            app: AppConfig { client_id: "1000.X".into(), client_secret: Some("s".into()), ..Default::default() },
            refresh_token: "1000.r".into(),
            ..Default::default()
        };
        f(&mut c);
        c.build()
    }

    fn code(r: Result<Client>) -> Option<ErrorCode> {
        r.err().map(|e| e.code())
    }

    #[test]
    fn a_zoho_accounts_url_names_the_users_dc() {
        let c = client(|c| c.app.accounts_url = Some("https://accounts.zoho.eu".into())).unwrap();
        assert_eq!(c.dc(), DataCenter::Eu);
        assert_eq!(c.accounts_server(), "https://accounts.zoho.eu");
        assert_eq!(c.app().dc(), DataCenter::Us, "the home DC stays");
        let c = client(|c| c.app.accounts_url = Some("http://127.0.0.1:9".into())).unwrap();
        assert_eq!(c.dc(), DataCenter::Us);
        assert_eq!(c.accounts_server(), "http://127.0.0.1:9");
    }

    #[test]
    fn limits_are_errors_not_clamps() {
        assert_eq!(code(client(|c| c.timeout = Some(0.0))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.refresh_margin = Some(-1.0))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.max_retries = Some(101))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.max_concurrency = Some(0))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.max_response_bytes = Some(0))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.refresh_budget = Some(11))), Some(ErrorCode::Config));
        assert_eq!(code(client(|c| c.app.client_type = Some("desktop-ish".into()))), Some(ErrorCode::Config));
        assert!(client(|c| c.refresh_margin = Some(0.0)).is_ok());
        assert!(client(|c| c.app.client_type = Some("self-client".into())).is_ok());
        assert!(client(|c| c.app.dc = Some("https://accounts.zoho.in".into())).is_ok());
    }

    #[test]
    fn methods_and_pages() {
        assert_eq!(method(" patch ").unwrap(), Method::PATCH);
        assert_eq!(method("GETT").unwrap_err().code(), ErrorCode::Config);
        assert_eq!(per_page("per_page", 200).unwrap(), 200);
        assert!(per_page("per_page", 0).is_err() && per_page("per_page", 201).is_err());
        assert_eq!(Naming::Camel.name("max_response_bytes"), "maxResponseBytes");
        let e = client(|c| {
            c.refresh_margin = Some(-1.0);
            c.naming = Naming::Camel;
        });
        assert!(e.unwrap_err().message().contains("refreshMargin"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = ClientConfig {
            app: AppConfig {
                client_id: "1000.X".into(),
                client_secret: Some("sekret-1".into()),
                dc_secrets: vec![("eu".into(), "sekret-2".into())],
                ..Default::default()
            },
            refresh_token: "sekret-3".into(),
            token_store: Some("redis://:sekret-4@h:6379/0".into()),
            ..Default::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("sekret"), "{d}");
    }
}
