//! A Zoho Desk ticket: find the Desk organization, then create and list tickets with the
//! `orgId` header Desk requires on every call. `Product::Desk` sends a relative path to the
//! DC's Desk host (desk.zoho.<tld>) instead of the CRM api_domain.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints):
//!
//!     cargo run -p zoho-oauth-examples --bin desk_ticket
//!
//! Run against Zoho (a refresh token with scopes Desk.tickets.ALL,Desk.basic.READ; it creates
//! one ticket in ZOHO_DESK_DEPARTMENT_ID):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//!     ZOHO_DESK_DEPARTMENT_ID=123000000006907 ZOHO_ORG_ID=700000001 \
//!         cargo run -p zoho-oauth-examples --bin desk_ticket
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//! ZOHO_DESK_DEPARTMENT_ID, ZOHO_ORG_ID (default: the first organization of the user) and
//! optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN. Without ZOHO_CLIENT_ID it
//! runs against zoho-mock started in this process.

use serde_json::{Value, json};
use zoho_oauth::{Client, ClientType, ErrorCode, OAuthApp, Product};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A JSON value as plain text (strings without their quotes).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The user's first Desk organization (the only call that needs no `orgId`).
async fn first_org(client: &Client) -> zoho_oauth::Result<String> {
    let orgs: Value =
        client.get("/api/v1/organizations").product(Product::Desk).send().await?.error_for_status()?.json()?;
    Ok(text(&orgs["data"][0]["id"]))
}

/// Creates a ticket and returns it; then lists the organization's tickets.
async fn create_ticket(client: &Client, org_id: &str, department_id: &str) -> zoho_oauth::Result<(Value, usize)> {
    let ticket = json!({
        "subject": "Printer on fire",
        "departmentId": department_id,
        "contact": {"lastName": "Example", "email": "someone@example.com"},
        "description": "Created by the zoho-oauth desk_ticket example.",
    });
    let created: Value = client
        .post("/api/v1/tickets")
        .product(Product::Desk)
        .header("orgId", org_id)
        .json(&ticket)
        .send()
        .await?
        .error_for_status()?
        .json()?;
    println!(
        "ticket #{} ({}) created: {}",
        text(&created["ticketNumber"]),
        text(&created["id"]),
        text(&created["status"])
    );
    let list: Value = client
        .get("/api/v1/tickets")
        .product(Product::Desk)
        .header("orgId", org_id)
        .query(&[("limit", "10")])
        .send()
        .await?
        .error_for_status()?
        .json()?;
    let n = list["data"].as_array().map_or(0, Vec::len);
    println!("{n} ticket(s) in organization {org_id}");
    Ok((created, n))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        let client = Client::from_env()?;
        let department = var("ZOHO_DESK_DEPARTMENT_ID").ok_or("ZOHO_DESK_DEPARTMENT_ID is not set")?;
        let org_id = match var("ZOHO_ORG_ID") {
            Some(o) => o,
            None => first_org(&client).await?,
        };
        create_ticket(&client, &org_id, &department).await?;
        return Ok(());
    }

    let mock = zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?;
    let minted = mock.mint_refresh_token(zoho_mock::MintCode::new(
        zoho_mock::DEFAULT_CLIENT_ID,
        &["Desk.tickets.ALL", "Desk.basic.READ"],
    ))?;
    let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
        .client_type(ClientType::SelfClient)
        .accounts_url(mock.base_url())
        .build()?;
    // The fake serves every product on one listener: an explicit api_domain sends Desk there too.
    let client = Client::builder(app, minted.refresh_token).api_domain(mock.base_url()).build()?;

    let org_id = first_org(&client).await?;
    assert_eq!(org_id, "700000001");
    // Without orgId Desk answers 400 INVALID_DATA; error_for_status turns it into the typed error.
    let err = client.get("/api/v1/tickets").product(Product::Desk).send().await?.error_for_status().unwrap_err();
    println!("without orgId: {} {} ({})", err.status().unwrap_or(0), err.code(), err.zoho_code().unwrap_or(""));
    assert_eq!((err.code(), err.zoho_code()), (ErrorCode::ApiError, Some("INVALID_DATA")));

    let (ticket, n) = create_ticket(&client, &org_id, "1000000000001").await?;
    assert_eq!(ticket["status"], "Open");
    assert_eq!(n, 1);
    assert_eq!(mock.counters().token_requests_for("refresh_token"), 1);
    mock.stop().await;
    Ok(())
}
