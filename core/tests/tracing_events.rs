//! tracing events: refresh and retry are observable, and no event carries a secret.

mod common;

use common::{Env, Recorder, SCOPES};
use zoho_oauth::Client;

#[tokio::test]
async fn refresh_and_retry_events_are_emitted_without_secrets() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt.clone()).build().expect("client");
    let token = client.access_token().await.expect("token");
    let mut f = zoho_mock::Fault::new("/crm/v8/Leads", 1);
    f.status = Some(429);
    f.retry_after = Some("1".into());
    env.mock.inject_fault(f).expect("fault");
    client.get("/crm/v8/Leads").send().await.expect("send");

    let lines = recorder.lines_with("");
    let ours: Vec<&String> = lines.iter().filter(|l| l.starts_with("zoho_oauth ")).collect();
    let has = |needle: &str| ours.iter().any(|l| l.contains(needle));
    assert!(has("refresh attempt") && has("attempt=1"), "{ours:#?}");
    assert!(has("refresh succeeded"), "{ours:#?}");
    assert!(has("budget_left=9"), "{ours:#?}");
    assert!(has("retrying") && has("status=429"), "{ours:#?}");
    for line in &lines {
        for secret in [rt.as_str(), token.secret(), zoho_mock::DEFAULT_CLIENT_SECRET] {
            assert!(!line.contains(secret), "secret in a log line: {line}");
        }
    }
}

#[tokio::test]
async fn bad_day_events_name_the_identity_and_carry_no_secret() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let env = Env::start().await;
    let rt = env.refresh_token(SCOPES);
    let client = Client::builder(env.app(), rt.clone()).build().expect("client");
    let token = client.access_token().await.expect("token");
    // In the refresh margin, the endpoint down: retries, a backoff, the working token served;
    // then a success ends the backoff.
    env.mock.advance_clock(std::time::Duration::from_secs(3500));
    let mut f = zoho_mock::Fault::new("/oauth/v2/token", 3);
    f.status = Some(500);
    env.mock.inject_fault(f).expect("fault");
    assert_eq!(client.access_token().await.expect("served"), token);
    // Served again inside the backoff: no second warning (one per 10 s, not one per call).
    assert_eq!(client.access_token().await.expect("served"), token);
    env.mock.advance_clock(std::time::Duration::from_secs(2));
    client.access_token().await.expect("refreshed");

    let lines = recorder.lines_with("");
    let key = format!("key={}", client.store_key());
    let with = |needle: &str| lines.iter().filter(|l| l.contains(needle) && l.contains(&key)).count();
    assert_eq!(with("refresh attempt"), 5, "{lines:#?}");
    assert_eq!(with("refresh retry"), 2, "{lines:#?}");
    assert_eq!(with("backoff started"), 1, "{lines:#?}");
    assert_eq!(with("stale token served: the refresh failed"), 1, "{lines:#?}");
    assert_eq!(with("stale token served"), 2, "{lines:#?}");
    assert_eq!(with("refresh backoff ended"), 1, "{lines:#?}");
    for line in &lines {
        for secret in [rt.as_str(), token.secret(), zoho_mock::DEFAULT_CLIENT_SECRET] {
            assert!(!line.contains(secret), "secret in a log line: {line}");
        }
    }
}
