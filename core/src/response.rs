//! Responses of product API calls, Zoho's error envelopes, and rate-limit headers.
//!
//! A call returns its [`Response`] for every status once retries are done (as requests, httpx
//! and fetch do); [`Response::error_for_status`] turns a non-2xx into the typed error with
//! Zoho's own code parsed from whichever envelope the product uses.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::redact::Scrub;
use crate::retry::parse_retry_after;

/// CRM/Desk/Mail codes meaning the access token is dead: refresh once and retry once.
pub(crate) const DEAD_TOKEN_CODES: [&str; 4] =
    ["INVALID_TOKEN", "INVALID_OAUTH", "INVALID_OAUTHTOKEN", "AUTHENTICATION_FAILURE"];

/// Codes meaning the token lacks a scope: a refresh will not help.
pub(crate) const SCOPE_CODES: [&str; 2] = ["OAUTH_SCOPE_MISMATCH", "SCOPE_MISMATCH"];

/// Read a body in chunks, stopping with `response_too_large` as soon as it would pass `cap`
/// bytes (a declared `Content-Length` over the cap fails before reading anything), so a hostile
/// or broken server streaming an endless body cannot grow the process.
/// `what` names the exchange in errors ("GET request"); it is only made when one is.
pub(crate) async fn read_capped(mut resp: reqwest::Response, cap: usize, what: impl Fn() -> String) -> Result<Vec<u8>> {
    let status = resp.status().as_u16();
    let too_large = || {
        let what = what();
        Error::new(ErrorCode::ResponseTooLarge, format!("the answer to the {what} is larger than {cap} bytes"))
            .with_status(status)
            .with_hint("reading stopped at the cap; raise max_response_bytes if such answers are expected")
    };
    let expected = resp.content_length();
    if expected.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    // Sized once when the server says how much comes (within the cap, checked above).
    let mut body = Vec::with_capacity(expected.unwrap_or(0) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(|e| Error::from_reqwest(e, &what()))? {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Move every value of `headers` into one buffer of their own.
///
/// hyper parses header values as slices of the connection's read buffer (8 KiB and up), so a
/// kept `HeaderMap` keeps that whole buffer alive, and hyper allocates a new one for the next
/// answer. A kept response then cost 5.9 KiB of memory for a 323-byte body and five headers
/// (Python, 5,000 responses in a list; 1.4 KiB with the copy), and Node keeps every response
/// until V8 collects it, a few hundred at a time. One copy of the values (a few hundred bytes,
/// two allocations) lets hyper reuse its buffer.
fn own_values(headers: &mut reqwest::header::HeaderMap) {
    let total = headers.values().map(|v| v.len()).sum();
    let mut all = bytes::BytesMut::with_capacity(total);
    for v in headers.values() {
        all.extend_from_slice(v.as_bytes());
    }
    let all = all.freeze();
    let mut at = 0;
    for v in headers.values_mut() {
        let end = at + v.len();
        // The same bytes as a valid value: the check cannot fail; the old value stays if it did.
        if let Ok(mut owned) = HeaderValue::from_maybe_shared(all.slice(at..end)) {
            owned.set_sensitive(v.is_sensitive());
            *v = owned;
        }
        at = end;
    }
}

/// Zoho's count of API credits left, on every product API response.
const X_API_CREDITS_REMAINING: HeaderName = HeaderName::from_static("x-api-credits-remaining");

/// Rate-limit information from response headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// `X-API-CREDITS-REMAINING` (CRM sends it once half the daily credits are used).
    pub credits_remaining: Option<u64>,
    /// `Retry-After` of the last 429/503, if any.
    pub retry_after: Option<Duration>,
    /// Status of the response these were read from.
    pub status: Option<u16>,
}

/// An HTTP response of a product API, fully read.
#[derive(Clone, Debug)]
pub struct Response {
    status: u16,
    /// As received, with the values moved to a buffer of their own ([`own_values`]).
    headers: reqwest::header::HeaderMap,
    /// [`Response::headers`] as strings, made on first use (most callers never ask).
    header_list: std::sync::OnceLock<Vec<(String, String)>>,
    body: Vec<u8>,
    url: String,
    now_ms: i64,
    /// The identity's secrets, scrubbed from errors built from this answer.
    scrub: Scrub,
}

impl Response {
    pub(crate) fn new(
        status: u16,
        mut headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
        url: String,
        now_ms: i64,
        scrub: Scrub,
    ) -> Self {
        own_values(&mut headers);
        Response { status, headers, header_list: std::sync::OnceLock::new(), body, url, now_ms, scrub }
    }

    /// HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The URL that answered (without credentials; the query string is kept).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// All headers, names lower-cased, in arrival order.
    pub fn headers(&self) -> &[(String, String)] {
        self.header_list.get_or_init(|| {
            self.headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect()
        })
    }

    /// The first value of a header (case-insensitive name; a value that is not ASCII has its
    /// invalid UTF-8 replaced, as in [`Response::headers`]).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_value(self.headers.get(name)?, name)
    }

    /// [`Response::header`] for a name known in advance: no parsing of the name per lookup
    /// (the rate-limit headers are read from every response).
    fn header_named(&self, name: &HeaderName) -> Option<&str> {
        self.header_value(self.headers.get(name)?, name.as_str())
    }

    fn header_value<'a>(&'a self, value: &'a HeaderValue, name: &str) -> Option<&'a str> {
        match value.to_str() {
            Ok(v) => Some(v),
            Err(_) => self.headers().iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()),
        }
    }

    /// The body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        // `from_utf8` checks ASCII a word at a time; `from_utf8_lossy` walks byte by byte
        // (callgrind: 2,300 instructions per call on a 400-byte CRM answer). Bodies are valid
        // UTF-8 nearly always; the lossy walk only runs for one that is not.
        match std::str::from_utf8(&self.body) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    /// The body parsed as JSON into `T`. A 204 or empty body is an `invalid_response` error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(ErrorCode::InvalidResponse, format!("the response body is not the expected JSON: {e}"))
                .with_status(self.status)
                .with_body(&self.text())
                .with_hint("check the status first (204 means no content) and the product's response format")
                .with_source(e)
                .scrub(&self.scrub)
        })
    }

    /// `Retry-After`, parsed (seconds or HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header_named(&RETRY_AFTER).and_then(|v| parse_retry_after(v, self.now_ms))
    }

    /// Rate-limit headers of this response.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            credits_remaining: self.header_named(&X_API_CREDITS_REMAINING).and_then(|v| v.trim().parse().ok()),
            retry_after: self.retry_after(),
            status: Some(self.status),
        }
    }

    /// The response itself for 2xx (and 1xx/3xx); the typed error for 4xx/5xx, with Zoho's
    /// code parsed from the CRM, Desk, Books or Mail envelope and the raw body kept.
    pub fn error_for_status(self) -> Result<Response> {
        if self.status < 400 {
            return Ok(self);
        }
        Err(parse_api_error(self.status, &self.text(), self.retry_after()).scrub(&self.scrub))
    }

    /// Zoho's error code in the body, whichever envelope (for the 401 refresh decision).
    pub(crate) fn zoho_code(&self) -> Option<String> {
        envelope(&self.text()).0
    }
}

/// True when an answer is a 401 whose Zoho code means the access token is dead
/// (`INVALID_TOKEN`, `INVALID_OAUTH`, `INVALID_OAUTHTOKEN`, `AUTHENTICATION_FAILURE`): the one
/// case where the client refreshes and sends again; scope errors never qualify. For adapters
/// that send requests through another HTTP library (with [`Client::check_url`](crate::Client::check_url)).
pub fn is_dead_token_response(status: u16, body: &[u8]) -> bool {
    status == 401 && envelope(&String::from_utf8_lossy(body)).0.is_some_and(|c| DEAD_TOKEN_CODES.contains(&c.as_str()))
}

/// Read Zoho's error code and message from a body, whichever product's envelope it is:
/// CRM `{code, details, message, status}`, Desk `{errorCode, message}`, Books
/// `{code: <int>, message}`, Mail `{data: {errorCode, moreInfo}, status: {code, description}}`.
pub fn envelope(body: &str) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_str::<Value>(body.trim()) else {
        return (None, None);
    };
    let s = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let obj = match v.as_object() {
        Some(o) => o,
        None => return (None, None),
    };
    if let Some(code) = s(obj.get("errorCode")) {
        return (Some(code), s(obj.get("message")));
    }
    if let Some(data) = obj.get("data").and_then(Value::as_object)
        && let Some(code) = s(data.get("errorCode"))
    {
        let msg = s(data.get("moreInfo"))
            .or_else(|| obj.get("status").and_then(Value::as_object).and_then(|st| s(st.get("description"))));
        return (Some(code), msg);
    }
    // CRM batch answers: {"data":[{code,message,status:"error"}]} -> first error entry.
    if let Some(items) = obj.get("data").and_then(Value::as_array)
        && let Some(first) =
            items.iter().filter_map(Value::as_object).find(|o| o.get("status").and_then(Value::as_str) == Some("error"))
    {
        return (s(first.get("code")), s(first.get("message")));
    }
    (s(obj.get("code")), s(obj.get("message")))
}

/// Build the typed error for a non-2xx API answer.
pub fn parse_api_error(status: u16, body: &str, retry_after: Option<Duration>) -> Error {
    let (zoho_code, zoho_message) = envelope(body);
    let code_str = zoho_code.as_deref().unwrap_or_default();
    let (code, message, hint) = if SCOPE_CODES.contains(&code_str) {
        (
            ErrorCode::ScopeMismatch,
            "the access token lacks the scope this API needs",
            "authorize again with the missing scope (a refresh will not add scopes)",
        )
    } else if status == 429 || code_str == "TOO_MANY_REQUESTS" || code_str == "LIMIT_EXCEEDED" {
        (
            ErrorCode::RateLimited,
            "Zoho is rate limiting this API",
            "wait retry_after (when given), lower concurrency (max_concurrency) or check the org's API credits",
        )
    } else if DEAD_TOKEN_CODES.contains(&code_str) {
        (
            ErrorCode::Unauthorized,
            "Zoho rejected the access token",
            "the token was revoked or evicted; if this persists after the automatic refresh, authorize again",
        )
    } else if code_str == "OAUTH_ORG_MISMATCH" {
        (
            ErrorCode::Unauthorized,
            "the token is not valid for this organization",
            "send the orgId header of an organization the user granted",
        )
    } else if status == 401 && code_str == "57" {
        (
            ErrorCode::Unauthorized,
            "Zoho Books refused the call: dead token or missing scope",
            "check the token's scopes (ZohoBooks.*) and that the refresh token is still valid",
        )
    } else if status == 401 {
        (ErrorCode::Unauthorized, "the API answered 401", "check the Authorization header and the token's DC")
    } else {
        (
            ErrorCode::ApiError,
            "the API answered an error",
            "see zoho_code, zoho_message and body for the product's reason",
        )
    };
    let mut err = Error::new(code, message).with_status(status).with_hint(hint).with_body(body);
    if let Some(c) = zoho_code {
        err = err.with_zoho_code(c);
    }
    if let Some(m) = zoho_message {
        err = err.with_zoho_message(m);
    }
    if let Some(r) = retry_after {
        err = err.with_retry_after(r);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper's header values are slices of the connection's read buffer: a kept response must
    /// not keep that buffer alive, and its headers read the same (order, repeats, sensitivity).
    #[test]
    fn kept_headers_do_not_keep_the_read_buffer() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let read_buffer = bytes::Bytes::from(b"abcdefghij".repeat(800));
        let value = |r: std::ops::Range<usize>| HeaderValue::from_maybe_shared(read_buffer.slice(r)).expect("ASCII");
        let mut map = HeaderMap::new();
        map.append("x-one", value(0..5));
        map.append("set-cookie", value(5..8));
        let mut secret = value(8..12);
        secret.set_sensitive(true);
        map.append("set-cookie", secret);
        map.append("content-length", HeaderValue::from_static("0"));
        assert!(!read_buffer.is_unique(), "the values share the buffer");
        let r = Response::new(200, map, Vec::new(), "https://x/".into(), 0, Scrub::default());
        assert!(read_buffer.is_unique(), "the response keeps none of the read buffer");
        let pairs: Vec<(&str, &str)> = r.headers().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("x-one", "abcde"), ("set-cookie", "fgh"), ("set-cookie", "ijab"), ("content-length", "0")]);
        let cookies: Vec<bool> = r.headers.get_all("set-cookie").iter().map(|v| v.is_sensitive()).collect();
        assert_eq!(cookies, [false, true], "sensitivity kept");
    }

    /// Headers kept as received: lookups ignore case, repeated headers keep their order, a
    /// value that is not ASCII reads with its invalid UTF-8 replaced, both ways.
    #[test]
    fn headers_as_received() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.append("Retry-After", HeaderValue::from_static("7"));
        map.append("set-cookie", HeaderValue::from_static("a=1"));
        map.append("set-cookie", HeaderValue::from_static("b=2"));
        map.append("x-name", HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is allowed"));
        let r = Response::new(429, map, Vec::new(), "https://x/".into(), 0, Scrub::default());
        assert_eq!(r.header("RETRY-AFTER"), Some("7"));
        assert_eq!(r.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(r.header("set-cookie"), Some("a=1"), "the first value");
        assert_eq!(r.header("x-name"), Some("caf\u{fffd}"));
        assert_eq!(r.header("not sent"), None);
        let pairs: Vec<(&str, &str)> = r.headers().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [("retry-after", "7"), ("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-name", "caf\u{fffd}")]
        );
    }

    /// The body as text: valid UTF-8 as it is (multi-byte characters included), invalid
    /// sequences replaced, the rest kept.
    #[test]
    fn body_text() {
        let text = |body: &[u8]| {
            Response::new(200, Default::default(), body.to_vec(), "https://x/".into(), 0, Scrub::default()).text()
        };
        assert_eq!(text(br#"{"data":[{"Last_Name":"M\u00fcller"}]}"#), r#"{"data":[{"Last_Name":"M\u00fcller"}]}"#);
        assert_eq!(text("Müller 名前 😀".as_bytes()), "Müller 名前 😀");
        assert_eq!(text(b"caf\xe9 ok"), "caf\u{fffd} ok");
        assert_eq!(text(b"\xff\xfe"), "\u{fffd}\u{fffd}");
        assert_eq!(text(b""), "");
    }

    #[test]
    fn dead_token_answers() {
        let body = |code: &str| format!(r#"{{"code":"{code}","details":{{}},"message":"x","status":"error"}}"#);
        assert!(is_dead_token_response(401, body("INVALID_OAUTHTOKEN").as_bytes()));
        assert!(is_dead_token_response(401, br#"{"errorCode":"INVALID_OAUTH"}"#));
        assert!(!is_dead_token_response(401, body("OAUTH_SCOPE_MISMATCH").as_bytes()), "scope errors never refresh");
        assert!(!is_dead_token_response(200, body("INVALID_TOKEN").as_bytes()));
        assert!(!is_dead_token_response(401, b"<html>nope</html>"));
    }

    #[test]
    fn envelopes() {
        assert_eq!(
            envelope(r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#),
            (Some("INVALID_TOKEN".into()), Some("invalid oauth token".into()))
        );
        assert_eq!(
            envelope(r#"{"errorCode":"INVALID_OAUTH","message":"The OAuth Token you provided is invalid."}"#).0,
            Some("INVALID_OAUTH".into())
        );
        assert_eq!(
            envelope(r#"{"code":57,"message":"You are not authorized to perform this operation"}"#).0,
            Some("57".into())
        );
        assert_eq!(
            envelope(
                r#"{"data":{"errorCode":"INVALID_OAUTHTOKEN"},"status":{"code":401,"description":"Invalid Access"}}"#
            ),
            (Some("INVALID_OAUTHTOKEN".into()), Some("Invalid Access".into()))
        );
        assert_eq!(envelope("<html>"), (None, None));
    }

    #[test]
    fn typed_errors() {
        let e = parse_api_error(
            401,
            r#"{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}"#,
            None,
        );
        assert_eq!(e.code(), ErrorCode::ScopeMismatch);
        assert_eq!(e.zoho_code(), Some("OAUTH_SCOPE_MISMATCH"));
        let e = parse_api_error(
            401,
            r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#,
            None,
        );
        assert_eq!(e.code(), ErrorCode::Unauthorized);
        let e = parse_api_error(429, r#"{"code":"TOO_MANY_REQUESTS"}"#, Some(Duration::from_secs(3)));
        assert_eq!(e.code(), ErrorCode::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = parse_api_error(404, r#"{"code":1002,"message":"Invoice does not exist."}"#, None);
        assert_eq!(e.code(), ErrorCode::ApiError);
        assert_eq!(e.zoho_code(), Some("1002"));
        assert_eq!(e.body(), Some(r#"{"code":1002,"message":"Invoice does not exist."}"#));
        let e = parse_api_error(500, "garbage", None);
        assert_eq!(e.code(), ErrorCode::ApiError);
    }
}
