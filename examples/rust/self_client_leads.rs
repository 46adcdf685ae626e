//! Self client → CRM Leads: exchange a self-client grant code once, keep the refresh token, and
//! list leads with a [`Client`] that caches and refreshes the access token by itself.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints):
//!
//!     cargo run -p zoho-oauth-examples --bin self_client_leads
//!
//! Run against Zoho (create the code at https://api-console.zoho.com, "Self Client", with scope
//! ZohoCRM.modules.ALL; codes are single-use and live 3 minutes):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_GRANT_CODE=1000.yyy \
//!         cargo run -p zoho-oauth-examples --bin self_client_leads
//!     # later runs: ZOHO_REFRESH_TOKEN=1000.zzz instead of ZOHO_GRANT_CODE
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_GRANT_CODE or
//! ZOHO_REFRESH_TOKEN, and with a refresh token optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL
//! and ZOHO_API_DOMAIN (see `Client::from_env`). Without ZOHO_CLIENT_ID it runs against zoho-mock
//! started in this process.

use serde_json::Value;
use zoho_oauth::{Client, ClientType, DataCenter, GrantCode, OAuthApp, RefreshToken};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A JSON value as plain text (strings without their quotes).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Prints the first `limit` leads and returns how many leads there are in total.
async fn list_leads(client: &Client, limit: usize) -> zoho_oauth::Result<usize> {
    let mut leads = client.paginate("/crm/v8/Leads").query_pair("fields", "Last_Name,Company");
    let mut n = 0;
    while let Some(lead) = leads.next_record().await? {
        if n < limit {
            println!("{} {} ({})", text(&lead["id"]), text(&lead["Last_Name"]), text(&lead["Company"]));
        }
        n += 1;
    }
    Ok(n)
}

/// The self client: exchange the grant code, and a client on the refresh token it returns.
async fn client_from_grant_code(app: OAuthApp, code: &str) -> zoho_oauth::Result<(Client, RefreshToken)> {
    // Once per grant code: the refresh token it returns lasts until revoked.
    let tokens = app.exchange_code(&GrantCode::new(code)).await?;
    let Some(refresh) = tokens.refresh_token.clone() else {
        return Err(zoho_oauth::Error::config("no refresh token", "generate the code with access_type offline"));
    };
    // The access token of the exchange seeds the cache: the first call needs no refresh.
    let builder = Client::builder(app, refresh.clone()).accounts_server(tokens.accounts_server.clone());
    let client = builder.initial_token(tokens).build()?;
    Ok((client, refresh))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        let client = match var("ZOHO_GRANT_CODE") {
            Some(code) => {
                let dc = DataCenter::from_code(&var("ZOHO_DC").unwrap_or_else(|| "us".into()))?;
                let app = OAuthApp::builder(var("ZOHO_CLIENT_ID").unwrap_or_default())
                    .client_secret(var("ZOHO_CLIENT_SECRET").ok_or("ZOHO_CLIENT_SECRET is not set")?)
                    .client_type(ClientType::SelfClient)
                    .dc(dc)
                    .build()?;
                let (client, refresh) = client_from_grant_code(app, &code).await?;
                // Shown once, on request, so that it can be stored; never log it.
                eprintln!(
                    "store it: ZOHO_REFRESH_TOKEN={} (accounts server {})",
                    refresh.secret(),
                    client.accounts_server()
                );
                client
            }
            None => Client::from_env()?,
        };
        let n = list_leads(&client, 10).await?;
        println!("{n} leads");
        return Ok(());
    }

    // The fake Zoho: 250 leads (two pages), a grant code minted as the API console would.
    let mock = zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?;
    mock.seed_crm("Leads", 250);
    let code = mock.mint_code(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))?;
    let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
        .client_type(ClientType::SelfClient)
        .accounts_url(mock.base_url())
        .build()?;
    let (client, _refresh) = client_from_grant_code(app, &code.code).await?;
    let n = list_leads(&client, 3).await?;
    println!("{n} leads");

    let counters = mock.counters();
    println!("token requests: {:?}", counters.token_requests);
    assert_eq!(n, 250);
    assert_eq!(counters.token_requests_for("authorization_code"), 1);
    // The exchange's access token served both pages: no refresh at all.
    assert_eq!(counters.token_requests_for("refresh_token"), 0);
    mock.stop().await;
    Ok(())
}
