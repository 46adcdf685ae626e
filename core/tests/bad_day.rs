//! Refresh on a bad day, in one process: a token endpoint that is down, resets, is slow,
//! throttles or answers garbage (DESIGN "Refresh on a bad day"). Everything talks to zoho-mock
//! over HTTP; time moves through the mock's virtual clock, except the per-request timeouts,
//! which are real and kept to a few hundred milliseconds.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Env, SCOPES};
use zoho_mock::{Fault, MockConfig};
use zoho_oauth::{Client, ErrorCode, MemoryStore, RetryPolicy, StoreKey, TokenStore};

fn fault(count: u32, edit: impl FnOnce(&mut Fault)) -> Fault {
    let mut f = Fault::new("/oauth/v2/token", count);
    edit(&mut f);
    f
}

/// Token requests that reached the mock (answered or not).
fn received(env: &Env) -> u64 {
    env.mock.counters().token_requests_received
}

fn client_on(env: &Env, store: Arc<dyn TokenStore>) -> Client {
    Client::builder(env.app(), env.refresh_token(SCOPES)).token_store(store).build().expect("client")
}

/// A client whose first token is already expired (so nothing can be served on failure).
async fn expired_client(env: &Env) -> Client {
    let client = client_on(env, Arc::new(MemoryStore::isolated()));
    client.access_token().await.expect("first token");
    env.mock.advance_clock(Duration::from_secs(3601));
    client
}

async fn concurrent_codes(client: &Client, n: usize) -> Vec<Result<String, ErrorCode>> {
    let calls = (0..n).map(|_| {
        let c = client.clone();
        async move { c.access_token().await.map(|t| t.secret().to_string()).map_err(|e| e.code()) }
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_callers_share_one_flight_and_its_error_under_an_outage() {
    type Edit = fn(&mut Fault);
    let outages: [(&str, Edit, ErrorCode); 3] = [
        ("HTTP 500", |f| f.status = Some(500), ErrorCode::InvalidResponse),
        ("resets", |f| f.reset = true, ErrorCode::Transport),
        (
            "HTML error page",
            |f| {
                f.status = Some(502);
                f.body = Some("html".into());
            },
            ErrorCode::InvalidResponse,
        ),
    ];
    for (what, edit, code) in outages {
        let env = Env::start().await;
        let client = expired_client(&env).await;
        let before = received(&env);
        // Exactly the three attempts of one flight fail; a fourth request would succeed.
        env.mock.inject_fault(fault(3, edit)).expect("fault");
        let results = concurrent_codes(&client, 50).await;
        assert!(results.iter().all(|r| r == &Err(code)), "{what}: every caller gets the flight's error: {results:?}");
        assert_eq!(received(&env) - before, 3, "{what}: one flight, at most 3 token requests");
        // Inside the backoff window: the same error at once, no request, retry_after set.
        let err = client.access_token().await.expect_err("backoff");
        assert_eq!(err.code(), code, "{what}");
        assert!(err.retry_after().is_some_and(|ra| ra <= Duration::from_secs(1)), "{what}: {err}");
        assert_eq!(received(&env) - before, 3, "{what}: no request inside the backoff window");
        // Recovery: after the window, exactly one refresh, and no budget lockout.
        env.mock.advance_clock(Duration::from_secs(1));
        let results = concurrent_codes(&client, 50).await;
        assert!(results.iter().all(|r| r.is_ok()), "{what}: recovered: {results:?}");
        assert_eq!(received(&env) - before, 4, "{what}: exactly one refresh after recovery");
    }
}

#[tokio::test]
async fn transient_failures_are_retried_twice_with_budget_only_for_what_may_have_issued() {
    let env = Env::start().await;
    let store = Arc::new(MemoryStore::isolated());
    let client = client_on(&env, store.clone());
    let key: StoreKey = client.store_key().clone();
    // Two 503 answers, then success: one call, three requests, one budget slot.
    env.mock.inject_fault(fault(2, |f| f.status = Some(503))).expect("fault");
    client.access_token().await.expect("third attempt succeeds");
    assert_eq!(received(&env), 3);
    let spent = |now| {
        let s = store.clone();
        let k = key.clone();
        async move { s.refresh_history(&k, now, Duration::from_secs(600)).await.expect("history").len() }
    };
    assert_eq!(spent(env.mock.now_ms()).await, 1, "5xx answers spend no budget");
    // A reset after the request was sent may have issued a token: it spends budget.
    env.mock.inject_fault(fault(1, |f| f.reset = true)).expect("fault");
    client.force_refresh().await.expect("retried after a reset");
    assert_eq!(spent(env.mock.now_ms()).await, 3, "the reset and the success both count");
    // 429 with Retry-After: waited (on the virtual clock), then retried.
    let before_clock = env.mock.now_ms();
    env.mock
        .inject_fault(fault(1, |f| {
            f.status = Some(429);
            f.retry_after = Some("3".into());
        }))
        .expect("fault");
    client.force_refresh().await.expect("retried after Retry-After");
    assert!(env.mock.now_ms() - before_clock >= 3_000, "Retry-After was honoured");
    assert_eq!(spent(env.mock.now_ms()).await, 4);
}

#[tokio::test]
async fn zohos_own_answers_are_never_retried() {
    let env = Env::start().await;
    let client = expired_client(&env).await;
    let before = received(&env);
    for (body, code) in [
        (r#"{"error":"invalid_client"}"#, ErrorCode::InvalidClient),
        (r#"{"error":"invalid_code"}"#, ErrorCode::InvalidCode),
    ] {
        env.mock.inject_fault(fault(3, |f| f.body = Some(body.into()))).expect("fault");
        let err = client.access_token().await.expect_err("Zoho said no");
        assert_eq!(err.code(), code);
        // Use up the rest of the fault before the next case.
        env.mock.advance_clock(Duration::from_secs(31));
        while client.access_token().await.is_err() {
            env.mock.advance_clock(Duration::from_secs(31));
        }
        env.mock.advance_clock(Duration::from_secs(3601));
    }
    // Each case: 1 request refused, then 2 more refused one by one (each its own flight, none
    // retried), then one success.
    assert_eq!(received(&env) - before, 8);
    // Even at HTTP 500, a body that is Zoho's own error is final.
    env.mock
        .inject_fault(fault(1, |f| {
            f.status = Some(500);
            f.body = Some(r#"{"error":"invalid_client"}"#.into());
        }))
        .expect("fault");
    let before = received(&env);
    assert_eq!(client.access_token().await.expect_err("final").code(), ErrorCode::InvalidClient);
    assert_eq!(received(&env) - before, 1);
}

#[tokio::test]
async fn failure_backoff_doubles_is_shared_and_a_success_clears_it() {
    let env = Env::start().await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::isolated());
    let client = client_on(&env, store.clone());
    client.access_token().await.expect("first token");
    env.mock.advance_clock(Duration::from_secs(3601));
    let mut windows = Vec::new();
    for _ in 0..4 {
        env.mock.inject_fault(fault(3, |f| f.status = Some(500))).expect("fault");
        let err = client.access_token().await.expect_err("outage");
        let window = err.retry_after().expect("retry_after");
        windows.push(window.as_secs());
        let backoff = store.backoff(client.store_key()).await.expect("read").expect("recorded in the store");
        assert_eq!(backoff.error.code, "invalid_response");
        assert!(backoff.until_ms >= env.mock.now_ms() + 900);
        env.mock.advance_clock(window);
    }
    assert_eq!(windows, vec![1, 2, 4, 8]);
    // Success clears it: the next outage starts again at 1 s.
    client.access_token().await.expect("recovered");
    assert!(store.backoff(client.store_key()).await.expect("read").is_none(), "cleared by the success");
    env.mock.advance_clock(Duration::from_secs(3601));
    env.mock.inject_fault(fault(3, |f| f.status = Some(500))).expect("fault");
    let err = client.access_token().await.expect_err("outage");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_second_client_of_the_identity_is_answered_by_the_recorded_failure() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::isolated());
    let build = || Client::builder(env.app(), rt.clone()).token_store(store.clone()).build().expect("client");
    env.mock.inject_fault(fault(3, |f| f.status = Some(503))).expect("fault");
    let err = build().access_token().await.expect_err("outage");
    assert_eq!(err.status(), Some(503));
    let before = received(&env);
    let err = build().access_token().await.expect_err("backoff");
    assert_eq!((err.code(), err.status()), (ErrorCode::InvalidResponse, Some(503)));
    assert!(err.retry_after().is_some());
    assert_eq!(received(&env), before, "refused without a request");
}

#[tokio::test]
async fn a_token_that_still_works_is_served_when_the_refresh_fails_or_is_refused() {
    let env = Env::start().await;
    let client = client_on(&env, Arc::new(MemoryStore::isolated()));
    let token = client.access_token().await.expect("token");
    // Inside the 300 s margin, 100 s before expiry, with the endpoint down.
    env.mock.advance_clock(Duration::from_secs(3500));
    env.mock.inject_fault(fault(3, |f| f.status = Some(500))).expect("fault");
    assert_eq!(client.access_token().await.expect("served"), token, "the failed refresh serves the working token");
    let r = client.get("/crm/v8/Leads").send().await.expect("request");
    assert_eq!(r.status(), 200, "requests keep working");
    assert_eq!(received(&env), 4, "backoff: no new flight inside the window");
    // A forced refresh wants a new token: it gets the error.
    assert_eq!(client.force_refresh().await.expect_err("forced").code(), ErrorCode::InvalidResponse);
    // Within the safety floor of expiry, nothing is served.
    env.mock.advance_clock(Duration::from_secs(96));
    env.mock.inject_fault(fault(3, |f| f.status = Some(500))).expect("fault");
    assert_eq!(client.access_token().await.expect_err("expired").code(), ErrorCode::InvalidResponse);

    // Refused by the budget in the last minutes of a token's life: served too. (Tokens of
    // 400 s, so the refresh is due while the 10-minute budget window is still spent.)
    let env = Env::start().await;
    env.mock.configure(|s| s.access_token_ttl_secs = 400).expect("configure");
    let client = client_on(&env, Arc::new(MemoryStore::isolated()));
    for _ in 0..10 {
        client.force_refresh().await.expect("within the budget");
    }
    let last = client.access_token().await.expect("token");
    env.mock.advance_clock(Duration::from_secs(250));
    assert_eq!(client.access_token().await.expect("served while refused"), last);
    assert_eq!(env.refreshes(), 10, "the budget refused without calling Zoho");
    let err = client.force_refresh().await.expect_err("forced: refused");
    assert_eq!(err.code(), ErrorCode::RefreshBudgetExhausted);
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_at_half_its_life_not_on_every_call() {
    let env = Env::with(MockConfig::default()).await;
    env.mock.configure(|s| s.access_token_ttl_secs = 60).expect("configure");
    let client = client_on(&env, Arc::new(MemoryStore::isolated()));
    let first = client.access_token().await.expect("token");
    for _ in 0..29 {
        assert_eq!(client.access_token().await.expect("cached"), first);
        env.mock.advance_clock(Duration::from_secs(1));
    }
    assert_eq!(env.refreshes(), 1, "one refresh in the first half of the token's life");
    env.mock.advance_clock(Duration::from_secs(1));
    assert_ne!(client.access_token().await.expect("refreshed"), first);
    assert_eq!(env.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_behind_a_hung_endpoint_fail_together_within_the_flights_attempts() {
    let env = Env::start().await;
    let timeout = Duration::from_millis(300);
    let app =
        env.app_for(zoho_mock::DEFAULT_CLIENT_ID, zoho_mock::DEFAULT_CLIENT_SECRET, zoho_oauth::ClientType::SelfClient);
    let app = app.accounts_url(env.url()).timeout(timeout).build().expect("app");
    let client = Client::builder(app, env.refresh_token(SCOPES))
        .token_store(Arc::new(MemoryStore::isolated()))
        .timeout(timeout)
        .build()
        .expect("client");
    env.mock.inject_fault(fault(3, |f| f.delay_ms = Some(3_000))).expect("fault");
    let started = Instant::now();
    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move {
            let r = c.access_token().await;
            (r.map_err(|e| e.code()), started.elapsed())
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let slowest = results.iter().map(|(_, t)| *t).max().unwrap_or_default();
    let fastest = results.iter().map(|(_, t)| *t).min().unwrap_or_default();
    assert!(results.iter().all(|(r, _)| r == &Err(ErrorCode::Timeout)), "{results:?}");
    assert!(slowest < Duration::from_millis(3 * 300 + 600), "bounded by one flight's attempts: {slowest:?}");
    assert!(slowest - fastest < Duration::from_millis(200), "together, not one after another: {results:?}");
    assert_eq!(received(&env), 3);

    // A request's own deadline covers the wait for its token.
    env.mock.advance_clock(Duration::from_secs(31));
    let policy = RetryPolicy { deadline: Duration::from_millis(400), ..RetryPolicy::default() };
    let app =
        env.app_for(zoho_mock::DEFAULT_CLIENT_ID, zoho_mock::DEFAULT_CLIENT_SECRET, zoho_oauth::ClientType::SelfClient);
    let app = app.accounts_url(env.url()).timeout(Duration::from_secs(5)).build().expect("app");
    let client = Client::builder(app, env.refresh_token(SCOPES))
        .token_store(Arc::new(MemoryStore::isolated()))
        .retry_policy(policy)
        .build()
        .expect("client");
    env.mock.inject_fault(fault(1, |f| f.delay_ms = Some(3_000))).expect("fault");
    let started = Instant::now();
    let err = client.get("/crm/v8/Leads").send().await.expect_err("deadline");
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1_500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn unusable_token_answers_are_never_cached_or_stored() {
    let env = Env::start().await;
    let store = Arc::new(MemoryStore::isolated());
    let client = client_on(&env, store.clone());
    for body in [
        r#"{"access_token":"1000.evil\r\nX-Injected: 1","expires_in":3600}"#,
        r#"{"access_token":"1000.forever","expires_in":1000000000000}"#,
        r#"{"access_token":"1000.negative","expires_in":-5}"#,
        r#"{"access_token":"1000.words","expires_in":"soon"}"#,
    ] {
        env.mock.inject_fault(fault(1, |f| f.body = Some(body.into()))).expect("fault");
        let err = client.access_token().await.expect_err("refused");
        assert_eq!(err.code(), ErrorCode::InvalidResponse, "{body}");
        assert!(store.get(client.store_key()).await.expect("read").is_none(), "not stored: {body}");
        env.mock.advance_clock(Duration::from_secs(31));
    }
    let good = client.access_token().await.expect("a real token after the backoff");
    assert!(good.secret().starts_with("1000."));
    assert!(store.get(client.store_key()).await.expect("read").is_some());
}

#[tokio::test]
async fn a_stored_token_that_could_never_be_sent_is_replaced() {
    let env = Env::start().await;
    let store = Arc::new(MemoryStore::isolated());
    let rt = env.refresh_token(SCOPES);
    let build = || Client::builder(env.app(), rt.clone()).token_store(store.clone()).build().expect("client");
    let first = build();
    // As a store written by an older build may hold it.
    let mut bad = first.token_set().await.expect("token").as_ref().clone();
    bad.access_token = zoho_oauth::AccessToken::new("1000.bad\r\nX-Injected: 1");
    store.put(first.store_key(), bad).await.expect("put");
    assert!(store.get(first.store_key()).await.expect("read").is_none(), "treated as absent");
    // A new process's client refreshes instead of failing on it until it expires.
    let token = build().access_token().await.expect("a good token");
    assert!(!token.secret().contains('\r'));
    assert_eq!(env.refreshes(), 2);
    assert!(store.get(first.store_key()).await.expect("read").is_some(), "replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_refresh_runs_only_its_starter_waits() {
    let env = Env::start().await;
    let client = client_on(&env, Arc::new(MemoryStore::isolated()));
    let old = client.access_token().await.expect("token");
    env.mock.advance_clock(Duration::from_secs(3500)); // inside the margin, 100 s left
    env.mock.inject_fault(fault(1, |f| f.delay_ms = Some(800))).expect("fault");
    let starter = {
        let c = client.clone();
        tokio::spawn(async move { c.access_token().await })
    };
    let until = Instant::now() + Duration::from_secs(10);
    while received(&env) < 2 {
        assert!(Instant::now() < until, "the refresh never reached the mock");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(client.access_token().await.expect("served"), old, "the others keep the working token");
    }
    assert!(started.elapsed() < Duration::from_millis(400), "nobody but the starter waited: {:?}", started.elapsed());
    let new = starter.await.expect("task").expect("refreshed");
    assert_ne!(new, old, "the starter waited for the new token");
    assert_eq!(client.access_token().await.expect("cached"), new);
    assert_eq!(env.refreshes_succeeded(), 2);
}

#[tokio::test]
async fn an_echoed_secret_never_reaches_the_stored_backoff() {
    let env = Env::start().await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::isolated());
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt.clone()).token_store(store.clone()).build().expect("client");
    let body = format!(
        r#"{{"error":"invalid_client","error_description":"unknown client for token {rt} and {}"}}"#,
        zoho_mock::DEFAULT_CLIENT_SECRET
    );
    env.mock.inject_fault(fault(1, |f| f.body = Some(body))).expect("fault");
    let err = client.access_token().await.expect_err("refused");
    assert_eq!(err.code(), ErrorCode::InvalidClient);
    let backoff = store.backoff(client.store_key()).await.expect("read").expect("recorded");
    let kept = format!("{backoff:?} {err} {err:?}");
    assert!(!kept.contains(&rt) && !kept.contains(zoho_mock::DEFAULT_CLIENT_SECRET), "{kept}");
    // And the next caller, answered from the backoff, sees no secret either.
    let again = client.access_token().await.expect_err("backoff");
    assert!(!format!("{again} {again:?}").contains(&rt));
}

#[tokio::test]
async fn a_token_refused_for_its_api_domain_starts_the_backoff_too() {
    let env = Env::start().await;
    let client = client_on(&env, Arc::new(MemoryStore::isolated()));
    let body = r#"{"access_token":"1000.foreign","api_domain":"https://evil.example","expires_in":3600}"#;
    env.mock.inject_fault(fault(1, |f| f.body = Some(body.into()))).expect("fault");
    assert_eq!(client.access_token().await.expect_err("not adopted").code(), ErrorCode::InvalidResponse);
    let before = received(&env);
    let err = client.access_token().await.expect_err("inside the backoff");
    assert!(err.retry_after().is_some());
    assert_eq!(received(&env), before, "no token request inside the window");
}
