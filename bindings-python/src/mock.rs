//! `zoho_oauth.testing.MockZoho`'s native half: runs `zoho-mock` inside the Python process, on
//! the core's shared runtime. Control operations cross as JSON text through
//! `zoho_mock::MockZoho::call_json`; the Python wrapper encodes and decodes them.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use zoho_mock::{MockConfig, MockZoho, Settings};
use zoho_oauth::{Clock, SystemClock};

type Slot = Mutex<Option<Arc<MockZoho>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<Arc<MockZoho>>> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running fake Zoho. Use `zoho_oauth.testing.MockZoho`, which wraps this class.
#[pyclass(frozen, module = "zoho_oauth._native")]
pub struct MockServer {
    inner: Slot,
}

#[pymethods]
impl MockServer {
    /// Starts one listener per data centre on 127.0.0.1. `settings_json` is a JSON object of
    /// settings to change from Zoho's defaults (see mock/README.md).
    #[new]
    fn new(py: Python<'_>, dcs: Vec<String>, port: u16, settings_json: &str) -> PyResult<Self> {
        let patch: serde_json::Value = serde_json::from_str(settings_json)
            .map_err(|e| PyValueError::new_err(format!("settings are not JSON: {e}")))?;
        let settings = Settings::default().patched(&patch).map_err(PyValueError::new_err)?;
        let config = MockConfig { dcs, port, settings };
        let mock = py
            .detach(|| zoho_oauth::runtime().block_on(MockZoho::start(config)))
            .map_err(|e| PyValueError::new_err(format!("cannot start the mock: {e}")))?;
        Ok(MockServer { inner: Mutex::new(Some(Arc::new(mock))) })
    }

    /// Base URL of the first DC's listener.
    fn base_url(&self) -> PyResult<String> {
        self.call_with(|m| Ok(m.base_url()))
    }

    /// Runs a control operation with a JSON body and answers JSON (see `MockZoho::call_json`).
    fn call(&self, op: &str, body_json: &str) -> PyResult<String> {
        self.call_with(|m| m.call_json(op, body_json))
    }

    /// Stops the listeners. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let taken = lock(&self.inner).take();
        if let Some(mock) = taken {
            py.detach(|| zoho_oauth::runtime().block_on(mock.stop()));
        }
    }
}

impl MockServer {
    fn call_with<R>(&self, f: impl FnOnce(&MockZoho) -> Result<R, String>) -> PyResult<R> {
        let guard = lock(&self.inner);
        let mock = guard.as_ref().ok_or_else(|| PyRuntimeError::new_err("the mock was stopped"))?;
        f(mock).map_err(PyValueError::new_err)
    }

    /// A clock that reads the mock's virtual time and whose sleeps advance it, so that clients
    /// built for tests see expiry, backoff and device polling without real waiting.
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        match lock(&self.inner).as_ref() {
            Some(m) => zoho_mock::VirtualClock::new(m),
            None => Arc::new(SystemClock),
        }
    }
}
