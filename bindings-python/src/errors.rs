//! Core errors out as the typed Python exceptions of `zoho_oauth._errors` (DESIGN "Which class").
//!
//! The classes are defined in Python (they derive from two built-ins at once, which
//! `create_exception!` cannot express) and looked up once per interpreter.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use zoho_oauth::{Error, ErrorCode, ErrorFamily};

static AUTH: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static API: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TRANSPORT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIMEOUT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONFIG: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static STORE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

const MODULE: &str = "zoho_oauth._errors";

fn class_for<'py>(py: Python<'py>, code: ErrorCode) -> PyResult<&'py Bound<'py, PyType>> {
    match (code, code.family()) {
        (ErrorCode::Timeout, _) => TIMEOUT.import(py, MODULE, "TimeoutError"),
        (_, ErrorFamily::Auth) => AUTH.import(py, MODULE, "AuthError"),
        (_, ErrorFamily::RateLimit) => RATE.import(py, MODULE, "RateLimitError"),
        (_, ErrorFamily::Api) => API.import(py, MODULE, "ApiError"),
        (_, ErrorFamily::Transport) => TRANSPORT.import(py, MODULE, "TransportError"),
        (_, ErrorFamily::Config) => CONFIG.import(py, MODULE, "ConfigError"),
        (_, ErrorFamily::Store) => STORE.import(py, MODULE, "StoreError"),
    }
}

/// Build the Python exception for a core error.
pub(crate) fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    match build(py, err) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let cls = class_for(py, err.code())?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", err.code().as_str())?;
    kwargs.set_item("status", err.status())?;
    kwargs.set_item("zoho_code", err.zoho_code())?;
    kwargs.set_item("zoho_message", err.zoho_message())?;
    kwargs.set_item("retry_after", err.retry_after().map(|d| d.as_secs_f64()))?;
    kwargs.set_item("hint", err.hint())?;
    kwargs.set_item("body", err.body())?;
    kwargs.set_item("detail", err.to_string())?;
    let exc = cls.call((err.message(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exc))
}

/// A `config` error (bad input caught in the binding before calling the core), optionally
/// chained to the Python exception that revealed it.
pub(crate) fn config(
    py: Python<'_>,
    message: impl Into<String>,
    hint: impl Into<String>,
    cause: Option<PyErr>,
) -> PyErr {
    let err = to_py(py, &Error::config(message, hint));
    if let Some(c) = cause {
        err.set_cause(py, Some(c));
    }
    err
}

/// Extension to turn `zoho_oauth::Result` into `PyResult`.
pub(crate) trait PyResultExt<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> PyResultExt<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}

/// The outcome of an async call: converted to a Python value or exception only once the GIL is
/// held again (in the event loop's completion callback), never on a runtime worker.
pub(crate) struct Outcome<T>(pub Result<T, Error>);

impl<'py, T> IntoPyObject<'py> for Outcome<T>
where
    T: IntoPyObject<'py>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(v) => v.into_bound_py_any(py),
            Err(e) => Err(to_py(py, &e)),
        }
    }
}
