//! Hostile and broken servers (issue 13): each test runs a server of its own on 127.0.0.1:0
//! that answers the way an attacker or a broken proxy would.

mod hostile_server;

use std::sync::Arc;

use hostile_server::{Hostile, Reply};
use zoho_oauth::{Client, ErrorCode, MemoryStore, OAuthApp, TokenSet};

const SECRET: &str = "client-secret-value-0123";
const REFRESH: &str = "1000.refresh.token.value.4567";
const ACCESS: &str = "1000.access.token.value.89ab";

fn token_body(extra: &str) -> String {
    format!(r#"{{"access_token":"{ACCESS}","expires_in":3600{extra}}}"#)
}

/// A client whose accounts server and api_domain are both `server`.
fn client(
    server: &Hostile,
    api_domain: Option<String>,
    tune: impl FnOnce(zoho_oauth::ClientBuilder) -> zoho_oauth::ClientBuilder,
) -> Client {
    let app = OAuthApp::builder("1000.ID").client_secret(SECRET).accounts_url(server.url()).build().expect("app");
    let b = Client::builder(app, REFRESH)
        .api_domain(api_domain.unwrap_or_else(|| server.url()))
        .token_store(Arc::new(MemoryStore::isolated()))
        .max_retries(0);
    tune(b).build().expect("client")
}

fn assert_no_secret(e: &zoho_oauth::Error) {
    let all = format!("{e} {e:?} {:?} {:?} {:?}", e.body(), e.zoho_message(), e.zoho_code());
    for s in [SECRET, REFRESH, ACCESS] {
        assert!(!all.contains(s), "secret {s:?} leaked into {all}");
    }
}

/// Tokens on `/oauth`, an endless body on `/endless`, 300 KiB with a declared length elsewhere.
async fn big_and_endless() -> Hostile {
    Hostile::start(|r| {
        if r.target.starts_with("/oauth") {
            Reply::json(200, &token_body(""))
        } else if r.target.starts_with("/endless") {
            Reply::Endless(200)
        } else {
            Reply::Full(200, vec![], "b".repeat(300 * 1024))
        }
    })
    .await
}

#[tokio::test]
async fn endless_token_answer_stops_at_the_cap() {
    let server = Hostile::start(|_| Reply::Endless(200)).await;
    let c = client(&server, None, |b| b);
    let err = c.access_token().await.expect_err("must fail");
    assert_eq!(err.code(), ErrorCode::ResponseTooLarge, "{err}");
    assert_eq!(err.code().as_str(), "response_too_large");
}

#[tokio::test]
async fn api_bodies_are_capped_and_the_cap_is_configurable() {
    let server = big_and_endless().await;
    let small = client(&server, None, |b| b.max_response_bytes(256 * 1024));
    let err = small.get("/endless").send().await.expect_err("endless body");
    assert_eq!(err.code(), ErrorCode::ResponseTooLarge, "{err}");
    let err = small.get("/big").send().await.expect_err("declared length over the cap");
    assert_eq!(err.code(), ErrorCode::ResponseTooLarge, "{err}");
    let roomy = client(&server, None, |b| b);
    assert_eq!(roomy.get("/big").send().await.expect("under the default cap").bytes().len(), 300 * 1024);
}

#[tokio::test]
async fn an_answer_over_the_cap_is_not_retried() {
    let server = big_and_endless().await;
    let c = client(&server, None, |b| b.max_response_bytes(256 * 1024).max_retries(3));
    for path in ["/big", "/endless"] {
        let err = c.get(path).send().await.expect_err("over the cap");
        assert_eq!(err.code(), ErrorCode::ResponseTooLarge, "{err}");
        let calls = server.seen().iter().filter(|s| s.target == path).count();
        assert_eq!(calls, 1, "{path} was asked {calls} times");
    }
}

#[tokio::test]
async fn echoed_secrets_are_scrubbed_from_token_errors() {
    let server = Hostile::start(|r| {
        let echo = r.body.clone();
        Reply::json(
            200,
            &serde_json::json!({"error": "invalid_client", "error_description": format!("you sent {echo} and {SECRET} and {REFRESH}")})
                .to_string(),
        )
    })
    .await;
    let err = client(&server, None, |b| b).access_token().await.expect_err("refused");
    assert_eq!(err.code(), ErrorCode::InvalidClient);
    assert_no_secret(&err);
    assert!(err.zoho_message().unwrap_or_default().contains("[redacted]"), "{err:?}");

    let html =
        Hostile::start(|_| Reply::Full(500, vec![], format!("<html>refresh {REFRESH} secret {SECRET}</html>"))).await;
    let err = client(&html, None, |b| b).access_token().await.expect_err("html page");
    assert_no_secret(&err);
}

#[tokio::test]
async fn echoed_access_token_is_scrubbed_from_api_errors() {
    let server = Hostile::start(|r| {
        if r.target.starts_with("/oauth") {
            Reply::json(200, &token_body(""))
        } else {
            Reply::json(
                400,
                &format!(r#"{{"code":"INVALID_DATA","message":"token {ACCESS} rejected","status":"error"}}"#),
            )
        }
    })
    .await;
    let c = client(&server, None, |b| b);
    let resp = c.get("/crm/v8/Leads").send().await.expect("a response");
    let err = resp.error_for_status().expect_err("400");
    assert_eq!(err.zoho_code(), Some("INVALID_DATA"));
    assert_no_secret(&err);
}

#[tokio::test]
async fn error_codes_naming_a_secret_field_stay_visible() {
    let server = Hostile::start(|_| Reply::json(200, r#"{"error":"invalid_client_secret"}"#)).await;
    let err = client(&server, None, |b| b).access_token().await.expect_err("refused");
    assert_eq!(err.code(), ErrorCode::InvalidClientSecret);
    assert_eq!(err.body(), Some(r#"{"error":"invalid_client_secret"}"#));
}

#[tokio::test]
async fn api_domain_with_credentials_is_not_adopted() {
    let server =
        Hostile::start(|_| Reply::json(200, &token_body(r#","api_domain":"https://user:pw@www.zohoapis.com""#))).await;
    let app = OAuthApp::builder("1000.ID").client_secret(SECRET).accounts_url(server.url()).build().expect("app");
    let c = Client::builder(app, REFRESH).token_store(Arc::new(MemoryStore::isolated())).build().expect("client");
    let err = c.access_token().await.expect_err("credentials in api_domain");
    assert_eq!(err.code(), ErrorCode::InvalidResponse, "{err}");
}

#[tokio::test]
async fn relative_paths_stay_relative_and_under_the_prefix() {
    let server = Hostile::start(|r| {
        if r.target.starts_with("/oauth") { Reply::json(200, &token_body("")) } else { Reply::json(200, "{}") }
    })
    .await;
    let c = client(&server, Some(format!("{}/prefix", server.url())), |b| b);
    let err = c.get("/..//x").send().await.expect_err("climbs above the prefix");
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    let err = c.get("/a/%2e%2e/%2E%2E/x").send().await.expect_err("encoded climb");
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    assert!(server.seen().is_empty(), "refused before any I/O, even the token request: {:?}", server.seen().len());
    let r = c.get("/crm/v8/Leads?next=https://evil.example/x").send().await.expect("relative path with :// in query");
    assert_eq!(r.status(), 200);
    c.get("/a/../b").send().await.expect("stays under the prefix");
    let targets: Vec<String> =
        server.seen().into_iter().map(|s| s.target).filter(|t| !t.starts_with("/oauth")).collect();
    assert_eq!(targets, vec!["/prefix/crm/v8/Leads?next=https://evil.example/x".to_string(), "/prefix/b".to_string()]);
}

#[tokio::test]
async fn a_repeated_next_page_token_stops_the_paginator() {
    let server = Hostile::start(|r| {
        if r.target.starts_with("/oauth") {
            Reply::json(200, &token_body(""))
        } else {
            let data: Vec<_> = (0..200).map(|i| serde_json::json!({"id": i})).collect();
            Reply::json(
                200,
                &serde_json::json!({"data": data, "info": {"more_records": true, "next_page_token": "same"}})
                    .to_string(),
            )
        }
    })
    .await;
    let c = client(&server, None, |b| b);
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), c.paginate("/crm/v8/Leads").collect_all())
        .await
        .expect("the paginator must not loop forever")
        .expect_err("a repeated token is an error");
    assert_eq!(err.code(), ErrorCode::InvalidResponse, "{err}");
    assert!(server.seen().len() < 20, "stopped early");
}

#[test]
fn token_set_debug_hides_the_id_token() {
    let body = format!(r#"{{"access_token":"{ACCESS}","id_token":"eyJhbGciOi.secret-identity.sig"}}"#);
    let t = TokenSet::parse(200, &body, 0, "https://accounts.zoho.com").expect("parse");
    let shown = format!("{t:?}");
    assert!(!shown.contains("secret-identity") && !shown.contains(ACCESS), "{shown}");
    assert!(shown.contains("id_token"));
}

#[tokio::test]
async fn transport_errors_name_scheme_host_and_port_but_not_the_path() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let app =
        OAuthApp::builder("1000.ID").client_secret(SECRET).accounts_url(format!("http://{dead}")).build().expect("app");
    let c = Client::builder(app, REFRESH)
        .token_store(Arc::new(MemoryStore::isolated()))
        .max_retries(0)
        .build()
        .expect("client");
    let err = c.access_token().await.expect_err("nothing listens");
    assert_eq!(err.code(), ErrorCode::Transport);
    assert!(err.message().contains(&format!("http://{dead}")), "{err}");
    assert!(!err.message().contains("/oauth"), "{err}");
}

/// Display and Debug of every level of an error's `source()` chain, outermost first.
fn source_chain(e: &zoho_oauth::Error) -> Vec<String> {
    let mut levels = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        levels.push(format!("{s} {s:?}"));
        next = s.source();
    }
    levels
}

fn assert_chain_clean(e: &zoho_oauth::Error, also: &[&str]) -> usize {
    let levels = source_chain(e);
    for level in &levels {
        for s in [SECRET, REFRESH, ACCESS].iter().chain(also) {
            assert!(!level.contains(s), "{s:?} leaked into the source chain: {level}");
        }
    }
    levels.len()
}

#[tokio::test]
async fn source_chains_keep_the_cause_and_no_secret() {
    // Failed refreshes whose answers echo the secrets: an HTML page and JSON cut short. The
    // parse error is kept as the source; nothing of it shows a secret.
    for body in [
        format!("<html>refresh {REFRESH} secret {SECRET}</html>"),
        format!(r#"{{"error":"invalid_client","error_description":"you sent {REFRESH} and {SECRET}"#),
    ] {
        let server = Hostile::start(move |_| Reply::Full(200, vec![], body.clone())).await;
        let err = client(&server, None, |b| b).access_token().await.expect_err("not a token");
        assert_eq!(err.code(), ErrorCode::InvalidResponse, "{err}");
        assert_no_secret(&err);
        assert!(assert_chain_clean(&err, &[]) >= 1, "the parse error is the source: {err:?}");
    }

    // Nothing listens: the refresh's transport error keeps reqwest's chain down to the I/O
    // error; an API request's keeps no path or query (reqwest's own text would show its URL).
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let app =
        OAuthApp::builder("1000.ID").client_secret(SECRET).accounts_url(format!("http://{dead}")).build().expect("app");
    let refresh = Client::builder(app, REFRESH).token_store(Arc::new(MemoryStore::isolated())).max_retries(0);
    let err = refresh.build().expect("client").access_token().await.expect_err("nothing listens");
    assert_eq!(err.code(), ErrorCode::Transport, "{err}");
    assert!(assert_chain_clean(&err, &["/oauth"]) >= 2, "reqwest and its cause: {:?}", source_chain(&err));
    assert!(source_chain(&err).iter().any(|l| l.to_ascii_lowercase().contains("refused")), "{:?}", source_chain(&err));

    let tokens = Hostile::start(|_| Reply::json(200, &token_body(""))).await;
    let c = client(&tokens, Some(format!("http://{dead}")), |b| b);
    let err = c.get("/crm/v8/private-path?q=private-query").send().await.expect_err("nothing listens");
    assert!(assert_chain_clean(&err, &["private-path", "private-query"]) >= 1, "{err:?}");

    // An API answer echoing the access token where a number was expected: serde's message
    // quotes the value, so the kept source is rewritten without it.
    let echo = Hostile::start(|r| {
        if r.target.starts_with("/oauth") {
            Reply::json(200, &token_body(""))
        } else {
            Reply::json(200, &format!(r#""{ACCESS}""#))
        }
    })
    .await;
    let resp = client(&echo, None, |b| b).get("/crm/v8/Leads").send().await.expect("answer");
    let err = resp.json::<u64>().expect_err("a string, not a number");
    assert_no_secret(&err);
    assert!(assert_chain_clean(&err, &[]) >= 1, "the serde error is the source: {err:?}");
}
