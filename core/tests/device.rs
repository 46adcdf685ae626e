//! Device flow against zoho-mock: 30-second polling on the virtual clock, units in seconds or
//! milliseconds, other_dc, denial and expiry.

mod common;

use std::time::Duration;

use std::sync::{Arc, Mutex};

use common::{Env, HookClock, SCOPES};
use zoho_mock::{ClientSpec, ClientType as MockType, MockConfig, UserSpec};
use zoho_oauth::{ClientType, DataCenter, DeviceFlowRequest, ErrorCode, OAuthApp};

const ID: &str = "1000.DEVICE";

fn device_app(env: &Env) -> OAuthApp {
    env.mock.register_client(ClientSpec::new(ID, "device-secret", MockType::Device)).expect("register");
    env.app_for(ID, "device-secret", ClientType::Device).build().expect("app")
}

/// A device app whose clock runs `hook` before each sleep; the hook gets the user code once
/// the flow has started.
fn hooked_app(
    env: &Env,
    mut hook: impl FnMut(&zoho_mock::MockZoho, &str) -> bool + Send + 'static,
) -> (OAuthApp, Arc<Mutex<String>>) {
    env.mock.register_client(ClientSpec::new(ID, "device-secret", MockType::Device)).expect("register");
    let code = Arc::new(Mutex::new(String::new()));
    let slot = code.clone();
    let clock = HookClock::new(env.mock.clone(), move |mock| {
        let user_code = slot.lock().expect("slot").clone();
        hook(mock, &user_code)
    });
    let app = OAuthApp::builder(ID)
        .client_secret("device-secret")
        .client_type(ClientType::Device)
        .accounts_url(env.url())
        .clock(clock)
        .build()
        .expect("app");
    (app, code)
}

fn slow_downs(env: &Env) -> u64 {
    env.mock.counters().token_requests("device_token", "slow_down")
}

#[tokio::test]
async fn approved_device_gets_tokens_after_a_30_second_poll() {
    let env = Env::start().await;
    // Approve after the device has polled a few times (pending), on the virtual clock.
    let (app, code) = hooked_app(&env, |mock, user_code| {
        if mock.counters().device_polls >= 3 {
            mock.approve_device(user_code, None, false).expect("approve");
            return true;
        }
        false
    });
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    *code.lock().expect("slot") = flow.user_code.clone();
    assert_eq!(flow.interval, Duration::from_secs(30));
    assert_eq!(flow.expires_in, Duration::from_secs(300));
    assert!(!flow.user_code.is_empty());
    assert!(!flow.verification_url.is_empty());
    let started = env.mock.now_ms();
    let tokens = flow.wait().await.expect("tokens");
    assert!(tokens.refresh_token.is_some());
    assert!(env.mock.counters().token_requests("device_token", "authorization_pending") >= 3);
    assert_eq!(slow_downs(&env), 0, "never polled faster than once per 30 s");
    let polls = env.mock.counters().device_polls as i64;
    assert!(env.mock.now_ms() - started >= polls * 30_000, "each poll waited 30 s");
}

#[tokio::test]
async fn millisecond_units_are_understood() {
    let env = Env::start().await;
    env.mock.configure(|s| s.device_units = "ms".into()).expect("configure");
    let app = device_app(&env);
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    assert_eq!(flow.interval, Duration::from_secs(30));
    assert_eq!(flow.expires_in, Duration::from_secs(300));
    env.mock.approve_device(&flow.user_code, None, false).expect("approve");
    flow.wait().await.expect("tokens");
    assert_eq!(slow_downs(&env), 0);
}

#[tokio::test]
async fn short_interval_is_raised_to_the_30_second_rule() {
    let env = Env::start().await;
    env.mock.configure(|s| s.device_interval_secs = 5).expect("configure");
    let app = device_app(&env);
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    assert_eq!(flow.interval, Duration::from_secs(30));
}

#[tokio::test]
async fn slow_down_backs_off() {
    let env = Env::start().await;
    let app = device_app(&env);
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    env.mock.approve_device(&flow.user_code, None, false).expect("approve");
    // The first poll is answered slow_down: the flow must back off (30 s more) and go on.
    let mut f = zoho_mock::Fault::new("/oauth/v3/device/token", 1);
    f.body = Some(r#"{"error":"slow_down"}"#.into());
    env.mock.inject_fault(f).expect("fault");
    let started = env.mock.now_ms();
    flow.wait().await.expect("tokens after slow_down");
    let elapsed = env.mock.now_ms() - started;
    assert!((90_000..95_000).contains(&elapsed), "30 s, slow_down, then 60 s: {elapsed} ms");
    assert_eq!(slow_downs(&env), 0, "the real endpoint never had to say slow_down");
}

#[tokio::test]
async fn denial_and_expiry_are_typed() {
    let env = Env::start().await;
    let app = device_app(&env);
    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    env.mock.approve_device(&flow.user_code, None, true).expect("deny");
    assert_eq!(flow.wait().await.expect_err("denied").code(), ErrorCode::AccessDenied);

    let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
    let started = env.mock.now_ms();
    let err = flow.wait().await.expect_err("expired");
    assert_eq!(err.code(), ErrorCode::DeviceFlowExpired);
    assert!(env.mock.now_ms() - started <= 301_000, "stops at expiry");
    assert_eq!(slow_downs(&env), 0);
}

#[tokio::test]
async fn other_dc_repolls_at_the_users_dc() {
    for field in ["user_location", "dc"] {
        let env = Env::with(MockConfig::with_dcs(&["us", "eu"])).await;
        env.mock.configure(|s| s.other_dc_field = field.into()).expect("configure");
        env.mock.register_user(UserSpec::new("eve@example.eu", "eu")).expect("user");
        let mut spec = ClientSpec::new(ID, "us-secret", MockType::Device);
        spec.secrets.insert("eu".into(), "eu-secret".into());
        env.mock.register_client(spec).expect("register");
        let app = env
            .app_for(ID, "us-secret", ClientType::Device)
            .dc_secret(DataCenter::Eu, "eu-secret")
            .build()
            .expect("app");
        let flow = app.start_device_flow(&DeviceFlowRequest::new(SCOPES)).await.expect("start");
        assert_eq!(flow.accounts_server(), env.dc_url("us"));
        env.mock.approve_device(&flow.user_code, Some("eve@example.eu"), false).expect("approve");
        let tokens = flow.wait().await.expect("tokens from eu");
        assert_eq!(tokens.accounts_server, env.dc_url("eu"), "{field}");
        assert_eq!(env.mock.counters().token_requests("device_token", "other_dc"), 1);
    }
}
