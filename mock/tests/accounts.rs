//! Zoho Accounts behaviour over real HTTP: exact bodies and statuses from zoho-protocol.md.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zoho_mock::*;

const SCOPES: &[&str] = &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"];

#[tokio::test]
async fn self_client_exchange_returns_zoho_token_shape_and_codes_are_single_use() {
    let env = start().await;
    let code = env.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    assert_eq!(code.expires_in, 180, "self-client codes live 3 minutes by default");
    assert_eq!(code.location, "us");
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("code", code.code.as_str()),
    ];
    let t = env.token(&form).await;
    assert!(s(&t["access_token"]).starts_with("1000."));
    assert!(s(&t["refresh_token"]).starts_with("1000."));
    assert_eq!(t["scope"], "ZohoCRM.modules.ALL ZohoCRM.users.READ", "scope is space-separated");
    assert_eq!(t["api_domain"], env.base());
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    assert!(t.get("expires_in_sec").is_none());
    // A second exchange of the same code: HTTP 200 with invalid_code.
    assert_eq!(env.token(&form).await, json!({"error": "invalid_code"}));
    let c = env.mock.counters();
    assert_eq!(c.token_requests("authorization_code", "success"), 1);
    assert_eq!(c.token_requests("authorization_code", "invalid_code"), 1);
    assert_eq!(c.token_requests_total(), 2);
}

#[tokio::test]
async fn parameters_in_the_query_string_work_like_a_form_body() {
    let env = start().await;
    let code = env.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    let url = format!(
        "{}/oauth/v2/token?grant_type=authorization_code&client_id={DEFAULT_CLIENT_ID}&client_secret={DEFAULT_CLIENT_SECRET}&code={}",
        env.base(),
        code.code
    );
    let r = env.http.post(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t["access_token"].is_string(), "{t}");
}

#[tokio::test]
async fn multipart_token_requests_work_like_a_form_body() {
    // Zoho's own SDKs send the token request as multipart/form-data.
    let env = start().await;
    let code = env.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    let fields = [
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
    ];
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("--b0undary\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"))
        .chain(["--b0undary--\r\n".to_string()])
        .collect();
    let r = env
        .http
        .post(format!("{}/oauth/v2/token", env.base()))
        .header("Content-Type", "multipart/form-data; boundary=b0undary")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json;charset=utf-8");
    let t: Value = r.json().await.unwrap();
    assert!(t["refresh_token"].is_string(), "{t}");
}

#[tokio::test]
async fn grant_codes_expire_on_the_virtual_clock() {
    let env = start().await;
    let mut req = MintCode::new(DEFAULT_CLIENT_ID, SCOPES);
    req.ttl_secs = Some(60);
    let code = env.mock.mint_code(req).unwrap();
    env.mock.advance_clock(Duration::from_secs(61));
    let t = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", &code.code),
        ])
        .await;
    assert_eq!(t, json!({"error": "invalid_code"}));
}

#[tokio::test]
async fn client_and_secret_failures_answer_200_with_zoho_error_names() {
    let env = start().await;
    let code = env.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    let unknown = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "1000.NOPE"),
            ("client_secret", "x"),
            ("code", &code.code),
        ])
        .await;
    assert_eq!(unknown, json!({"error": "invalid_client"}));
    let bad_secret = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "wrong"),
            ("code", &code.code),
        ])
        .await;
    assert_eq!(bad_secret, json!({"error": "invalid_client_secret"}));
    let no_grant = env.token(&[("client_id", DEFAULT_CLIENT_ID)]).await;
    assert_eq!(no_grant, json!({"error": "unsupported_grant_type"}));
    // The code survived the failed attempts: nothing consumed it.
    let ok = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", &code.code),
        ])
        .await;
    assert!(ok["access_token"].is_string());
}

#[tokio::test]
async fn token_endpoint_requires_post() {
    let env = start().await;
    let r = env.get(&format!("{}/oauth/v2/token?grant_type=refresh_token", env.base()), None, &[]).await;
    assert_eq!(r.status, 405);
}

fn server_client() -> ClientSpec {
    let mut c = ClientSpec::new("1000.SERVER", "server-secret", ClientType::Server);
    c.redirect_uris = vec!["http://127.0.0.1:9/callback".into()];
    c
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

async fn consent(env: &Env, extra: &str) -> Reply {
    let url = format!(
        "{}/oauth/v2/auth?client_id=1000.SERVER&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&scope=ZohoCRM.modules.ALL{extra}",
        env.base()
    );
    env.get(&url, None, &[]).await
}

#[tokio::test]
async fn consent_redirects_with_code_location_accounts_server_and_state() {
    let env = start().await;
    env.mock.register_client(server_client()).unwrap();
    let r = consent(&env, "&access_type=offline&state=xyz").await;
    assert_eq!(r.status, 302);
    let location = r.headers["location"].to_str().unwrap();
    assert!(location.starts_with("http://127.0.0.1:9/callback?code=1000."), "{location}");
    assert!(location.contains("accounts-server=http%3A%2F%2F127.0.0.1"), "accounts-server is URL-encoded: {location}");
    let q = query_of(location);
    assert_eq!(q["location"], "us");
    assert_eq!(q["accounts-server"], env.base());
    assert_eq!(q["state"], "xyz");
    // Server-based codes need the redirect_uri they were issued for.
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", "1000.SERVER"),
        ("client_secret", "server-secret"),
        ("code", q["code"].as_str()),
    ];
    assert_eq!(env.token(&form).await, json!({"error": "invalid_redirect_uri"}));
    form.push(("redirect_uri", "http://127.0.0.1:9/other"));
    assert_eq!(env.token(&form).await, json!({"error": "invalid_redirect_uri"}));
    form.pop();
    form.push(("redirect_uri", "http://127.0.0.1:9/callback"));
    let t = env.token(&form).await;
    assert!(t["refresh_token"].is_string(), "first offline consent returns a refresh token: {t}");
}

#[tokio::test]
async fn consent_errors_denial_and_repeat_consent_without_refresh_token() {
    let env = start().await;
    env.mock.register_client(server_client()).unwrap();
    let denied = consent(&env, "&state=s1&mock_deny=true").await;
    assert_eq!(denied.status, 302);
    let q = query_of(denied.headers["location"].to_str().unwrap());
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q["state"], "s1");
    assert!(!q.contains_key("code"));

    let bad_client = env
        .get(
            &format!("{}/oauth/v2/auth?client_id=1000.X&response_type=code&redirect_uri=http://a/&scope=a", env.base()),
            None,
            &[],
        )
        .await;
    assert_eq!(bad_client.status, 400);
    assert!(bad_client.text.contains("Invalid Client"));
    let bad_redirect = env
        .get(
            &format!(
                "{}/oauth/v2/auth?client_id=1000.SERVER&response_type=code&redirect_uri=http://evil/&scope=a",
                env.base()
            ),
            None,
            &[],
        )
        .await;
    assert_eq!(bad_redirect.status, 400, "never redirect to an unregistered URI");

    let exchange = |code: String| {
        let env = &env;
        async move {
            env.token(&[
                ("grant_type", "authorization_code"),
                ("client_id", "1000.SERVER"),
                ("client_secret", "server-secret"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/callback"),
            ])
            .await
        }
    };
    let first = consent(&env, "&access_type=offline").await;
    let t1 = exchange(query_of(first.headers["location"].to_str().unwrap())["code"].clone()).await;
    assert!(t1["refresh_token"].is_string());
    let again = consent(&env, "&access_type=offline").await;
    let t2 = exchange(query_of(again.headers["location"].to_str().unwrap())["code"].clone()).await;
    assert!(
        t2["access_token"].is_string() && t2.get("refresh_token").is_none(),
        "repeat consent: no refresh token {t2}"
    );
    let forced = consent(&env, "&access_type=offline&prompt=consent").await;
    let t3 = exchange(query_of(forced.headers["location"].to_str().unwrap())["code"].clone()).await;
    assert!(t3["refresh_token"].is_string(), "prompt=consent returns a new refresh token");
    let online = consent(&env, "").await;
    let t4 = exchange(query_of(online.headers["location"].to_str().unwrap())["code"].clone()).await;
    assert!(t4.get("refresh_token").is_none(), "access_type defaults to online");
}

#[tokio::test]
async fn grant_code_throttle_denies_the_eleventh_consent_in_ten_minutes() {
    let env = start().await;
    env.mock.register_client(server_client()).unwrap();
    for _ in 0..10 {
        let r = consent(&env, "").await;
        assert!(query_of(r.headers["location"].to_str().unwrap()).contains_key("code"));
    }
    let r = consent(&env, "").await;
    assert_eq!(query_of(r.headers["location"].to_str().unwrap())["error"], "access_denied");
    env.mock.advance_clock(Duration::from_secs(601));
    let r = consent(&env, "").await;
    assert!(query_of(r.headers["location"].to_str().unwrap()).contains_key("code"));
}

#[tokio::test]
async fn pkce_mobile_clients_must_prove_the_verifier() {
    let env = start().await;
    let mut c = ClientSpec::new("1000.MOBILE", "mobile-secret", ClientType::Mobile);
    c.redirect_uris = vec!["com.example.app://callback".into()];
    env.mock.register_client(c).unwrap();
    let base = format!(
        "{}/oauth/v2/auth?client_id=1000.MOBILE&response_type=code&redirect_uri=com.example.app%3A%2F%2Fcallback&scope=ZohoCRM.modules.ALL",
        env.base()
    );
    let missing = env.get(&base, None, &[]).await;
    assert_eq!(missing.status, 400, "mobile clients must send code_challenge");
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = env.get(&format!("{base}&code_challenge={challenge}&code_challenge_method=S256"), None, &[]).await;
        codes.push(query_of(r.headers["location"].to_str().unwrap())["code"].clone());
    }
    let form = |code: &str, v: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", "1000.MOBILE".into()),
            ("client_secret", "mobile-secret".into()),
            ("code", code.into()),
            ("redirect_uri", "com.example.app://callback".into()),
            ("code_verifier", v.into()),
        ]
    };
    let wrong: Vec<(&str, String)> = form(&codes[0], "not-the-verifier");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(env.token(&wrong).await, json!({"error": "invalid_code"}));
    let right: Vec<(&str, String)> = form(&codes[1], verifier);
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(env.token(&right).await["access_token"].is_string());
}

#[tokio::test]
async fn refresh_returns_no_refresh_token_and_the_eleventh_in_ten_minutes_is_access_denied() {
    let env = start().await;
    let minted = env.mock.mint_refresh_token(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    assert_eq!(env.mock.counters().token_requests_total(), 0, "minting directly is not a token request");
    for i in 0..10 {
        let t = env.refresh(&minted.refresh_token).await;
        assert!(t["access_token"].is_string(), "refresh {i}: {t}");
        assert!(t.get("refresh_token").is_none(), "refresh tokens do not rotate");
        env.mock.advance_clock(Duration::from_secs(10));
    }
    let denied = env.refresh(&minted.refresh_token).await;
    assert_eq!(
        denied,
        json!({"error_description": "You have made too many requests continuously. Please try again after some time.",
               "error": "Access Denied", "status": "failure"})
    );
    env.mock.configure(|s| s.throttle_body = "new".into()).unwrap();
    let denied = env.refresh(&minted.refresh_token).await;
    assert_eq!(
        denied,
        json!({"error_description": "Token creation throttle limit reached. Please reuse the valid tokens you currently have.",
               "error": "Access Denied"})
    );
    // The window slides: once the first token is ten minutes old, one more is allowed.
    env.mock.advance_clock(Duration::from_secs(600 - 100 + 1));
    assert!(env.refresh(&minted.refresh_token).await["access_token"].is_string());
    assert_eq!(env.refresh(&minted.refresh_token).await["error"], "Access Denied");
    let c = env.mock.counters();
    assert_eq!(c.token_requests("refresh_token", "success"), 11);
    assert_eq!(c.token_requests("refresh_token", "Access Denied"), 3);
}

#[tokio::test]
async fn sixteenth_live_access_token_evicts_the_oldest() {
    let env = start().await;
    let minted = env.mock.mint_refresh_token(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap();
    let mut tokens = Vec::new();
    for i in 0..16 {
        if i == 10 {
            env.mock.advance_clock(Duration::from_secs(601));
        }
        tokens.push(s(&env.refresh(&minted.refresh_token).await["access_token"]).to_string());
    }
    let leads = format!("{}/crm/v8/Leads", env.base());
    let oldest = env.get(&leads, Some(&tokens[0]), &[]).await;
    assert_eq!(oldest.status, 401);
    assert_eq!(
        oldest.json(),
        json!({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"})
    );
    assert_eq!(env.get(&leads, Some(&tokens[1]), &[]).await.status, 200, "only the oldest is evicted");
    assert_eq!(env.get(&leads, Some(&tokens[15]), &[]).await.status, 200);
}

#[tokio::test]
async fn twenty_first_refresh_token_evicts_the_oldest_and_its_access_tokens() {
    let env = start().await;
    let first = env.self_client_tokens(SCOPES).await;
    let mut others = Vec::new();
    for _ in 0..20 {
        others.push(env.mock.mint_refresh_token(MintCode::new(DEFAULT_CLIENT_ID, SCOPES)).unwrap().refresh_token);
    }
    assert_eq!(env.refresh(s(&first["refresh_token"])).await, json!({"error": "invalid_code"}));
    let r = env.get(&format!("{}/crm/v8/Leads", env.base()), Some(s(&first["access_token"])), &[]).await;
    assert_eq!(r.status, 401, "the evicted refresh token's access tokens die with it");
    assert!(env.refresh(&others[0]).await["access_token"].is_string());
}

#[tokio::test]
async fn revoke_kills_refresh_token_and_its_access_tokens() {
    let env = start().await;
    let t = env.self_client_tokens(SCOPES).await;
    let rt = s(&t["refresh_token"]);
    let ok = env.post_form(&env.base(), "/oauth/v2/token/revoke", &[("token", rt)]).await;
    assert_eq!((ok.status, ok.json()), (200, json!({"status": "success"})));
    assert_eq!(env.refresh(rt).await, json!({"error": "invalid_code"}), "a revoked refresh token answers invalid_code");
    let r = env.get(&format!("{}/crm/v8/Leads", env.base()), Some(s(&t["access_token"])), &[]).await;
    assert_eq!(r.json()["code"], "INVALID_TOKEN");
    let again = env.post_form(&env.base(), "/oauth/v2/token/revoke", &[("token", rt)]).await;
    assert_eq!(again.status, 400, "revoking an unknown token is HTTP 400");
    // The token may also travel in the query string, as Zoho's examples do.
    let t2 = env.self_client_tokens(SCOPES).await;
    let url = format!("{}/oauth/v2/token/revoke?token={}", env.base(), s(&t2["refresh_token"]));
    assert_eq!(env.http.post(url).send().await.unwrap().status(), 200);
    assert_eq!(env.mock.counters().revocations, 3);
}

#[tokio::test]
async fn legacy_expiry_reports_milliseconds_with_expires_in_sec() {
    let env = start().await;
    env.mock.configure(|s| s.legacy_expiry = true).unwrap();
    let t = env.self_client_tokens(SCOPES).await;
    assert_eq!(t["expires_in_sec"], 3600);
    assert_eq!(t["expires_in"], 3_600_000);
}

#[tokio::test]
async fn access_tokens_expire_after_an_hour_of_virtual_time() {
    let env = start().await;
    let t = env.self_client_tokens(SCOPES).await;
    let leads = format!("{}/crm/v8/Leads", env.base());
    env.mock.advance_clock(Duration::from_secs(3599));
    assert_eq!(env.get(&leads, Some(s(&t["access_token"])), &[]).await.status, 200);
    env.mock.advance_clock(Duration::from_secs(2));
    let r = env.get(&leads, Some(s(&t["access_token"])), &[]).await;
    assert_eq!((r.status, r.json()["code"].clone()), (401, json!("INVALID_TOKEN")));
}

#[tokio::test]
async fn client_credentials_for_self_clients_only_and_without_refresh_token() {
    let env = start().await;
    let t = env
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", "ZohoCRM.modules.ALL"),
            ("soid", "ZohoCRM.600000434"),
        ])
        .await;
    assert!(t["access_token"].is_string() && t.get("refresh_token").is_none(), "{t}");
    env.mock.register_client(server_client()).unwrap();
    let refused = env
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "1000.SERVER"),
            ("client_secret", "server-secret"),
            ("scope", "ZohoCRM.modules.ALL"),
        ])
        .await;
    assert_eq!(refused, json!({"error": "unauthorized_client"}));
}

fn device_client() -> ClientSpec {
    ClientSpec::new("1004.DEVICE", "device-secret", ClientType::Device)
}

async fn device_start(env: &Env, base: &str, access_type: &str) -> Value {
    let r = env
        .post_form(
            base,
            "/oauth/v3/device/code",
            &[
                ("client_id", "1004.DEVICE"),
                ("grant_type", "device_request"),
                ("scope", "ZohoCRM.modules.ALL"),
                ("access_type", access_type),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    r.json()
}

async fn device_poll(env: &Env, base: &str, device_code: &str) -> Value {
    let r = env
        .post_form(
            base,
            "/oauth/v3/device/token",
            &[
                ("client_id", "1004.DEVICE"),
                ("client_secret", "device-secret"),
                ("grant_type", "device_token"),
                ("code", device_code),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    r.json()
}

#[tokio::test]
async fn device_flow_pending_slow_down_approval_and_token() {
    let env = start().await;
    env.mock.register_client(device_client()).unwrap();
    let base = env.base();
    let d = device_start(&env, &base, "offline").await;
    assert_eq!(d["interval"], 30);
    assert_eq!(d["expires_in"], 300);
    assert!(s(&d["verification_url"]).starts_with(&base));
    let dc = s(&d["device_code"]).to_string();
    assert_eq!(device_poll(&env, &base, &dc).await, json!({"error": "authorization_pending"}));
    assert_eq!(device_poll(&env, &base, &dc).await, json!({"error": "slow_down"}), "two polls within 30 s");
    env.mock.advance_clock(Duration::from_secs(30));
    env.mock.approve_device(s(&d["user_code"]), None, false).unwrap();
    let t = device_poll(&env, &base, &dc).await;
    assert!(t["access_token"].is_string() && t["refresh_token"].is_string(), "{t}");
    env.mock.advance_clock(Duration::from_secs(30));
    assert_eq!(device_poll(&env, &base, &dc).await, json!({"error": "invalid_code"}), "a device code is used once");
    assert_eq!(env.mock.counters().device_polls, 4);
}

#[tokio::test]
async fn device_flow_denial_expiry_and_millisecond_units() {
    let env = start().await;
    env.mock.register_client(device_client()).unwrap();
    let base = env.base();
    let d = device_start(&env, &base, "online").await;
    env.mock.approve_device(s(&d["user_code"]), None, true).unwrap();
    assert_eq!(device_poll(&env, &base, s(&d["device_code"])).await, json!({"error": "access_denied"}));

    let d = device_start(&env, &base, "online").await;
    env.mock.advance_clock(Duration::from_secs(301));
    assert_eq!(device_poll(&env, &base, s(&d["device_code"])).await, json!({"error": "expired"}));

    env.mock.configure(|s| s.device_units = "ms".into()).unwrap();
    let d = device_start(&env, &base, "online").await;
    assert_eq!((d["interval"].clone(), d["expires_in"].clone()), (json!(30000), json!(300000)));
    assert!(s(&d["verification_uri_complete"]).contains(s(&d["user_code"])));
    let bad = env
        .post_form(&base, "/oauth/v3/device/code", &[("client_id", "1004.DEVICE"), ("grant_type", "device_request")])
        .await;
    assert_eq!(bad.json(), json!({"error": "invalid_scope"}));
}

#[tokio::test]
async fn device_flow_other_dc_sends_the_client_to_the_users_dc() {
    let env = start_with(MockConfig::with_dcs(&["us", "eu"])).await;
    env.mock.register_client(device_client()).unwrap();
    env.mock.register_user(UserSpec::new("eu@example.com", "eu")).unwrap();
    let us = env.mock.url("us").unwrap();
    let eu = env.mock.url("eu").unwrap();
    let d = device_start(&env, &us, "offline").await;
    env.mock.approve_device(s(&d["user_code"]), Some("eu@example.com"), false).unwrap();
    let dc = s(&d["device_code"]).to_string();
    assert_eq!(device_poll(&env, &us, &dc).await, json!({"error": "other_dc", "user_location": "eu"}));
    env.mock.advance_clock(Duration::from_secs(30));
    let t = device_poll(&env, &eu, &dc).await;
    assert_eq!(t["api_domain"], eu, "{t}");

    env.mock.configure(|s| s.other_dc_field = "dc".into()).unwrap();
    let d = device_start(&env, &us, "offline").await;
    env.mock.approve_device(s(&d["user_code"]), Some("eu@example.com"), false).unwrap();
    assert_eq!(device_poll(&env, &us, s(&d["device_code"])).await, json!({"error": "other_dc", "dc": "eu"}));
}

#[tokio::test]
async fn multi_dc_codes_tokens_and_secrets_belong_to_the_users_dc() {
    let env = start_with(MockConfig::with_dcs(&["us", "eu"])).await;
    let us = env.mock.url("us").unwrap();
    let eu = env.mock.url("eu").unwrap();
    assert_ne!(us, eu);
    let mut c = ClientSpec::new("1000.MULTI", "us-secret", ClientType::SelfClient);
    c.secrets.insert("eu".into(), "eu-secret".into());
    env.mock.register_client(c).unwrap();
    env.mock.register_user(UserSpec::new("eu@example.com", "eu")).unwrap();
    let mut req = MintCode::new("1000.MULTI", SCOPES);
    req.user = Some("eu@example.com".into());
    let code = env.mock.mint_code(req).unwrap();
    assert_eq!((code.location.as_str(), code.accounts_server.as_str()), ("eu", eu.as_str()));
    let form = |secret: &'static str, code: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", "1000.MULTI".to_string()),
            ("client_secret", secret.to_string()),
            ("code", code.to_string()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let post = |base: String, v: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
            env.token_at(&base, &refs).await
        }
    };
    assert_eq!(post(us.clone(), as_refs(&form("us-secret", &code.code))).await, json!({"error": "invalid_code"}));
    assert_eq!(
        post(eu.clone(), as_refs(&form("us-secret", &code.code))).await,
        json!({"error": "invalid_client_secret"}),
        "the EU accounts server wants the EU secret"
    );
    let t = post(eu.clone(), as_refs(&form("eu-secret", &code.code))).await;
    assert_eq!(t["api_domain"], eu);
    let at = s(&t["access_token"]);
    assert_eq!(env.get(&format!("{eu}/crm/v8/Leads"), Some(at), &[]).await.status, 200);
    let wrong_dc = env.get(&format!("{us}/crm/v8/Leads"), Some(at), &[]).await;
    assert_eq!((wrong_dc.status, wrong_dc.json()["code"].clone()), (401, json!("INVALID_TOKEN")));

    let mut us_only = ClientSpec::new("1000.USONLY", "x", ClientType::SelfClient);
    us_only.dcs = Some(vec!["us".into()]);
    env.mock.register_client(us_only).unwrap();
    let r = env
        .token_at(&eu, &[("grant_type", "refresh_token"), ("client_id", "1000.USONLY"), ("client_secret", "x")])
        .await;
    assert_eq!(r, json!({"error": "invalid_client"}), "a client not enabled in a DC is unknown there");

    let info: Value = env.http.get(format!("{us}/oauth/serverinfo")).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["locations"]["eu"], eu);
}

#[tokio::test]
async fn consent_for_a_user_in_another_dc_points_the_callback_there() {
    let env = start_with(MockConfig::with_dcs(&["us", "eu"])).await;
    env.mock.register_client(server_client()).unwrap();
    env.mock.register_user(UserSpec::new("eu@example.com", "eu")).unwrap();
    let r = consent(&env, "&mock_user=eu%40example.com").await;
    let q = query_of(r.headers["location"].to_str().unwrap());
    assert_eq!(q["location"], "eu");
    assert_eq!(q["accounts-server"], env.mock.url("eu").unwrap());
}
