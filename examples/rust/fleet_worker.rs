//! A fleet worker: many processes (on one host or many) share one Zoho identity through a Redis
//! token store, so they refresh the access token once between them instead of once each. Zoho
//! allows 10 refreshes per refresh token per 10 minutes; a fleet refreshing on its own gets
//! locked out. The store also holds the refresh lease and the refresh budget.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints): it starts the
//! fake, then 4 copies of itself as workers (4 concurrent tasks each) sharing REDIS_URL (or a
//! file store in a temporary folder when no Redis is given), and checks that the fake saw exactly
//! one refresh:
//!
//!     REDIS_URL=redis://127.0.0.1:6379/0 cargo run -p zoho-oauth-examples --bin fleet_worker
//!
//! Run as a worker against Zoho (start as many as you like, on any host reaching the Redis):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//!     ZOHO_TOKEN_STORE=redis://redis.internal:6379/0 cargo run -p zoho-oauth-examples --bin fleet_worker
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//! ZOHO_TOKEN_STORE (else REDIS_URL), optionally ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN and
//! ZOHO_WORKER_ID (a label). Without ZOHO_CLIENT_ID it runs the fleet against zoho-mock.

use std::process::{Command, Stdio};

use zoho_oauth::{Client, DataCenter, OAuthApp};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WORKERS: usize = 4;
const TASKS_PER_WORKER: usize = 4;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// One worker: a client on the shared store, and concurrent tasks calling CRM with it.
async fn worker() -> Result<(), BoxError> {
    let store = var("ZOHO_TOKEN_STORE").or_else(|| var("REDIS_URL")).ok_or("set ZOHO_TOKEN_STORE or REDIS_URL")?;
    let mut app = OAuthApp::builder(var("ZOHO_CLIENT_ID").unwrap_or_default())
        .client_secret(var("ZOHO_CLIENT_SECRET").ok_or("ZOHO_CLIENT_SECRET is not set")?)
        .dc(DataCenter::from_code(&var("ZOHO_DC").unwrap_or_else(|| "us".into()))?);
    if let Some(url) = var("ZOHO_ACCOUNTS_URL") {
        app = app.accounts_url(url);
    }
    let mut client = Client::builder(app.build()?, var("ZOHO_REFRESH_TOKEN").ok_or("ZOHO_REFRESH_TOKEN is not set")?)
        .token_store_url(store);
    if let Some(url) = var("ZOHO_API_DOMAIN") {
        client = client.api_domain(url);
    }
    let client = client.build()?;

    let tasks: Vec<_> = (0..TASKS_PER_WORKER)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client.get("/crm/v8/Leads").query(&[("per_page", "1")]).send().await?.error_for_status()
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    // The fingerprint is a hash, safe to print: the same in every worker means one shared token.
    let token = client.access_token().await?;
    let label = var("ZOHO_WORKER_ID").unwrap_or_else(|| std::process::id().to_string());
    println!("worker {label}: {TASKS_PER_WORKER} calls ok, access token {}", token.fingerprint());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        return worker().await;
    }

    let mock = zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?;
    let minted =
        mock.mint_refresh_token(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))?;
    let tmp = std::env::temp_dir().join(format!("zoho-oauth-fleet-{}", std::process::id()));
    let store = match var("ZOHO_TOKEN_STORE").or_else(|| var("REDIS_URL")) {
        Some(url) => url,
        None => format!("file://{}", tmp.join("tokens.json").display()),
    };
    println!("token store: {}", store.split('?').next().unwrap_or_default());

    // The fleet: copies of this program in worker mode, started together.
    let children = (0..WORKERS)
        .map(|i| {
            Command::new(std::env::current_exe()?)
                .env("ZOHO_CLIENT_ID", zoho_mock::DEFAULT_CLIENT_ID)
                .env("ZOHO_CLIENT_SECRET", zoho_mock::DEFAULT_CLIENT_SECRET)
                .env("ZOHO_REFRESH_TOKEN", &minted.refresh_token)
                .env("ZOHO_ACCOUNTS_URL", mock.base_url())
                .env("ZOHO_TOKEN_STORE", &store)
                .env("ZOHO_WORKER_ID", i.to_string())
                .env_remove("ZOHO_DC")
                .env_remove("ZOHO_API_DOMAIN")
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut fingerprints = Vec::new();
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("{text}");
        assert!(out.status.success(), "a worker failed: {}", out.status);
        fingerprints.extend(text.split_whitespace().last().map(str::to_string));
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let counters = mock.counters();
    println!("token requests seen by the fake Zoho: {:?}", counters.token_requests);
    println!("API calls: {}", counters.api_calls_total);
    assert_eq!(fingerprints.len(), WORKERS);
    assert!(fingerprints.iter().all(|f| f == &fingerprints[0]), "every worker uses the same access token");
    assert_eq!(counters.token_requests_for("refresh_token"), 1, "one refresh for the whole fleet");
    assert_eq!(counters.api_calls_total, (WORKERS * TASKS_PER_WORKER) as u64);
    mock.stop().await;
    Ok(())
}
