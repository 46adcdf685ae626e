//! The core's `tracing` events as records for a language's own logging (Python's `logging`,
//! a Node `logger` function), redacted one way for every language.
//!
//! The core never puts a secret in an event. As a second line of defence, [`LogRecord::of`]
//! applies the same rules the errors use: a field named like a credential (the JSON keys that
//! [`sanitize_body`](crate::redact) redacts in error bodies, plus `secret` and `password`) shows
//! `[redacted]`, and text shaped like a Zoho token (`1000.` followed by 16 or more token
//! characters) becomes `[redacted]` wherever it appears in a message or a field.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};

use crate::redact::{REDACTED, is_secret_key};

/// True for events of this crate (target `zoho_oauth…`): the only ones a bridge forwards.
pub fn is_ours(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("zoho_oauth")
}

/// A field's value, typed as the event recorded it.
#[derive(Clone, Debug, PartialEq)]
pub enum LogValue {
    /// Text (also whatever was recorded with `Debug`), redacted.
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for LogValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogValue::Str(s) => f.write_str(s),
            LogValue::I64(n) => write!(f, "{n}"),
            LogValue::U64(n) => write!(f, "{n}"),
            LogValue::F64(n) => write!(f, "{n}"),
            LogValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One event, redacted, ready to hand to a logging system.
#[derive(Clone, Debug)]
pub struct LogRecord {
    /// The event's level.
    pub level: Level,
    /// The module that emitted it (`zoho_oauth::client::refresh` ...).
    pub target: &'static str,
    /// The message.
    pub message: String,
    /// The other fields in the order recorded (`key`, `attempt`, `retry_after_ms` ...).
    pub fields: Vec<(&'static str, LogValue)>,
}

impl LogRecord {
    /// The record of `event`, redacted (module docs).
    pub fn of(event: &Event<'_>) -> LogRecord {
        let meta = event.metadata();
        let mut r =
            LogRecord { level: *meta.level(), target: meta.target(), message: String::new(), fields: Vec::new() };
        event.record(&mut r);
        r
    }

    /// The message followed by ` key=value` for every field: one line for plain-text logs.
    pub fn line(&self) -> String {
        let mut text = self.message.clone();
        for (k, v) in &self.fields {
            let _ = write!(text, " {k}={v}");
        }
        text
    }

    fn text(&mut self, field: &Field, value: &str) {
        let name = field.name();
        let text = if is_log_secret(name) { REDACTED.to_string() } else { redact_tokens(value) };
        if name == "message" {
            self.message = text;
        } else {
            self.fields.push((name, LogValue::Str(text)));
        }
    }
}

impl Visit for LogRecord {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), LogValue::I64(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), LogValue::U64(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.push((field.name(), LogValue::F64(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), LogValue::Bool(value)));
    }
}

/// A field name that names a credential.
fn is_log_secret(name: &str) -> bool {
    is_secret_key(name) || name.eq_ignore_ascii_case("secret") || name.eq_ignore_ascii_case("password")
}

/// Replace anything shaped like a Zoho token (`1000.` + at least 16 token characters).
pub(crate) fn redact_tokens(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"1000.") {
            let mut j = i + 5;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'.') {
                j += 1;
            }
            if j - (i + 5) >= 16 {
                out.push_str(REDACTED);
                i = j;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_and_secret_fields_are_redacted() {
        assert_eq!(redact_tokens("got 1000.0123456789abcdef0123 back"), "got [redacted] back");
        assert_eq!(redact_tokens("client 1000.SHORT ok, ünïcode"), "client 1000.SHORT ok, ünïcode");
        assert!(is_log_secret("refresh_token") && is_log_secret("Client_Secret") && is_log_secret("password"));
        assert!(!is_log_secret("key"), "the store key is not a secret");
    }

    #[test]
    fn events_become_redacted_records() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Keep(Arc<Mutex<Vec<LogRecord>>>);
        impl tracing::Subscriber for Keep {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, e: &Event<'_>) {
                self.0.lock().unwrap().push(LogRecord::of(e));
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let keep = Keep::default();
        tracing::subscriber::with_default(keep.clone(), || {
            tracing::warn!(target: "zoho_oauth::test", key = "k1", attempt = 2u64, refresh_token = "1000.abc", "saw 1000.0123456789abcdef0123");
        });
        let r = keep.0.lock().unwrap().pop().expect("one record");
        assert_eq!(r.level, Level::WARN);
        assert_eq!(r.message, "saw [redacted]");
        assert_eq!(r.fields[0], ("key", LogValue::Str("k1".into())));
        assert_eq!(r.fields[1], ("attempt", LogValue::U64(2)));
        assert_eq!(r.fields[2], ("refresh_token", LogValue::Str("[redacted]".into())));
        assert_eq!(r.line(), "saw [redacted] key=k1 attempt=2 refresh_token=[redacted]");
    }
}
