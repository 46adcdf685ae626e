//! Parsing the redirect Zoho sends back to the app after consent.
//!
//! Real callbacks carry `code`, `state`, `location` and `accounts-server` in any order, with
//! the accounts server URL-encoded or not; some frameworks hand over only the query string, or
//! the whole URL percent-encoded once more. All of these parse; anything else is a typed error.

use crate::dc::truncate;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::GrantCode;

/// The parameters of an authorization callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    /// The grant code (absent when the user denied access).
    pub code: Option<GrantCode>,
    /// The `state` echoed back.
    pub state: Option<String>,
    /// The user's DC code (`location`).
    pub location: Option<String>,
    /// The user's accounts server (`accounts-server`), decoded.
    pub accounts_server: Option<String>,
    /// `error` when Zoho redirected with one (for example `access_denied`).
    pub error: Option<String>,
}

/// Parse a callback URL, a bare query string (`?code=…&…` or `code=…&…`), or either of them
/// percent-encoded once more. Never panics; a malformed input is an `invalid_response` error.
pub fn parse_callback(input: &str) -> Result<Callback> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(malformed(input, "the callback URL is empty"));
    }
    let mut candidate = trimmed.to_string();
    // A whole URL encoded once more ("https%3A%2F%2F…%3Fcode%3D…"): decode one level.
    if !candidate.contains('?') && !candidate.contains('=') && candidate.contains('%') {
        let decoded: String = percent_decode(&candidate);
        candidate = decoded;
    }
    let query = match candidate.find('?') {
        Some(i) => &candidate[i + 1..],
        // A bare query string: its first '=' comes before any "://" (which may sit in the
        // unencoded accounts-server value).
        None if candidate.find('=').is_some_and(|eq| candidate.find("://").is_none_or(|sch| eq < sch)) => {
            candidate.as_str()
        }
        None => return Err(malformed(input, "the callback URL has no query string")),
    };
    let query = query.split('#').next().unwrap_or_default();
    let mut cb = Callback { code: None, state: None, location: None, accounts_server: None, error: None };
    let mut seen_any = false;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        seen_any = true;
        let value = value.trim().to_string();
        match key.as_ref() {
            "code" if !value.is_empty() => cb.code = Some(GrantCode::new(value)),
            "state" => cb.state = Some(value),
            "location" if !value.is_empty() => cb.location = Some(value.to_ascii_lowercase()),
            "accounts-server" | "accounts_server" | "accountsServer" if !value.is_empty() => {
                // Encoded twice by some proxies: decode until it looks like a URL.
                let v = if value.contains("%3A") || value.contains("%3a") { percent_decode(&value) } else { value };
                cb.accounts_server = Some(v.trim_end_matches('/').to_string());
            }
            "error" if !value.is_empty() => cb.error = Some(value),
            _ => {}
        }
    }
    if !seen_any {
        return Err(malformed(input, "the callback URL has an empty query string"));
    }
    if cb.code.is_none() && cb.error.is_none() {
        return Err(malformed(input, "the callback has neither `code` nor `error`"));
    }
    Ok(cb)
}

fn percent_decode(s: &str) -> String {
    // form_urlencoded decodes '+' as space, which never appears legitimately here.
    form_urlencoded::parse(format!("x={}", s.replace('&', "%26").replace('=', "%3D")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn malformed(input: &str, what: &str) -> Error {
    // The input may contain a grant code: name only its host, never its query.
    let shown = url::Url::parse(input.trim())
        .ok()
        .and_then(|u| u.host_str().map(|h| format!(" (host {:?})", truncate(h, 60))))
        .unwrap_or_default();
    Error::new(ErrorCode::InvalidResponse, format!("{what}{shown}")).with_hint(
        "pass the full URL Zoho redirected to, e.g. https://app.example/cb?code=…&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu&state=…",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_and_plain() {
        let a = parse_callback(
            "https://app/cb?code=1000.abc&location=in&accounts-server=https%3A%2F%2Faccounts.zoho.in&state=s1",
        )
        .expect("parses");
        assert_eq!(a.code.as_ref().map(|c| c.secret()), Some("1000.abc"));
        assert_eq!(a.accounts_server.as_deref(), Some("https://accounts.zoho.in"));
        assert_eq!(a.location.as_deref(), Some("in"));
        assert_eq!(a.state.as_deref(), Some("s1"));
        let b = parse_callback(
            "https://app/cb?state=s1&accounts-server=https://accounts.zoho.in/&code=1000.abc&location=in",
        )
        .expect("parses");
        assert_eq!(a, b);
        let c = parse_callback("code=1000.abc&location=in&accounts-server=https://accounts.zoho.in&state=s1")
            .expect("parses");
        assert_eq!(a, c);
        let d = parse_callback(
            "https%3A%2F%2Fapp%2Fcb%3Fcode%3D1000.abc%26location%3Din%26accounts-server%3Dhttps%253A%252F%252Faccounts.zoho.in%26state%3Ds1",
        )
        .expect("parses");
        assert_eq!(a, d);
    }

    #[test]
    fn errors() {
        for bad in ["", "https://app/cb", "https://app/cb?", "https://app/cb?foo=bar", "%%%", "???"] {
            let e = parse_callback(bad).err().map(|e| e.code());
            assert_eq!(e, Some(ErrorCode::InvalidResponse), "{bad}");
        }
        let denied = parse_callback("https://app/cb?error=access_denied&state=x").expect("parses");
        assert_eq!(denied.error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn malformed_error_does_not_echo_the_code() {
        for input in ["https://app/cb?code=&secretish=1000.topsecret", "code=&x=1000.topsecret", "1000.topsecret"] {
            let e = parse_callback(input).err();
            let text = e.map(|e| format!("{e} {e:?}")).unwrap_or_default();
            assert!(!text.contains("topsecret"), "{text}");
        }
    }
}
