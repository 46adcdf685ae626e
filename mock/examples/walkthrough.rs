//! A narrated walk through Zoho's OAuth quirks against the in-process mock: no credentials, no
//! network beyond loopback.
//!
//! Run: `cargo run -p zoho-mock --example walkthrough` (or `./scripts/demo.sh`). Reads no
//! environment variables.
//!
//! It does with raw HTTP what the `zoho-oauth` client library does for you: exchange a
//! self-client grant code, call CRM with `Authorization: Zoho-oauthtoken …`, notice the token
//! expire, refresh it, and run into Zoho's "Access Denied" refresh throttle.

use std::time::{Duration, Instant};

use serde_json::Value;
use zoho_mock::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MintCode, MockConfig, MockZoho};

fn step(started: Instant, text: &str) {
    println!("[{:>7.1} ms] {text}", started.elapsed().as_secs_f64() * 1000.0);
}

/// Shows a token as its first characters only: even fake secrets are not printed whole.
fn short(token: &str) -> String {
    format!("{}…", &token[..token.len().min(9)])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mock = MockZoho::start(MockConfig::default()).await?;
    let base = mock.base_url();
    let http = reqwest::Client::new();
    step(started, &format!("fake Zoho (accounts server and API domain) listening on {base}"));

    let code = mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]))?;
    step(started, &format!("self client: grant code minted in the 'API console', valid {} s", code.expires_in));

    let token_form = |extra: Vec<(&'static str, String)>| {
        let mut form =
            vec![("client_id", DEFAULT_CLIENT_ID.to_string()), ("client_secret", DEFAULT_CLIENT_SECRET.to_string())];
        form.extend(extra);
        form
    };
    let exchange = token_form(vec![("grant_type", "authorization_code".into()), ("code", code.code.clone())]);
    let tokens: Value = http.post(format!("{base}/oauth/v2/token")).form(&exchange).send().await?.json().await?;
    let access = tokens["access_token"].as_str().unwrap_or_default().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap_or_default().to_string();
    step(
        started,
        &format!(
            "exchanged: access token {} (expires_in {}), refresh token {}, api_domain {}",
            short(&access),
            tokens["expires_in"],
            short(&refresh),
            tokens["api_domain"]
        ),
    );

    let again = http.post(format!("{base}/oauth/v2/token")).form(&exchange).send().await?;
    let status = again.status();
    step(
        started,
        &format!("same code again: HTTP {status} with body {}  <- Zoho's errors are HTTP 200", again.text().await?),
    );

    let leads = format!("{base}/crm/v8/Leads?per_page=2");
    let auth = |t: &str| format!("Zoho-oauthtoken {t}");
    let r = http.get(&leads).header("Authorization", auth(&access)).send().await?;
    let status = r.status();
    let body: Value = r.json().await?;
    step(
        started,
        &format!(
            "GET /crm/v8/Leads: HTTP {status}, {} records, more_records={}",
            body["info"]["count"], body["info"]["more_records"]
        ),
    );

    mock.advance_clock(Duration::from_secs(3601));
    let r = http.get(&leads).header("Authorization", auth(&access)).send().await?;
    step(started, &format!("virtual clock +1 h: HTTP {} {}", r.status(), r.text().await?));

    let refresh_form = token_form(vec![("grant_type", "refresh_token".into()), ("refresh_token", refresh.clone())]);
    let fresh: Value = http.post(format!("{base}/oauth/v2/token")).form(&refresh_form).send().await?.json().await?;
    let access = fresh["access_token"].as_str().unwrap_or_default().to_string();
    step(
        started,
        &format!(
            "refreshed: new access token {} (no new refresh token: {})",
            short(&access),
            fresh.get("refresh_token").is_none()
        ),
    );
    let r = http.get(&leads).header("Authorization", auth(&access)).send().await?;
    step(started, &format!("GET /crm/v8/Leads again: HTTP {}", r.status()));

    let mut n = 1; // the refresh above was the first in this window
    loop {
        let r: Value = http.post(format!("{base}/oauth/v2/token")).form(&refresh_form).send().await?.json().await?;
        n += 1;
        if r["error"] == "Access Denied" {
            step(started, &format!("refresh #{n} within 10 minutes: HTTP 200 with {r}"));
            break;
        }
    }
    let c = mock.counters();
    step(
        started,
        &format!(
            "the mock counted {} token requests ({} refreshes that succeeded) and {} API calls",
            c.token_requests_total(),
            c.token_requests("refresh_token", "success"),
            c.api_calls_total()
        ),
    );
    println!("\nThat is why zoho-oauth caches tokens, refreshes once per fleet, and counts its refresh budget.");
    mock.stop().await;
    Ok(())
}
