//! Core errors out as one uniffi error enum: `ZohoException` in Kotlin, a sealed class with one
//! subclass per stable code of the core (DESIGN "Behaviour every language gets", point 7).
//!
//! Every variant carries the same fields, copied from `zoho_oauth::Error`, which never holds a
//! secret; `code()`, `family()` and `detail()` give them from the base class.

use std::fmt;
use std::time::Duration;

use zoho_oauth::{ErrorCode, ErrorFamily as CoreFamily};

/// The one error of zoho-oauth: a subclass per stable code (`ZohoException.InvalidCode` for
/// `invalid_code` ...). `code()` gives the stable string shared by Rust, Python, Node and
/// Kotlin; `family()` the group (auth, rate limit, API, transport, config, store); `detail()`
/// every field. `toString()` is the core's one-line description with its hint.
///
/// No secret (client secret, refresh or access token, grant code, PKCE verifier) is ever part
/// of an error.
#[derive(Debug, uniffi::Error)]
#[uniffi::export(Display)]
pub enum ZohoError {
    /// `invalid_code`: grant code (or refresh token) unknown, used, expired, revoked or of
    /// another DC.
    InvalidCode {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `invalid_client`: client id unknown, or the client is not enabled in this DC.
    InvalidClient {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `invalid_client_secret`: the client secret is wrong for this DC.
    InvalidClientSecret {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `invalid_redirect_uri`: the redirect URI differs from the registered one.
    InvalidRedirectUri {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `access_denied`: the user (or Zoho's grant-code throttle) refused access.
    AccessDenied {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `state_mismatch`: the callback's `state` is not the one this app sent.
    StateMismatch {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `untrusted_accounts_server`: the callback names an accounts server that is neither a
    /// Zoho host nor configured.
    UntrustedAccountsServer {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `device_flow_expired`: the device flow's user code expired before the user approved it.
    DeviceFlowExpired {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `token_throttled`: Zoho's token throttle ("Access Denied") is active for this refresh
    /// token; `retry_after_secs` says how long.
    TokenThrottled {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `refresh_budget_exhausted`: the local refresh budget (10 per 10 minutes) is spent; no
    /// request was sent.
    RefreshBudgetExhausted {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `rate_limited`: a product API answered 429 (or a rate-limit error code).
    RateLimited {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `unauthorized`: a product API rejected the token (401 with a dead-token code).
    Unauthorized {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `scope_mismatch`: the token lacks the scope the API needs; a refresh will not help.
    ScopeMismatch {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `api_error`: any other product API error.
    ApiError {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `timeout`: a request or the overall deadline timed out.
    Timeout {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `transport`: connection, TLS or other transport failure.
    Transport {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `invalid_response`: Zoho (or whatever answered) sent something zoho-oauth cannot
    /// understand.
    InvalidResponse {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `response_too_large`: an answer's body passed the size cap (1 MiB for token answers,
    /// `max_response_bytes` for API answers); reading stopped at the cap.
    ResponseTooLarge {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `config`: bad configuration or input (unknown DC, disallowed host, malformed URL ...),
    /// caught before any network I/O.
    Config {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
    /// `store`: the token store failed.
    Store {
        /// The message written by zoho-oauth.
        reason: String,
        /// HTTP status of the answer, when there was one.
        status: Option<i32>,
        /// Zoho's own error code, when the answer had one.
        zoho_code: Option<String>,
        /// Zoho's own error message, when the answer had one.
        zoho_message: Option<String>,
        /// Seconds to wait before trying again, when known.
        retry_after_secs: Option<f64>,
        /// A hint a person can act on.
        hint: Option<String>,
    },
}

/// The group of an error code, for handling errors by kind (DESIGN "Which class").
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ErrorFamily {
    /// Authorization and token-exchange failures (`invalid_code`, `state_mismatch` ...).
    Auth,
    /// Throttles and budgets (`token_throttled`, `refresh_budget_exhausted`, `rate_limited`).
    RateLimit,
    /// Product API errors (`unauthorized`, `scope_mismatch`, `api_error`).
    Api,
    /// Network, timeout and unparseable or oversized answers (`transport`, `timeout`,
    /// `invalid_response`, `response_too_large`).
    Transport,
    /// Bad configuration or input (`config`).
    Config,
    /// Token store failures (`store`).
    Store,
}

/// Every field of a [`ZohoError`], whichever its variant.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ErrorDetail {
    /// The stable code, such as `invalid_code`.
    pub code: String,
    /// The message written by zoho-oauth.
    pub reason: String,
    /// HTTP status of the answer, when there was one.
    pub status: Option<i32>,
    /// Zoho's own error code, when the answer had one.
    pub zoho_code: Option<String>,
    /// Zoho's own error message, when the answer had one.
    pub zoho_message: Option<String>,
    /// Seconds to wait before trying again, when known.
    pub retry_after_secs: Option<f64>,
    /// A hint a person can act on.
    pub hint: Option<String>,
}

/// The fields every variant shares.
struct Fields {
    reason: String,
    status: Option<i32>,
    zoho_code: Option<String>,
    zoho_message: Option<String>,
    retry_after_secs: Option<f64>,
    hint: Option<String>,
}

/// `ZohoError::$variant` with the shared fields of `$f`.
macro_rules! variant {
    ($variant:ident, $f:ident) => {
        ZohoError::$variant {
            reason: $f.reason,
            status: $f.status,
            zoho_code: $f.zoho_code,
            zoho_message: $f.zoho_message,
            retry_after_secs: $f.retry_after_secs,
            hint: $f.hint,
        }
    };
}

impl From<zoho_oauth::Error> for ZohoError {
    fn from(e: zoho_oauth::Error) -> Self {
        let f = Fields {
            reason: e.message().to_string(),
            status: e.status().map(i32::from),
            zoho_code: e.zoho_code().map(str::to_string),
            zoho_message: e.zoho_message().map(str::to_string),
            retry_after_secs: e.retry_after().map(|d| d.as_secs_f64()),
            hint: e.hint().map(str::to_string),
        };
        match e.code() {
            ErrorCode::InvalidCode => variant!(InvalidCode, f),
            ErrorCode::InvalidClient => variant!(InvalidClient, f),
            ErrorCode::InvalidClientSecret => variant!(InvalidClientSecret, f),
            ErrorCode::InvalidRedirectUri => variant!(InvalidRedirectUri, f),
            ErrorCode::AccessDenied => variant!(AccessDenied, f),
            ErrorCode::StateMismatch => variant!(StateMismatch, f),
            ErrorCode::UntrustedAccountsServer => variant!(UntrustedAccountsServer, f),
            ErrorCode::DeviceFlowExpired => variant!(DeviceFlowExpired, f),
            ErrorCode::TokenThrottled => variant!(TokenThrottled, f),
            ErrorCode::RefreshBudgetExhausted => variant!(RefreshBudgetExhausted, f),
            ErrorCode::RateLimited => variant!(RateLimited, f),
            ErrorCode::Unauthorized => variant!(Unauthorized, f),
            ErrorCode::ScopeMismatch => variant!(ScopeMismatch, f),
            ErrorCode::ApiError => variant!(ApiError, f),
            ErrorCode::Timeout => variant!(Timeout, f),
            ErrorCode::Transport => variant!(Transport, f),
            ErrorCode::InvalidResponse => variant!(InvalidResponse, f),
            ErrorCode::ResponseTooLarge => variant!(ResponseTooLarge, f),
            ErrorCode::Config => variant!(Config, f),
            ErrorCode::Store => variant!(Store, f),
            // The core's codes are `non_exhaustive`: a code added there before this binding
            // learns it lands in the most general variant of its family.
            other => match other.family() {
                CoreFamily::Auth => variant!(AccessDenied, f),
                CoreFamily::RateLimit => variant!(RateLimited, f),
                CoreFamily::Api => variant!(ApiError, f),
                CoreFamily::Transport => variant!(Transport, f),
                CoreFamily::Config => variant!(Config, f),
                CoreFamily::Store => variant!(Store, f),
            },
        }
    }
}

impl ZohoError {
    /// A `config` error raised by this binding (bad input caught before calling the core).
    pub(crate) fn config(reason: impl Into<String>, hint: impl Into<String>) -> Self {
        zoho_oauth::Error::config(reason, hint).into()
    }

    /// The core code and (a copy of) the shared fields of any variant.
    fn parts(&self) -> (ErrorCode, Fields) {
        macro_rules! arms {
            ($($v:ident),*) => {
                match self {
                    $(ZohoError::$v { reason, status, zoho_code, zoho_message, retry_after_secs, hint } => (
                        ErrorCode::$v,
                        Fields {
                            reason: reason.clone(),
                            status: *status,
                            zoho_code: zoho_code.clone(),
                            zoho_message: zoho_message.clone(),
                            retry_after_secs: *retry_after_secs,
                            hint: hint.clone(),
                        },
                    ),)*
                }
            };
        }
        arms!(
            InvalidCode,
            InvalidClient,
            InvalidClientSecret,
            InvalidRedirectUri,
            AccessDenied,
            StateMismatch,
            UntrustedAccountsServer,
            DeviceFlowExpired,
            TokenThrottled,
            RefreshBudgetExhausted,
            RateLimited,
            Unauthorized,
            ScopeMismatch,
            ApiError,
            Timeout,
            Transport,
            InvalidResponse,
            ResponseTooLarge,
            Config,
            Store
        )
    }

    fn core_code(&self) -> ErrorCode {
        self.parts().0
    }

    /// The core error this one was converted from (every field the core shows).
    fn to_core(&self) -> zoho_oauth::Error {
        let (code, p) = self.parts();
        let mut e = zoho_oauth::Error::new(code, p.reason);
        if let Some(s) = p.status.and_then(|s| u16::try_from(s).ok()) {
            e = e.with_status(s);
        }
        if let Some(c) = p.zoho_code {
            e = e.with_zoho_code(c);
        }
        if let Some(m) = p.zoho_message {
            e = e.with_zoho_message(m);
        }
        if let Some(r) = p.retry_after_secs.and_then(|r| Duration::try_from_secs_f64(r).ok()) {
            e = e.with_retry_after(r);
        }
        if let Some(h) = p.hint {
            e = e.with_hint(h);
        }
        e
    }
}

#[uniffi::export]
impl ZohoError {
    /// The stable code (`invalid_code`, `rate_limited`, `config` ...), identical in every
    /// language.
    pub fn code(&self) -> String {
        self.core_code().as_str().to_string()
    }

    /// The group of the code: auth, rate limit, API, transport, config or store.
    pub fn family(&self) -> ErrorFamily {
        match self.core_code().family() {
            CoreFamily::Auth => ErrorFamily::Auth,
            CoreFamily::RateLimit => ErrorFamily::RateLimit,
            CoreFamily::Api => ErrorFamily::Api,
            CoreFamily::Transport => ErrorFamily::Transport,
            CoreFamily::Config => ErrorFamily::Config,
            CoreFamily::Store => ErrorFamily::Store,
        }
    }

    /// True for errors where waiting and trying again can succeed (throttles, rate limits,
    /// timeouts, transport failures).
    pub fn is_retryable(&self) -> bool {
        self.to_core().is_retryable()
    }

    /// Every field, whichever the variant.
    pub fn detail(&self) -> ErrorDetail {
        let (code, f) = self.parts();
        ErrorDetail {
            code: code.as_str().to_string(),
            reason: f.reason,
            status: f.status,
            zoho_code: f.zoho_code,
            zoho_message: f.zoho_message,
            retry_after_secs: f.retry_after_secs,
            hint: f.hint,
        }
    }
}

impl fmt::Display for ZohoError {
    /// The core's one-line format: message, code, HTTP status, Zoho's code and message, retry
    /// delay and hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_core(), f)
    }
}

impl std::error::Error for ZohoError {}

/// The binding's result type.
pub type Result<T, E = ZohoError> = std::result::Result<T, E>;
