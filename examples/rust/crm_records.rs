//! CRM records round trip: who am I and which org, list Leads, get one, create, update, search
//! and delete a Lead, with a [`Client`] that refreshes its access token by itself, including
//! after the token expires mid-run.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints). The fake's
//! virtual clock is the client's clock, so "an hour later" takes no time:
//!
//!     cargo run -p zoho-oauth-examples --bin crm_records
//!
//! Run against Zoho (a self client's refresh token with scopes ZohoCRM.modules.ALL,
//! ZohoCRM.users.READ and ZohoCRM.org.READ; see self_client_leads.rs to get one). It creates one
//! Lead named "Zoho-Oauth-Example" and deletes it again:
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_REFRESH_TOKEN=1000.zzz \
//!         cargo run -p zoho-oauth-examples --bin crm_records
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_REFRESH_TOKEN and
//! optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN (see `Client::from_env`).
//! Without ZOHO_CLIENT_ID it runs against zoho-mock started in this process.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use zoho_oauth::{Client, ClientType, OAuthApp};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SCOPES: &[&str] = &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ", "ZohoCRM.org.READ"];

/// A JSON value as plain text (strings without their quotes).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The JSON body of a successful answer; any other status is an error with Zoho's body.
async fn json_of(req: zoho_oauth::RequestBuilder) -> Result<Value, BoxError> {
    Ok(req.send().await?.error_for_status()?.json()?)
}

/// The id of the single record a write answered for, after checking it succeeded.
fn written_id(answer: &Value) -> Result<String, BoxError> {
    let result = &answer["data"][0];
    if result["status"] != "success" {
        return Err(format!("the write failed: {result}").into());
    }
    Ok(text(&result["details"]["id"]))
}

/// The round trip; returns how many Leads the list showed.
async fn round_trip(client: &Client) -> Result<usize, BoxError> {
    let me = json_of(client.get("/crm/v8/users").query_pair("type", "CurrentUser")).await?;
    let org = json_of(client.get("/crm/v8/org")).await?;
    println!(
        "signed in as {} in org {} ({})",
        text(&me["users"][0]["email"]),
        text(&org["org"][0]["company_name"]),
        text(&org["org"][0]["id"])
    );

    let page = json_of(client.get("/crm/v8/Leads").query(&[("fields", "Last_Name,Email"), ("per_page", "5")])).await?;
    let leads = page["data"].as_array().cloned().unwrap_or_default();
    for lead in &leads {
        println!("lead {} {} <{}>", text(&lead["id"]), text(&lead["Last_Name"]), text(&lead["Email"]));
    }
    if let Some(first) = leads.first() {
        let one = json_of(client.get(format!("/crm/v8/Leads/{}", text(&first["id"])))).await?;
        assert_eq!(one["data"][0]["id"], first["id"]);
    }

    let new_lead = json!({"data": [{"Last_Name": "Zoho-Oauth-Example", "First_Name": "Rust", "Company": "Zylker"}]});
    let id = written_id(&json_of(client.post("/crm/v8/Leads").json(&new_lead)).await?)?;
    println!("created lead {id}");
    let change = json!({"data": [{"Company": "Zylker Updated"}]});
    written_id(&json_of(client.put(format!("/crm/v8/Leads/{id}")).json(&change)).await?)?;
    let found = json_of(
        client
            .get("/crm/v8/Leads/search")
            .query_pair("criteria", "((Last_Name:equals:Zoho-Oauth-Example)and(Company:starts_with:Zylker))"),
    )
    .await?;
    let found_ids: Vec<String> = found["data"].as_array().into_iter().flatten().map(|r| text(&r["id"])).collect();
    println!("search found {found_ids:?}");
    assert!(found_ids.contains(&id), "the search finds the updated lead");
    written_id(&json_of(client.delete(format!("/crm/v8/Leads/{id}"))).await?)?;
    println!("deleted lead {id}");
    Ok(leads.len())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::var("ZOHO_CLIENT_ID").is_ok_and(|v| !v.trim().is_empty()) {
        round_trip(&Client::from_env()?).await?;
        return Ok(());
    }

    let mock = Arc::new(zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?);
    let minted = mock.mint_refresh_token(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES))?;
    let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
        .client_type(ClientType::SelfClient)
        .accounts_url(mock.base_url())
        .clock(zoho_mock::VirtualClock::new(&mock))
        .build()?;
    let client = Client::builder(app, minted.refresh_token).accounts_server(minted.accounts_server).build()?;
    let listed = round_trip(&client).await?;
    assert_eq!(listed, 5, "the fake starts with 5 Leads");
    assert_eq!(mock.counters().token_requests_for("refresh_token"), 1, "one refresh served the whole round trip");

    // An hour later the access token has expired: the client refreshes once and goes on.
    mock.advance_clock(Duration::from_secs(3700));
    let after = json_of(client.get("/crm/v8/Leads")).await?;
    assert_eq!(after["info"]["count"], 5, "the created lead was deleted again");
    let counters = mock.counters();
    println!("token requests: {:?}", counters.token_requests);
    assert_eq!(counters.token_requests("refresh_token", "success"), 2);
    Ok(())
}
