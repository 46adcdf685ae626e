//! Proxies (issue 13): with every proxy variable set, a request to an explicit loopback server
//! goes direct; the proxy never sees the form body with the client secret. Its own test binary,
//! because it sets process-wide environment variables.

mod hostile_server;

use std::sync::Arc;

use hostile_server::{Hostile, Reply};
use zoho_oauth::{Client, MemoryStore, OAuthApp};

#[tokio::test]
async fn loopback_targets_never_use_the_proxy() {
    let proxy = Hostile::start(|_| Reply::Full(502, vec![], "proxy".into())).await;
    let server = Hostile::start(|r| {
        if r.target.starts_with("/oauth") {
            Reply::json(200, r#"{"access_token":"1000.a.b","expires_in":3600}"#)
        } else {
            Reply::json(200, "{}")
        }
    })
    .await;
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        // SAFETY: this test binary has one test; nothing else reads the environment concurrently.
        unsafe { std::env::set_var(var, proxy.url()) };
    }
    let app =
        OAuthApp::builder("1000.ID").client_secret("secret-value").accounts_url(server.url()).build().expect("app");
    let c = Client::builder(app, "1000.refresh")
        .api_domain(server.url())
        .token_store(Arc::new(MemoryStore::isolated()))
        .build()
        .expect("client");
    c.access_token().await.expect("token straight from the loopback server");
    assert_eq!(c.get("/crm/v8/org").send().await.expect("api").status(), 200);
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());
    assert_eq!(server.seen().len(), 2);
}
