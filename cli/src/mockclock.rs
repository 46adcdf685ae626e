//! Time against the fake Zoho: with `ZOHO_MOCK_VIRTUAL_CLOCK=1` and `--accounts-url` pointing at
//! a running `zoho-oauth mock`, waits (device polling, Retry-After) move the mock's virtual clock
//! instead of the wall clock, so a ten-minute device flow runs in seconds. Never used against
//! Zoho: it only acts when an accounts URL is configured and the variable is set.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{Clock, SystemClock};

/// A clock that advances the mock's virtual clock (`POST /__mock/clock/advance`) on every sleep
/// and adds the same offset to its own reading, so both stay in step.
pub struct MockHttpClock {
    base: String,
    offset_ms: Arc<AtomicI64>,
    http: reqwest::Client,
}

impl MockHttpClock {
    pub fn new(base: &str) -> Self {
        MockHttpClock {
            base: base.trim_end_matches('/').to_string(),
            offset_ms: Arc::default(),
            http: reqwest::Client::new(),
        }
    }
}

impl Clock for MockHttpClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let url = format!("{}/__mock/clock/advance", self.base);
        let offset = self.offset_ms.clone();
        let http = self.http.clone();
        Box::pin(async move {
            let _ = http.post(url).json(&serde_json::json!({ "seconds": d.as_secs_f64() })).send().await;
            offset.fetch_add(d.as_millis() as i64, Ordering::Relaxed);
            // A little real time per wait, so whoever drives the mock (a test approving a device
            // code) gets a chance to act between two polls.
            tokio::time::sleep(d.min(Duration::from_millis(300))).await;
        })
    }
}
