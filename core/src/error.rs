//! The one error type of the crate, with a stable `code()` string shared by every language.
//!
//! Bindings map [`ErrorCode`] to their exception classes (see DESIGN "Which class"), so the codes
//! and their spelling are part of the public contract and never change.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::redact::{Scrub, sanitize_body};

/// Stable machine-readable error codes (DESIGN, "Behaviour every language gets", point 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Grant code (or refresh token) unknown, used, expired, revoked or of another DC.
    InvalidCode,
    /// Client id unknown, or the client is not enabled in this DC.
    InvalidClient,
    /// Client secret wrong for this DC.
    InvalidClientSecret,
    /// `redirect_uri` differs from the registered one.
    InvalidRedirectUri,
    /// The user (or Zoho's grant-code throttle) refused access.
    AccessDenied,
    /// The callback's `state` is not the one this app sent.
    StateMismatch,
    /// The callback names an accounts server that is not a Zoho host nor configured.
    UntrustedAccountsServer,
    /// The device flow's user code expired before the user approved it.
    DeviceFlowExpired,
    /// Zoho's token throttle ("Access Denied") is active for this refresh token.
    TokenThrottled,
    /// The local refresh budget (10 per 10 minutes) is spent; no request was sent.
    RefreshBudgetExhausted,
    /// A product API answered 429 (or a rate-limit error code).
    RateLimited,
    /// A product API rejected the token (401 with a dead-token code).
    Unauthorized,
    /// The token lacks the scope the API needs; a refresh will not help.
    ScopeMismatch,
    /// Any other product API error.
    ApiError,
    /// A request or the overall deadline timed out.
    Timeout,
    /// Connection, TLS or other transport failure.
    Transport,
    /// Zoho (or whatever answered) sent something this crate cannot understand.
    InvalidResponse,
    /// An answer's body was larger than the configured cap; reading stopped at the cap.
    ResponseTooLarge,
    /// Bad configuration or input (unknown DC, disallowed host, malformed URL ...).
    Config,
    /// The token store failed.
    Store,
}

impl ErrorCode {
    /// The stable string form, identical in Rust, Python and Node.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidClientSecret => "invalid_client_secret",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::StateMismatch => "state_mismatch",
            ErrorCode::UntrustedAccountsServer => "untrusted_accounts_server",
            ErrorCode::DeviceFlowExpired => "device_flow_expired",
            ErrorCode::TokenThrottled => "token_throttled",
            ErrorCode::RefreshBudgetExhausted => "refresh_budget_exhausted",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ScopeMismatch => "scope_mismatch",
            ErrorCode::ApiError => "api_error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Transport => "transport",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::ResponseTooLarge => "response_too_large",
            ErrorCode::Config => "config",
            ErrorCode::Store => "store",
        }
    }

    /// Every code, in the order of DESIGN point 7.
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::InvalidCode,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidClientSecret,
        ErrorCode::InvalidRedirectUri,
        ErrorCode::AccessDenied,
        ErrorCode::StateMismatch,
        ErrorCode::UntrustedAccountsServer,
        ErrorCode::DeviceFlowExpired,
        ErrorCode::TokenThrottled,
        ErrorCode::RefreshBudgetExhausted,
        ErrorCode::RateLimited,
        ErrorCode::Unauthorized,
        ErrorCode::ScopeMismatch,
        ErrorCode::ApiError,
        ErrorCode::Timeout,
        ErrorCode::Transport,
        ErrorCode::InvalidResponse,
        ErrorCode::ResponseTooLarge,
        ErrorCode::Config,
        ErrorCode::Store,
    ];

    /// The code whose [`as_str`](ErrorCode::as_str) is `s`, if any.
    pub fn from_code(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The error family bindings use to pick an exception class (DESIGN "Which class").
    pub fn family(self) -> ErrorFamily {
        use ErrorCode::*;
        match self {
            InvalidCode
            | InvalidClient
            | InvalidClientSecret
            | InvalidRedirectUri
            | AccessDenied
            | StateMismatch
            | UntrustedAccountsServer
            | DeviceFlowExpired => ErrorFamily::Auth,
            TokenThrottled | RefreshBudgetExhausted | RateLimited => ErrorFamily::RateLimit,
            Unauthorized | ScopeMismatch | ApiError => ErrorFamily::Api,
            Timeout | Transport | InvalidResponse | ResponseTooLarge => ErrorFamily::Transport,
            Config => ErrorFamily::Config,
            Store => ErrorFamily::Store,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exception family of an [`ErrorCode`]: `AuthError`, `RateLimitError`, `ApiError`,
/// `TransportError`, `ConfigError`, `StoreError` in the bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// Authorization and token-exchange failures.
    Auth,
    /// Throttles and budgets.
    RateLimit,
    /// Product API errors.
    Api,
    /// Network, timeout and unparseable answers.
    Transport,
    /// Bad configuration or input.
    Config,
    /// Token store failures.
    Store,
}

impl ErrorFamily {
    /// The stable string form (`auth`, `rate_limit`, `api`, `transport`, `config`, `store`), for
    /// bindings that expose the family as a value next to the exception class.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorFamily::Auth => "auth",
            ErrorFamily::RateLimit => "rate_limit",
            ErrorFamily::Api => "api",
            ErrorFamily::Transport => "transport",
            ErrorFamily::Config => "config",
            ErrorFamily::Store => "store",
        }
    }
}

/// The crate's error: a stable [`ErrorCode`] plus everything a person needs to act on it.
///
/// It never contains a secret: messages are written by this crate, Zoho's own message and
/// code are copied from error bodies only, and raw bodies that carry token fields are dropped.
#[derive(Clone, PartialEq)]
pub struct Error(Box<Inner>);

#[derive(Clone, PartialEq)]
struct Inner {
    code: ErrorCode,
    message: String,
    status: Option<u16>,
    zoho_code: Option<String>,
    zoho_message: Option<String>,
    retry_after: Option<Duration>,
    hint: Option<String>,
    body: Option<String>,
    source: Option<Source>,
}

/// The underlying cause of an [`Error`] (a reqwest, I/O, Redis or serde error), kept for
/// [`std::error::Error::source`]. Shared, so that errors stay cheap to clone.
#[derive(Clone)]
struct Source(Arc<dyn StdError + Send + Sync + 'static>);

impl PartialEq for Source {
    /// Two causes are equal when they read the same, level by level.
    fn eq(&self, other: &Self) -> bool {
        chain_texts(&*self.0) == chain_texts(&*other.0)
    }
}

/// Display and Debug of every level of a cause chain, outermost first.
fn chain_texts(top: &(dyn StdError + 'static)) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut next = Some(top);
    while let Some(e) = next {
        out.push((e.to_string(), format!("{e:?}")));
        next = e.source();
    }
    out
}

/// A cause chain rewritten as text with the identity's secrets removed: what is left of a
/// source that carried a secret (a server can echo one into anything it sends back).
#[derive(Debug)]
struct Scrubbed {
    message: String,
    source: Option<Box<Scrubbed>>,
}

impl Scrubbed {
    fn new(levels: &[(String, String)], scrub: &Scrub) -> Option<Box<Scrubbed>> {
        let ((display, _), rest) = levels.split_first()?;
        Some(Box::new(Scrubbed { message: scrub.apply(display), source: Scrubbed::new(rest, scrub) }))
    }
}

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Scrubbed {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        f.debug_struct("Error")
            .field("code", &e.code)
            .field("message", &e.message)
            .field("status", &e.status)
            .field("zoho_code", &e.zoho_code)
            .field("zoho_message", &e.zoho_message)
            .field("retry_after", &e.retry_after)
            .field("hint", &e.hint)
            .field("body", &e.body)
            .finish()
    }
}

/// Crate-wide result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error with a code and a message; add details with the `with_*` methods.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            code,
            message: message.into(),
            status: None,
            zoho_code: None,
            zoho_message: None,
            retry_after: None,
            hint: None,
            body: None,
            source: None,
        }))
    }

    /// A configuration error with a hint (bad input caught before any I/O).
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::new(ErrorCode::Config, message).with_hint(hint)
    }

    /// Attach the HTTP status of the answer.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Attach Zoho's own error code (`INVALID_TOKEN`, `invalid_code`, `57` ...).
    pub fn with_zoho_code(mut self, code: impl Into<String>) -> Self {
        self.0.zoho_code = Some(code.into());
        self
    }

    /// Attach Zoho's own error message.
    pub fn with_zoho_message(mut self, message: impl Into<String>) -> Self {
        self.0.zoho_message = Some(message.into());
        self
    }

    /// Attach how long to wait before trying again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.0.retry_after = Some(retry_after);
        self
    }

    /// Attach a hint a person can act on.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Attach the raw body of the answer. The values of token fields are redacted (by JSON
    /// key; a non-JSON body that carries token fields is replaced by a placeholder) so that no
    /// secret can leak through an error.
    pub fn with_body(mut self, body: &str) -> Self {
        self.0.body = Some(sanitize_body(body));
        self
    }

    /// Keep the underlying error as this error's [`source`](std::error::Error::source). Only
    /// for causes whose text names no credential: [`scrub`](Error::scrub) rewrites a chain
    /// that contains one of the identity's secrets.
    pub(crate) fn with_source(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.0.source = Some(Source(Arc::new(cause)));
        self
    }

    /// Remove the identity's own secret values from everything this error carries (a server
    /// may echo them anywhere: an HTML page, `error_description`, a header copied into a
    /// message).
    pub(crate) fn scrub(mut self, scrub: &Scrub) -> Self {
        if scrub.is_empty() {
            return self;
        }
        let e = &mut *self.0;
        e.message = scrub.apply(&e.message);
        for field in [&mut e.zoho_code, &mut e.zoho_message, &mut e.hint, &mut e.body] {
            if let Some(v) = field.as_mut() {
                *v = scrub.apply(v);
            }
        }
        // The cause is kept as it is unless some level of it shows a secret; then it is
        // replaced by its scrubbed text, level by level.
        if let Some(Source(cause)) = &e.source {
            let levels = chain_texts(&**cause);
            if levels.iter().any(|(d, g)| scrub.apply(d) != *d || scrub.apply(g) != *g) {
                e.source =
                    Scrubbed::new(&levels, scrub).map(|s| Source(Arc::from(s as Box<dyn StdError + Send + Sync>)));
            }
        }
        self
    }

    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The human message written by this crate.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// Zoho's own error code, when the answer had one.
    pub fn zoho_code(&self) -> Option<&str> {
        self.0.zoho_code.as_deref()
    }

    /// Zoho's own error message, when the answer had one.
    pub fn zoho_message(&self) -> Option<&str> {
        self.0.zoho_message.as_deref()
    }

    /// How long to wait before retrying, when known.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// A hint a person can act on.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// The raw answer body (truncated to 4 KiB, token field values redacted).
    pub fn body(&self) -> Option<&str> {
        self.0.body.as_deref()
    }

    /// True for errors where waiting and trying again can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.0.code,
            ErrorCode::TokenThrottled
                | ErrorCode::RefreshBudgetExhausted
                | ErrorCode::RateLimited
                | ErrorCode::Timeout
                | ErrorCode::Transport
        )
    }

    pub(crate) fn store(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Store, message).with_hint("check that the token store is reachable and writable")
    }

    /// Map a reqwest failure to `timeout` or `transport`, naming the scheme, host and port it
    /// tried but not the path or query (they may carry what the caller did not mean to
    /// publish), and without any header. The reqwest error becomes the source, without its URL
    /// for the same reason.
    pub(crate) fn from_reqwest(err: reqwest::Error, what: &str) -> Self {
        Error::describe_reqwest(&err, what).with_source(err.without_url())
    }

    fn describe_reqwest(err: &reqwest::Error, what: &str) -> Self {
        let what = match err.url() {
            Some(u) => format!(
                "{what} to {}://{}:{}",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            ),
            None => what.to_string(),
        };
        if err.is_timeout() {
            return Error::new(ErrorCode::Timeout, format!("{what} timed out"))
                .with_hint("raise the timeout or check the network path to Zoho");
        }
        let kind = if err.is_connect() {
            "could not connect"
        } else if err.is_body() || err.is_decode() {
            "failed while reading the answer"
        } else if err.is_request() {
            "failed while sending the request"
        } else {
            "failed"
        };
        let mut detail = String::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        let msg = if detail.is_empty() { format!("{what} {kind}") } else { format!("{what} {kind}: {detail}") };
        Error::new(ErrorCode::Transport, msg)
            .with_hint("check connectivity, DNS and TLS to the Zoho host; the call may be retried")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0.message, self.0.code)?;
        if let Some(status) = self.0.status {
            write!(f, " [HTTP {status}]")?;
        }
        if let Some(zc) = &self.0.zoho_code {
            write!(f, " [zoho: {zc}")?;
            if let Some(zm) = &self.0.zoho_message {
                write!(f, ": {zm}")?;
            }
            write!(f, "]")?;
        }
        if let Some(ra) = self.0.retry_after {
            write!(f, " [retry after {} s]", ra.as_secs_f64().ceil() as u64)?;
        }
        if let Some(hint) = &self.0.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    /// The underlying reqwest, I/O, Redis or serde error, when there is one (scrubbed of the
    /// identity's secrets like the rest of the error).
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source.as_ref().map(|Source(s)| &**s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_code_status_hint() {
        let e = Error::new(ErrorCode::InvalidCode, "grant code rejected")
            .with_status(200)
            .with_zoho_code("invalid_code")
            .with_hint("generate a new code");
        let s = e.to_string();
        assert!(s.contains("invalid_code"));
        assert!(s.contains("HTTP 200"));
        assert!(s.contains("hint: generate a new code"));
    }

    #[test]
    fn token_bodies_are_redacted() {
        let e = Error::new(ErrorCode::InvalidResponse, "x")
            .with_body(r#"{"access_token":"1000.secretvalue","expires_in":"#);
        assert!(!format!("{e:?}").contains("secretvalue"));
        assert!(!e.body().unwrap_or_default().contains("secretvalue"));
    }

    #[test]
    fn long_bodies_truncate_on_char_boundary() {
        let body = "é".repeat(5000);
        let e = Error::new(ErrorCode::ApiError, "x").with_body(&body);
        assert!(e.body().unwrap_or_default().ends_with("[truncated]"));
    }

    #[test]
    fn codes_round_trip() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::from_code("nope"), None);
        let distinct: std::collections::HashSet<_> = ErrorCode::ALL.into_iter().collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_code("response_too_large"), Some(ErrorCode::ResponseTooLarge));
    }

    #[test]
    fn a_source_that_shows_a_secret_is_scrubbed_level_by_level() {
        let io = std::io::Error::other("peer echoed 1000.refresh.secret.value");
        let e = Error::new(ErrorCode::Transport, "failed").with_source(io);
        assert!(StdError::source(&e).is_some_and(|s| s.to_string().contains("1000.refresh.secret.value")));
        let e = e.scrub(&Scrub::new(["1000.refresh.secret.value"]));
        let mut level = StdError::source(&e);
        let mut seen = 0;
        while let Some(s) = level {
            assert!(!format!("{s} {s:?}").contains("1000.refresh.secret.value"), "{s:?}");
            assert!(s.to_string().contains("peer echoed [redacted]"), "{s}");
            seen += 1;
            level = s.source();
        }
        assert_eq!(seen, 1);
        // A cause without a secret is kept as it is (downcastable).
        let e = Error::new(ErrorCode::Store, "x")
            .with_source(std::io::Error::other("disk full"))
            .scrub(&Scrub::new(["1000.refresh.secret.value"]));
        assert!(StdError::source(&e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()));
        assert_eq!(e.to_string(), "x (store)", "Display does not change with a source");
    }

    #[test]
    fn families() {
        assert_eq!(ErrorCode::StateMismatch.family(), ErrorFamily::Auth);
        assert_eq!(ErrorCode::RefreshBudgetExhausted.family(), ErrorFamily::RateLimit);
        assert_eq!(ErrorCode::ScopeMismatch.family(), ErrorFamily::Api);
        assert_eq!(ErrorCode::Config.as_str(), "config");
        assert_eq!(ErrorFamily::RateLimit.as_str(), "rate_limit");
        assert_eq!(ErrorCode::ResponseTooLarge.family().as_str(), "transport");
    }
}
