//! The mock's virtual clock as a zoho-oauth [`Clock`], for clients under test: it reads the
//! mock's virtual time, and a sleep (backoff, `Retry-After`, device polling) advances that time
//! instead of waiting, so a ten-minute scenario runs in milliseconds. One adapter for every user
//! (the Python, Node and Kotlin testing modules, the command's demo, the Rust tests, examples and
//! benchmarks); behind the `oauth-clock` feature so the mock alone does not build the client.
//!
//! It holds the mock weakly: a clock never keeps a stopped mock alive, and once the mock is gone
//! it falls back to the system clock, so a client that outlives its mock still works.

use std::sync::{Arc, Weak};
use std::time::Duration;

use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{Clock, SystemClock};

use crate::MockZoho;

/// The mock's virtual clock (see the module docs).
#[derive(Clone, Debug)]
pub struct VirtualClock {
    mock: Weak<MockZoho>,
}

impl VirtualClock {
    /// The virtual clock of `mock`, ready for `OAuthAppBuilder::clock`.
    pub fn new(mock: &Arc<MockZoho>) -> Arc<VirtualClock> {
        Arc::new(VirtualClock { mock: Arc::downgrade(mock) })
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        match self.mock.upgrade() {
            Some(m) => m.now_ms(),
            None => SystemClock.now_ms(),
        }
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        match self.mock.upgrade() {
            Some(m) => {
                m.advance_clock(d);
                // Let whatever the sleeper waits for (another task, the mock) run first.
                Box::pin(tokio::task::yield_now())
            }
            None => SystemClock.sleep(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockConfig;

    #[tokio::test]
    async fn sleeping_advances_the_mock_and_a_stopped_mock_falls_back() {
        let mock = Arc::new(MockZoho::start(MockConfig::default()).await.expect("mock"));
        let clock = VirtualClock::new(&mock);
        let before = clock.now_ms();
        clock.sleep(Duration::from_secs(600)).await;
        assert!(clock.now_ms() - before >= 600_000, "ten virtual minutes passed");
        assert_eq!(clock.now_ms(), mock.now_ms());
        drop(mock);
        let wall = SystemClock.now_ms();
        assert!((clock.now_ms() - wall).abs() < 5_000, "back on the system clock");
    }
}
