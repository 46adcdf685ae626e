//! The [`TokenStore`] operations written once for every store that keeps one [`Record`] per
//! identity and changes it atomically: the memory store (a mutex), the SQL stores (a row locked
//! in a transaction) and the key-value stores of user code (compare-and-set). Such a store
//! provides four primitives; every operation of the trait (lease, fenced write,
//! compare-and-invalidate, budget, cooldown, backoff) is then the same record method
//! (`record.rs`) in all of them, so they cannot drift apart.

use std::future::Future;
use std::time::Duration;

use super::record::Record;
use super::{Backoff, Snapshot, StoreKey, StoredIdentity, TokenStore, window_ms};
use crate::clock::BoxFuture;
use crate::error::Result;
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// A store of one [`Record`] per identity with an atomic read-modify-write.
pub(crate) trait RecordBackend: Send + Sync + 'static {
    /// Answer `f` of the record of `key` as it is now (`None` when absent or unreadable).
    fn read<'a, T: Send + 'a>(
        &'a self,
        key: &'a StoreKey,
        f: impl FnOnce(Option<&Record>) -> T + Send + 'a,
    ) -> impl Future<Output = Result<T>> + Send + 'a;

    /// Change the record of `key` (a fresh one when absent) atomically: `f` answers its result
    /// and whether it changed the record (an unchanged record need not be written back). `f` may
    /// run more than once when the store retries after losing a race; only its last run counts.
    /// `what` names the operation in error messages.
    fn update<'a, T: Send + 'a>(
        &'a self,
        what: &'static str,
        key: &'a StoreKey,
        f: impl Fn(&mut Record) -> (T, bool) + Send + Sync + 'a,
    ) -> impl Future<Output = Result<T>> + Send + 'a;

    /// Every record with its key id, ordered by key.
    fn records(&self) -> impl Future<Output = Result<Vec<(String, Record)>>> + Send + '_;

    /// Remove the record of `key`; whether it existed.
    fn remove<'a>(&'a self, key: &'a StoreKey) -> impl Future<Output = Result<bool>> + Send + 'a;
}

/// A fresh record of `key`.
pub(crate) fn fresh(key: &StoreKey) -> Record {
    Record {
        client_id: key.client_id().to_string(),
        accounts_server: key.accounts_server().to_string(),
        ..Record::default()
    }
}

/// A record as text, or `None` when it cannot be read (written by something else, or by a
/// newer schema): such a record is treated as absent and replaced by the next write.
pub(crate) fn parse(state: &str) -> Option<Record> {
    serde_json::from_str(state).ok()
}

impl<B: RecordBackend> TokenStore for B {
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>> {
        Box::pin(self.read(key, |r| r.and_then(Record::token)))
    }

    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.update("store the token", key, move |r| (r.put(&token), true)))
    }

    fn put_fenced<'a>(&'a self, key: &'a StoreKey, token: TokenSet, fence: u64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.update("store the refreshed token", key, move |r| {
            let written = r.put_fenced(&token, fence);
            (written, written)
        }))
    }

    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.update("invalidate the token", key, move |r| {
            let removed = r.invalidate_if(rejected);
            (removed, removed)
        }))
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(self.update("take the refresh lease", key, move |r| {
            let fence = r.try_lease(holder, now_ms.saturating_add(window_ms(ttl)), now_ms);
            let taken = fence.is_some();
            (fence, taken)
        }))
    }

    fn release_lease<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.update("release the refresh lease", key, move |r| ((), r.release_lease(holder))))
    }

    fn record_refresh<'a>(
        &'a self,
        key: &'a StoreKey,
        at_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        Box::pin(self.update("record a refresh", key, move |r| (r.record_refresh(at_ms, window_ms(window)), true)))
    }

    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        Box::pin(self.read(key, move |r| r.map(|r| r.history(now_ms, window_ms(window))).unwrap_or_default()))
    }

    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.update("record the cooldown", key, move |r| (r.cooldown_until_ms = Some(until_ms), true)))
    }

    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(self.read(key, |r| r.and_then(|r| r.cooldown_until_ms)))
    }

    fn set_backoff<'a>(&'a self, key: &'a StoreKey, backoff: Backoff) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.update("record the backoff", key, move |r| (r.backoff = Some(backoff.clone()), true)))
    }

    fn backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Backoff>>> {
        Box::pin(self.read(key, |r| r.and_then(|r| r.backoff.clone())))
    }

    fn clear_backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.update("clear the backoff", key, |r| {
            let had = r.backoff.take().is_some();
            ((), had)
        }))
    }

    fn snapshot<'a>(&'a self, key: &'a StoreKey, now_ms: i64, window: Duration) -> BoxFuture<'a, Result<Snapshot>> {
        Box::pin(self.read(key, move |r| r.map(|r| r.snapshot(now_ms, window_ms(window))).unwrap_or_default()))
    }

    fn save_refresh_token<'a>(
        &'a self,
        key: &'a StoreKey,
        refresh_token: &'a RefreshToken,
        label: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(
            self.update("save the refresh token", key, move |r| (r.save_refresh_token(refresh_token, label), true)),
        )
    }

    fn load_refresh_token<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<RefreshToken>>> {
        Box::pin(self.read(key, |r| r.and_then(Record::load_refresh_token)))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredIdentity>>> {
        Box::pin(async move { Ok(self.records().await?.iter().map(|(id, r)| r.identity(id)).collect()) })
    }

    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.remove(key))
    }
}
