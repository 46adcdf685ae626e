//! The server-based login: build the authorization URL (with a random `state`), send the user's
//! browser there, and hand the URL Zoho redirects back to to `handle_callback`, which checks the
//! state and the `accounts-server` (the user's data centre) and exchanges the code there.
//!
//! Run against the built-in fake Zoho (no account needed; asserts what it prints). The fake's
//! consent screen answers `/oauth/v2/auth` at once with a 302 carrying code, state, location and
//! accounts-server; this example plays the browser, for a user who lives in the EU data centre:
//!
//!     cargo run -p zoho-oauth-examples --bin login_callback
//!
//! Run against Zoho (a "Server-based Application" in https://api-console.zoho.com whose
//! redirect URI is ZOHO_REDIRECT_URI; open the printed URL, consent, then paste the whole URL
//! the browser was sent to, even if that page does not load):
//!
//!     ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=us \
//!     ZOHO_REDIRECT_URI=http://localhost:8080/callback \
//!         cargo run -p zoho-oauth-examples --bin login_callback
//!
//! Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (the app's home DC, default us) and
//! ZOHO_REDIRECT_URI. Without ZOHO_CLIENT_ID it runs against zoho-mock started in this process.

use zoho_oauth::{AuthorizationRequest, CallbackOptions, Client, ClientType, DataCenter, ErrorCode, OAuthApp};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SCOPES: &[&str] = &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"];

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What a web app does on `/callback`: the session kept `state`; the tokens belong to the user
/// who consented, in that user's data centre. Returns a client for that user and their email.
async fn on_callback(
    app: &OAuthApp,
    callback_url: &str,
    state: &str,
    redirect_uri: &str,
) -> Result<(Client, String), BoxError> {
    let opts = CallbackOptions {
        expected_state: Some(state.to_string()),
        redirect_uri: Some(redirect_uri.to_string()),
        code_verifier: None,
        skip_state_check: false,
    };
    let tokens = app.handle_callback(callback_url, &opts).await?;
    let refresh = tokens.refresh_token.clone().ok_or("no refresh token: ask for access_type=offline")?;
    // Keep the refresh token and tokens.accounts_server together: refreshes must go to that DC.
    let client = Client::builder(app.clone(), refresh)
        .accounts_server(tokens.accounts_server.clone())
        .initial_token(tokens)
        .build()?;
    let me = client.get("/crm/v8/users").query(&[("type", "CurrentUser")]).send().await?.error_for_status()?;
    let me: serde_json::Value = me.json()?;
    let email = me["users"][0]["email"].as_str().unwrap_or_default().to_string();
    println!("logged in: {email} (data centre {}, accounts server {})", client.dc(), client.accounts_server());
    Ok((client, email))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if var("ZOHO_CLIENT_ID").is_some() {
        let redirect_uri = var("ZOHO_REDIRECT_URI").ok_or("ZOHO_REDIRECT_URI is not set")?;
        let app = OAuthApp::builder(var("ZOHO_CLIENT_ID").unwrap_or_default())
            .client_secret(var("ZOHO_CLIENT_SECRET").ok_or("ZOHO_CLIENT_SECRET is not set")?)
            .client_type(ClientType::Server)
            .dc(DataCenter::from_code(&var("ZOHO_DC").unwrap_or_else(|| "us".into()))?)
            .build()?;
        let mut req = AuthorizationRequest::new(SCOPES, redirect_uri.clone());
        req.prompt = Some("consent".into());
        let auth = app.authorization_url(&req)?;
        println!("open this URL, consent, then paste the URL you were redirected to:\n{}", auth.url);
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        on_callback(&app, line.trim(), &auth.state, &redirect_uri).await?;
        return Ok(());
    }

    // The fake Zoho with two data centres; the user who logs in lives in the EU one.
    const CLIENT_ID: &str = "1000.SERVERAPP";
    const SECRET: &str = "server-secret";
    const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
    const EU_USER: &str = "eu.user@example.com";
    let mock = zoho_mock::MockZoho::start(zoho_mock::MockConfig::with_dcs(&["us", "eu"])).await?;
    let mut spec = zoho_mock::ClientSpec::new(CLIENT_ID, SECRET, zoho_mock::ClientType::Server);
    spec.redirect_uris.push(REDIRECT_URI.into());
    mock.register_client(spec)?;
    mock.register_user(zoho_mock::UserSpec::new(EU_USER, "eu"))?;
    let (us, eu) = (mock.url("us").ok_or("us")?, mock.url("eu").ok_or("eu")?);
    // A multi-DC app: the home DC is us; the mock's listeners stand in for Zoho's accounts servers.
    let app = OAuthApp::builder(CLIENT_ID)
        .client_secret(SECRET)
        .client_type(ClientType::Server)
        .dc(DataCenter::Us)
        .dc_accounts_url(DataCenter::Us, us.clone())
        .dc_accounts_url(DataCenter::Eu, eu.clone())
        .build()?;

    let mut req = AuthorizationRequest::new(SCOPES, REDIRECT_URI);
    req.prompt = Some("consent".into());
    let auth = app.authorization_url(&req)?;
    println!("authorization URL: {}", auth.url);
    assert!(auth.url.starts_with(&format!("{us}/oauth/v2/auth?")));

    // The browser: follow the consent page's redirect by hand (`mock_user` picks who logs in).
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let consent = browser.get(&auth.url).query(&[("mock_user", EU_USER)]).send().await?;
    assert_eq!(consent.status().as_u16(), 302);
    let callback = consent.headers()["location"].to_str()?.to_string();
    let mut shown = reqwest::Url::parse(&callback)?;
    let pairs: Vec<(String, String)> = shown
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "code" { "REDACTED".into() } else { v.to_string() }))
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    println!("callback: {shown}");
    assert!(callback.starts_with(REDIRECT_URI) && callback.contains("location=eu"));

    // A callback with another state, or naming a server that is not a trusted Zoho accounts
    // server, is refused before any token request.
    let opts = |state: &str| CallbackOptions {
        expected_state: Some(state.into()),
        redirect_uri: Some(REDIRECT_URI.into()),
        code_verifier: None,
        skip_state_check: false,
    };
    let err = app.handle_callback(&callback, &opts("another-session")).await.unwrap_err();
    println!("wrong state: {}", err.code());
    assert_eq!(err.code(), ErrorCode::StateMismatch);
    let mut forged = reqwest::Url::parse(&callback)?;
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            if k == "accounts-server" {
                (k.into(), "https://accounts.evil.example".into())
            } else {
                (k.into(), v.into())
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let err = app.handle_callback(forged.as_str(), &opts(&auth.state)).await.unwrap_err();
    println!("forged accounts-server: {}", err.code());
    assert_eq!(err.code(), ErrorCode::UntrustedAccountsServer);
    assert_eq!(mock.counters().token_requests_total(), 0);

    let (client, email) = on_callback(&app, &callback, &auth.state, REDIRECT_URI).await?;
    assert_eq!(email, EU_USER);
    assert_eq!(client.dc(), DataCenter::Eu);
    assert_eq!(client.accounts_server(), eu);
    assert_eq!(mock.counters().token_requests_for("authorization_code"), 1);
    mock.stop().await;
    Ok(())
}
