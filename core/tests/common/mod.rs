//! Shared test support: a running zoho-mock and a clock that drives the mock's virtual clock,
//! so expiry, backoff and device polling are tested without real sleeping.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use zoho_mock::{MockConfig, MockZoho};
use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{Client, Clock, DataCenter, OAuthApp};

/// The mock's virtual clock: reads its time; sleeping advances it instead of waiting.
pub use zoho_mock::VirtualClock as MockClock;

pub struct Env {
    pub mock: Arc<MockZoho>,
    pub clock: Arc<MockClock>,
}

pub const SCOPES: &[&str] = &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"];

impl Env {
    pub async fn start() -> Env {
        Env::with(MockConfig::default()).await
    }

    pub async fn with(config: MockConfig) -> Env {
        let mock = Arc::new(MockZoho::start(config).await.expect("mock starts"));
        let clock = MockClock::new(&mock);
        Env { mock, clock }
    }

    pub fn url(&self) -> String {
        self.mock.base_url()
    }

    pub fn dc_url(&self, dc: &str) -> String {
        self.mock.url(dc).expect("dc served")
    }

    /// The default self client, accounts server = the mock's first DC.
    pub fn app(&self) -> OAuthApp {
        OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
            .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
            .client_type(zoho_oauth::ClientType::SelfClient)
            .accounts_url(self.url())
            .clock(self.clock.clone())
            .build()
            .expect("app builds")
    }

    /// An app for `client_id`/`secret` whose DCs map to the mock's listeners.
    pub fn app_for(&self, client_id: &str, secret: &str, ty: zoho_oauth::ClientType) -> zoho_oauth::OAuthAppBuilder {
        let mut b = OAuthApp::builder(client_id).client_secret(secret).client_type(ty).clock(self.clock.clone());
        for dc in self.mock.dcs() {
            let d = DataCenter::from_code(&dc).expect("known dc");
            b = b.dc_accounts_url(d, self.dc_url(&dc));
        }
        b
    }

    pub fn refresh_token(&self, scopes: &[&str]) -> String {
        self.mock
            .mint_refresh_token(zoho_mock::MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, scopes))
            .expect("mint refresh token")
            .refresh_token
    }

    /// A client on a fresh refresh token with the given scopes.
    pub fn client_with(&self, scopes: &[&str]) -> Client {
        Client::builder(self.app(), self.refresh_token(scopes)).build().expect("client builds")
    }

    pub fn client(&self) -> Client {
        self.client_with(SCOPES)
    }

    /// A token the mock never issued (its API answers it with a dead-token 401), valid for an
    /// hour on the mock's clock, with the mock as its API domain.
    pub fn dead_token(&self) -> zoho_oauth::TokenSet {
        zoho_oauth::TokenSet::parse(
            200,
            &format!(r#"{{"access_token":"1000.dead","api_domain":"{}","expires_in":3600}}"#, self.url()),
            self.mock.now_ms(),
            &self.url(),
        )
        .expect("parse")
    }

    pub fn refreshes(&self) -> u64 {
        self.mock.counters().token_requests_for("refresh_token")
    }

    /// Refresh requests the mock answered with a token.
    pub fn refreshes_succeeded(&self) -> u64 {
        self.mock.counters().token_requests("refresh_token", "success")
    }
}

type Hook = Box<dyn FnMut(&MockZoho) -> bool + Send>;

/// A [`MockClock`] that runs a hook before each sleep until the hook returns true; the hook
/// acts on the mock deterministically between two polls (for example approving a device).
pub struct HookClock {
    pub mock: Arc<MockZoho>,
    hook: std::sync::Mutex<Option<Hook>>,
}

impl HookClock {
    pub fn new(mock: Arc<MockZoho>, hook: impl FnMut(&MockZoho) -> bool + Send + 'static) -> Arc<HookClock> {
        Arc::new(HookClock { mock, hook: std::sync::Mutex::new(Some(Box::new(hook))) })
    }
}

impl Clock for HookClock {
    fn now_ms(&self) -> i64 {
        self.mock.now_ms()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        {
            let mut slot = self.hook.lock().expect("hook lock");
            if let Some(h) = slot.as_mut()
                && h(&self.mock)
            {
                *slot = None;
            }
        }
        let mock = self.mock.clone();
        Box::pin(async move {
            mock.advance_clock(d);
            tokio::task::yield_now().await;
        })
    }
}

/// A minimal subscriber that keeps every event as one line: its target, then `name=value` pairs.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = format!("{} ", event.metadata().target());
        event.record(&mut Line(&mut line));
        self.0.lock().expect("lock").push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    /// The lines recorded so far that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.0.lock().expect("lock").iter().filter(|l| l.contains(needle)).cloned().collect()
    }
}
