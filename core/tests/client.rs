//! Client token cache: hit path, proactive refresh, single flight, budget, throttle cooldown,
//! compare-and-invalidate; against zoho-mock over real HTTP with its virtual clock.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Env, SCOPES};
use zoho_mock::Fault;
use zoho_oauth::{Client, ErrorCode, MemoryStore};

#[tokio::test]
async fn cache_hit_makes_no_token_request() {
    let env = Env::start().await;
    let client = env.client();
    let a = client.access_token().await.expect("token");
    for _ in 0..50 {
        assert_eq!(client.access_token().await.expect("token"), a);
    }
    assert_eq!(env.refreshes(), 1);
}

#[tokio::test]
async fn refreshes_proactively_inside_the_margin() {
    let env = Env::start().await;
    let client = env.client();
    let first = client.access_token().await.expect("token");
    // 301 s before expiry: still outside the 300 s margin.
    env.mock.advance_clock(Duration::from_secs(3600 - 301));
    assert_eq!(client.access_token().await.expect("token"), first);
    assert_eq!(env.refreshes(), 1);
    // 299 s before expiry: inside the margin, so a new token (the old one still works at Zoho).
    env.mock.advance_clock(Duration::from_secs(2));
    let second = client.access_token().await.expect("token");
    assert_ne!(second, first);
    assert_eq!(env.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_concurrent_callers_share_one_refresh() {
    let env = Env::start().await;
    let client = env.client();
    let run = |client: Client| async move {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.access_token().await })
            })
            .collect();
        let mut tokens = Vec::new();
        for t in tasks {
            tokens.push(t.await.expect("join").expect("token"));
        }
        tokens
    };
    let cold = run(client.clone()).await;
    assert!(cold.iter().all(|t| *t == cold[0]));
    assert_eq!(env.mock.counters().token_requests_total(), 1, "cold start: exactly one token request");

    env.mock.advance_clock(Duration::from_secs(3601));
    let expired = run(client.clone()).await;
    assert!(expired.iter().all(|t| *t == expired[0]));
    assert_ne!(expired[0], cold[0]);
    assert_eq!(env.mock.counters().token_requests_total(), 2, "expired: exactly one more token request");
}

#[tokio::test]
async fn clients_of_one_identity_share_the_memory_store() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let build = || Client::builder(env.app(), rt.clone()).token_store_url("memory://").build().expect("client");
    let (a, b) = (build(), build());
    let (ta, tb) = tokio::join!(a.access_token(), b.access_token());
    assert_eq!(ta.expect("a"), tb.expect("b"));
    // A client per request, as a web app might build, still refreshes once.
    for _ in 0..10 {
        build().access_token().await.expect("token");
    }
    assert_eq!(env.refreshes(), 1);

    // An isolated store is a different cache.
    let iso =
        Client::builder(env.app(), rt.clone()).token_store(Arc::new(MemoryStore::isolated())).build().expect("client");
    iso.access_token().await.expect("token");
    assert_eq!(env.refreshes(), 2);
}

#[tokio::test]
async fn compare_and_invalidate_keeps_a_newer_token() {
    let env = Env::start().await;
    let client = env.client();
    let old = client.access_token().await.expect("token");
    let new = client.force_refresh().await.expect("refresh").access_token.clone();
    assert_ne!(old, new);
    // A late 401 for the old token must not drop the new one.
    assert!(!client.invalidate(&old).await.expect("invalidate"));
    assert_eq!(client.access_token().await.expect("token"), new);
    assert_eq!(env.refreshes(), 2);
    // Invalidating the current one does force exactly one refresh.
    assert!(client.invalidate(&new).await.expect("invalidate"));
    let third = client.access_token().await.expect("token");
    assert_ne!(third, new);
    assert_eq!(env.refreshes(), 3);
}

#[tokio::test]
async fn refresh_budget_fails_fast_without_calling_zoho() {
    let env = Env::start().await;
    let client = env.client();
    for _ in 0..10 {
        client.force_refresh().await.expect("within budget");
        env.mock.advance_clock(Duration::from_secs(10));
    }
    assert_eq!(env.refreshes(), 10);
    let err = client.force_refresh().await.expect_err("budget spent");
    assert_eq!(err.code(), ErrorCode::RefreshBudgetExhausted);
    let wait = err.retry_after().expect("retry_after");
    // The oldest of the ten was 100 s ago: its slot frees in 500 s (plus 1 s of slack).
    assert!(wait <= Duration::from_secs(501) && wait >= Duration::from_secs(499), "{wait:?}");
    assert_eq!(env.refreshes(), 10, "no request when the budget is spent");
    // The cached token is still served.
    client.access_token().await.expect("cached token still served");
    env.mock.advance_clock(wait);
    client.force_refresh().await.expect("budget back");
    assert_eq!(env.refreshes(), 11);
}

#[tokio::test]
async fn access_denied_records_a_cooldown_every_client_honours() {
    let env = Env::start().await;
    env.mock.configure(|s| s.refresh_throttle_max = 2).expect("configure");
    let rt = env.refresh_token(SCOPES);
    let a = Client::builder(env.app(), rt.clone()).build().expect("client");
    a.force_refresh().await.expect("1");
    a.force_refresh().await.expect("2");
    let err = a.force_refresh().await.expect_err("throttled by Zoho");
    assert_eq!(err.code(), ErrorCode::TokenThrottled);
    assert_eq!(err.zoho_code(), Some("Access Denied"));
    let wait = err.retry_after().expect("retry_after");
    assert!(wait <= Duration::from_secs(601) && wait > Duration::from_secs(590), "{wait:?}");
    assert_eq!(env.mock.counters().token_requests("refresh_token", "Access Denied"), 1);

    // Another client of the same identity backs off without calling Zoho.
    let b = Client::builder(env.app(), rt.clone()).build().expect("client");
    b.invalidate(&a.access_token().await.expect("cached")).await.expect("invalidate");
    let err = b.access_token().await.expect_err("cooldown");
    assert_eq!(err.code(), ErrorCode::TokenThrottled);
    assert_eq!(env.refreshes(), 3, "cooldown: no further token request");

    env.mock.advance_clock(wait);
    b.access_token().await.expect("after the cooldown");
}

#[tokio::test]
async fn revoked_refresh_token_is_invalid_code() {
    let env = Env::start().await;
    let client = env.client();
    client.access_token().await.expect("token");
    client.revoke().await.expect("revoke");
    let err = client.access_token().await.expect_err("revoked");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
}

#[tokio::test]
async fn failed_refresh_keeps_the_cached_token() {
    let env = Env::start().await;
    let client = env.client();
    let token = client.access_token().await.expect("token");
    for body in ["html", "truncated", "malformed"] {
        let mut f = Fault::new("/oauth/v2/token", 1);
        f.body = Some(body.into());
        env.mock.inject_fault(f).expect("fault");
        let err = client.force_refresh().await.expect_err("garbage");
        assert_eq!(err.code(), ErrorCode::InvalidResponse);
        assert_eq!(client.access_token().await.expect("cached"), token, "cached token survives");
        // Past the failure backoff, for the next forced refresh.
        env.mock.advance_clock(Duration::from_secs(31));
    }
    // Resets are retried: three of them fail the flight.
    let mut f = Fault::new("/oauth/v2/token", 3);
    f.reset = true;
    env.mock.inject_fault(f).expect("fault");
    let err = client.force_refresh().await.expect_err("reset");
    assert_eq!(err.code(), ErrorCode::Transport);
    assert_eq!(client.access_token().await.expect("cached"), token);
}

#[tokio::test]
async fn initial_token_is_used_without_a_refresh() {
    let env = Env::start().await;
    let app = env.app();
    let minted = env.mock.mint_code(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES)).expect("mint");
    let tokens = app.exchange_code(&zoho_oauth::GrantCode::new(minted.code)).await.expect("exchange");
    let rt = tokens.refresh_token.clone().expect("refresh token");
    let client = Client::builder(app, rt).initial_token(tokens.clone()).build().expect("client");
    assert_eq!(client.access_token().await.expect("token"), tokens.access_token);
    assert_eq!(env.refreshes(), 0);
}

#[tokio::test]
async fn secrets_never_show_in_debug() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt.clone()).build().expect("client");
    let at = client.access_token().await.expect("token");
    let shown = format!("{client:?} {:?} {:?} {at} {at:?}", client.app(), client.token_set().await.expect("set"));
    for secret in [rt.as_str(), at.secret(), zoho_mock::DEFAULT_CLIENT_SECRET] {
        assert!(!shown.contains(secret), "leaked in {shown}");
    }
}

#[test]
fn blocking_access_token_on_the_shared_runtime() {
    let env = zoho_oauth::block_on(Env::start());
    let client = env.client();
    let a = client.access_token_blocking().expect("token");
    let b = client.access_token_blocking().expect("token");
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_cancelled_refresh_does_not_block_the_next_client() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let mut f = Fault::new("/oauth/v2/token", 1);
    f.delay_ms = Some(3_000);
    env.mock.inject_fault(f).expect("fault");
    let first = Client::builder(env.app(), rt.clone()).build().expect("client");
    // The caller gives up while the refresh is in flight (its future is dropped).
    let cancelled = tokio::time::timeout(Duration::from_millis(100), first.access_token()).await;
    assert!(cancelled.is_err());
    // A new client of the same identity (a new web request) refreshes at once.
    let second = Client::builder(env.app(), rt).build().expect("client");
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), second.access_token())
        .await
        .expect("not blocked by the abandoned lease")
        .expect("token");
    assert!(started.elapsed() < Duration::from_secs(10));
}
