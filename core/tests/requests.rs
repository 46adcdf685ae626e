//! Authenticated requests: base URLs, host allowlist, 401 handling, retries, envelopes,
//! rate limits, pagination and the concurrency limit; against zoho-mock over real HTTP.

mod common;

use std::time::Duration;

use common::{Env, SCOPES};
use futures_util::StreamExt;
use zoho_mock::Fault;
use zoho_oauth::{Client, ErrorCode, Product, RetryPolicy, TokenSet};

const LEADS: &str = "GET /crm/v8/Leads";

fn fault_status(path: &str, count: u32, status: u16) -> Fault {
    let mut f = Fault::new(path, count);
    f.status = Some(status);
    f
}

#[tokio::test]
async fn relative_crm_path_goes_to_the_tokens_api_domain() {
    let env = Env::start().await;
    let client = env.client();
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert!(r.url().starts_with(&env.url()));
    let body: serde_json::Value = r.json().expect("json");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(5));
    let r = client.get("crm/v8/Leads").query(&[("per_page", "2")]).send().await.expect("send");
    let body: serde_json::Value = r.json().expect("json");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(env.mock.counters().api_calls(LEADS), 2);
}

#[tokio::test]
async fn post_json_and_batch_results() {
    let env = Env::start().await;
    let client = env.client();
    let r = client
        .post("/crm/v8/Leads")
        .json(&serde_json::json!({"data": [{"Last_Name": "Ada"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let r = client.post("/crm/v8/Leads").json_str(r#"{"data":[{"First_Name":"NoLast"}]}"#).send().await.expect("send");
    assert_eq!(r.status(), 400);
    let err = r.error_for_status().expect_err("400");
    assert_eq!(err.code(), ErrorCode::ApiError);
    assert_eq!(err.zoho_code(), Some("MANDATORY_NOT_FOUND"));
}

#[tokio::test]
async fn desk_and_books_envelopes_are_typed() {
    let env = Env::start().await;
    let rt = env.refresh_token(&["Desk.tickets.ALL", "Desk.basic.READ", "ZohoBooks.fullaccess.all"]);
    let client = Client::builder(env.app(), rt).api_domain(env.url()).build().expect("client");
    let r =
        client.get("/api/v1/tickets").product(Product::Desk).header("orgId", "700000001").send().await.expect("send");
    assert_eq!(r.status(), 200, "{}", r.text());
    let r = client.get("/api/v1/tickets").product(Product::Desk).send().await.expect("send");
    let err = r.error_for_status().expect_err("no orgId");
    assert_eq!(err.code(), ErrorCode::ApiError);
    assert_eq!(err.zoho_code(), Some("INVALID_DATA"));
    assert!(err.body().is_some());
    let r = client
        .get("/books/v3/invoices/does-not-exist")
        .product(Product::Books)
        .query(&[("organization_id", "800000001")])
        .send()
        .await
        .expect("send");
    let err = r.error_for_status().expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.zoho_code(), Some("1002"));
}

#[tokio::test]
async fn tokens_never_go_to_other_hosts() {
    let env = Env::start().await;
    let client = env.client();
    for url in [
        "https://evil.example.com/crm/v8/Leads",
        "http://www.zohoapis.com/crm/v8/Leads",
        "http://10.0.0.1/x",
        "ftp://www.zohoapis.com/x",
        "https://user:pw@www.zohoapis.com/x",
        "http://127.0.0.2:9/not-configured",
    ] {
        let err = client.get(url).send().await.expect_err(url);
        assert_eq!(err.code(), ErrorCode::Config, "{url}");
        assert!(err.hint().is_some());
    }
    let c = env.mock.counters();
    assert_eq!(c.api_calls_total(), 0);
    assert_eq!(c.token_requests_total(), 0, "rejected before any I/O");
    // The token's api_domain (the mock, configured explicitly) is fine as an absolute URL.
    let r = client.get(format!("{}/crm/v8/Leads", env.url())).send().await.expect("send");
    assert_eq!(r.status(), 200);
    // A plain-http accounts URL that is not loopback is refused at build time.
    let err =
        zoho_oauth::OAuthApp::builder("1000.X").accounts_url("http://accounts.zoho.com").build().expect_err("http");
    assert_eq!(err.code(), ErrorCode::Config);
}

#[tokio::test]
async fn a_token_with_a_foreign_api_domain_is_refused() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let mut tokens = TokenSet::parse(
        200,
        r#"{"access_token":"1000.seeded","api_domain":"https://attacker.example","expires_in":3600}"#,
        env.mock.now_ms(),
        &env.url(),
    )
    .expect("parse");
    tokens.refresh_token = None;
    let client = Client::builder(env.app(), rt).initial_token(tokens).build().expect("client");
    // The relative path falls back to the DC's default API host, never to attacker.example.
    let err = client.get("https://attacker.example/crm/v8/Leads").send().await.expect_err("refused");
    assert_eq!(err.code(), ErrorCode::Config);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let env = Env::start().await;
    let client = env.client();
    let url = format!(
        "{}/oauth/v2/auth?client_id={}&response_type=code&scope=ZohoCRM.modules.ALL&redirect_uri=http://127.0.0.1:1/cb",
        env.url(),
        zoho_mock::DEFAULT_CLIENT_ID
    );
    let mut spec = zoho_mock::ClientSpec::new("1000.REDIR", "s", zoho_mock::ClientType::Server);
    spec.redirect_uris = vec!["http://127.0.0.1:1/cb".into()];
    env.mock.register_client(spec).expect("register");
    let r = client.get(url.replace(zoho_mock::DEFAULT_CLIENT_ID, "1000.REDIR")).send().await.expect("send");
    assert_eq!(r.status(), 302);
    assert!(r.header("location").is_some());
}

#[tokio::test]
async fn dead_token_401_refreshes_once_and_retries_once() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let seeded = env.dead_token();
    let client = Client::builder(env.app(), rt).initial_token(seeded).build().expect("client");
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(env.refreshes(), 1);
    assert_eq!(env.mock.counters().api_calls(LEADS), 2);

    // A 401 that persists: one refresh, one retry, then the 401 is returned.
    let mut f = fault_status("/crm/v8/Leads", 5, 401);
    f.body = Some(r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#.into());
    env.mock.inject_fault(f).expect("fault");
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(env.refreshes(), 2, "exactly one more refresh");
    assert_eq!(env.mock.counters().api_calls(LEADS), 4, "exactly one retry");
    assert_eq!(r.error_for_status().expect_err("401").code(), ErrorCode::Unauthorized);
}

#[tokio::test]
async fn scope_mismatch_never_refreshes() {
    let env = Env::start().await;
    let client = env.client_with(&["ZohoCRM.users.READ"]);
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 401);
    let err = r.error_for_status().expect_err("scope");
    assert_eq!(err.code(), ErrorCode::ScopeMismatch);
    assert_eq!(err.zoho_code(), Some("OAUTH_SCOPE_MISMATCH"));
    assert_eq!(env.refreshes(), 1, "only the initial refresh");
    assert_eq!(env.mock.counters().api_calls(LEADS), 1);
}

#[tokio::test]
async fn retry_after_429_in_seconds_and_as_a_date() {
    let env = Env::start().await;
    let client = env.client();
    client.access_token().await.expect("token");
    let mut f = fault_status("/crm/v8/Leads", 2, 429);
    f.retry_after = Some("3".into());
    env.mock.inject_fault(f).expect("fault");
    let before = env.mock.now_ms();
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 200);
    let waited = env.mock.now_ms() - before;
    assert!((6_000..8_000).contains(&waited), "waited {waited} ms of virtual time");
    assert_eq!(env.mock.counters().api_calls(LEADS), 3);

    let at = std::time::UNIX_EPOCH + Duration::from_millis((env.mock.now_ms() + 5_000) as u64);
    let mut f = fault_status("/crm/v8/Leads", 1, 429);
    f.retry_after = Some(httpdate::fmt_http_date(at));
    env.mock.inject_fault(f).expect("fault");
    let before = env.mock.now_ms();
    let r =
        client.post("/crm/v8/Leads").json(&serde_json::json!({"data":[{"Last_Name":"X"}]})).send().await.expect("send");
    assert_eq!(r.status(), 201, "429 is retried even for POST");
    let waited = env.mock.now_ms() - before;
    assert!((3_000..7_000).contains(&waited), "waited {waited} ms");
}

#[tokio::test]
async fn retry_after_beyond_the_cap_returns_the_429() {
    let env = Env::start().await;
    let client = env.client();
    let mut f = fault_status("/crm/v8/Leads", 1, 429);
    f.retry_after = Some("3600".into());
    f.body = Some(r#"{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests","status":"error"}"#.into());
    env.mock.inject_fault(f).expect("fault");
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(client.rate_limits().retry_after, Some(Duration::from_secs(3600)));
    let err = r.error_for_status().expect_err("429");
    assert_eq!(err.code(), ErrorCode::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn server_errors_retry_only_idempotent_methods_unless_opted_in() {
    let env = Env::start().await;
    let client = env.client();
    env.mock.inject_fault(fault_status("/crm/v8/Leads", 2, 503)).expect("fault");
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(env.mock.counters().api_calls(LEADS), 3);

    let body = serde_json::json!({"data":[{"Last_Name":"Once"}]});
    env.mock.inject_fault(fault_status("/crm/v8/Leads", 1, 500)).expect("fault");
    let r = client.post("/crm/v8/Leads").json(&body).send().await.expect("send");
    assert_eq!(r.status(), 500, "POST is not retried on 5xx");
    assert_eq!(env.mock.counters().api_calls("POST /crm/v8/Leads"), 1);

    env.mock.inject_fault(fault_status("/crm/v8/Leads", 1, 500)).expect("fault");
    let r = client.post("/crm/v8/Leads").json(&body).retry_non_idempotent(true).send().await.expect("send");
    assert_eq!(r.status(), 201);
    assert_eq!(env.mock.counters().api_calls("POST /crm/v8/Leads"), 3);
}

#[tokio::test]
async fn connection_resets_are_retried_for_get_only() {
    let env = Env::start().await;
    let client = env.client();
    client.access_token().await.expect("token");
    let mut f = Fault::new("/crm/v8/Leads", 1);
    f.reset = true;
    env.mock.inject_fault(f.clone()).expect("fault");
    let r = client.get("/crm/v8/Leads").send().await.expect("retried");
    assert_eq!(r.status(), 200);
    env.mock.inject_fault(f).expect("fault");
    let err = client
        .post("/crm/v8/Leads")
        .json(&serde_json::json!({"data":[{"Last_Name":"X"}]}))
        .send()
        .await
        .expect_err("POST not retried");
    assert_eq!(err.code(), ErrorCode::Transport);
}

#[tokio::test]
async fn overall_deadline_bounds_retries() {
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt)
        .retry_policy(RetryPolicy { max_retries: 10, deadline: Duration::from_secs(5), ..RetryPolicy::default() })
        .build()
        .expect("client");
    client.access_token().await.expect("token");
    let mut f = fault_status("/crm/v8/Leads", 20, 503);
    f.retry_after = Some("2".into());
    env.mock.inject_fault(f).expect("fault");
    let before = env.mock.now_ms();
    let r = client.get("/crm/v8/Leads").send().await.expect("send");
    assert_eq!(r.status(), 503);
    assert!(env.mock.now_ms() - before < 5_500);
    assert_eq!(env.mock.counters().api_calls(LEADS), 3, "attempts at 0 s, 2 s, 4 s");
}

#[tokio::test]
async fn per_request_timeout_is_a_timeout_error() {
    let env = Env::start().await;
    let client = env.client();
    client.access_token().await.expect("token");
    let mut f = Fault::new("/crm/v8/Leads", 1);
    f.delay_ms = Some(1500);
    env.mock.inject_fault(f).expect("fault");
    let err = client
        .get("/crm/v8/Leads")
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .send()
        .await
        .expect_err("timeout");
    assert_eq!(err.code(), ErrorCode::Timeout);
}

#[tokio::test]
async fn rate_limits_come_from_headers() {
    let env = Env::start().await;
    env.mock.configure(|s| s.crm_credits = Some(4)).expect("configure");
    let client = env.client();
    assert_eq!(client.rate_limits().credits_remaining, None);
    let mut last = None;
    for _ in 0..3 {
        let r = client.get("/crm/v8/Leads").send().await.expect("send");
        last = r.rate_limits().credits_remaining.or(last);
    }
    assert_eq!(last, Some(1));
    assert_eq!(client.rate_limits().credits_remaining, Some(1));
}

#[tokio::test]
async fn pagination_switches_to_page_token_past_2000_records() {
    let env = Env::start().await;
    env.mock.seed_crm("Leads", 2450);
    let client = env.client();
    let records: Vec<_> = client.paginate("/crm/v8/Leads").into_stream().map(|r| r.expect("record")).collect().await;
    assert_eq!(records.len(), 2450);
    let mut ids: Vec<String> = records.iter().map(|r| r["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2450, "no duplicates");
    assert_eq!(env.mock.counters().api_calls(LEADS), 13, "10 pages by number, 3 by token");

    env.mock.seed_crm("Contacts", 0);
    let none = client.paginate("/crm/v8/Contacts").collect_all().await.expect("204");
    assert!(none.is_empty());

    let scoped = env.client_with(&["ZohoCRM.users.READ"]);
    let mut s = Box::pin(scoped.paginate("/crm/v8/Leads").into_stream());
    let first = s.next().await.expect("one item");
    assert_eq!(first.expect_err("scope").code(), ErrorCode::ScopeMismatch);
    assert!(s.next().await.is_none(), "stream ends after an error");
}

#[tokio::test]
async fn concurrency_limit_keeps_under_the_org_limit() {
    let env = Env::start().await;
    env.mock
        .configure(|s| {
            s.crm_concurrency = Some(2);
            s.latency_ms = 30;
        })
        .expect("configure");
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt).max_concurrency(2).max_retries(0).build().expect("client");
    client.access_token().await.expect("token");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get("/crm/v8/Leads").send().await })
        })
        .collect();
    for t in tasks {
        let r = t.await.expect("join").expect("send");
        assert_eq!(r.status(), 200, "limited client never exceeds the org's concurrency");
    }
}

#[tokio::test]
async fn bad_request_input_is_a_config_error() {
    let env = Env::start().await;
    let client = env.client();
    let err = client.get("/crm/v8/Leads").header("Authorization", "Bearer x").send().await.expect_err("auth header");
    assert_eq!(err.code(), ErrorCode::Config);
    let err = client.get("/crm/v8/Leads").header("bad header", "x").send().await.expect_err("name");
    assert_eq!(err.code(), ErrorCode::Config);
    let err = client.post("/crm/v8/Leads").json_str("{nope").send().await.expect_err("json");
    assert_eq!(err.code(), ErrorCode::Config);
    assert!("nope".parse::<Product>().is_err());
}
