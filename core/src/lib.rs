//! Zoho OAuth 2.0, client side: token exchange, token caching with single-flight refresh,
//! and authenticated requests to Zoho CRM, Desk, Books, Mail and Campaigns, in every data
//! centre.
//!
//! This crate is the one implementation behind the Rust, Python and Node packages: Zoho's
//! quirks (errors with HTTP 200, `expires_in` in milliseconds, per-DC accounts servers and
//! secrets, the 10-refreshes-per-10-minutes lockout) are handled here once.
//!
//! # Quick start
//!
//! A self client (codes generated in the API console) exchanging a code once, then a
//! [`Client`] that keeps a valid access token and calls CRM:
//!
//! ```no_run
//! use zoho_oauth::{Client, DataCenter, GrantCode, OAuthApp};
//!
//! # async fn run() -> zoho_oauth::Result<()> {
//! let app = OAuthApp::new("1000.XXXX", "client-secret", DataCenter::Eu)?;
//!
//! // Once: exchange the grant code and keep the refresh token (and its accounts server).
//! let tokens = app.exchange_code(&GrantCode::new("1000.grant.code")).await?;
//! let refresh = tokens.refresh_token.clone().expect("offline code");
//!
//! // Every run: one client per identity; tokens are cached and refreshed once for everyone.
//! let client = Client::builder(app, refresh)
//!     .accounts_server(tokens.accounts_server.clone())
//!     .build()?;
//! let leads = client
//!     .get("/crm/v8/Leads")
//!     .query(&[("per_page", "200")])
//!     .send()
//!     .await?
//!     .error_for_status()?;
//! println!("{}", leads.text());
//! # Ok(())
//! # }
//! ```
//!
//! Server-based apps build an authorization URL, keep its `state`, and hand the callback URL
//! to [`OAuthApp::handle_callback`], which checks the state and the `accounts-server` and
//! exchanges the code at the user's DC:
//!
//! ```no_run
//! use zoho_oauth::{AuthorizationRequest, CallbackOptions, DataCenter, OAuthApp};
//!
//! # async fn run(callback_url: &str) -> zoho_oauth::Result<()> {
//! let app = OAuthApp::new("1000.XXXX", "client-secret", DataCenter::Us)?;
//! let auth = app.authorization_url(&AuthorizationRequest::new(
//!     &["ZohoCRM.modules.ALL"],
//!     "https://app.example/callback",
//! ))?;
//! // ... redirect the browser to auth.url, keep auth.state in the session ...
//! let tokens = app
//!     .handle_callback(
//!         callback_url,
//!         &CallbackOptions {
//!             expected_state: Some(auth.state),
//!             redirect_uri: Some("https://app.example/callback".into()),
//!             code_verifier: auth.code_verifier,
//!             skip_state_check: false,
//!         },
//!     )
//!     .await?;
//! # let _ = tokens;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Cache**: the access token is served until `expires_at - refresh_margin` (300 s by
//!   default, at most half the token's lifetime) with one atomic load.
//! - **One flight, one outcome**: one refresh per identity at a time in the process (and across
//!   processes with a store that supports leases); every waiter gets its result, error
//!   included. Transient token-endpoint failures are retried twice at most; Zoho's own answers
//!   never are.
//! - **Refresh budget**: at most 10 tokens per refresh token per 10 minutes, counting tokens
//!   issued or possibly issued (not 5xx answers or refused connections), in the store; beyond
//!   that `refresh_budget_exhausted` with `retry_after`, without calling Zoho. After Zoho's
//!   `"Access Denied"` throttle every client sharing the store backs off; after any other failed
//!   refresh, a shared failure backoff (1 s doubling to 30 s) does the same.
//! - **Serve what still works**: a failed or refused refresh returns the current token while it
//!   has more than [`STALE_FLOOR`] to live.
//! - **401**: a dead-token code (`INVALID_TOKEN`, `INVALID_OAUTH`, `INVALID_OAUTHTOKEN`,
//!   `AUTHENTICATION_FAILURE`) invalidates the token if it is still the rejected one, refreshes
//!   once and retries once. Scope errors never refresh.
//! - **Retries**: 429 (any method) and 503 honour `Retry-After`; 5xx and connection errors are
//!   retried for idempotent methods only, unless opted in; full-jitter backoff; a deadline.
//! - **Errors**: one [`Error`] with a stable [`ErrorCode`], HTTP status, Zoho's code and
//!   message, `retry_after` and a hint.
//!
//! # Security
//!
//! - Secrets ([`ClientSecret`], [`RefreshToken`], [`AccessToken`], [`GrantCode`]) print as
//!   `[redacted]` in `Debug` and `Display`, are zeroized on drop, and come out only through
//!   `.secret()`. Errors and `tracing` events never contain them; raw bodies that carry token
//!   fields are dropped from errors.
//! - Secrets travel only in form bodies of `POST` requests, never in URLs.
//! - The access token is sent only to the DC's Zoho hosts, the token's `api_domain` (when it
//!   is a Zoho host or configured explicitly), or hosts configured with
//!   [`ClientBuilder::allow_host`] / [`ClientBuilder::api_domain`]. Anything else is a `config`
//!   error raised before any network I/O. Only `https://` is accepted, except loopback hosts
//!   configured explicitly (tests, the mock).
//! - The client secret is sent only to Zoho's accounts servers or ones configured explicitly;
//!   a callback naming another `accounts-server` is rejected (`untrusted_accounts_server`).
//! - The callback's `state` is compared in constant time; mobile clients use PKCE S256.
//! - Redirects are never followed.
//! - TLS is rustls; there is no OpenSSL and no way to turn certificate checks off.
//!
//! # Runtime
//!
//! Async is primary. [`runtime()`] is a process-wide multi-thread tokio runtime for the
//! language bindings and the `*_blocking` helpers; it is re-created in a forked child.
#![warn(missing_docs)]

// Every type a user names is re-exported below; the modules themselves are private, so the
// crate's surface is this list, plus three modules: `clock` (whose trait a virtual clock
// implements), `config` (options as plain values, for bindings and command lines) and `log`
// (the core's events as redacted records, for logging bridges).
mod app;
mod client;
pub mod clock;
pub mod config;
mod dc;
mod error;
mod flows;
pub mod log;
mod paginate;
mod proxy;
mod redact;
mod response;
mod retry;
mod runtime;
mod secret;
mod store;
mod token;

pub use app::{ClientType, DEFAULT_TOKEN_TIMEOUT, ExchangeRequest, OAuthApp, OAuthAppBuilder};
pub use client::{
    CacheEntry, Client, ClientBuilder, DEFAULT_LEASE_TTL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REFRESH_BUDGET,
    DEFAULT_REFRESH_MARGIN, DEFAULT_TIMEOUT, Method, Product, RequestBuilder, STALE_FLOOR,
};
pub use clock::{Clock, SystemClock};
pub use config::{AppConfig, Body, ClientConfig, RequestConfig};
pub use dc::DataCenter;
pub use error::{Error, ErrorCode, ErrorFamily, Result};
pub use flows::{
    AuthorizationRequest, AuthorizationUrl, Callback, CallbackOptions, DeviceAuthorization, DeviceFlowRequest,
    parse_callback,
};
pub use paginate::Paginator;
pub use redact::masked_url;
pub use response::{RateLimits, Response, is_dead_token_response};
pub use retry::RetryPolicy;
pub use runtime::{
    LoopRequest, LoopRequests, WARM_UP_REQUESTS, block_on, block_on_here, can_block_here, drive_here, here_fd,
    request_here, runtime,
};
pub use secret::{AccessToken, ClientSecret, DeviceCode, GrantCode, PkceVerifier, RefreshToken};
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{
    Backoff, CasStore, DEFAULT_KV_TIMEOUT, FailureSummary, FileStore, KeyValueStore, KvError, MemoryStore, Snapshot,
    StoreKey, StoredIdentity, TokenStore, open_store,
};
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use store::{SCHEMA_VERSION, SqlStore};
#[cfg(feature = "csv")]
pub use store::{SdkToken, import_zoho_sdk_csv};
pub use token::TokenSet;

/// The parsers of product error bodies, for the fuzz targets and property tests only: not part
/// of the API, and not covered by semver.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::response::{envelope, parse_api_error};
}
