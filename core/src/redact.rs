//! Redaction of what servers send back before it goes into an [`Error`](crate::Error).
//!
//! Two independent defences, both applied wherever an error is built from an answer:
//!
//! * [`sanitize_body`] hides the *values* of token fields by JSON key (`access_token`,
//!   `refresh_token`, ...). It works on keys, never on substrings, so an error code such as
//!   `{"error":"invalid_client_secret"}` stays readable.
//! * [`Scrub`] removes the identity's *own* secret values (client secret, refresh token, grant
//!   code, access token) wherever they appear: a hostile or broken server may echo them in an
//!   HTML page, in `error_description`, anywhere.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use zeroize::Zeroizing;

/// What replaces a secret value.
pub(crate) const REDACTED: &str = "[redacted]";

/// Largest raw body kept in an error, so errors stay cheap to clone and print.
pub(crate) const MAX_BODY: usize = 4096;

/// JSON keys whose values are credentials.
/// (`code` is not one: product envelopes use it for their error code; grant codes are
/// scrubbed by value instead.)
const SECRET_KEYS: [&str; 6] =
    ["access_token", "refresh_token", "device_code", "id_token", "client_secret", "code_verifier"];

pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k))
}

/// Redact the values of credential fields by key and truncate on a char boundary.
///
/// A JSON body keeps its shape with `[redacted]` in place of each credential value; any other
/// body that uses a credential name *as a key* (`access_token=…`, `"refresh_token": …`) is
/// replaced whole, since its structure is unknown. Names that only appear inside other words or
/// values (`invalid_client_secret`) are not keys and are left alone.
pub(crate) fn sanitize_body(body: &str) -> String {
    let redacted = match serde_json::from_str::<Value>(body.trim()) {
        Ok(mut v @ (Value::Object(_) | Value::Array(_))) => {
            if redact_json(&mut v) {
                serde_json::to_string(&v).unwrap_or_else(|_| REDACTED.to_string())
            } else {
                body.to_string()
            }
        }
        _ if has_secret_key_text(body) => return "[redacted: the body carried token fields]".to_string(),
        _ => body.to_string(),
    };
    truncate_body(&redacted)
}

/// Replace credential values in a JSON value; true when something was replaced.
fn redact_json(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    *val = Value::String(REDACTED.to_string());
                    changed = true;
                } else {
                    changed |= redact_json(val);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |acc, i| redact_json(i) | acc),
        _ => false,
    }
}

/// True when a credential name is used as a key in non-JSON text: a whole word followed by
/// optional quotes or spaces and then `=` or `:`.
fn has_secret_key_text(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(key) {
            let start = from + pos;
            let end = start + key.len();
            from = end;
            if start > 0 && word(bytes[start - 1]) {
                continue;
            }
            let rest = lower[end..].trim_start_matches(['"', '\'', ' ', '\t']);
            if rest.starts_with('=') || rest.starts_with(':') {
                return true;
            }
        }
    }
    false
}

/// Truncate to [`MAX_BODY`] bytes on a char boundary.
pub(crate) fn truncate_body(body: &str) -> String {
    if body.len() <= MAX_BODY {
        return body.to_string();
    }
    let mut end = MAX_BODY;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated]", &body[..end])
}

/// The secret values of one identity, to be scrubbed from anything an error carries.
/// Cheap to clone; zeroized on drop; prints nothing of what it holds.
#[derive(Clone, Default)]
pub(crate) struct Scrub {
    values: Arc<Vec<Zeroizing<String>>>,
    /// The access token of one answer: shared with the client's cache, not copied (a response
    /// carries it, so building one costs no allocation). Zeroized when the last holder drops it.
    token: Option<Arc<crate::TokenSet>>,
}

impl fmt::Debug for Scrub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrub({} values)", self.values.len() + usize::from(self.token.is_some()))
    }
}

/// Secrets shorter than this are not scrubbed: replacing one or two characters everywhere
/// would destroy the message and protect nothing.
const MIN_SECRET: usize = 4;

impl Scrub {
    /// A scrubber for these secret values (empty and very short ones are ignored).
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v: Vec<Zeroizing<String>> =
            values.into_iter().filter(|s| s.len() >= MIN_SECRET).map(|s| Zeroizing::new(s.to_string())).collect();
        // Longest first, so a secret containing another is replaced whole.
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v.dedup_by(|a, b| a.as_str() == b.as_str());
        Scrub { values: Arc::new(v), token: None }
    }

    /// This scrubber plus more values.
    pub(crate) fn with<'a>(&'a self, more: impl IntoIterator<Item = &'a str>) -> Self {
        Scrub::new(self.secrets().into_iter().chain(more))
    }

    /// This scrubber plus the access token of `token`, without copying anything: what every
    /// response carries, so it is cheap.
    pub(crate) fn with_token(&self, token: &Arc<crate::TokenSet>) -> Self {
        Scrub { values: self.values.clone(), token: Some(token.clone()) }
    }

    /// Every value to scrub, longest first (a secret containing another is replaced whole).
    fn secrets(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.values.iter().map(|s| s.as_str()).collect();
        if let Some(t) = &self.token {
            let secret = t.access_token.secret();
            if secret.len() >= MIN_SECRET && !all.contains(&secret) {
                let at = all.iter().position(|s| s.len() < secret.len()).unwrap_or(all.len());
                all.insert(at, secret);
            }
        }
        all
    }

    /// `text` with every secret value (also percent-encoded) replaced by `[redacted]`, and a
    /// secret cut off by truncation at the very end hidden as well.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        let secrets = self.secrets();
        for secret in secrets.iter().copied() {
            let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            for needle in [secret, encoded.as_str()] {
                if out.contains(needle) {
                    out = out.replace(needle, REDACTED);
                }
            }
        }
        if let Some(cut) = out.strip_suffix("…[truncated]") {
            for secret in secrets.iter().copied() {
                if let Some(keep) = partial_tail(cut, secret) {
                    out = format!("{keep}{REDACTED}…[truncated]");
                    break;
                }
            }
        }
        out
    }

    /// True when there is nothing to scrub.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty() && self.token.is_none()
    }
}

/// When `text` ends with a prefix (of at least 4 chars) of `secret`, the text before it.
fn partial_tail<'t>(text: &'t str, secret: &str) -> Option<&'t str> {
    (MIN_SECRET..secret.len()).rev().find_map(|n| {
        let prefix = secret.get(..n)?;
        text.strip_suffix(prefix)
    })
}

/// A URL as it may be shown in a message or a log: the password and the values of query
/// parameters that name a credential (`password`, `sslpassword`, `secret`, `token`, `key`) become
/// `***`; user, hosts, ports and path stay, so a person can tell which servers are meant. Every
/// store and the command line show store URLs through this one function, including lists of
/// hosts that are not single URLs (`redis+sentinel://:pw@h1:26379,h2:26379/mymaster`).
pub fn masked_url(url: &str) -> String {
    let url = url.trim();
    if let Ok(mut u) = url::Url::parse(url)
        && u.has_host()
    {
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        if let Some(q) = u.query().map(mask_query) {
            u.set_query(Some(&q));
        }
        return u.to_string();
    }
    // Not a single-host URL: mask the userinfo and the query by hand.
    let Some((scheme, rest)) = url.split_once("://") else { return "[not a URL]".to_string() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, q)) => format!("{path}?{}", mask_query(q)),
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A query string with the values of credential parameters replaced by `***`.
fn mask_query(q: &str) -> String {
    let credential = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["password", "secret", "token", "key"].iter().any(|w| k.contains(w))
    };
    let pairs = form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| {
            let v = if credential(&k) { "***".into() } else { v };
            (k, v)
        })
        .collect::<Vec<_>>();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masked_urls_keep_the_server_and_hide_credentials() {
        let m = super::masked_url("redis://user:pw1@h:6379/0?prefix=x");
        assert_eq!(m, "redis://user:***@h:6379/0?prefix=x");
        let m = super::masked_url("postgres://u@h/db?sslpassword=pw2&sslmode=require");
        assert!(!m.contains("pw2") && m.contains("sslmode=require"), "{m}");
        assert_eq!(super::masked_url("redis://:pw3@h:1 x"), "redis://:***@h:1 x");
        let m = super::masked_url("redis+sentinel://u:pw4@h1:26379,h2:26379/mymaster?password=pw5&db=2");
        assert_eq!(m, "redis+sentinel://u:***@h1:26379,h2:26379/mymaster?password=***&db=2");
        assert_eq!(super::masked_url("no url here"), "[not a URL]");
    }

    use super::*;

    #[test]
    fn json_is_redacted_by_key_not_substring() {
        assert_eq!(sanitize_body(r#"{"error":"invalid_client_secret"}"#), r#"{"error":"invalid_client_secret"}"#);
        let s = sanitize_body(r#"{"access_token":"1000.secret","nested":[{"refresh_token":"1000.r"}],"x":1}"#);
        assert!(!s.contains("1000.secret") && !s.contains("1000.r"), "{s}");
        assert!(s.contains(r#""x":1"#));
    }

    #[test]
    fn text_is_redacted_only_when_a_key_is_used() {
        assert!(sanitize_body("access_token=1000.abc&x=1").starts_with("[redacted"));
        assert!(sanitize_body("<p>refresh_token: 1000.abc</p>").starts_with("[redacted"));
        assert_eq!(sanitize_body("error: invalid_client_secret"), "error: invalid_client_secret");
    }

    #[test]
    fn scrub_replaces_plain_encoded_and_cut_secrets() {
        let s = Scrub::new(["1000.refresh/+x", "ab"]);
        assert_eq!(s.apply("echo 1000.refresh/+x"), "echo [redacted]");
        assert_eq!(s.apply("q=1000.refresh%2F%2Bx"), "q=[redacted]");
        assert_eq!(s.apply("tail 1000.ref…[truncated]"), "tail [redacted]…[truncated]");
        assert_eq!(s.apply("ab stays"), "ab stays");
    }
}
