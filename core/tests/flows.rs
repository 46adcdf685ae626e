//! OAuthApp flows against zoho-mock over real HTTP.

mod common;

use common::{Env, SCOPES};
use zoho_mock::{ClientSpec, ClientType as MockType, Fault, MintCode, MockConfig, UserSpec};
use zoho_oauth::{
    AuthorizationRequest, CallbackOptions, ClientType, DataCenter, ErrorCode, ExchangeRequest, GrantCode, OAuthApp,
    RefreshToken,
};

const REDIRECT: &str = "http://127.0.0.1:1/callback";

/// Follow the mock's consent screen: GET the authorization URL, return the redirect Location.
async fn consent(url: &str, extra: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
    let resp = http.get(format!("{url}{extra}")).send().await.expect("auth request");
    assert_eq!(resp.status().as_u16(), 302, "consent should redirect");
    resp.headers().get("location").and_then(|v| v.to_str().ok()).expect("location").to_string()
}

fn register_server_client(env: &Env, id: &str, ty: MockType) {
    let mut spec = ClientSpec::new(id, "server-secret", ty);
    spec.redirect_uris = vec![REDIRECT.to_string()];
    env.mock.register_client(spec).expect("register");
}

#[tokio::test]
async fn self_client_code_exchange_returns_full_token_set() {
    let env = Env::start().await;
    let minted = env.mock.mint_code(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES)).expect("mint");
    let now = env.mock.now_ms();
    let tokens = env.app().exchange_code(&GrantCode::new(minted.code)).await.expect("exchange");
    assert!(tokens.access_token.secret().starts_with("1000."));
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.api_domain.as_deref(), Some(env.url().as_str()));
    assert_eq!(tokens.accounts_server, env.url());
    assert_eq!(tokens.scopes, vec!["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]);
    assert!((tokens.expires_at_ms - now - 3_600_000).abs() < 5_000);
    assert_eq!(env.mock.counters().token_requests("authorization_code", "success"), 1);
}

#[tokio::test]
async fn a_grant_code_is_single_use_and_expires() {
    let env = Env::start().await;
    let app = env.app();
    let minted = env.mock.mint_code(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES)).expect("mint");
    let code = GrantCode::new(minted.code);
    app.exchange_code(&code).await.expect("first exchange");
    let err = app.exchange_code(&code).await.expect_err("second exchange fails");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
    assert_eq!(err.status(), Some(200), "Zoho answers errors with HTTP 200");
    assert!(err.hint().is_some());

    let minted = env.mock.mint_code(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES)).expect("mint");
    env.mock.advance_clock(std::time::Duration::from_secs(181));
    let err = app.exchange_code(&GrantCode::new(minted.code)).await.expect_err("expired");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
}

#[tokio::test]
async fn wrong_secret_and_unknown_client_are_typed() {
    let env = Env::start().await;
    let minted = env.mock.mint_code(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, SCOPES)).expect("mint");
    let bad = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret("wrong-secret")
        .accounts_url(env.url())
        .build()
        .expect("app");
    let err = bad.exchange_code(&GrantCode::new(minted.code)).await.expect_err("bad secret");
    assert_eq!(err.code(), ErrorCode::InvalidClientSecret);
    assert!(!err.to_string().contains("wrong-secret"));
    assert!(!format!("{err:?}").contains("wrong-secret"));
    let unknown = OAuthApp::builder("1000.UNKNOWN").client_secret("x").accounts_url(env.url()).build().expect("app");
    let err = unknown.exchange_code(&GrantCode::new("1000.nope")).await.expect_err("unknown client");
    assert_eq!(err.code(), ErrorCode::InvalidClient);
}

#[tokio::test]
async fn server_flow_authorization_url_callback_and_exchange() {
    let env = Env::start().await;
    register_server_client(&env, "1000.SERVER", MockType::Server);
    let app = env.app_for("1000.SERVER", "server-secret", ClientType::Server).build().expect("app");
    let auth = app
        .authorization_url(&AuthorizationRequest {
            prompt: Some("consent".into()),
            ..AuthorizationRequest::new(SCOPES, REDIRECT)
        })
        .expect("url");
    assert!(auth.url.starts_with(&format!("{}/oauth/v2/auth?", env.url())));
    let location = consent(&auth.url, "").await;
    assert!(location.starts_with(REDIRECT));
    assert!(location.contains(&format!("state={}", auth.state)));

    let opts = CallbackOptions {
        expected_state: Some(auth.state.clone()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: None,
        skip_state_check: false,
    };
    let tokens = app.handle_callback(&location, &opts).await.expect("callback");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.accounts_server, env.url());

    // Server-based codes need the redirect_uri.
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    let location = consent(&auth.url, "").await;
    let err = app
        .handle_callback(&location, &CallbackOptions { expected_state: Some(auth.state), ..Default::default() })
        .await
        .expect_err("no redirect_uri");
    assert_eq!(err.code(), ErrorCode::InvalidRedirectUri);

    // Without an expected state the callback is refused before any token request, unless the
    // caller opts out by name.
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    let location = consent(&auth.url, "").await;
    let no_state = CallbackOptions { redirect_uri: Some(REDIRECT.into()), ..Default::default() };
    let before = env.mock.counters().token_requests_total;
    let err = app.handle_callback(&location, &no_state).await.expect_err("state required");
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    assert_eq!(env.mock.counters().token_requests_total, before, "no token request");
    let opted_out = CallbackOptions { skip_state_check: true, ..no_state };
    app.handle_callback(&location, &opted_out).await.expect("opted out by name");
}

#[tokio::test]
async fn state_mismatch_and_untrusted_server_send_nothing() {
    let env = Env::start().await;
    register_server_client(&env, "1000.SERVER", MockType::Server);
    let app = env.app_for("1000.SERVER", "server-secret", ClientType::Server).build().expect("app");
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    let location = consent(&auth.url, "").await;
    let opts = CallbackOptions {
        expected_state: Some("another-state".into()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: None,
        skip_state_check: false,
    };
    let err = app.handle_callback(&location, &opts).await.expect_err("state mismatch");
    assert_eq!(err.code(), ErrorCode::StateMismatch);

    let forged = format!(
        "{REDIRECT}?code=1000.abc&location=us&accounts-server=https%3A%2F%2Faccounts.evil.example&state={}",
        auth.state
    );
    let opts = CallbackOptions {
        expected_state: Some(auth.state.clone()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: None,
        skip_state_check: false,
    };
    let err = app.handle_callback(&forged, &opts).await.expect_err("untrusted");
    assert_eq!(err.code(), ErrorCode::UntrustedAccountsServer);
    let http_lookalike =
        format!("{REDIRECT}?code=1000.abc&accounts-server=http://accounts.zoho.com&state={}", auth.state);
    let err = app.handle_callback(&http_lookalike, &opts).await.expect_err("http zoho");
    assert_eq!(err.code(), ErrorCode::UntrustedAccountsServer);
    let err = app.handle_callback("not a url at all", &opts).await.expect_err("malformed");
    assert_eq!(err.code(), ErrorCode::InvalidResponse);
    assert_eq!(env.mock.counters().token_requests_total(), 0, "no secret was sent anywhere");
}

#[tokio::test]
async fn denied_consent_is_access_denied() {
    let env = Env::start().await;
    register_server_client(&env, "1000.SERVER", MockType::Server);
    let app = env.app_for("1000.SERVER", "server-secret", ClientType::Server).build().expect("app");
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    let location = consent(&auth.url, "&mock_deny=true").await;
    let err = app
        .handle_callback(&location, &CallbackOptions { expected_state: Some(auth.state), ..Default::default() })
        .await
        .expect_err("denied");
    assert_eq!(err.code(), ErrorCode::AccessDenied);
}

#[tokio::test]
async fn multi_dc_callback_exchanges_at_the_users_dc_with_its_secret() {
    let env = Env::with(MockConfig::with_dcs(&["us", "eu"])).await;
    let mut spec = ClientSpec::new("1000.MULTI", "us-secret", MockType::Server);
    spec.redirect_uris = vec![REDIRECT.to_string()];
    spec.secrets.insert("eu".into(), "eu-secret".into());
    env.mock.register_client(spec).expect("register");
    env.mock.register_user(UserSpec::new("eve@example.eu", "eu")).expect("user");
    let app = env
        .app_for("1000.MULTI", "us-secret", ClientType::Server)
        .dc_secret(DataCenter::Eu, "eu-secret")
        .build()
        .expect("app");
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    assert!(auth.url.starts_with(&env.dc_url("us")), "authorization starts at the home DC");
    let location = consent(&auth.url, "&mock_user=eve%40example.eu").await;
    assert!(location.contains("location=eu"));
    let opts = CallbackOptions {
        expected_state: Some(auth.state),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: None,
        skip_state_check: false,
    };
    let tokens = app.handle_callback(&location, &opts).await.expect("exchange at eu");
    assert_eq!(tokens.accounts_server, env.dc_url("eu"));
    assert_eq!(tokens.api_domain.as_deref(), Some(env.dc_url("eu").as_str()));

    // Refresh goes to the same DC, with the EU secret.
    let rt = tokens.refresh_token.expect("refresh token");
    let refreshed = app.refresh(&rt, Some(&tokens.accounts_server)).await.expect("refresh at eu");
    assert!(refreshed.refresh_token.is_none(), "Zoho does not rotate refresh tokens");
    let err = app.refresh(&rt, None).await.expect_err("refresh at the wrong DC");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
}

#[tokio::test]
async fn mobile_client_uses_pkce() {
    let env = Env::start().await;
    register_server_client(&env, "1000.MOBILE", MockType::Mobile);
    let app = env.app_for("1000.MOBILE", "server-secret", ClientType::Mobile).build().expect("app");
    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    assert!(auth.url.contains("code_challenge_method=S256"));
    let location = consent(&auth.url, "").await;
    let wrong = CallbackOptions {
        expected_state: Some(auth.state.clone()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: Some(zoho_oauth::PkceVerifier::new("not-the-verifier-not-the-verifier-not-the")),
        skip_state_check: false,
    };
    let err = app.handle_callback(&location, &wrong).await.expect_err("wrong verifier");
    assert_eq!(err.code(), ErrorCode::InvalidCode);

    let auth = app.authorization_url(&AuthorizationRequest::new(SCOPES, REDIRECT)).expect("url");
    let location = consent(&auth.url, "").await;
    let right = CallbackOptions {
        expected_state: Some(auth.state.clone()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: auth.code_verifier.clone(),
        skip_state_check: false,
    };
    app.handle_callback(&location, &right).await.expect("right verifier");
}

#[tokio::test]
async fn refresh_then_revoke() {
    let env = Env::start().await;
    let app = env.app();
    let rt = RefreshToken::new(env.refresh_token(SCOPES));
    let t = app.refresh(&rt, None).await.expect("refresh");
    assert!(t.refresh_token.is_none());
    app.revoke(&rt, None).await.expect("revoke");
    let err = app.refresh(&rt, None).await.expect_err("revoked");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
    let err = app.revoke(&rt, None).await.expect_err("revoke twice");
    assert_eq!(err.code(), ErrorCode::InvalidCode);
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn legacy_millisecond_expiry_is_understood() {
    let env = Env::start().await;
    env.mock.configure(|s| s.legacy_expiry = true).expect("configure");
    let now = env.mock.now_ms();
    let t = env.app().refresh(&RefreshToken::new(env.refresh_token(SCOPES)), None).await.expect("refresh");
    let lifetime = t.expires_at_ms - now;
    assert!((3_595_000..=3_605_000).contains(&lifetime), "lifetime {lifetime} ms");
}

#[tokio::test]
async fn garbage_token_answers_are_invalid_response() {
    let env = Env::start().await;
    let app = env.app();
    let rt = RefreshToken::new(env.refresh_token(SCOPES));
    for body in ["html", "truncated", "malformed"] {
        let mut f = Fault::new("/oauth/v2/token", 1);
        f.body = Some(body.into());
        env.mock.inject_fault(f).expect("fault");
        let err = app.refresh(&rt, None).await.expect_err(body);
        assert_eq!(err.code(), ErrorCode::InvalidResponse, "{body}");
        assert!(err.hint().is_some());
    }
    let mut f = Fault::new("/oauth/v2/token", 1);
    f.status = Some(503);
    env.mock.inject_fault(f).expect("fault");
    let err = app.refresh(&rt, None).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    app.refresh(&rt, None).await.expect("works again");
}

#[tokio::test]
async fn client_credentials_grant() {
    let env = Env::start().await;
    let t = env.app().client_credentials(&["ZohoCRM.modules.ALL"], None).await.expect("cc");
    assert!(t.refresh_token.is_none());
    let err = env
        .app()
        .exchange_code_with(&ExchangeRequest {
            code: GrantCode::new("x"),
            redirect_uri: None,
            code_verifier: None,
            accounts_server: Some("https://accounts.evil.example".into()),
        })
        .await
        .expect_err("untrusted");
    assert_eq!(err.code(), ErrorCode::UntrustedAccountsServer);
}

#[tokio::test]
async fn both_throttle_wordings_are_token_throttled() {
    for wording in ["legacy", "new"] {
        let env = Env::start().await;
        env.mock
            .configure(|s| {
                s.throttle_body = wording.into();
                s.refresh_throttle_max = 1;
            })
            .expect("configure");
        let app = env.app();
        let rt = RefreshToken::new(env.refresh_token(SCOPES));
        app.refresh(&rt, None).await.expect("first");
        let err = app.refresh(&rt, None).await.expect_err("throttled");
        assert_eq!(err.code(), ErrorCode::TokenThrottled, "{wording}");
        assert_eq!(err.zoho_code(), Some("Access Denied"));
        assert!(err.retry_after().is_some());
        assert!(err.zoho_message().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<zoho_oauth::Client>();
    check::<zoho_oauth::OAuthApp>();
    check::<zoho_oauth::Error>();
    check::<zoho_oauth::TokenSet>();
    check::<zoho_oauth::Response>();
    check::<zoho_oauth::DeviceAuthorization>();
    check::<zoho_oauth::RequestBuilder>();
    check::<zoho_oauth::Paginator>();
}
