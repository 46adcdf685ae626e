//! `zoho-oauth demo`: the library's whole job, narrated, against the fake Zoho started in this
//! process. No credentials, nothing beyond loopback. Every step checks what it shows, so the
//! demo fails loudly (exit code 1) if the library misbehaves; the test command runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zoho_mock::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, MintCode, MockConfig, MockZoho, VirtualClock};
use zoho_oauth::{Client, ClientType, GrantCode, MemoryStore, OAuthApp, Product};

use crate::cmd::Failure;

struct Narrator(Instant);

impl Narrator {
    fn say(&self, text: impl AsRef<str>) {
        println!("[{:>8.1} ms] {}", self.0.elapsed().as_secs_f64() * 1000.0, text.as_ref());
    }
}

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok { Ok(()) } else { Err(Failure::Other(format!("demo check failed: {what}"))) }
}

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(e.to_string())
}

pub async fn run() -> Result<(), Failure> {
    let n = Narrator(Instant::now());
    let mock = Arc::new(MockZoho::start(MockConfig::default()).await.map_err(other)?);
    let base = mock.base_url();
    mock.seed_crm("Leads", 3);
    n.say(format!("fake Zoho (accounts server, CRM and Desk) listening on {base}"));

    let scopes = ["ZohoCRM.modules.ALL", "Desk.tickets.ALL"];
    let code = mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, &scopes)).map_err(other)?;
    n.say(format!(
        "self client: a grant code generated in the API console for {}, valid {} s, single use",
        scopes.join(", "),
        code.expires_in
    ));

    let app = OAuthApp::builder(DEFAULT_CLIENT_ID)
        .client_secret(DEFAULT_CLIENT_SECRET)
        .client_type(ClientType::SelfClient)
        .accounts_url(base.clone())
        .clock(VirtualClock::new(&mock))
        .build()?;
    let grant = GrantCode::new(code.code.clone());
    let tokens = app.exchange_code(&grant).await?;
    let refresh = tokens.refresh_token.clone().ok_or_else(|| other("the exchange gave no refresh token"))?;
    n.say(format!(
        "exchanged: access token {} (shown as a fingerprint; it expires in 1 h), refresh token kept, api_domain {}",
        tokens.access_token.fingerprint(),
        tokens.api_domain.as_deref().unwrap_or("-")
    ));

    // Zoho answers a reused code with HTTP 200 and {"error":"invalid_code"}: a typed error here.
    let again = app.exchange_code(&grant).await.err();
    check(again.as_ref().is_some_and(|e| e.code().as_str() == "invalid_code"), "a reused code is invalid_code")?;
    if let Some(e) = again {
        n.say(format!(
            "the same code again: Zoho says HTTP 200 {{\"error\":\"invalid_code\"}}; the library raises {}",
            e.code()
        ));
    }

    let client = Client::builder(app, refresh)
        .accounts_server(tokens.accounts_server.clone())
        .initial_token(tokens.clone())
        .api_domain(base.clone())
        .token_store(Arc::new(MemoryStore::isolated()))
        .build()?;

    let leads = client.get("/crm/v8/Leads").query(&[("per_page", "3")]).send().await?.error_for_status()?;
    let body: serde_json::Value = leads.json()?;
    let count = body["data"].as_array().map(Vec::len).unwrap_or(0);
    check(count == 3, "three leads")?;
    n.say(format!(
        "GET /crm/v8/Leads with Authorization: Zoho-oauthtoken …: {count} leads (cached token, no token request)"
    ));

    mock.advance_clock(Duration::from_secs(3_600));
    n.say("an hour passes on the fake Zoho's clock: the access token has expired");
    let before = mock.counters().token_requests_for("refresh_token");
    let r = client.get("/crm/v8/Leads").send().await?.error_for_status()?;
    let refreshed = mock.counters().token_requests_for("refresh_token") - before;
    check(refreshed == 1 && r.status() == 200, "one transparent refresh")?;
    let now = client.access_token().await?;
    n.say(format!(
        "GET /crm/v8/Leads again: refreshed once, transparently (new token {}), then 200",
        now.fingerprint()
    ));

    let calls = 20;
    let mut tasks = Vec::new();
    mock.advance_clock(Duration::from_secs(3_600));
    for _ in 0..calls {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.get("/crm/v8/Leads").send().await.map(|r| r.status()) }));
    }
    for t in tasks {
        check(t.await.map_err(other)?? == 200, "every concurrent call succeeds")?;
    }
    let single = mock.counters().token_requests_for("refresh_token") - before;
    check(single == 2, "single flight: one more refresh for 20 concurrent callers")?;
    n.say(format!(
        "another hour, then {calls} concurrent calls on the expired token: exactly 1 refresh (single flight)"
    ));

    mock.inject_fault(Fault { status: Some(429), retry_after: Some("1".into()), ..Fault::new("/crm/v8/Leads", 1) })
        .map_err(other)?;
    let started = mock.now_ms();
    let r = client.get("/crm/v8/Leads").send().await?.error_for_status()?;
    let waited = Duration::from_millis((mock.now_ms() - started).max(0) as u64);
    check(r.status() == 200 && waited >= Duration::from_millis(1000), "a 429 is retried after Retry-After")?;
    n.say(format!(
        "Zoho answers 429 with Retry-After: 1; the library waits {:.1} s (on the fake's clock) and retries: 200",
        waited.as_secs_f64()
    ));

    let ticket = client
        .post("/api/v1/tickets")
        .product(Product::Desk)
        .header("orgId", "700000001")
        .json(&serde_json::json!({"subject": "Printer on fire", "departmentId": "1", "contactId": "1"}))
        .send()
        .await?
        .error_for_status()?;
    let t: serde_json::Value = ticket.json()?;
    check(t["id"].is_string() || t["id"].is_number(), "a Desk ticket id")?;
    n.say(format!("POST /api/v1/tickets to Desk with the orgId header: ticket {} created", t["id"]));

    let before = mock.counters().token_requests_for("refresh_token");
    let scoped = client.get("/crm/v8/users").query(&[("type", "CurrentUser")]).send().await?;
    let err = scoped.error_for_status().err();
    let code = err.as_ref().map(|e| e.code().to_string()).unwrap_or_default();
    check(code == "scope_mismatch", "a missing scope is scope_mismatch")?;
    check(mock.counters().token_requests_for("refresh_token") == before, "no refresh on a scope error")?;
    n.say(format!(
        "GET /crm/v8/users without ZohoCRM.users.READ: 401 OAUTH_SCOPE_MISMATCH is {code}, and no refresh is wasted on it"
    ));

    let c = mock.counters();
    n.say(format!(
        "Zoho saw {} token requests (1 code exchange + 1 reused code + 2 refreshes) and {} API calls",
        c.token_requests_total, c.api_calls_total
    ));
    println!("\nNo secret was printed: tokens appear as fingerprints, and errors never carry them.");
    println!("Next: `zoho-oauth mock` runs this fake Zoho for your own code; `zoho-oauth --help` lists the commands.");
    Ok(())
}
