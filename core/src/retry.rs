//! Retry policy for product API calls (DESIGN point 5 and "Decisions").
//!
//! 429 is retried for every method (Zoho did not process the request); 5xx and connection
//! errors only for idempotent methods unless the caller opts in, because a POST that reached
//! Zoho may have created a record. `Retry-After` (seconds or an HTTP date) is honoured up to a
//! cap; otherwise the wait is exponential backoff with full jitter. An overall deadline bounds
//! the whole call.

use std::time::{Duration, UNIX_EPOCH};

use rand::Rng;

/// Retry settings of a client (and of one request, where overridden).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// First backoff step (default 250 ms); doubles per attempt.
    pub base_delay: Duration,
    /// Largest backoff step (default 10 s).
    pub max_delay: Duration,
    /// Longest `Retry-After` the client waits for (default 60 s); a longer one ends the retries
    /// and the response is returned with its `retry_after`.
    pub max_retry_after: Duration,
    /// Overall deadline for one call, retries and waits included (default 120 s).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter backoff for retry number `attempt` (0-based): uniform in
    /// `[0, min(max_delay, base_delay * 2^attempt)]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.min(30))).min(self.max_delay);
        let ms = exp.as_millis() as u64;
        if ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::rng().random_range(0..=ms))
    }
}

/// Methods that may be repeated without changing the result (RFC 9110).
pub(crate) fn is_idempotent(method: &reqwest::Method) -> bool {
    matches!(method.as_str(), "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE")
}

/// What a response status means for retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 429: retry any method.
    RateLimited,
    /// 500, 502, 503, 504: retry idempotent methods (or when opted in).
    ServerError,
    /// Anything else: return it.
    Final,
}

/// Classify a status for retrying.
pub(crate) fn classify(status: u16) -> StatusClass {
    match status {
        429 => StatusClass::RateLimited,
        500 | 502 | 503 | 504 => StatusClass::ServerError,
        _ => StatusClass::Final,
    }
}

/// Parse a `Retry-After` value: delay-seconds or an HTTP date (relative to `now_ms`).
/// Dates in the past give zero. Garbage gives `None`.
pub(crate) fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(86_400 * 365)));
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() && f >= 0.0 {
            return Some(Duration::from_secs_f64(f.min(86_400.0 * 365.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(v).ok()?;
    let when_ms = when.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(Duration::from_millis(when_ms.saturating_sub(now_ms).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 2 ", 0), Some(Duration::from_secs(2)));
        let now_ms = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now_ms), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now_ms), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-3", 0), None);
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            let d = p.backoff(attempt);
            assert!(d <= p.max_delay);
            assert!(d <= p.base_delay * 2u32.saturating_pow(attempt.min(30)));
        }
    }

    #[test]
    fn idempotency_and_classes() {
        assert!(is_idempotent(&reqwest::Method::GET));
        assert!(is_idempotent(&reqwest::Method::PUT));
        assert!(!is_idempotent(&reqwest::Method::POST));
        assert!(!is_idempotent(&reqwest::Method::PATCH));
        assert_eq!(classify(429), StatusClass::RateLimited);
        assert_eq!(classify(503), StatusClass::ServerError);
        assert_eq!(classify(501), StatusClass::Final);
        assert_eq!(classify(401), StatusClass::Final);
    }
}
