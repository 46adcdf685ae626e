//! Authenticated GET through `Client` against plain reqwest, same loopback server (zoho-mock),
//! same URL and the same token header.
//!
//! Run: `cargo bench -p zoho-oauth --bench get_overhead`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use zoho_mock::{MintCode, MockConfig, MockZoho};
use zoho_oauth::{Client, MemoryStore, OAuthApp};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (mock, client, token) = rt.block_on(async {
        let mock = MockZoho::start(MockConfig::default()).await.expect("mock");
        let rt = mock
            .mint_refresh_token(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))
            .expect("refresh token")
            .refresh_token;
        let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
            .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
            .accounts_url(mock.base_url())
            .build()
            .expect("app");
        let client = Client::builder(app, rt).token_store(Arc::new(MemoryStore::isolated())).build().expect("client");
        let token = client.access_token().await.expect("token");
        (mock, client, token)
    });
    let url = format!("{}/crm/v8/Leads?per_page=1", mock.base_url());
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest");
    let header = format!("Zoho-oauthtoken {}", token.secret());

    let mut g = c.benchmark_group("authenticated_get");
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("plain_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let r = plain.get(&url).header("Authorization", &header).send().await.expect("send");
            assert_eq!(r.status().as_u16(), 200);
            r.bytes().await.expect("body");
        })
    });
    g.bench_function("zoho_oauth_client", |b| {
        b.to_async(&rt).iter(|| async {
            let r = client.get("/crm/v8/Leads").query(&[("per_page", "1")]).send().await.expect("send");
            assert_eq!(r.status(), 200);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
