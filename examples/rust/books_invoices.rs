//! Zoho Books invoices: every Books call names the organization in the `organization_id` query
//! parameter. Lists invoices, and creates one when a customer is given.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints):
//!
//!     cargo run -p zoho-oauth-examples --bin books_invoices
//!
//! Run against Zoho (a refresh token with scope ZohoBooks.invoices.ALL; the organization id is
//! in Books under Settings → Organization Profile; with ZOHO_BOOKS_CUSTOMER_ID it also creates a
//! draft invoice for that customer):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \
//!     ZOHO_ORG_ID=800000001 cargo run -p zoho-oauth-examples --bin books_invoices
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
//! ZOHO_ORG_ID, optionally ZOHO_BOOKS_CUSTOMER_ID, ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and
//! ZOHO_API_DOMAIN. Without ZOHO_CLIENT_ID it runs against zoho-mock started in this process.

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

/// Prints the first page of invoices and returns how many it holds.
async fn list_invoices(client: &Client, org_id: &str) -> zoho_oauth::Result<usize> {
    let page: Value = client
        .get("/books/v3/invoices")
        .product(Product::Books)
        .query(&[("organization_id", org_id), ("per_page", "25")])
        .send()
        .await?
        .error_for_status()?
        .json()?;
    let invoices = page["invoices"].as_array().cloned().unwrap_or_default();
    for inv in &invoices {
        println!(
            "{} {} {} {}",
            text(&inv["invoice_number"]),
            text(&inv["customer_name"]),
            text(&inv["total"]),
            text(&inv["status"])
        );
    }
    Ok(invoices.len())
}

/// Creates a draft invoice and reads it back by id.
async fn create_invoice(client: &Client, org_id: &str, customer_id: &str) -> zoho_oauth::Result<Value> {
    let body = json!({
        "customer_id": customer_id,
        "line_items": [{"name": "Consulting", "rate": 120.0, "quantity": 2}],
    });
    let created: Value = client
        .post("/books/v3/invoices")
        .product(Product::Books)
        .query(&[("organization_id", org_id)])
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()?;
    let id = created["invoice"]["invoice_id"].as_str().unwrap_or_default().to_string();
    let fetched: Value = client
        .get(format!("/books/v3/invoices/{id}"))
        .product(Product::Books)
        .query(&[("organization_id", org_id)])
        .send()
        .await?
        .error_for_status()?
        .json()?;
    println!(
        "created {} ({}): {}",
        text(&fetched["invoice"]["invoice_number"]),
        id,
        text(&fetched["invoice"]["status"])
    );
    Ok(fetched["invoice"].clone())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        let client = Client::from_env()?;
        let org_id = var("ZOHO_ORG_ID").ok_or("ZOHO_ORG_ID is not set (Books organization id)")?;
        println!("{} invoice(s) on the first page", list_invoices(&client, &org_id).await?);
        if let Some(customer) = var("ZOHO_BOOKS_CUSTOMER_ID") {
            create_invoice(&client, &org_id, &customer).await?;
        }
        return Ok(());
    }

    let mock = zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?;
    let minted =
        mock.mint_refresh_token(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, &["ZohoBooks.invoices.ALL"]))?;
    let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
        .client_type(ClientType::SelfClient)
        .accounts_url(mock.base_url())
        .build()?;
    let client = Client::builder(app, minted.refresh_token).build()?;
    const ORG_ID: &str = "800000001";

    // Without organization_id Books answers 400 with its own envelope: {"code":6041,...}.
    let err = client.get("/books/v3/invoices").product(Product::Books).send().await?.error_for_status().unwrap_err();
    println!(
        "without organization_id: {} {} (code {})",
        err.status().unwrap_or(0),
        err.code(),
        err.zoho_code().unwrap_or("")
    );
    assert_eq!((err.code(), err.zoho_code()), (ErrorCode::ApiError, Some("6041")));

    assert_eq!(list_invoices(&client, ORG_ID).await?, 3);
    let invoice = create_invoice(&client, ORG_ID, "460000000026049").await?;
    assert_eq!(invoice["status"], "draft");
    assert_eq!(list_invoices(&client, ORG_ID).await?, 4);
    assert_eq!(mock.counters().token_requests_for("refresh_token"), 1);
    mock.stop().await;
    Ok(())
}
