//! `zoho-oauth/testing`'s native half: runs `zoho-mock` inside the Node process, on the core's
//! shared runtime (its listeners never run on the JS thread). Control operations cross as JSON
//! text through `zoho_mock::MockZoho::call_json`; `testing.js` encodes and decodes them.

use std::sync::{Arc, Mutex};

use napi::{Error, Result, Status};
use napi_derive::napi;
use zoho_mock::{MockConfig, MockZoho, Settings};
use zoho_oauth::Clock;

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

/// A running fake Zoho. Use `MockZoho` from `zoho-oauth/testing`, which wraps this class.
#[napi]
pub struct MockServer {
    inner: Mutex<Option<Arc<MockZoho>>>,
}

/// The mock's virtual clock, for the `clock` option of `Client` and `OAuthApp` in tests.
#[napi]
pub struct MockClock {
    clock: Arc<zoho_mock::VirtualClock>,
}

impl MockClock {
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

impl MockServer {
    fn call_with<R>(&self, f: impl FnOnce(&Arc<MockZoho>) -> std::result::Result<R, String>) -> Result<R> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mock = guard.as_ref().ok_or_else(|| Error::new(Status::GenericFailure, "the mock was stopped"))?;
        f(mock).map_err(invalid)
    }
}

#[napi]
impl MockServer {
    /// Starts one listener per data centre on 127.0.0.1; `settingsJson` is a JSON object of
    /// settings to change from Zoho's defaults (see mock/README.md).
    #[napi(constructor)]
    pub fn new(dcs: Vec<String>, port: u16, settings_json: String) -> Result<Self> {
        let patch: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| invalid(format!("settings are not JSON: {e}")))?;
        let settings = Settings::default().patched(&patch).map_err(invalid)?;
        let config = MockConfig { dcs, port, settings };
        let mock = zoho_oauth::runtime()
            .block_on(MockZoho::start(config))
            .map_err(|e| invalid(format!("cannot start the mock: {e}")))?;
        Ok(MockServer { inner: Mutex::new(Some(Arc::new(mock))) })
    }

    /// Base URL of the first DC's listener.
    #[napi]
    pub fn base_url(&self) -> Result<String> {
        self.call_with(|m| Ok(m.base_url()))
    }

    /// Runs a control operation with a JSON body and answers JSON (see `MockZoho::call_json`).
    #[napi]
    pub fn call(&self, op: String, body_json: String) -> Result<String> {
        self.call_with(|m| m.call_json(&op, &body_json))
    }

    /// The virtual clock: pass it as the `clock` option so clients follow the mock's time.
    #[napi]
    pub fn clock(&self) -> Result<MockClock> {
        self.call_with(|m| Ok(MockClock { clock: zoho_mock::VirtualClock::new(m) }))
    }

    /// Stops the listeners. Idempotent.
    #[napi]
    pub fn stop(&self) {
        let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mock) = taken {
            zoho_oauth::runtime().block_on(mock.stop());
        }
    }
}
