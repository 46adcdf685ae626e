//! The core's `tracing` events as records of the standard `logging` logger `zoho_oauth`.
//!
//! Only events whose target starts with `zoho_oauth` are forwarded. The core never puts a
//! secret in an event; as a second line of defence, values of fields named like a secret and
//! anything shaped like a Zoho token (`1000.` followed by a long run of token characters) are
//! replaced by `[redacted]` before they reach Python.

use std::fmt::{self, Write as _};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Install the bridge as the process's global `tracing` subscriber (once; a second call, or a
/// subscriber installed by someone else, is left alone).
pub(crate) fn install() {
    let _ = tracing::subscriber::set_global_default(Bridge);
}

struct Bridge;

fn ours(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("zoho_oauth")
}

impl Subscriber for Bridge {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if ours(meta) && meta.is_event() { Interest::sometimes() } else { Interest::never() }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        ours(meta)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut v = Fields::default();
        event.record(&mut v);
        let level = match *event.metadata().level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            Level::INFO => 20,
            Level::DEBUG => 10,
            Level::TRACE => 5,
        };
        // Never attach while the interpreter is shutting down; a log line is not worth a crash.
        crate::runtime::attach_unless_exiting(|py| {
            if let Err(e) = emit(py, level, &v) {
                e.write_unraisable(py, None);
            }
        });
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

fn emit(py: Python<'_>, level: i32, v: &Fields) -> PyResult<()> {
    let logger = LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("logging")?.getattr("getLogger")?.call1(("zoho_oauth",))?.unbind())
    })?;
    let logger = logger.bind(py);
    if !logger.call_method1(pyo3::intern!(py, "isEnabledFor"), (level,))?.is_truthy()? {
        return Ok(());
    }
    let mut text = v.message.clone();
    let extra = PyDict::new(py);
    let fields = PyDict::new(py);
    for (k, val) in &v.fields {
        let _ = write!(text, " {k}={val}");
        fields.set_item(k, val)?;
    }
    extra.set_item("zoho_fields", fields)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    logger.call_method(pyo3::intern!(py, "log"), (level, "%s", text), Some(&kwargs))?;
    Ok(())
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, String)>,
}

const SECRET_FIELDS: [&str; 6] =
    ["access_token", "refresh_token", "client_secret", "secret", "password", "device_code"];

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        let text = if SECRET_FIELDS.contains(&name) { "[redacted]".to_string() } else { redact(&format!("{value:?}")) };
        if name == "message" {
            self.message = text;
        } else {
            self.fields.push((name, text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        let text = if SECRET_FIELDS.contains(&name) { "[redacted]".to_string() } else { redact(value) };
        if name == "message" {
            self.message = text;
        } else {
            self.fields.push((name, text));
        }
    }
}

/// Replace anything shaped like a Zoho token (`1000.` + at least 16 token characters).
fn redact(s: &str) -> String {
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
                out.push_str("[redacted]");
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
