//! Requests: the builder, URL resolution, and sending with retries and one refresh on a dead-token 401.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use tracing::{debug, info};

use super::{Client, Method, Product};
use crate::TokenSet;
use crate::dc::truncate;
use crate::error::{Error, ErrorCode, Result};
use crate::paginate::Paginator;
use crate::redact::Scrub;
use crate::response::{DEAD_TOKEN_CODES, Response};
use crate::retry::{RetryPolicy, StatusClass, classify, is_idempotent};

impl Client {
    /// A request to `url`: an absolute URL, or a path resolved against the base URL of the
    /// product (see [`RequestBuilder::product`]).
    pub fn request(&self, method: Method, url: impl Into<String>) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            target: url.into(),
            product: Product::Crm,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            retry_non_idempotent: false,
            max_retries: None,
            error: None,
        }
    }

    /// A GET request.
    pub fn get(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl Into<String>) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Iterate over the records of a CRM list (`/crm/v8/Leads`): `page` up to 2,000 records,
    /// then `page_token`.
    pub fn paginate(&self, path: impl Into<String>) -> Paginator {
        Paginator::new(self.clone(), path.into())
    }

    /// The base URL a relative path of `product` goes to now: the explicit `api_domain`, else
    /// the cached token's `api_domain` (CRM, Books) when trusted, else the user's data centre's
    /// host for the product. Useful to check a configuration before any request.
    pub fn base_url(&self, product: Product) -> String {
        let token = self.inner.hot.load_full();
        self.inner.hosts.base_for_domain(product, token.as_ref().and_then(|t| t.api_domain.as_deref()))
    }
}

/// Body of a request.
#[derive(Clone)]
enum Body {
    Json(Vec<u8>),
    Form(String),
    Bytes(Vec<u8>, Option<String>),
}

/// A request under construction; finish with [`send`](RequestBuilder::send).
pub struct RequestBuilder {
    client: Client,
    method: Method,
    target: String,
    product: Product,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    timeout: Option<Duration>,
    retry_non_idempotent: bool,
    max_retries: Option<u32>,
    error: Option<Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// The product of a relative path (default CRM).
    pub fn product(mut self, product: Product) -> Self {
        self.product = product;
        self
    }

    /// Add query parameters.
    pub fn query<K: ToString, V: ToString>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Add one query parameter.
    pub fn query_pair(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Add a header (the `Authorization` header is set by the client and cannot be given).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if name.eq_ignore_ascii_case("authorization") {
            self.error = Some(Error::config(
                "the Authorization header is set by the client",
                "do not pass Authorization; the client adds Zoho-oauthtoken itself",
            ));
        } else {
            self.headers.push((name, value.into()));
        }
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => self.body = Some(Body::Json(v)),
            Err(e) => {
                self.error = Some(Error::config(
                    format!("the JSON body cannot be serialized: {e}"),
                    "pass a value that serializes to JSON",
                ))
            }
        }
        self
    }

    /// A JSON body from a raw JSON string (validated).
    pub fn json_str(mut self, json: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(_) => self.body = Some(Body::Json(json.as_bytes().to_vec())),
            Err(e) => self.error = Some(Error::config(format!("the JSON body is not valid JSON: {e}"), "fix the JSON")),
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k.as_ref(), v.as_ref());
        }
        self.body = Some(Body::Form(s.finish()));
        self
    }

    /// A raw body with an optional content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: Option<&str>) -> Self {
        self.body = Some(Body::Bytes(bytes.into(), content_type.map(str::to_string)));
        self
    }

    /// Timeout of each attempt of this request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry 5xx and connection errors even for non-idempotent methods (POST, PATCH).
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.retry_non_idempotent = yes;
        self
    }

    /// Retries for this request (overrides the client's).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// [`send`](RequestBuilder::send) from synchronous code: on the shared runtime, or on the
    /// calling thread once it has sent a few requests (see
    /// [`request_here`](crate::runtime::request_here)).
    pub fn send_blocking(self) -> Result<Response> {
        if crate::runtime::request_here() {
            // Boxed: the runtime's wrappers then move a pointer, not the request's state.
            crate::runtime::block_on_here(Box::pin(self.send()))
        } else {
            crate::runtime::block_on(self.send())
        }
    }

    /// Send: resolve and check the URL, get a token, send with retries, refresh once on a
    /// dead-token 401. Returns the response for every status; see
    /// [`Response::error_for_status`].
    pub async fn send(self) -> Result<Response> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let client = self.client.clone();
        client.check_fork()?;
        let inner = client.inner.clone();
        let absolute = is_absolute(&self.target);
        // Absolute URLs are checked before any I/O; those whose answer depends on the token's
        // api_domain are checked again once the token is known.
        // A relative path that climbs above the base URL's prefix is refused before a token is
        // fetched: it would be refused after, whatever the token says.
        let relative = if absolute {
            let url = parse_url(&self.target)?;
            if inner.hosts.static_allowed(&url) == Some(false) {
                inner.hosts.check_allowed(&url, None)?;
            }
            None
        } else {
            Some(normalize_relative(&self.target)?)
        };
        let prepared = Prepared {
            http: inner.app.api_http()?,
            method: &self.method,
            query: url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.query).finish(),
            headers: header_map(&self.headers)?,
            body: self.body.as_ref(),
            max_body: inner.max_response_bytes,
            scrub: &inner.scrub,
        };
        let _permit = match &inner.limiter {
            Some(s) => Some(
                s.clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::config("the concurrency limiter was closed", "build a new client"))?,
            ),
            None => None,
        };
        let policy =
            RetryPolicy { max_retries: self.max_retries.unwrap_or(inner.retry.max_retries), ..inner.retry.clone() };
        let idempotent = is_idempotent(&self.method) || self.retry_non_idempotent;
        let clock = client.clock().clone();
        let deadline = clock.now_ms().saturating_add(policy.deadline.as_millis() as i64);
        let per_attempt = self.timeout.unwrap_or(inner.timeout);
        let mut attempt: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            let token = client.token_set_until(Some(deadline)).await?;
            let url = match &relative {
                None => parse_url(&self.target)?,
                Some(path) => resolve_relative(&inner.base_url, &inner.hosts.base_for(self.product, &token), path)?,
            };
            inner.hosts.check_allowed(&url, Some(&token))?;
            let now = clock.now_ms();
            let remaining = deadline.saturating_sub(now);
            if remaining <= 0 {
                return Err(Error::new(ErrorCode::Timeout, "the request's overall deadline passed")
                    .with_hint("raise the deadline in the retry policy"));
            }
            let timeout = per_attempt.min(Duration::from_millis(remaining as u64));
            let outcome = prepared
                .send_once(url, &token, timeout, now)
                .await
                .map_err(|e| e.scrub(&inner.scrub.with([token.access_token.secret()])));
            match outcome {
                Ok(resp) => {
                    let limits = resp.rate_limits();
                    if limits.credits_remaining.is_some() || limits.retry_after.is_some() {
                        *inner.rate_limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
                    }
                    if resp.status() == 401 && !refreshed_after_401 {
                        let code = resp.zoho_code().unwrap_or_default();
                        if DEAD_TOKEN_CODES.contains(&code.as_str()) {
                            refreshed_after_401 = true;
                            info!(target: "zoho_oauth", zoho_code = %code, "401 with a dead token: invalidating and refreshing once");
                            client.invalidate(&token.access_token).await?;
                            continue;
                        }
                    }
                    let retryable = match classify(resp.status()) {
                        StatusClass::RateLimited => true,
                        StatusClass::ServerError => idempotent,
                        StatusClass::Final => false,
                    };
                    if !retryable || attempt >= policy.max_retries {
                        return Ok(resp);
                    }
                    let delay = match resp.retry_after() {
                        Some(ra) if ra > policy.max_retry_after => {
                            debug!(target: "zoho_oauth", retry_after_s = ra.as_secs(), "Retry-After beyond the cap; returning the response");
                            return Ok(resp);
                        }
                        Some(ra) => ra,
                        None => policy.backoff(attempt),
                    };
                    if clock.now_ms().saturating_add(delay.as_millis() as i64) >= deadline {
                        return Ok(resp);
                    }
                    info!(target: "zoho_oauth", status = resp.status(), attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying");
                    clock.sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    // An answer over the cap would be as large again: retrying only reads it again.
                    if !idempotent || attempt >= policy.max_retries || e.code() == ErrorCode::ResponseTooLarge {
                        return Err(e);
                    }
                    let delay = policy.backoff(attempt);
                    if clock.now_ms().saturating_add(delay.as_millis() as i64) >= deadline {
                        return Err(e);
                    }
                    info!(target: "zoho_oauth", error = %e.code(), attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying after a transport error");
                    clock.sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// True when `target` is an absolute URL: a scheme, then `://`, before any `/`, `?` or `#`
/// (a relative path may carry `://` in its query string).
fn is_absolute(target: &str) -> bool {
    let t = target.trim_start();
    let Some(pos) = t.find("://") else {
        return false;
    };
    let scheme = &t[..pos];
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A relative path with `.` and `..` segments resolved (also percent-encoded ones) and empty
/// segments collapsed, so it stays under the base URL's path prefix; a path that climbs above
/// it is a config error. The query string and fragment are kept as they are.
fn normalize_relative(target: &str) -> Result<String> {
    let split = target.find(['?', '#']).unwrap_or(target.len());
    let (path, rest) = target.split_at(split);
    // Nearly every path is already normal (`/crm/v8/Leads`): no empty, dot or backslash
    // segment. Such a path is kept as it is, without splitting and joining it again.
    let bytes = path.as_bytes();
    let dot_or_empty = bytes.windows(2).any(|w| w == b"//" || w == b"/.")
        || bytes.windows(4).any(|w| w[0] == b'/' && w[1..].eq_ignore_ascii_case(b"%2e"))
        || path.starts_with('.')
        || path.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%2e"));
    if !dot_or_empty && !path.contains('\\') {
        return Ok(if path.starts_with('/') { target.to_string() } else { format!("/{target}") });
    }
    let mut segments: Vec<&str> = Vec::new();
    let is = |seg: &str, forms: &[&str]| forms.iter().any(|f| seg.eq_ignore_ascii_case(f));
    for seg in path.split(['/', '\\']) {
        match seg {
            s if is(s, &["", ".", "%2e"]) => {}
            s if is(s, &["..", ".%2e", "%2e.", "%2e%2e"]) => {
                if segments.pop().is_none() {
                    return Err(Error::config(
                        format!("the path {:?} climbs above the base URL", truncate(target, 80)),
                        "pass a path without `..` segments, or an absolute URL",
                    ));
                }
            }
            _ => segments.push(seg),
        }
    }
    let trailing = if path.ends_with('/') && !segments.is_empty() { "/" } else { "" };
    Ok(format!("/{}{trailing}{rest}", segments.join("/")))
}

/// `base` (a base URL: scheme, host, perhaps a path prefix) followed by `path` (a relative
/// target as [`normalize_relative`] returns it: a path from `/`, perhaps a query and a
/// fragment), parsed: the same URL as parsing the two strings joined, without parsing the
/// base's scheme and host again for every request. `cache` keeps the last base parsed (a
/// client's requests all go to one or two bases).
///
/// A base that does not take a path cleanly (a query or fragment of its own, no host, anything
/// the parser would rewrite) is joined and parsed as a whole every time.
pub(super) fn resolve_relative(
    cache: &arc_swap::ArcSwapOption<(String, url::Url)>,
    base: &str,
    path: &str,
) -> Result<url::Url> {
    let base = base.trim_end_matches('/');
    let joined = || parse_url(&format!("{base}{path}"));
    let cached = cache.load();
    let mut url = match cached.as_deref() {
        Some((b, u)) if b == base => u.clone(),
        _ => {
            let Ok(u) = url::Url::parse(base) else { return joined() };
            // Only a base the parser keeps as written: its path then ends where `path` begins.
            let clean = u.query().is_none()
                && u.fragment().is_none()
                && u.has_host()
                && u.as_str().trim_end_matches('/') == base;
            if !clean {
                return joined();
            }
            cache.store(Some(Arc::new((base.to_string(), u.clone()))));
            u
        }
    };
    let (rest, fragment) = match path.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (path, None),
    };
    let (p, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let joined_path = format!("{}{p}", url.path().trim_end_matches('/'));
    url.set_path(&joined_path);
    url.set_query(query);
    url.set_fragment(fragment);
    Ok(url)
}

/// `encoded` (form-encoded pairs) added to `url`'s query, after the pairs it has: what
/// `url.query_pairs_mut().append_pair(…)` does for each pair, with the query set once.
fn append_query(url: &mut url::Url, encoded: &str) {
    if encoded.is_empty() {
        return;
    }
    let query = match url.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
        _ => encoded.to_string(),
    };
    url.set_query(Some(&query));
}

pub(super) fn parse_url(s: &str) -> Result<url::Url> {
    url::Url::parse(s.trim()).map_err(|_| {
        Error::config(
            format!("not a valid URL: {:?}", truncate(s, 80)),
            "pass a path such as /crm/v8/Leads or an absolute https:// URL",
        )
    })
}

/// The headers of a request, validated before any I/O.
fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
            Error::config(format!("invalid header name {:?}", truncate(k, 40)), "use a valid HTTP header name")
        })?;
        let value = HeaderValue::from_str(v).map_err(|_| {
            Error::config(format!("invalid value for header {name}"), "header values must be visible ASCII")
        })?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// A request checked and resolved once, before its attempts: what every attempt sends the same
/// way. Each attempt adds the URL (its base may change with a refreshed token's `api_domain`),
/// the token, the time left and the time it was sent.
struct Prepared<'a> {
    http: reqwest::Client,
    method: &'a Method,
    /// The request's own query pairs, form-encoded once for all attempts.
    query: String,
    headers: HeaderMap,
    body: Option<&'a Body>,
    /// Largest response body read.
    max_body: usize,
    /// The identity's secrets, scrubbed from the response's errors.
    scrub: &'a Scrub,
}

impl Prepared<'_> {
    /// One attempt: no retry, no refresh.
    async fn send_once(
        &self,
        mut url: url::Url,
        tokens: &Arc<TokenSet>,
        timeout: Duration,
        now_ms: i64,
    ) -> Result<Response> {
        let method = self.method;
        let token = &tokens.access_token;
        append_query(&mut url, &self.query);
        let shown = url[..url::Position::AfterQuery].to_string();
        let mut auth = HeaderValue::from_str(&format!("Zoho-oauthtoken {}", token.secret())).map_err(|_| {
            Error::new(ErrorCode::InvalidResponse, "the access token contains characters not allowed in a header")
                .with_hint("the token endpoint returned a malformed token; it will be refreshed")
        })?;
        auth.set_sensitive(true);
        let mut req = self
            .http
            .request(method.clone(), url)
            .headers(self.headers.clone())
            .header(AUTHORIZATION, auth)
            .timeout(timeout);
        match self.body {
            Some(Body::Json(b)) => req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.clone()),
            Some(Body::Form(s)) => {
                req = req.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(s.clone())
            }
            Some(Body::Bytes(b, ct)) => {
                if let Some(ct) = ct {
                    req = req.header(reqwest::header::CONTENT_TYPE, ct.as_str());
                }
                req = req.body(b.clone());
            }
            None => {}
        }
        let mut resp = req.send().await.map_err(|e| Error::from_reqwest(e, &format!("{method} request")))?;
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let bytes = crate::response::read_capped(resp, self.max_body, || format!("{method} request")).await?;
        Ok(Response::new(status, headers, bytes, shown, now_ms, self.scrub.with_token(tokens)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-client base URL cache resolves every relative target exactly as parsing the
    /// joined string does, for clean bases (the fast path) and the others (the fallback).
    #[test]
    fn resolve_relative_is_the_joined_parse() {
        let bases = [
            "https://www.zohoapis.com",
            "https://www.zohoapis.eu/",
            "http://127.0.0.1:8080",
            "https://desk.zoho.com/api",
            "https://desk.zoho.com/api/",
            "https://x.example/a%20b",
            "https://X.Example",
            "https://x.example:443",
            "https://x.example/a/../b",
            "https://x.example?q=1",
            "https://x.example#f",
            "https://bücher.example",
        ];
        let targets = [
            "/crm/v8/Leads",
            "/crm/v8/Leads?per_page=1&page=2",
            "/crm/v8/Leads?",
            "/crm/v8/Leads#",
            "/a#frag?not=query",
            "/a?x=1#f?g",
            "/",
            "/?x=1",
            "/sp ace/ünï/%41%2f?q=a b&é=ü",
            "/a\\b",
            "/a|b/{c}/\"d\"/<e>/`f`",
            "/a?x=%zz&y=<z>#<f>",
        ];
        let cache = arc_swap::ArcSwapOption::empty();
        for _ in 0..2 {
            for base in bases {
                for target in targets {
                    let path = normalize_relative(target).expect("normal");
                    let want = parse_url(&format!("{}{}", base.trim_end_matches('/'), path)).expect("joined");
                    let got = resolve_relative(&cache, base, &path).expect("resolved");
                    assert_eq!(got.as_str(), want.as_str(), "base {base:?} target {target:?}");
                    assert_eq!(got, want);
                }
            }
        }
        assert!(resolve_relative(&cache, "not a url", "/x").is_err());
    }

    /// The query pairs, encoded once, end up as appending each pair to the URL's query would
    /// leave them.
    #[test]
    fn append_query_is_append_pair() {
        let pairs = [("per_page", "1"), ("q", "a b&c=d+e"), ("é", "#ü/?%")];
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        for u in ["https://x.example/a", "https://x.example/a?", "https://x.example/a?b=1", "https://x.example/a?b=1#f"]
        {
            let mut want = url::Url::parse(u).expect("url");
            want.query_pairs_mut().extend_pairs(pairs);
            let mut got = url::Url::parse(u).expect("url");
            append_query(&mut got, &encoded);
            assert_eq!(got.as_str(), want.as_str());
            let mut same = url::Url::parse(u).expect("url");
            append_query(&mut same, "");
            assert_eq!(same.as_str(), u);
        }
    }

    #[test]
    fn absolute_urls_and_relative_paths() {
        assert!(is_absolute("https://www.zohoapis.eu/crm/v8/Leads"));
        assert!(!is_absolute("/crm/v8/Leads?next=https://evil.example"));
        assert!(!is_absolute("Leads?x=a://b"));
        let n = |s: &str| normalize_relative(s).map_err(|e| e.code());
        assert_eq!(n("crm/v8//Leads/"), Ok("/crm/v8/Leads/".to_string()));
        assert_eq!(n("/a/./b/../c?x=/../y"), Ok("/a/c?x=/../y".to_string()));
        assert_eq!(n("/..//x"), Err(ErrorCode::Config));
        assert_eq!(n("/a/%2E%2e/../x"), Err(ErrorCode::Config));
        // Already normal: kept as is (the fast path), with a leading slash added.
        assert_eq!(n("/crm/v8/Leads?x=1#f"), Ok("/crm/v8/Leads?x=1#f".to_string()));
        assert_eq!(n("crm/v8/Leads"), Ok("/crm/v8/Leads".to_string()));
        assert_eq!(n("/crm/v8/Leads/"), Ok("/crm/v8/Leads/".to_string()));
        assert_eq!(n("?x=1"), Ok("/?x=1".to_string()));
        assert_eq!(n("/"), Ok("/".to_string()));
        assert_eq!(n("/a.b/c.json"), Ok("/a.b/c.json".to_string()));
        // Anything else takes the slow path, whatever the case of an encoded dot.
        assert_eq!(n("./a"), Ok("/a".to_string()));
        assert_eq!(n("%2E/a"), Ok("/a".to_string()));
        assert_eq!(n("/a/%2E/b"), Ok("/a/b".to_string()));
        assert_eq!(n("a\\..\\b"), Ok("/b".to_string()));
        assert_eq!(n(".."), Err(ErrorCode::Config));
    }
}
