//! Promises settled from the core runtime, and cancellation tokens for `AbortSignal`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Result};
use napi_derive::napi;
use tokio::sync::Notify;
use tracing::instrument::WithSubscriber;

use crate::error::Failure;

// The option conversions import `check` from here, next to `spawn`.
pub(crate) use crate::error::check;

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
/// with the error (built on the JavaScript thread, only then). The future runs under
/// `logger`'s dispatcher (if any) and stops when `cancel` fires.
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
        let settled = match outcome {
            None => Err(Failure::Aborted),
            Some(Err(_)) => Err(Failure::Panicked),
            Some(Ok(Err(e))) => Err(Failure::Core(e)),
            Some(Ok(Ok(v))) => Ok(v),
        };
        // One callback on the JavaScript thread either way; a rejection's error object is built
        // there, from the classes of the environment that made the call.
        deferred.resolve(move |env| match settled {
            Ok(v) => to_js(v),
            Err(f) => Err(f.to_js(&env)),
        })
    };
    match dispatch {
        Some(d) => drop(zoho_oauth::runtime().spawn(task.with_subscriber(d.clone()))),
        None => drop(zoho_oauth::runtime().spawn(task)),
    }
    Ok(promise)
}
