//! Promises settled from the core runtime, cancellation tokens for `AbortSignal`, and the
//! encoding of core errors for the JavaScript wrapper.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use tokio::sync::Notify;
use tracing::instrument::WithSubscriber;

/// Prefix of an error message that carries a core error as JSON; `index.js` turns it into a
/// `ZohoError`. The control character keeps it from colliding with any human message.
pub(crate) const ERROR_TAG: &str = "\u{1}zoho-oauth-error:";

/// A core error as a napi error whose message is the tagged JSON of every field.
pub(crate) fn zoho_error(e: &zoho_oauth::Error) -> Error {
    let payload = serde_json::json!({
        "code": e.code().as_str(),
        "message": e.to_string(),
        "status": e.status(),
        "zohoCode": e.zoho_code(),
        "zohoMessage": e.zoho_message(),
        "retryAfter": e.retry_after().map(|d| d.as_secs_f64()),
        "hint": e.hint(),
        "body": e.body(),
    });
    Error::new(Status::GenericFailure, format!("{ERROR_TAG}{payload}"))
}

/// An error of this binding that has no core code (cancellation, an internal failure).
fn binding_error(code: &str, message: &str, hint: &str) -> Error {
    let payload = serde_json::json!({ "code": code, "message": message, "hint": hint });
    Error::new(Status::GenericFailure, format!("{ERROR_TAG}{payload}"))
}

/// Map a core result to a napi result (for synchronous calls).
pub(crate) fn check<T>(r: zoho_oauth::Result<T>) -> Result<T> {
    r.map_err(|e| zoho_error(&e))
}

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelState {
    async fn cancelled(&self) {
        loop {
            // Created before the flag is read, so a cancel between the two is not missed.
            let notified = self.notify.notified();
            if self.cancelled.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// One cancellation per call: `index.js` cancels it when the call's `AbortSignal` fires; the
/// call's future is then dropped, which aborts its HTTP request.
#[napi]
#[derive(Default)]
pub struct CancelToken {
    state: Arc<CancelState>,
}

#[napi]
impl CancelToken {
    /// A token that is not cancelled yet.
    #[napi(constructor)]
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancel the call this token was given to. Idempotent.
    #[napi]
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
        self.state.notify.notify_waiters();
    }
}

/// Run `fut` on the core runtime and return a Promise settled with `to_js(value)` or rejected
/// with the error. The future runs under `logger`'s dispatcher (if any) and stops when `cancel`
/// fires.
pub(crate) fn spawn<'e, T, D, F, R>(
    env: &'e Env,
    cancel: Option<&CancelToken>,
    dispatch: Option<&tracing::Dispatch>,
    fut: F,
    to_js: R,
) -> Result<Object<'e>>
where
    T: Send + 'static,
    D: ToNapiValue + 'static,
    F: Future<Output = zoho_oauth::Result<T>> + Send + 'static,
    R: FnOnce(T) -> Result<D> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    let cancel = cancel.map(|c| c.state.clone());
    let task = async move {
        let guarded = AssertUnwindSafe(fut).catch_unwind();
        let outcome = match cancel {
            Some(c) => tokio::select! {
                r = guarded => Some(r),
                _ = c.cancelled() => None,
            },
            None => Some(guarded.await),
        };
        match outcome {
            None => deferred.reject(binding_error("aborted", "the operation was aborted", "the AbortSignal fired")),
            Some(Err(_)) => deferred.reject(binding_error(
                "internal",
                "zoho-oauth panicked while handling the call",
                "this is a bug; please report it with the steps that led to it",
            )),
            Some(Ok(Err(e))) => deferred.reject(zoho_error(&e)),
            Some(Ok(Ok(v))) => deferred.resolve(move |_env| to_js(v)),
        }
    };
    match dispatch {
        Some(d) => drop(zoho_oauth::runtime().spawn(task.with_subscriber(d.clone()))),
        None => drop(zoho_oauth::runtime().spawn(task)),
    }
    Ok(promise)
}
