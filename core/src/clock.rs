//! An injectable clock, so that expiry, backoff and device-flow polling can be tested with a
//! virtual clock instead of real sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A boxed, sendable future, used where traits must stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Source of "now" and of sleeping. The default is [`SystemClock`].
pub trait Clock: Send + Sync + 'static {
    /// Current time, Unix milliseconds.
    fn now_ms(&self) -> i64;
    /// Wait for `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// True when [`now_ms`](Clock::now_ms) is the system's wall clock, the one a binding's
    /// own clock (`Date.now()`, `time.time()`) reads, so an instant this clock computes can be
    /// compared there. Virtual clocks (tests) answer false, the default.
    fn is_wall_clock(&self) -> bool {
        false
    }
}

/// The real clock: `SystemTime` and `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// A shared clock handle.
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl SharedClock {
    /// Current time, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
    /// Sleep on this clock.
    pub fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.0.sleep(d)
    }
    /// See [`Clock::is_wall_clock`].
    pub fn is_wall_clock(&self) -> bool {
        self.0.is_wall_clock()
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock(Arc::new(SystemClock))
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}
