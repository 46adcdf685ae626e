//! The device flow (Zoho "non-browser applications"): ask for a user code, show it with the
//! verification URL, and poll until the user approves it on another device. Zoho allows one poll
//! per 30 seconds; `wait` honours that, `slow_down`, and `other_dc` (a user of another DC).
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints). The "user"
//! approves through the fake's control API, and the fake's virtual clock stands in for the
//! 30-second polling interval, so it finishes at once:
//!
//!     cargo run -p zoho-oauth-examples --bin device_flow
//!
//! Run against Zoho (a "Non-browser Application" in https://api-console.zoho.com):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu \
//!         cargo run -p zoho-oauth-examples --bin device_flow
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_DC (default us). Without ZOHO_CLIENT_ID it
//! runs against zoho-mock started in this process.

use std::sync::Arc;
use std::time::Duration;

use zoho_oauth::{Client, ClientType, DataCenter, DeviceAuthorization, DeviceFlowRequest, OAuthApp};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SCOPES: &[&str] = &["ZohoCRM.modules.ALL"];

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn show(flow: &DeviceAuthorization) {
    println!(
        "on any device, open {} and enter the code {} (valid {} s)",
        flow.verification_url,
        flow.user_code,
        flow.expires_in.as_secs()
    );
}

/// Polls until approved, then lists leads with the new refresh token.
async fn finish(app: OAuthApp, flow: &DeviceAuthorization) -> Result<usize, BoxError> {
    let tokens = flow.wait().await?;
    let refresh = tokens.refresh_token.clone().ok_or("no refresh token: ask for access_type=offline")?;
    println!("approved: scopes {:?}, accounts server {}", tokens.scopes, tokens.accounts_server);
    let client =
        Client::builder(app, refresh).accounts_server(tokens.accounts_server.clone()).initial_token(tokens).build()?;
    let leads = client.paginate("/crm/v8/Leads").collect_all().await?;
    println!("{} leads", leads.len());
    Ok(leads.len())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        let app = OAuthApp::builder(var("ZOHO_CLIENT_ID").unwrap_or_default())
            .client_secret(var("ZOHO_CLIENT_SECRET").ok_or("ZOHO_CLIENT_SECRET is not set")?)
            .client_type(ClientType::Device)
            .dc(DataCenter::from_code(&var("ZOHO_DC").unwrap_or_else(|| "us".into()))?)
            .build()?;
        let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await?;
        show(&flow);
        finish(app, &flow).await?;
        return Ok(());
    }

    const CLIENT_ID: &str = "1000.DEVICEAPP";
    const SECRET: &str = "device-secret";
    let mock = Arc::new(zoho_mock::MockZoho::start(zoho_mock::MockConfig::default()).await?);
    mock.register_client(zoho_mock::ClientSpec::new(CLIENT_ID, SECRET, zoho_mock::ClientType::Device))?;
    let app = OAuthApp::builder(CLIENT_ID)
        .client_secret(SECRET)
        .client_type(ClientType::Device)
        .accounts_url(mock.base_url())
        .clock(zoho_mock::VirtualClock::new(&mock))
        .build()?;
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await?;
    show(&flow);
    assert!(!flow.user_code.is_empty());
    assert!(flow.interval >= Duration::from_secs(30));

    // The user approves on their phone: here, through the fake's control API.
    mock.approve_device(&flow.user_code, None, false)?;
    let n = finish(app, &flow).await?;
    assert_eq!(n, 5);
    let counters = mock.counters();
    println!("device polls: {}, token requests: {:?}", counters.device_polls, counters.token_requests);
    assert_eq!(counters.device_polls, 1);
    assert_eq!(counters.token_requests_for("refresh_token"), 0);
    Ok(())
}
