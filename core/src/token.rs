//! Token responses and the [`TokenSet`] they become.
//!
//! Zoho answers token errors with HTTP 200, sometimes reports `expires_in` in milliseconds
//! (legacy `expires_in_sec`), and sometimes omits fields; so parsing is tolerant and success is
//! decided by the presence of `access_token` alone (zoho-protocol.md sections 3 and 4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::secret::{AccessToken, RefreshToken};

/// Default lifetime when a token response has no `expires_in` (Zoho's tokens live one hour).
pub(crate) const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// Zoho's throttle window after "Access Denied": the rest of a 10-minute window.
pub(crate) const THROTTLE_WINDOW: Duration = Duration::from_secs(600);

/// The longest token lifetime accepted from a token endpoint (after the legacy milliseconds
/// conversion). Zoho's tokens live one hour; anything beyond a day is a broken or hostile answer
/// that would otherwise pin a token in every cache until the year 292 million.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The tokens one grant yields, with everything needed to use and refresh them.
#[derive(Clone, PartialEq)]
pub struct TokenSet {
    /// The access token (one hour).
    pub access_token: AccessToken,
    /// The refresh token: only from an offline code or device exchange, never from a refresh.
    pub refresh_token: Option<RefreshToken>,
    /// Base URL for `www.zohoapis.*` products in the user's DC, as Zoho sent it.
    pub api_domain: Option<String>,
    /// The accounts server that issued the token: refresh and revoke go there.
    pub accounts_server: String,
    /// Token type as sent (`Bearer`); Zoho's APIs expect the `Zoho-oauthtoken` header anyway.
    pub token_type: String,
    /// Absolute expiry, Unix milliseconds.
    pub expires_at_ms: i64,
    /// When the token was issued (Unix ms; for stored tokens of older builds, one hour before
    /// expiry). With `expires_at_ms` it gives the lifetime, which caps the refresh margin.
    pub issued_at_ms: i64,
    /// Granted scopes (Zoho sends them space-separated).
    pub scopes: Vec<String>,
    /// OpenID id_token, present when the `email` scope was granted. Not a credential for APIs.
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    /// Every field but the credentials: the tokens print `[redacted]`, and so does the
    /// `id_token` (a signed statement of the user's identity).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("api_domain", &self.api_domain)
            .field("accounts_server", &self.accounts_server)
            .field("token_type", &self.token_type)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl TokenSet {
    /// Parse a token-endpoint answer.
    ///
    /// `now_ms` is the current time (Unix ms) used to make `expires_at_ms` absolute;
    /// `accounts_server` is the server that answered (kept so refreshes go to the same DC).
    /// Any answer without `access_token` becomes a typed error; garbage becomes
    /// `invalid_response`. Never panics.
    pub fn parse(status: u16, body: &str, now_ms: i64, accounts_server: &str) -> Result<TokenSet> {
        // serde_json's syntax errors name a line and column, never the text around them.
        let value: Value = serde_json::from_str(body.trim()).map_err(|cause| {
            let looks_html = body.trim_start().starts_with('<');
            Error::new(
                ErrorCode::InvalidResponse,
                if looks_html {
                    "the token endpoint answered with an HTML page, not JSON"
                } else {
                    "the token endpoint answered with something that is not JSON"
                },
            )
            .with_status(status)
            .with_body(body)
            .with_hint(
                "check the accounts URL (it must be the accounts server of your data centre) and any proxy in between; the call can be retried",
            )
            .with_source(cause)
        })?;
        let obj = value.as_object().ok_or_else(|| {
            Error::new(ErrorCode::InvalidResponse, "the token endpoint answered JSON that is not an object")
                .with_status(status)
                .with_body(body)
                .with_hint("check the accounts URL")
        })?;

        let at = match obj.get("access_token").and_then(Value::as_str) {
            Some(at) if !at.is_empty() => at,
            _ => return Err(token_error(status, obj, body)),
        };
        // A token goes into an HTTP header and into stores: anything but visible ASCII would be
        // cached, fail every request, and never be replaced.
        if !is_visible_ascii(at) {
            return Err(Error::new(
                ErrorCode::InvalidResponse,
                "the token endpoint answered an access token with characters outside visible ASCII",
            )
            .with_status(status)
            .with_hint(
                "the answer is broken or did not come from Zoho; it was not cached, and the call can be retried",
            ));
        }
        let access_token = AccessToken::new(at);
        let refresh_token = str_field(obj, "refresh_token").filter(|s| !s.is_empty()).map(RefreshToken::new);
        let expires_in = parse_expiry(obj).map_err(|why| {
            Error::new(ErrorCode::InvalidResponse, format!("the token endpoint answered an unusable lifetime: {why}"))
                .with_status(status)
                .with_hint("Zoho's access tokens live one hour; the answer is broken or did not come from Zoho, and was not cached")
        })?;
        let scopes = str_field(obj, "scope")
            .map(|s| s.split([' ', ',']).filter(|p| !p.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(TokenSet {
            access_token,
            refresh_token,
            api_domain: str_field(obj, "api_domain")
                .map(|s| s.trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty()),
            accounts_server: accounts_server.trim_end_matches('/').to_string(),
            token_type: str_field(obj, "token_type").unwrap_or_else(|| "Bearer".to_string()),
            expires_at_ms: now_ms.saturating_add(expires_in.as_millis() as i64),
            issued_at_ms: now_ms,
            scopes,
            id_token: str_field(obj, "id_token"),
        })
    }

    /// Absolute expiry as a `SystemTime`.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.expires_at_ms.max(0) as u64)
    }

    /// True when the token expires within `margin` of `now_ms`.
    pub fn expires_within(&self, now_ms: i64, margin: Duration) -> bool {
        let margin_ms = margin.as_millis().min(i64::MAX as u128) as i64;
        self.expires_at_ms.saturating_sub(margin_ms) <= now_ms
    }

    /// The token's lifetime (expiry minus issue time).
    pub fn lifetime(&self) -> Duration {
        Duration::from_millis(self.expires_at_ms.saturating_sub(self.issued_at_ms).max(0) as u64)
    }

    /// The refresh margin that applies to this token: `margin`, but never more than half the
    /// token's lifetime, so a token living 60 s is not refreshed on every call (DESIGN "Refresh
    /// on a bad day": short-lived tokens).
    pub fn effective_margin(&self, margin: Duration) -> Duration {
        margin.min(self.lifetime() / 2)
    }

    /// True when a refresh is due: the token expires within its
    /// [`effective_margin`](TokenSet::effective_margin) of `now_ms`.
    pub fn refresh_due(&self, now_ms: i64, margin: Duration) -> bool {
        self.expires_within(now_ms, self.effective_margin(margin))
    }

    /// True while the token may still be sent: it expires more than `floor` after `now_ms`.
    pub fn usable(&self, now_ms: i64, floor: Duration) -> bool {
        !self.expires_within(now_ms, floor)
    }
}

/// Visible ASCII only (`!` to `~`): what an access token may contain.
pub(crate) fn is_visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

fn str_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number or a numeric string, as a non-negative integer.
pub(crate) fn num_field(obj: &serde_json::Map<String, Value>, key: &str) -> Option<u64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// A lifetime field: absent (`Ok(None)`), or a number (or numeric string) of `unit`s that is
/// positive and finite; anything else is an error naming the field.
fn lifetime_field(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    unit_ms: f64,
) -> std::result::Result<Option<Duration>, String> {
    let raw = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match raw {
        Some(v) if v.is_finite() && v > 0.0 => {
            let ms = v * unit_ms;
            if ms > MAX_TOKEN_LIFETIME.as_millis() as f64 {
                Err(format!("{key} is beyond {} hours", MAX_TOKEN_LIFETIME.as_secs() / 3600))
            } else if ms < 1000.0 {
                Err(format!("{key} is shorter than one second"))
            } else {
                Ok(Some(Duration::from_millis(ms as u64)))
            }
        }
        Some(_) => Err(format!("{key} is zero, negative or not finite")),
        None => Err(format!("{key} is not a number")),
    }
}

/// The token's lifetime: `expires_in` in seconds, or in milliseconds when the legacy
/// `expires_in_sec` is present (which is then in seconds itself); 3600 s when both are absent.
/// A lifetime that is not a positive number, shorter than a second or beyond
/// [`MAX_TOKEN_LIFETIME`] is an error: such an answer is never cached.
fn parse_expiry(obj: &serde_json::Map<String, Value>) -> std::result::Result<Duration, String> {
    let legacy = obj.contains_key("expires_in_sec");
    let unit_ms = if legacy { 1.0 } else { 1000.0 };
    if let Some(d) = lifetime_field(obj, "expires_in", unit_ms)? {
        return Ok(d);
    }
    Ok(lifetime_field(obj, "expires_in_sec", 1000.0)?.unwrap_or(DEFAULT_EXPIRES_IN))
}

/// Map a token-endpoint answer without `access_token` to a typed error.
pub(crate) fn token_error(status: u16, obj: &serde_json::Map<String, Value>, body: &str) -> Error {
    let zoho = str_field(obj, "error");
    let description = str_field(obj, "error_description");
    let Some(zoho) = zoho else {
        return Error::new(
            ErrorCode::InvalidResponse,
            "the token endpoint answered without access_token and without error",
        )
        .with_status(status)
        .with_body(body)
        .with_hint("check the accounts URL; the answer did not come from Zoho's token endpoint");
    };
    let (code, message, hint) = match zoho.as_str() {
        "invalid_code" => (
            ErrorCode::InvalidCode,
            "Zoho rejected the grant code or refresh token",
            "a grant code is single-use and valid 3 minutes by default: generate a new one and exchange it at once at the accounts server of the user's DC; a refresh token answering this was revoked, evicted (20 per user) or belongs to another DC",
        ),
        "invalid_client" | "unauthorized_client" => (
            ErrorCode::InvalidClient,
            "Zoho does not know this client in this data centre",
            "check the client id, and enable multi-DC for the client in the API console if the user lives in another DC",
        ),
        "invalid_client_secret" => (
            ErrorCode::InvalidClientSecret,
            "Zoho rejected the client secret",
            "check the client secret; with multi-DC, each DC may have its own secret (configure a secret per DC)",
        ),
        "invalid_redirect_uri" => (
            ErrorCode::InvalidRedirectUri,
            "the redirect_uri does not match the registered one",
            "pass exactly the redirect URI registered in the API console and used for the authorization URL",
        ),
        "Access Denied" => (
            ErrorCode::TokenThrottled,
            "Zoho's token throttle is active for this refresh token",
            "Zoho allows 10 access tokens per refresh token per 10 minutes: cache and reuse tokens, and wait before refreshing again",
        ),
        "access_denied" => (
            ErrorCode::AccessDenied,
            "access was denied",
            "the user refused consent or Zoho's grant-code limit was hit; ask the user to authorize again later",
        ),
        "expired" => (
            ErrorCode::DeviceFlowExpired,
            "the device code expired",
            "start the device flow again and approve within the time shown",
        ),
        "invalid_scope" => {
            (ErrorCode::Config, "Zoho rejected the scope", "pass comma-separated scopes such as ZohoCRM.modules.ALL")
        }
        _ => (
            ErrorCode::InvalidResponse,
            "the token endpoint answered an unknown error",
            "see zoho_code and the body; check client type, grant type and accounts URL",
        ),
    };
    let mut err = Error::new(code, message).with_status(status).with_zoho_code(zoho).with_hint(hint).with_body(body);
    if let Some(d) = description {
        err = err.with_zoho_message(d);
    }
    if code == ErrorCode::TokenThrottled {
        err = err.with_retry_after(THROTTLE_WINDOW);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn success_with_seconds() {
        let t = TokenSet::parse(
            200,
            r#"{"access_token":"1000.a","refresh_token":"1000.r","scope":"ZohoCRM.modules.ALL ZohoCRM.users.READ","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}"#,
            NOW,
            "https://accounts.zoho.com/",
        );
        let t = t.expect("parses");
        assert_eq!(t.access_token.secret(), "1000.a");
        assert_eq!(t.refresh_token.as_ref().map(|r| r.secret()), Some("1000.r"));
        assert_eq!(t.expires_at_ms, NOW + 3_600_000);
        assert_eq!(t.scopes, vec!["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]);
        assert_eq!(t.accounts_server, "https://accounts.zoho.com");
        assert_eq!(t.api_domain.as_deref(), Some("https://www.zohoapis.com"));
    }

    #[test]
    fn legacy_milliseconds() {
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in_sec":3600,"expires_in":3600000}"#, NOW, "a")
            .expect("parses");
        assert_eq!(t.expires_at_ms, NOW + 3_600_000);
    }

    #[test]
    fn missing_expiry_defaults_to_an_hour() {
        let t = TokenSet::parse(200, r#"{"access_token":"x"}"#, NOW, "a").expect("parses");
        assert_eq!(t.expires_at_ms, NOW + 3_600_000);
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in":"120"}"#, NOW, "a").expect("parses");
        assert_eq!(t.expires_at_ms, NOW + 120_000);
    }

    #[test]
    fn errors_are_typed_even_with_200() {
        let cases = [
            (r#"{"error":"invalid_code"}"#, ErrorCode::InvalidCode),
            (r#"{"error":"invalid_client"}"#, ErrorCode::InvalidClient),
            (r#"{"error":"invalid_client_secret"}"#, ErrorCode::InvalidClientSecret),
            (r#"{"error":"invalid_redirect_uri"}"#, ErrorCode::InvalidRedirectUri),
            (
                r#"{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}"#,
                ErrorCode::TokenThrottled,
            ),
            (r#"{"error":"something_new"}"#, ErrorCode::InvalidResponse),
            (r#"{"status":"ok"}"#, ErrorCode::InvalidResponse),
            (r#"<html><body>Oops</body></html>"#, ErrorCode::InvalidResponse),
            (r#"{"access_token":"#, ErrorCode::InvalidResponse),
            (r#"[1,2]"#, ErrorCode::InvalidResponse),
            (r#"{"access_token":""}"#, ErrorCode::InvalidResponse),
        ];
        for (body, code) in cases {
            let e = TokenSet::parse(200, body, NOW, "a").err().map(|e| e.code());
            assert_eq!(e, Some(code), "{body}");
        }
        let e = TokenSet::parse(200, r#"{"error":"Access Denied"}"#, NOW, "a").err();
        assert_eq!(e.and_then(|e| e.retry_after()), Some(THROTTLE_WINDOW));
    }

    #[test]
    fn strict_access_token_and_lifetime() {
        let bad = [
            r#"{"access_token":"1000.a\r\nX-Evil: 1"}"#,
            r#"{"access_token":"1000 a"}"#,
            r#"{"access_token":"1000.é"}"#,
            r#"{"access_token":"x","expires_in":-5}"#,
            r#"{"access_token":"x","expires_in":0}"#,
            r#"{"access_token":"x","expires_in":"soon"}"#,
            r#"{"access_token":"x","expires_in":true}"#,
            r#"{"access_token":"x","expires_in":86401}"#,
            r#"{"access_token":"x","expires_in":1e300}"#,
            r#"{"access_token":"x","expires_in_sec":9223372036854775807,"expires_in":9223372036854775807}"#,
            r#"{"access_token":"x","expires_in_sec":3600,"expires_in":86400001}"#,
            r#"{"access_token":"x","expires_in_sec":-1}"#,
        ];
        for body in bad {
            let e = TokenSet::parse(200, body, NOW, "a").err();
            assert_eq!(e.as_ref().map(|e| e.code()), Some(ErrorCode::InvalidResponse), "{body}");
            // The message never quotes the token.
            assert!(!e.map(|e| e.to_string()).unwrap_or_default().contains("1000.a"), "{body}");
        }
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in":86400}"#, NOW, "a").expect("a day is fine");
        assert_eq!(t.lifetime(), Duration::from_secs(86_400));
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in":"60"}"#, NOW, "a").expect("parses");
        assert_eq!(t.issued_at_ms, NOW);
        assert_eq!(t.lifetime(), Duration::from_secs(60));
    }

    #[test]
    fn short_lived_tokens_get_half_their_lifetime_as_margin() {
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in":60}"#, NOW, "a").expect("parses");
        let margin = Duration::from_secs(300);
        assert_eq!(t.effective_margin(margin), Duration::from_secs(30));
        assert!(!t.refresh_due(NOW + 29_000, margin));
        assert!(t.refresh_due(NOW + 30_000, margin));
        let hour = TokenSet::parse(200, r#"{"access_token":"x"}"#, NOW, "a").expect("parses");
        assert_eq!(hour.effective_margin(margin), margin);
        assert!(hour.usable(NOW + 3_594_000, Duration::from_secs(5)));
        assert!(!hour.usable(NOW + 3_595_000, Duration::from_secs(5)));
    }

    #[test]
    fn margin() {
        let t = TokenSet::parse(200, r#"{"access_token":"x","expires_in":600}"#, NOW, "a").expect("parses");
        assert!(!t.expires_within(NOW, Duration::from_secs(300)));
        assert!(t.expires_within(NOW + 300_000, Duration::from_secs(300)));
    }
}
