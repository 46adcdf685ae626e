//! The core's `tracing` events as records of the standard `logging` logger `zoho_oauth`.
//!
//! Only events whose target starts with `zoho_oauth` are forwarded, as the core's redacted
//! `LogRecord` (the same redaction the Node bridge and the errors use: `zoho_oauth::log`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use zoho_oauth::log::LogRecord;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Install the bridge as the process's global `tracing` subscriber (once; a second call, or a
/// subscriber installed by someone else, is left alone).
pub(crate) fn install() {
    let _ = tracing::subscriber::set_global_default(Bridge);
}

struct Bridge;

fn ours(meta: &Metadata<'_>) -> bool {
    zoho_oauth::log::is_ours(meta)
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
        let v = LogRecord::of(event);
        let level = match v.level {
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

fn emit(py: Python<'_>, level: i32, v: &LogRecord) -> PyResult<()> {
    let logger = LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("logging")?.getattr("getLogger")?.call1(("zoho_oauth",))?.unbind())
    })?;
    let logger = logger.bind(py);
    if !logger.call_method1(pyo3::intern!(py, "isEnabledFor"), (level,))?.is_truthy()? {
        return Ok(());
    }
    let text = v.line();
    let extra = PyDict::new(py);
    let fields = PyDict::new(py);
    for (k, val) in &v.fields {
        fields.set_item(k, val.to_string())?;
    }
    extra.set_item("zoho_fields", fields)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    logger.call_method(pyo3::intern!(py, "log"), (level, "%s", text), Some(&kwargs))?;
    Ok(())
}
