//! The `logger` option: the core's `tracing` events, as the core's redacted `LogRecord` (the
//! same redaction the Python bridge and the errors use: `zoho_oauth::log`), forwarded to a
//! JavaScript function as JSON records, on the JS thread of the env that
//! created the logger. Each client/app gets its own dispatcher, installed around its futures,
//! so one client's events never reach another client's logger.

use std::sync::atomic::{AtomicU64, Ordering};

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};
use napi_derive::napi;
use serde_json::{Map, Value};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use zoho_oauth::log::{LogRecord, LogValue};

/// Receives one JSON record per event; weak, so a logger never keeps the process alive.
type LogFn = ThreadsafeFunction<String, (), String, Status, false, true>;

struct JsLogSubscriber {
    sink: LogFn,
    next_span: AtomicU64,
}

fn wanted(meta: &Metadata<'_>) -> bool {
    zoho_oauth::log::is_ours(meta) && *meta.level() <= Level::DEBUG
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl Subscriber for JsLogSubscriber {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if wanted(meta) { Interest::sometimes() } else { Interest::never() }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        wanted(meta)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let r = LogRecord::of(event);
        let fields: Map<String, Value> = r
            .fields
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    LogValue::Str(s) => Value::String(s),
                    LogValue::I64(n) => Value::from(n),
                    LogValue::U64(n) => Value::from(n),
                    LogValue::F64(n) => Value::from(n),
                    LogValue::Bool(b) => Value::from(b),
                };
                (k.to_string(), v)
            })
            .collect();
        let record = serde_json::json!({
            "level": level_name(&r.level),
            "target": r.target,
            "message": r.message,
            "fields": fields,
        });
        // NonBlocking: a slow logger drops nothing (the queue is unbounded) and never stalls
        // the runtime; a closing env (a terminated worker) simply loses the event.
        let _ = self.sink.call(record.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// A JavaScript logger function wrapped for the core's events. `index.js` builds it from the
/// `logger` option; the function receives one JSON string per event.
#[napi]
pub struct NativeLogger {
    pub(crate) dispatch: tracing::Dispatch,
}

#[napi]
impl NativeLogger {
    /// Wrap `sink`, called with a JSON record `{level, target, message, fields}` per event.
    #[napi(constructor, ts_args_type = "sink: (record: string) => void")]
    pub fn new(sink: LogFn) -> Result<Self> {
        let subscriber = JsLogSubscriber { sink, next_span: AtomicU64::new(0) };
        Ok(NativeLogger { dispatch: tracing::Dispatch::new(subscriber) })
    }
}
