//! Progress for commands that wait: the device flow's countdown and poll status.
//!
//! The core reports each device poll as a `tracing` event; [`DeviceStatus`] keeps the latest
//! one so the countdown line can say what Zoho last answered.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

static LAST_POLL: Mutex<Option<String>> = Mutex::new(None);

/// A tracing layer that remembers the last device-flow event of the core.
pub struct DeviceStatus;

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = Some(value.to_string());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for DeviceStatus {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == "zoho_oauth"
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut m = Message(None);
        event.record(&mut m);
        if let Some(text) = m.0.and_then(|t| t.strip_prefix("device flow: ").map(str::to_string)) {
            *LAST_POLL.lock().unwrap_or_else(|p| p.into_inner()) = Some(text);
        }
    }
}

/// The last poll status the core reported, if any.
pub fn last_poll() -> Option<String> {
    LAST_POLL.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `4m 05s`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m {:02}s", s / 60, s % 60)
}

/// Print the device flow's countdown on stderr until cancelled: one line rewritten in place on
/// a terminal, a line every 30 s otherwise.
pub async fn countdown(expires_at: std::time::Instant) {
    let tty = std::io::stderr().is_terminal();
    let mut tick = 0u64;
    loop {
        let left = expires_at.saturating_duration_since(std::time::Instant::now());
        let status = last_poll().unwrap_or_else(|| "waiting for the first poll".into());
        if tty {
            eprint!("\r\x1b[2K  waiting for approval: {} left, last poll: {status}", clock(left));
            let _ = std::io::stderr().flush();
        } else if tick.is_multiple_of(30) {
            eprintln!("  waiting for approval: {} left, last poll: {status}", clock(left));
        }
        tick += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_last_poll_is_seen_without_verbose_logging() {
        let sub = crate::subscriber(0, false);
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(target: "zoho_oauth", "device flow: slow_down");
        });
        assert_eq!(super::last_poll().as_deref(), Some("slow_down"));
    }
}
