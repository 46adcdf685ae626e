//! The control API over HTTP, injected faults, reset, and the `zoho-mock` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use zoho_mock::*;

#[tokio::test]
async fn control_api_registers_mints_and_advances_over_http() {
    let env = start().await;
    let client = env
        .control(
            "/clients",
            json!({"client_id": "1000.HTTP", "client_secret": "sec", "client_type": "self", "redirect_uris": []}),
        )
        .await;
    assert_eq!(client.status, 200, "{}", client.text);
    let user = env.control("/users", json!({"email": "second@example.com", "dc": "us"})).await;
    assert_eq!(user.status, 200);
    let bad_user = env.control("/users", json!({"email": "x@example.com", "dc": "eu"})).await;
    assert_eq!(bad_user.status, 400, "a user in a DC without a listener is refused");
    assert!(bad_user.json()["error"].as_str().unwrap().contains("eu"));
    let code = env
        .control(
            "/codes",
            json!({"client_id": "1000.HTTP", "scopes": ["ZohoCRM.modules.ALL"], "user": "second@example.com"}),
        )
        .await
        .json();
    let t = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "1000.HTTP"),
            ("client_secret", "sec"),
            ("code", s(&code["code"])),
        ])
        .await;
    assert!(t["access_token"].is_string());
    let rt = env.control("/refresh-tokens", json!({"scopes": ["ZohoCRM.modules.ALL"]})).await.json();
    assert!(s(&rt["refresh_token"]).starts_with("1000."));
    let before =
        env.http.get(format!("{}/__mock/clock", env.base())).send().await.unwrap().json::<Value>().await.unwrap();
    let after = env.control("/clock/advance", json!({"seconds": 3600})).await.json();
    let moved = after["now_ms"].as_i64().unwrap() - before["now_ms"].as_i64().unwrap();
    assert!((3_600_000..3_610_000).contains(&moved), "moved {moved} ms");
    let back = env.control("/clock/advance", json!({"seconds": -5})).await;
    assert_eq!(back.status, 400, "the clock never goes back");
    let unknown = env.control("/codes", json!({"client_id": "1000.NOPE", "scopes": ["a"]})).await;
    assert_eq!(unknown.status, 400);
}

#[tokio::test]
async fn config_takes_partial_objects_and_rejects_typos() {
    let env = start().await;
    let r = env.control("/config", json!({"legacy_expiry": true, "device_interval_secs": 5})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["legacy_expiry"], true);
    assert_eq!(r.json()["refresh_throttle_max"], 10, "untouched settings keep their values");
    assert!(env.mock.settings().legacy_expiry);
    let typo = env.control("/config", json!({"legacy_expiri": true})).await;
    assert_eq!(typo.status, 400);
    let bad_value = env.control("/config", json!({"device_units": "minutes"})).await;
    assert_eq!(bad_value.status, 400);
    assert_eq!(env.mock.settings().device_units, "s", "a refused config changes nothing");
}

#[tokio::test]
async fn status_fault_with_retry_after_applies_count_times_then_stops() {
    let env = start().await;
    env.mock.seed_crm("Leads", 1);
    let at = s(&env.self_client_tokens(&["ZohoCRM.modules.ALL"]).await["access_token"]).to_string();
    let mut f = Fault::new("/crm/v8/Leads", 2);
    f.status = Some(429);
    f.retry_after = Some("Wed, 21 Oct 2026 07:28:00 GMT".into());
    env.mock.inject_fault(f).unwrap();
    let url = format!("{}/crm/v8/Leads", env.base());
    for _ in 0..2 {
        let r = env.get(&url, Some(&at), &[]).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.headers["retry-after"], "Wed, 21 Oct 2026 07:28:00 GMT");
    }
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 200, "the fault is used up");
    let c = env.mock.counters();
    assert_eq!(c.api_calls["GET /crm/v8/Leads"]["429"], 2);
}

#[tokio::test]
async fn a_fault_with_until_ms_stops_when_the_clock_reaches_it_and_arrivals_are_counted() {
    let env = start().await;
    env.mock.seed_crm("Leads", 1);
    let at = s(&env.self_client_tokens(&["ZohoCRM.modules.ALL"]).await["access_token"]).to_string();
    let mut f = Fault::new("/crm/v8/Leads", 1000);
    f.status = Some(503);
    // The mock's clock also moves with real time: leave seconds of slack on each side.
    f.until_ms = Some(env.mock.now_ms() + 10_000);
    env.mock.inject_fault(f).unwrap();
    let url = format!("{}/crm/v8/Leads", env.base());
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 503);
    env.mock.advance_clock(std::time::Duration::from_secs(5));
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 503, "still inside the outage");
    env.mock.advance_clock(std::time::Duration::from_secs(5));
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 200, "the outage is over, count left or not");
    // The JSON form of the control API takes it too.
    let r = env.control("/faults", json!({"path": "/oauth/v2/token", "count": 5, "status": 500, "until_ms": 1})).await;
    assert_eq!(r.status, 200);
    let before = env.mock.counters();
    let ok = env.post_form(&env.base(), "/oauth/v2/token", &[("grant_type", "refresh_token")]).await;
    assert_eq!(ok.status, 200, "a fault whose time is past never applies");
    let after = env.mock.counters();
    assert_eq!(after.token_requests_received, before.token_requests_received + 1, "counted on arrival");
}

#[tokio::test]
async fn body_faults_malformed_truncated_html_and_literal() {
    let env = start().await;
    let token_url = format!("{}/oauth/v2/token", env.base());
    for (body, status, check) in [
        ("malformed", None, "not JSON"),
        ("truncated", None, "cut"),
        ("html", Some(502), "<html>"),
        (r#"{"error":"invalid_client"}"#, None, "literal"),
    ] {
        let mut f = Fault::new("/oauth/v2/token", 1);
        f.body = Some(body.into());
        f.status = status;
        env.mock.inject_fault(f).unwrap();
        let r = env.post_form(&env.base(), "/oauth/v2/token", &[("grant_type", "refresh_token")]).await;
        assert_eq!(r.status, status.unwrap_or(200), "{check}");
        match body {
            "html" => {
                assert!(r.text.contains("<html>") && r.text.contains("502"));
                assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"));
            }
            "malformed" | "truncated" => {
                assert!(serde_json::from_str::<Value>(&r.text).is_err(), "{check}: {}", r.text);
                assert!(!r.text.is_empty());
            }
            literal => assert_eq!(r.text, literal),
        }
    }
    let c = env.mock.counters();
    assert_eq!(c.token_requests_for("faulted"), 4, "faulted token requests are counted");
    assert_eq!(c.token_requests_total(), 4);
    let _ = token_url;
}

#[tokio::test]
async fn endless_body_fault_streams_without_a_length_for_as_long_as_the_client_reads() {
    let env = start().await;
    let mut f = Fault::new("/crm/v8/Leads", 1);
    f.body = Some("endless".into());
    f.status = Some(500);
    env.mock.inject_fault(f).unwrap();
    let mut r = env.http.get(format!("{}/crm/v8/Leads", env.base())).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.content_length(), None, "no declared length");
    let mut read = 0usize;
    while read < 4 * 1024 * 1024 {
        read += r.chunk().await.unwrap().expect("the body never ends").len();
    }
    drop(r);
    assert_eq!(env.mock.counters().api_calls["GET /crm/v8/Leads"]["500"], 1);
    let at = s(&env.self_client_tokens(&["ZohoCRM.modules.ALL"]).await["access_token"]).to_string();
    assert_eq!(env.get(&format!("{}/crm/v8/Leads", env.base()), Some(&at), &[]).await.status, 200, "served once");
}

#[tokio::test]
async fn delay_fault_delays_the_real_answer() {
    let env = start().await;
    let mut f = Fault::new("/oauth/v2/token", 1);
    f.delay_ms = Some(400);
    env.mock.inject_fault(f).unwrap();
    let started = Instant::now();
    let r = env.post_form(&env.base(), "/oauth/v2/token", &[("grant_type", "nope")]).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(r.json(), json!({"error": "unsupported_grant_type"}), "the real handler answered");
    assert_eq!(
        env.mock.counters().token_requests("none", "unsupported_grant_type")
            + env.mock.counters().token_requests("nope", "unsupported_grant_type"),
        1
    );
}

#[tokio::test]
async fn reset_fault_is_a_transport_error_for_the_client() {
    let env = start().await;
    let mut f = Fault::new("/oauth/v2/token", 1);
    f.reset = true;
    f.method = Some("POST".into());
    env.mock.inject_fault(f).unwrap();
    let err = env.http.post(format!("{}/oauth/v2/token", env.base())).form(&[("a", "b")]).send().await;
    assert!(err.is_err(), "a reset connection gives no response: {err:?}");
    let ok = env.post_form(&env.base(), "/oauth/v2/token", &[("grant_type", "refresh_token")]).await;
    assert_eq!(ok.status, 200, "the next request is served");
    assert_eq!(env.mock.counters().token_requests("faulted", "reset"), 1);
}

#[tokio::test]
async fn faults_match_method_and_path_prefix() {
    let env = start().await;
    let mut f = Fault::new("/crm/", 1);
    f.method = Some("POST".into());
    f.status = Some(503);
    env.mock.inject_fault(f).unwrap();
    let at = s(&env.self_client_tokens(&["ZohoCRM.modules.ALL"]).await["access_token"]).to_string();
    let url = format!("{}/crm/v8/Leads", env.base());
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 200, "GET does not match a POST fault");
    let r = env.post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "x"}]})).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["code"], "INTERNAL_ERROR");
    let bad = env.control("/faults", json!({"path": "/crm", "count": 0})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn reset_restores_defaults_and_clears_tokens_and_counters() {
    let env = start().await;
    let t = env.self_client_tokens(&["ZohoCRM.modules.ALL"]).await;
    env.mock.configure(|s| s.legacy_expiry = true).unwrap();
    env.mock.register_client(ClientSpec::new("1000.GONE", "x", ClientType::SelfClient)).unwrap();
    let r = env.control("/reset", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(env.mock.counters(), Counters::default());
    assert!(!env.mock.settings().legacy_expiry);
    assert_eq!(env.refresh(s(&t["refresh_token"])).await, json!({"error": "invalid_code"}));
    assert!(env.mock.mint_code(MintCode::new("1000.GONE", &["a.b.READ"])).is_err());
    assert!(env.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, &["a.b.READ"])).is_ok(), "defaults are back");
    let info = env.http.get(format!("{}/__mock/info", env.base())).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(info["dcs"]["us"]["accounts_server"], env.base());
}

#[tokio::test]
async fn start_rejects_unknown_and_duplicate_dcs() {
    let err = MockZoho::start(MockConfig::with_dcs(&["us", "mars"])).await.unwrap_err();
    assert!(err.to_string().contains("mars"));
    let err = MockZoho::start(MockConfig::with_dcs(&["eu", "eu"])).await.unwrap_err();
    assert!(err.to_string().contains("twice"));
    let mut cfg = MockConfig::default();
    cfg.settings.device_units = "hours".into();
    assert!(MockZoho::start(cfg).await.is_err());
}

#[tokio::test]
async fn stop_closes_the_listener() {
    let env = start().await;
    let base = env.base();
    let Env { mock, http } = env;
    mock.stop().await;
    let r = http.get(format!("{base}/__mock/info")).timeout(Duration::from_secs(2)).send().await;
    assert!(r.is_err(), "nothing listens after stop");
}

#[test]
fn binary_prints_its_base_url_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zoho-mock"))
        .args(["--port", "0", "--dc", "us", "--dc", "eu"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn zoho-mock");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info: Value =
        rt.block_on(async { reqwest::get(format!("{base}/__mock/info")).await.unwrap().json().await.unwrap() });
    assert_eq!(info["dcs"]["us"]["accounts_server"], base);
    assert!(info["dcs"]["eu"]["accounts_server"].is_string());
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code:?}");
            break;
        }
        assert!(Instant::now() < deadline, "zoho-mock did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_refuses_bad_settings_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_zoho-mock")).args(["--settings", "[1]"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JSON object"));
}

#[tokio::test]
async fn call_json_runs_control_operations_for_bindings() {
    let env = start().await;
    let code: Value =
        serde_json::from_str(&env.mock.call_json("mint_code", r#"{"scopes":["ZohoCRM.modules.ALL"]}"#).unwrap())
            .unwrap();
    assert!(s(&code["code"]).starts_with("1000."));
    let t = env
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", s(&code["code"])),
        ])
        .await;
    assert!(t["access_token"].is_string());
    let counters: Value = serde_json::from_str(&env.mock.call_json("counters", "").unwrap()).unwrap();
    assert_eq!(counters["token_requests"]["authorization_code"]["success"], 1);
    let before = env.mock.now_ms();
    let moved: Value =
        serde_json::from_str(&env.mock.call_json("advance_clock", r#"{"seconds": 60}"#).unwrap()).unwrap();
    assert!(moved["now_ms"].as_i64().unwrap() - before >= 60_000);
    assert!(env.mock.call_json("advance_clock", r#"{"seconds": -1}"#).unwrap_err().contains("never goes back"));
    assert!(env.mock.call_json("configure", r#"{"nope": 1}"#).unwrap_err().contains("nope"));
    assert!(env.mock.call_json("mint_code", "{not json").unwrap_err().contains("not JSON"));
    assert!(env.mock.call_json("explode", "").unwrap_err().contains("unknown mock operation"));
    assert!(env.mock.call_json("seed_crm", r#"{"module":"Deals","count":3}"#).is_ok());
    env.mock.call_json("reset", "").unwrap();
    assert_eq!(env.mock.counters(), Counters::default());
}
