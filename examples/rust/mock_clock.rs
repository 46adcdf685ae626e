//! Test plumbing shared by the examples, not OAuth: the fake Zoho's virtual clock as an app's
//! clock, so that token expiry and waits (device polling, backoff) follow the fake's time and
//! waiting advances it instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use zoho_oauth::Clock;
use zoho_oauth::clock::BoxFuture;

/// The fake Zoho's clock: reads its virtual time; a sleep advances it.
pub struct MockClock(pub Arc<zoho_mock::MockZoho>);

impl Clock for MockClock {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.0.advance_clock(d);
        Box::pin(tokio::task::yield_now())
    }
}
