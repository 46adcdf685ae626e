//! Running core futures for Kotlin's `suspend` functions.
//!
//! uniffi polls an exported `async fn` from the foreign side and needs no runtime of its own;
//! the work itself must run on the core's one tokio runtime (`zoho_oauth::runtime()`), where
//! reqwest's connection pool and timers live. So every async method spawns its future there
//! and awaits the task's handle, which is runtime-agnostic: the task's completion wakes
//! uniffi's waker, which resumes the coroutine. Nothing here starts another runtime.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::error::{Result, ZohoError};

/// Aborts the task when dropped: a cancelled coroutine drops uniffi's future, and with it
/// this guard, so the request (and its connection) stops instead of running on unseen.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Run `fut` on the core runtime and give its outcome, with core errors converted.
///
/// A panic in the task (a bug) is resumed here, where uniffi turns it into Kotlin's
/// `InternalException` rather than a hung coroutine.
pub(crate) async fn on_core<F, T>(fut: F) -> Result<T>
where
    F: Future<Output = zoho_oauth::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    match AbortOnDrop(zoho_oauth::runtime().spawn(fut)).await {
        Ok(outcome) => outcome.map_err(ZohoError::from),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only this guard aborts the task, and it is gone by then; a runtime shutting down
        // cancels tasks too.
        Err(_) => Err(ZohoError::from(zoho_oauth::Error::new(
            zoho_oauth::ErrorCode::Transport,
            "the call was cancelled because the zoho-oauth runtime is shutting down",
        ))),
    }
}
