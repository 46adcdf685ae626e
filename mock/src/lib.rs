//! `zoho-mock`: a faithful fake of Zoho Accounts and the Zoho product APIs (CRM, Desk, Books).
//!
//! Every client test in this repository talks real HTTP to this server, so it reproduces Zoho's
//! quirks rather than an idealised OAuth server: token-endpoint errors with HTTP 200, single-use
//! expiring grant codes, the 10-tokens-per-10-minutes throttle answered with `"Access Denied"`,
//! eviction of old access and refresh tokens, multi-DC callbacks, device-flow `slow_down` and
//! `other_dc`, product error envelopes and scopes. A control API under `/__mock/` (and the
//! methods of [`MockZoho`]) registers clients and users, mints grant codes, approves device codes,
//! advances a virtual clock so that no test sleeps for an expiry, injects faults and reads
//! counters. See `mock/README.md` for every endpoint and body.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use zoho_mock::{MintCode, MockConfig, MockZoho, DEFAULT_CLIENT_ID};
//! let mock = MockZoho::start(MockConfig::default()).await?;
//! let code = mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"])).unwrap();
//! println!("exchange {} at {}/oauth/v2/token", code.code, code.accounts_server);
//! mock.stop().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod accounts;
#[cfg(feature = "oauth-clock")]
pub mod clock;
mod control;
mod crm;
mod crm_meta;
mod crm_query;
mod model;
mod products;
mod server;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[cfg(feature = "oauth-clock")]
pub use clock::VirtualClock;
pub use model::*;

use control::Control;

fn to_value<T: serde::Serialize>(v: T) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}
use state::{DcInfo, Shared};

/// A running mock: one listener per configured data centre. Dropping it without [`stop`]
/// leaves the listeners running until the runtime shuts down.
///
/// [`stop`]: MockZoho::stop
pub struct MockZoho {
    control: Control,
    stop: watch::Sender<bool>,
    /// The listeners' tasks, taken by the first `stop()`.
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for MockZoho {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockZoho").field("dcs", &self.control.0.dcs).finish()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let control = Router::new()
        .route("/info", get(control::info))
        .route("/clients", post(control::clients))
        .route("/users", post(control::users))
        .route("/codes", post(control::codes))
        .route("/refresh-tokens", post(control::refresh_tokens))
        .route("/device/approve", post(control::approve))
        .route("/clock", get(control::clock))
        .route("/clock/advance", post(control::advance))
        .route("/config", post(control::config).get(control::config))
        .route("/faults", post(control::faults))
        .route("/crm/{module}", post(control::seed))
        .route("/counters", get(control::counters))
        .route("/reset", post(control::reset))
        .with_state(Control(shared.clone()));
    Router::new()
        .route("/oauth/v2/auth", get(accounts::authorize))
        .route("/oauth/v2/token", post(accounts::token))
        .route("/oauth/v2/token/revoke", post(accounts::revoke))
        .route("/oauth/v3/device/code", post(accounts::device_code))
        .route("/oauth/v3/device/token", post(accounts::device_token))
        .route("/oauth/v3/device", get(accounts::device_page))
        .route("/oauth/serverinfo", get(accounts::server_info))
        .route("/crm/{version}/{*rest}", any(crm::crm))
        .route("/api/v1/{resource}", get(products::desk).post(products::desk))
        .route("/books/v3/invoices", get(products::books).post(products::books))
        .route("/books/v3/invoices/{id}", get(products::books))
        .fallback(products::not_found)
        .with_state(shared.clone())
        .nest("/__mock", control)
        .layer(axum::middleware::from_fn_with_state(shared, server::observe))
}

impl MockZoho {
    /// Binds one listener per DC on 127.0.0.1 and starts serving. The first DC's listener uses
    /// `config.port` (0 picks a free port); the others always pick a free port.
    pub async fn start(config: MockConfig) -> std::io::Result<MockZoho> {
        let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
        if config.dcs.is_empty() {
            return Err(invalid("at least one data centre is needed".into()));
        }
        for (i, dc) in config.dcs.iter().enumerate() {
            if !KNOWN_DCS.contains(&dc.as_str()) {
                return Err(invalid(format!("unknown data centre {dc:?}; known: {}", KNOWN_DCS.join(", "))));
            }
            if config.dcs[..i].contains(dc) {
                return Err(invalid(format!("data centre {dc:?} is listed twice")));
            }
        }
        config.settings.validate().map_err(invalid)?;
        let mut listeners = Vec::new();
        let mut dcs = Vec::new();
        for (i, code) in config.dcs.iter().enumerate() {
            let port = if i == 0 { config.port } else { 0 };
            let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
            let addr = listener.local_addr()?;
            dcs.push(DcInfo { code: code.clone(), url: format!("http://{addr}") });
            listeners.push(listener);
        }
        let shared = Arc::new(Shared::new(dcs, config.settings));
        let app = router(shared.clone());
        let (stop, stop_rx) = watch::channel(false);
        let tasks = listeners
            .into_iter()
            .enumerate()
            .map(|(i, l)| tokio::spawn(server::serve(l, i, app.clone(), stop_rx.clone())))
            .collect();
        Ok(MockZoho { control: Control(shared), stop, tasks: std::sync::Mutex::new(tasks) })
    }

    /// Base URL of the first DC's listener, for example `http://127.0.0.1:40001`.
    pub fn base_url(&self) -> String {
        self.control.0.dcs[0].url.clone()
    }

    /// Base URL of `dc`'s listener (its accounts server and API domain), if the mock serves it.
    pub fn url(&self, dc: &str) -> Option<String> {
        self.control.0.dc_url(dc).map(String::from)
    }

    /// Data-centre codes served, in configuration order.
    pub fn dcs(&self) -> Vec<String> {
        self.control.0.dcs.iter().map(|d| d.code.clone()).collect()
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, spec: ClientSpec) -> Result<(), String> {
        self.control.register_client(spec)
    }

    /// Registers (or replaces) a user; its DC must be one the mock serves.
    pub fn register_user(&self, spec: UserSpec) -> Result<(), String> {
        self.control.register_user(spec)
    }

    /// Mints a self-client grant code, as the API console's "Generate Code" tab does.
    pub fn mint_code(&self, req: MintCode) -> Result<MintedCode, String> {
        self.control.mint_code(&req)
    }

    /// Mints a refresh token without a token request (the counters do not change).
    pub fn mint_refresh_token(&self, req: MintCode) -> Result<MintedRefreshToken, String> {
        self.control.mint_refresh_token(&req)
    }

    /// Approves (or, with `deny`, refuses) a pending device authorization as `user`
    /// (the default user when `None`).
    pub fn approve_device(&self, user_code: &str, user: Option<&str>, deny: bool) -> Result<(), String> {
        self.control.approve_device(user_code, user, deny)
    }

    /// Moves the virtual clock forward; expiries, throttle windows and device polling follow it.
    pub fn advance_clock(&self, by: Duration) -> i64 {
        self.control.0.advance_ms(by.as_millis() as i64)
    }

    /// The virtual clock, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.control.0.now_ms()
    }

    /// Changes settings in place; invalid settings are refused and nothing changes.
    pub fn configure(&self, f: impl FnOnce(&mut Settings)) -> Result<(), String> {
        let mut st = self.control.0.lock();
        let mut next = st.settings.clone();
        f(&mut next);
        next.validate()?;
        st.settings = next;
        Ok(())
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.control.0.lock().settings.clone()
    }

    /// Injects a fault on the next matching requests.
    pub fn inject_fault(&self, fault: Fault) -> Result<(), String> {
        self.control.inject_fault(fault)
    }

    /// Replaces a CRM module's records with `count` generated ones.
    pub fn seed_crm(&self, module: &str, count: usize) {
        // Rust callers pick their own sizes; the cap only guards the JSON and HTTP surfaces.
        self.control.0.lock().seed_crm(module, count);
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.control.counters()
    }

    /// Forgets every client, user, code, token, fault and counter and restores the start-up
    /// settings and defaults. The clock keeps its time.
    pub fn reset(&self) {
        self.control.0.reset()
    }

    /// One entry point for language bindings: runs the control operation `op` with a JSON body
    /// and answers JSON, so a binding converts strings and nothing else. The operations mirror
    /// the HTTP control API: `info`, `register_client`, `register_user`, `mint_code`,
    /// `mint_refresh_token`, `approve_device` (`{"user_code","user"?,"deny"?}`), `advance_clock`
    /// (`{"seconds"}`), `now_ms`, `configure` (a settings patch), `inject_fault`, `seed_crm`
    /// (`{"module","count"}`), `counters`, `reset`.
    pub fn call_json(&self, op: &str, body: &str) -> Result<String, String> {
        let input: serde_json::Value = if body.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(body).map_err(|e| format!("{op}: the body is not JSON: {e}"))?
        };
        fn arg<T: serde::de::DeserializeOwned>(op: &str, v: serde_json::Value) -> Result<T, String> {
            serde_json::from_value(v).map_err(|e| format!("{op}: {e}"))
        }
        let ok = serde_json::json!({"status": "success"});
        let out = match op {
            "info" => self.control.info(),
            "register_client" => self.control.register_client(arg(op, input)?).map(|_| ok)?,
            "register_user" => self.control.register_user(arg(op, input)?).map(|_| ok)?,
            "mint_code" => to_value(self.control.mint_code(&arg(op, input)?)?)?,
            "mint_refresh_token" => to_value(self.control.mint_refresh_token(&arg(op, input)?)?)?,
            "approve_device" => {
                let a: control::Approve = arg(op, input)?;
                self.control.approve_device(&a.user_code, a.user.as_deref(), a.deny).map(|_| ok)?
            }
            "advance_clock" => {
                let a: control::Advance = arg(op, input)?;
                serde_json::json!({"now_ms": self.control.advance(a.seconds)?})
            }
            "now_ms" => serde_json::json!({"now_ms": self.now_ms()}),
            "configure" => to_value(self.control.configure_json(input)?)?,
            "inject_fault" => self.control.inject_fault(arg(op, input)?).map(|_| ok)?,
            "seed_crm" => {
                let s: control::Seed = arg(op, input)?;
                self.control.seed_crm(&s.module, s.count)?;
                ok
            }
            "counters" => to_value(self.control.counters())?,
            "reset" => {
                self.reset();
                ok
            }
            other => return Err(format!("unknown mock operation {other:?}")),
        };
        serde_json::to_string(&out).map_err(|e| e.to_string())
    }

    /// Stops every listener and closes open connections. Takes `&self`, so a mock shared in an
    /// `Arc` (by the testing modules and their clocks) stops without being unwrapped; a second
    /// call returns at once.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Serve `config` until SIGTERM or Ctrl-C, as `zoho-mock` and `zoho-oauth mock` do: prints the
/// base URL as one line on stdout (for scripts to read), each data centre's URL on stderr, then
/// waits and stops cleanly.
pub async fn serve_until_signal(config: MockConfig) -> std::io::Result<()> {
    let mock = MockZoho::start(config).await?;
    println!("{}", mock.base_url());
    for dc in mock.dcs() {
        eprintln!("zoho-mock: {dc} accounts server and API domain at {}", mock.url(&dc).unwrap_or_default());
    }
    wait_for_signal().await;
    mock.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
