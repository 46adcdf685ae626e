//! Getting a token when the token endpoint is down, slow, throttled or hostile, and many
//! processes want one at once (DESIGN "Refresh on a bad day"). The rules:
//!
//! - **One flight, one outcome.** In a process, one refresh per identity runs at a time, as a
//!   task of its own; every caller waiting for it gets its result, error included, and nobody
//!   starts another attempt because the one it waited for failed. A caller that gives up (its
//!   deadline passed, its future was dropped) never cancels the flight the others wait for.
//! - **Retries** of a flight's token request: at most [`TOKEN_RETRIES`], with full-jitter
//!   backoff, only for transient failures (no connection, no answer, a 5xx or 429 answer that is
//!   not one of Zoho's own errors; `Retry-After` is honoured while it fits the lease). Zoho's
//!   answers (`invalid_code`, `invalid_client`, `Access Denied`, ...) are final.
//! - **What spends the budget** (Zoho's 10 tokens per refresh token per 10 minutes): a token
//!   issued, or an outcome that may have issued one (a reset or timeout after the request was
//!   sent). A refused connection, a 5xx or 429 answer, an error page or any answer without a
//!   token do not.
//! - **Failure backoff**: after a failed flight, the identity waits a window (1 s, doubling per
//!   failed flight in a row, at most 30 s, cleared by a success), recorded in the store so that
//!   every process and host sees it; callers inside it get the last error at once, with
//!   `retry_after`. `Access Denied` records Zoho's cooldown instead.
//! - **After the lease**: having taken the cross-process lease, the flight re-reads the store
//!   (a token another process wrote, cooldown, backoff, budget) before sending anything. While
//!   another process holds the lease, it watches the store for that process's outcome.
//! - **Serve what still works**: when a refresh is refused or fails and the current token still
//!   has more than [`STALE_FLOOR`] to live, callers get that token (with a warning event). While
//!   a refresh runs, only the caller that started it waits; the others keep using the current
//!   token while it still works (refresh ahead).
//! - **Deadlines**: a caller waits for the flight at most until its own deadline; a flight's
//!   attempts end before its lease does.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::Shared;
use tracing::instrument::WithSubscriber;
use tracing::{Instrument, debug, info, warn};

use super::Client;
use crate::clock::BoxFuture;
use crate::error::{Error, ErrorCode, Result};
use crate::flows::random_token;
use crate::secret::AccessToken;
use crate::store::{Backoff, FailureSummary, Snapshot, StoreKey};
use crate::token::{THROTTLE_WINDOW, TokenSet};

/// Token-endpoint retries of one flight after its first attempt.
pub(crate) const TOKEN_RETRIES: u32 = 2;
/// A token is served after a failed refresh only while it has more than this to live.
pub const STALE_FLOOR: Duration = Duration::from_secs(5);
/// The first failure-backoff window; it doubles with each failed flight in a row.
pub(crate) const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest failure-backoff window.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// First step of the full-jitter delay between a flight's attempts (doubles per retry).
const RETRY_BASE: Duration = Duration::from_millis(250);
/// How often a process waiting for another's refresh re-reads the store.
const LEASE_POLL: Duration = Duration::from_millis(50);
/// A failed flight continues the previous one's streak when that one ended less than this ago.
const STREAK_MEMORY_MS: i64 = 10 * 60 * 1000;

/// What a flight gives every caller that waited for it.
type Outcome = std::result::Result<Arc<TokenSet>, Failure>;

/// A running flight, as every caller awaits it.
type Flight = Shared<BoxFuture<'static, Outcome>>;

/// A failed flight: the error, and the best token it saw that still works (possibly inside the
/// refresh margin), so each caller can serve it.
#[derive(Clone)]
struct Failure {
    error: Error,
    current: Option<Arc<TokenSet>>,
}

impl Failure {
    fn new(error: Error, current: &Option<Arc<TokenSet>>) -> Self {
        Failure { error, current: current.clone() }
    }
}

/// The in-process state of one identity: the running flight, and the last refusal (a backoff,
/// cooldown or spent budget) so callers inside its window are answered without any I/O.
#[derive(Default)]
pub(super) struct Slot {
    running: Option<(u64, Flight)>,
    refused: Option<(i64, Error)>,
    /// When a "stale token served" warning was last logged: during an outage every call is
    /// served, and one warning per [`STALE_WARNING_EVERY`] says so without flooding the log.
    stale_warned_ms: Option<i64>,
}

/// At most one "stale token served" warning per identity this often (the others are debug).
const STALE_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The slots of one process, by identity.
type Slots = HashMap<StoreKey, Arc<Mutex<Slot>>>;

/// The slots of this process, with the PID that filled them.
static SLOTS: LazyLock<Mutex<(u32, Slots)>> = LazyLock::new(|| Mutex::new((std::process::id(), HashMap::new())));

/// The slot of `key`, shared by every client of that identity in the process, so a client
/// built per request still refreshes once. A forked child starts with empty slots: a flight
/// copied from the parent has no task in the child and would never finish.
pub(super) fn slot_for(key: &StoreKey) -> Arc<Mutex<Slot>> {
    let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if slots.0 != pid {
        *slots = (pid, HashMap::new());
    }
    slots.1.entry(key.clone()).or_default().clone()
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    // Every critical section is a few assignments: a panic cannot leave it half done.
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// The refresh-lease holder id of this process. In-process callers share one flight, so the
/// lease only has to exclude other processes; the PID keeps a forked child distinct.
fn lease_holder() -> String {
    static RANDOM: LazyLock<String> = LazyLock::new(|| random_token(9));
    format!("{}-{}", RANDOM.as_str(), std::process::id())
}

/// What the store says about refreshing now.
enum Verdict {
    /// A token that needs no refresh (another caller or process got it).
    Token(Arc<TokenSet>),
    /// No refresh allowed now: cooldown, backoff or spent budget.
    Refused(Error),
    /// Refresh.
    Go,
}

/// The outcome of waiting for the cross-process lease.
enum Lease {
    /// We hold it, with this fencing number.
    Taken(u64),
    /// Another process settled it meanwhile: its token, or its refusal.
    Settled(Outcome),
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

fn until(now: i64, until_ms: i64) -> Duration {
    Duration::from_millis(until_ms.saturating_sub(now).max(1) as u64)
}

/// The failure-backoff window after `streak` failed flights in a row.
pub(crate) fn backoff_window(streak: u32) -> Duration {
    BACKOFF_FIRST.saturating_mul(2u32.saturating_pow(streak.saturating_sub(1).min(16))).min(BACKOFF_CAP)
}

/// Full-jitter delay before retry number `attempt` (0-based) of a flight.
fn retry_delay(attempt: u32) -> Duration {
    let cap = ms(RETRY_BASE.saturating_mul(2u32.saturating_pow(attempt.min(8)))) as u64;
    Duration::from_millis(rand::random_range(0..=cap))
}

impl Client {
    /// A token for a caller: the running flight's outcome, or a new flight's. `force` asks for a
    /// token other than the one this client holds now (it was rejected, or the caller wants a
    /// new one). The caller waits at most until `deadline`.
    pub(super) async fn obtain(&self, force: bool, deadline: Option<Instant>) -> Result<Arc<TokenSet>> {
        self.check_fork()?;
        let inner = &self.inner;
        let stale = if force { inner.hot.load_full().map(|t| t.access_token.clone()) } else { None };
        // A flight that started before this caller's token was rejected may bring that very
        // token back (from the store); then one more flight is started.
        for round in 0..2 {
            let (flight, started) = match self.join_or_start(stale.clone()) {
                Ok(f) => f,
                Err(failure) => return self.serve_or_fail(failure, stale.as_ref()).await,
            };
            // Refresh ahead: the caller that started the flight waits for it; the others keep
            // using the token while it still works.
            if !started
                && stale.is_none()
                && let Some(t) = inner.hot.load_full().filter(|t| t.usable(self.clock().now_ms(), STALE_FLOOR))
            {
                debug!(target: "zoho_oauth", key = %inner.key, "refresh running: serving the current token meanwhile");
                return Ok(t);
            }
            let outcome = match deadline {
                None => flight.await,
                Some(d) => match tokio::time::timeout_at(d.into(), flight).await {
                    Ok(o) => o,
                    Err(_) => Err(Failure::new(
                        Error::new(ErrorCode::Timeout, "the deadline passed while waiting for the token refresh")
                            .with_hint("the token endpoint is slow or another process holds the refresh lease; raise the deadline or retry"),
                        &None,
                    )),
                },
            };
            match outcome {
                Ok(t) if round == 0 && stale.as_ref().is_some_and(|s| s == &t.access_token) => continue,
                Ok(t) => {
                    self.set_hot(t.clone());
                    return Ok(t);
                }
                Err(failure) => return self.serve_or_fail(failure, stale.as_ref()).await,
            }
        }
        Err(Error::new(ErrorCode::InvalidResponse, "the refresh returned the token that was just rejected")
            .with_hint("the token store or the token endpoint keeps handing out a dead token; retry later"))
    }

    /// Join the identity's running flight, or start one (the flag says which); a refusal
    /// recorded in this process and still in force answers at once instead.
    fn join_or_start(&self, stale: Option<AccessToken>) -> std::result::Result<(Flight, bool), Failure> {
        static FLIGHT_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let now = self.clock().now_ms();
        let mut slot = lock(&self.inner.slot);
        if let Some((_, f)) = &slot.running {
            debug!(target: "zoho_oauth", key = %self.inner.key, "refresh waiting: joining the running flight");
            return Ok((f.clone(), false));
        }
        if let Some((until_ms, e)) = &slot.refused
            && *until_ms > now
        {
            debug!(target: "zoho_oauth", key = %self.inner.key, code = %e.code(), retry_after_ms = until_ms - now,
                "refresh refused: inside the window of the last failure or refusal");
            return Err(Failure::new(e.clone().with_retry_after(until(now, *until_ms)), &None));
        }
        let id = FLIGHT_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let me = self.clone();
        // A task of its own: callers that give up never cancel the flight others wait for. It
        // keeps the caller's span and subscriber, so its events reach the same log bridge.
        let flight = async move {
            let outcome = me.flight(stale).await;
            me.settle(id, &outcome);
            outcome
        }
        .in_current_span()
        .with_current_subscriber();
        // Never on a thread's own runtime (`block_on_here`): its caller may stop driving it.
        let task =
            if crate::runtime::driving_here() { crate::runtime::runtime().spawn(flight) } else { tokio::spawn(flight) };
        let fut: BoxFuture<'static, Outcome> = Box::pin(async move {
            task.await.unwrap_or_else(|e| {
                Err(Failure::new(
                    Error::new(ErrorCode::Transport, format!("the token refresh task ended abnormally: {e}"))
                        .with_hint("retry; if it persists, report it with the log"),
                    &None,
                ))
            })
        });
        let shared = fut.shared();
        slot.running = Some((id, shared.clone()));
        Ok((shared, true))
    }

    /// Record a finished flight in the slot: no flight runs any more, and a refusal with a
    /// window answers the callers inside it without I/O.
    fn settle(&self, id: u64, outcome: &Outcome) {
        let now = self.clock().now_ms();
        let mut slot = lock(&self.inner.slot);
        if slot.running.as_ref().is_some_and(|(r, _)| *r == id) {
            slot.running = None;
        }
        match outcome {
            Ok(_) => slot.refused = None,
            Err(f) => {
                if let Some(ra) = f.error.retry_after() {
                    slot.refused = Some((now.saturating_add(ms(ra)), f.error.clone()));
                }
            }
        }
    }

    /// After a failed or refused flight: the token this client holds (or the flight saw) if it
    /// still has more than [`STALE_FLOOR`] to live; else a fresh token another process put in
    /// the store meanwhile; else the error. A forced refresh (`stale` is the token it wants
    /// replaced) is never answered with a token that needs refreshing.
    async fn serve_or_fail(&self, failure: Failure, stale: Option<&AccessToken>) -> Result<Arc<TokenSet>> {
        let inner = &self.inner;
        let now = self.clock().now_ms();
        if stale.is_none() {
            let hot = inner.hot.load_full();
            let best = [hot, failure.current.clone()]
                .into_iter()
                .flatten()
                .filter(|t| t.usable(now, STALE_FLOOR))
                .max_by_key(|t| t.expires_at_ms);
            if let Some(t) = best {
                let loud = {
                    let mut slot = lock(&inner.slot);
                    let due = slot.stale_warned_ms.is_none_or(|at| now < at || now - at >= ms(STALE_WARNING_EVERY));
                    if due {
                        slot.stale_warned_ms = Some(now);
                    }
                    due
                };
                let expires_in_s = (t.expires_at_ms - now) / 1000;
                if loud {
                    warn!(target: "zoho_oauth", key = %inner.key, code = %failure.error.code(), expires_in_s,
                        "stale token served: the refresh failed or was refused, and the current token still works");
                } else {
                    debug!(target: "zoho_oauth", key = %inner.key, code = %failure.error.code(), expires_in_s, "stale token served");
                }
                self.set_hot(t.clone());
                return Ok(t);
            }
        }
        if let Ok(Some(t)) = inner.store.get(&inner.key).await
            && !t.refresh_due(now, inner.refresh_margin)
            && stale.is_none_or(|s| s != &t.access_token)
        {
            debug!(target: "zoho_oauth", key = %inner.key, "token taken from the store");
            let t = Arc::new(t);
            self.set_hot(t.clone());
            return Ok(t);
        }
        Err(failure.error)
    }

    /// One flight: store checks, the lease, the re-check, then bounded attempts.
    async fn flight(&self, stale: Option<AccessToken>) -> Outcome {
        let inner = &self.inner;
        let is_stale = |t: &TokenSet| stale.as_ref().is_some_and(|s| &t.access_token == s);
        let mut current = inner.hot.load_full().filter(|t| !is_stale(t));
        // Seed the store once with an initial token given to the builder.
        let seed = inner.seed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(seed) = seed {
            inner.store.put(&inner.key, (*seed).clone()).await.map_err(|e| Failure::new(e, &current))?;
        }
        let now = self.clock().now_ms();
        if let Some(t) = current.as_ref().filter(|t| !t.refresh_due(now, inner.refresh_margin)) {
            return Ok(t.clone());
        }
        let snap =
            inner.store.snapshot(&inner.key, now, THROTTLE_WINDOW).await.map_err(|e| Failure::new(e, &current))?;
        match self.judge(&snap, now, &is_stale, &mut current) {
            Verdict::Token(t) => return Ok(t),
            Verdict::Refused(e) => return Err(Failure::new(e, &current)),
            Verdict::Go => {}
        }
        let fence = match self.acquire_lease(&is_stale, &mut current).await {
            Ok(Lease::Taken(fence)) => fence,
            Ok(Lease::Settled(outcome)) => return outcome,
            Err(e) => return Err(Failure::new(e, &current)),
        };
        let leased_at = Instant::now();
        // Re-check under the lease: another process may have refreshed, failed or spent the
        // budget between our read and our taking the lease.
        let now = self.clock().now_ms();
        let outcome = match inner.store.snapshot(&inner.key, now, THROTTLE_WINDOW).await {
            Err(e) => Err(Failure::new(e, &current)),
            Ok(snap) => match self.judge(&snap, now, &is_stale, &mut current) {
                Verdict::Token(t) => Ok(t),
                Verdict::Refused(e) => Err(Failure::new(e, &current)),
                Verdict::Go => self.attempts(fence, &snap, leased_at).await.map_err(|e| Failure::new(e, &current)),
            },
        };
        self.release_lease().await;
        outcome
    }

    /// Decide from a store snapshot: a usable fresh token, a refusal, or go. Keeps the best
    /// still-working token in `current` for serving on failure.
    fn judge(
        &self,
        snap: &Snapshot,
        now: i64,
        is_stale: &(dyn Fn(&TokenSet) -> bool + Sync),
        current: &mut Option<Arc<TokenSet>>,
    ) -> Verdict {
        let inner = &self.inner;
        if let Some(t) = snap.token.as_ref().filter(|t| !is_stale(t)) {
            if !t.refresh_due(now, inner.refresh_margin) {
                debug!(target: "zoho_oauth", key = %inner.key, "token taken from the store");
                return Verdict::Token(Arc::new(t.clone()));
            }
            if t.usable(now, STALE_FLOOR) && current.as_ref().is_none_or(|c| c.expires_at_ms < t.expires_at_ms) {
                *current = Some(Arc::new(t.clone()));
            }
        }
        if let Some(until_ms) = snap.cooldown_until_ms
            && until_ms > now
        {
            let wait = until(now, until_ms);
            debug!(target: "zoho_oauth", key = %inner.key, throttled_for_s = wait.as_secs(), "refresh refused: Zoho throttle cooldown active");
            return Verdict::Refused(
                Error::new(ErrorCode::TokenThrottled, "Zoho's token throttle is active for this refresh token")
                    .with_zoho_code("Access Denied")
                    .with_retry_after(wait)
                    .with_hint("wait retry_after; every client sharing this store backs off until then"),
            );
        }
        if let Some(b) = snap.backoff.as_ref().filter(|b| b.until_ms > now) {
            let wait = until(now, b.until_ms);
            debug!(target: "zoho_oauth", key = %inner.key, retry_after_ms = ms(wait), "refresh refused: failure backoff active");
            return Verdict::Refused(b.error.to_error().with_retry_after(wait));
        }
        let budget = inner.refresh_budget as usize;
        if snap.refreshes.len() >= budget {
            return Verdict::Refused(self.budget_error(&snap.refreshes, now));
        }
        Verdict::Go
    }

    fn budget_error(&self, refreshes: &[i64], now: i64) -> Error {
        let budget = self.inner.refresh_budget as usize;
        let freeing = refreshes[refreshes.len().saturating_sub(budget)];
        // One second of slack: Zoho stamps the refresh a little after we record it.
        let wait = until(now, freeing.saturating_add(ms(THROTTLE_WINDOW) + 1000));
        warn!(target: "zoho_oauth", key = %self.inner.key, retry_after_s = wait.as_secs(), "refresh budget exhausted; not calling Zoho");
        Error::new(
            ErrorCode::RefreshBudgetExhausted,
            format!("{budget} tokens issued (or possibly issued) in the last 10 minutes: the refresh budget is spent"),
        )
        .with_retry_after(wait)
        .with_hint("Zoho locks a refresh token out after 10 access tokens in 10 minutes; reuse cached tokens and share one store between workers")
    }

    /// Take the cross-process refresh lease. While another process holds it, watch the store
    /// for that process's outcome: a fresh token, or a refusal it recorded.
    async fn acquire_lease(
        &self,
        is_stale: &(dyn Fn(&TokenSet) -> bool + Sync),
        current: &mut Option<Arc<TokenSet>>,
    ) -> Result<Lease> {
        let inner = &self.inner;
        let started = Instant::now();
        let mut announced = false;
        loop {
            let now = self.clock().now_ms();
            if let Some(fence) = inner.store.try_lease(&inner.key, &lease_holder(), inner.lease_ttl, now).await? {
                return Ok(Lease::Taken(fence));
            }
            if !announced {
                debug!(target: "zoho_oauth", key = %inner.key, "refresh waiting: another process holds the lease");
                announced = true;
            }
            // A live holder keeps the lease at most `lease_ttl`; allow one more for its release.
            if started.elapsed() > inner.lease_ttl * 2 {
                return Err(Error::store("timed out waiting for another process's refresh lease").with_hint(
                    "another process holds the refresh lease and neither refreshes nor releases it; check for a hung worker",
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
            let now = self.clock().now_ms();
            let snap = inner.store.snapshot(&inner.key, now, THROTTLE_WINDOW).await?;
            match self.judge(&snap, now, is_stale, current) {
                Verdict::Token(t) => {
                    debug!(target: "zoho_oauth", key = %inner.key, "refresh waited: token from another process");
                    return Ok(Lease::Settled(Ok(t)));
                }
                Verdict::Refused(e) => return Ok(Lease::Settled(Err(Failure::new(e, current)))),
                Verdict::Go => {}
            }
        }
    }

    async fn release_lease(&self) {
        if let Err(e) = self.inner.store.release_lease(&self.inner.key, &lease_holder()).await {
            warn!(target: "zoho_oauth", key = %self.inner.key, error = %e, "could not release the refresh lease");
        }
    }

    /// The flight's token requests, under the lease: at most 1 + [`TOKEN_RETRIES`], each within
    /// the budget and ending before the lease does. A failure records the backoff (or Zoho's
    /// cooldown) in the store.
    async fn attempts(&self, fence: u64, snap: &Snapshot, leased_at: Instant) -> Result<Arc<TokenSet>> {
        let inner = &self.inner;
        let budget = inner.refresh_budget as usize;
        let mut refreshes = snap.refreshes.clone();
        // The last attempt must end while the lease still excludes everyone else.
        let slack = (inner.lease_ttl / 10).min(Duration::from_secs(1));
        let lease_end = leased_at + inner.lease_ttl.saturating_sub(slack);
        let mut attempt: u32 = 0;
        let error = loop {
            let now = self.clock().now_ms();
            if refreshes.len() >= budget {
                break self.budget_error(&refreshes, now);
            }
            let left = lease_end.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(50) {
                break Error::new(
                    ErrorCode::Timeout,
                    "the refresh lease ran out before another token request could be sent",
                )
                .with_hint(
                    "raise the refresh lease (it must outlast the token request timeouts) or lower the timeout",
                );
            }
            info!(target: "zoho_oauth", key = %inner.key, attempt = attempt + 1, budget_left = budget - refreshes.len(), "refresh attempt");
            let a = inner
                .app
                .refresh_attempt(
                    &inner.refresh_token,
                    Some(&inner.accounts_server),
                    Some(inner.app.token_timeout().min(left)),
                )
                .await;
            if a.may_have_issued {
                refreshes.push(now);
                match inner.store.record_refresh(&inner.key, now, THROTTLE_WINDOW).await {
                    Ok(h) => refreshes = h,
                    Err(e) => {
                        warn!(target: "zoho_oauth", key = %inner.key, error = %e, "could not record the refresh in the store")
                    }
                }
            }
            let e = match a.result {
                // A token we refuse to adopt (a foreign api_domain) is a failed flight too.
                Ok(t) => match self.succeeded(t, fence, snap, refreshes.len()).await {
                    Ok(t) => return Ok(t),
                    Err(e) => break self.scrubbed(e),
                },
                // Scrubbed before it is logged, shared with waiters or kept in the store: a
                // server may echo the refresh token or the client secret into its answer.
                Err(e) => self.scrubbed(e),
            };
            if !a.transient || attempt >= TOKEN_RETRIES {
                break e;
            }
            let delay = match a.retry_after {
                Some(ra) if Instant::now() + ra + Duration::from_millis(50) >= lease_end => {
                    break e.with_retry_after(ra);
                }
                Some(ra) => ra,
                None => retry_delay(attempt),
            };
            info!(target: "zoho_oauth", key = %inner.key, attempt = attempt + 1, code = %e.code(), status = e.status().unwrap_or(0), delay_ms = ms(delay),
                "refresh retry: transient failure at the token endpoint");
            self.clock().sleep(delay).await;
            attempt += 1;
        };
        Err(self.failed(error, snap, &refreshes).await)
    }

    /// A token arrived: keep it (store under the fence, hot cache), clear any backoff.
    async fn succeeded(&self, t: TokenSet, fence: u64, snap: &Snapshot, spent: usize) -> Result<Arc<TokenSet>> {
        let inner = &self.inner;
        let t = self.inner.hosts.adopt(t)?;
        let t = match inner.store.put_fenced(&inner.key, (*t).clone(), fence).await {
            Ok(true) => t,
            Ok(false) => {
                // A holder with a newer lease already wrote a token: use that one.
                warn!(target: "zoho_oauth", key = %inner.key, "refresh finished after the lease expired; keeping the newer token");
                match inner.store.get(&inner.key).await {
                    Ok(Some(newer)) => Arc::new(newer),
                    _ => t,
                }
            }
            Err(e) => {
                // The token was issued and counted: serve it rather than throw it away.
                warn!(target: "zoho_oauth", key = %inner.key, error = %e, "could not store the refreshed token; serving it from this process");
                t
            }
        };
        if snap.backoff.is_some() {
            match inner.store.clear_backoff(&inner.key).await {
                Ok(()) => info!(target: "zoho_oauth", key = %inner.key, "refresh backoff ended: the refresh succeeded"),
                Err(e) => {
                    warn!(target: "zoho_oauth", key = %inner.key, error = %e, "could not clear the failure backoff")
                }
            }
        }
        self.set_hot(t.clone());
        let budget_left = (inner.refresh_budget as usize).saturating_sub(spent);
        info!(target: "zoho_oauth", key = %inner.key, budget_left, expires_at_ms = t.expires_at_ms, "refresh succeeded");
        Ok(t)
    }

    /// A flight failed with `e`: record Zoho's cooldown after `Access Denied`, or the failure
    /// backoff otherwise, and give the error its `retry_after`.
    async fn failed(&self, e: Error, snap: &Snapshot, refreshes: &[i64]) -> Error {
        let inner = &self.inner;
        let now = self.clock().now_ms();
        match e.code() {
            // A refusal of our own has its window already.
            ErrorCode::RefreshBudgetExhausted => e,
            ErrorCode::TokenThrottled => {
                let window = ms(THROTTLE_WINDOW);
                let last_ten: Vec<i64> = refreshes.iter().rev().take(10).copied().collect();
                let until_ms = match last_ten.last() {
                    Some(oldest) => oldest.saturating_add(window + 1000),
                    None => now.saturating_add(window),
                }
                .max(now + 1000);
                if let Err(se) = inner.store.set_cooldown(&inner.key, until_ms).await {
                    warn!(target: "zoho_oauth", key = %inner.key, error = %se, "could not record the throttle cooldown");
                }
                let wait = until(now, until_ms);
                warn!(target: "zoho_oauth", key = %inner.key, throttled_for_s = wait.as_secs(), "refresh failed: Zoho throttle (Access Denied); cooldown recorded");
                e.with_retry_after(wait)
            }
            _ => {
                let streak = match &snap.backoff {
                    Some(b) if b.until_ms > now - STREAK_MEMORY_MS => b.streak.saturating_add(1),
                    _ => 1,
                };
                let window = backoff_window(streak).max(e.retry_after().unwrap_or_default());
                let until_ms = now.saturating_add(ms(window));
                let backoff = Backoff { until_ms, streak, error: FailureSummary::of(&e) };
                if let Err(se) = inner.store.set_backoff(&inner.key, backoff).await {
                    warn!(target: "zoho_oauth", key = %inner.key, error = %se, "could not record the failure backoff");
                }
                warn!(target: "zoho_oauth", key = %inner.key, code = %e.code(), status = e.status().unwrap_or(0), streak, backoff_ms = ms(window),
                    "refresh failed; backoff started");
                e.with_retry_after(window)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let w: Vec<u64> = (1..=8).map(|s| backoff_window(s).as_secs()).collect();
        assert_eq!(w, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff_window(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn retry_delays_are_full_jitter_and_bounded() {
        for attempt in 0..TOKEN_RETRIES {
            for _ in 0..100 {
                assert!(retry_delay(attempt) <= RETRY_BASE * 2u32.pow(attempt));
            }
        }
    }
}
