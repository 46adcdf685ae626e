//! `Response`: a fully read answer of a product API, in the shape requests and httpx users know.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;

use crate::errors::PyResultExt;

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static HEADERS: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();

/// An HTTP response of a Zoho API, fully read. Every status is returned (as requests and
/// httpx do); `raise_for_status()` turns a 4xx/5xx into the typed error with Zoho's own code
/// parsed from the product's error envelope.
#[pyclass(module = "zoho_oauth", frozen)]
pub struct Response {
    pub(crate) inner: zoho_oauth::Response,
}

#[pymethods]
impl Response {
    /// HTTP status code.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status()
    }

    /// HTTP status code (the requests spelling).
    #[getter]
    fn status_code(&self) -> u16 {
        self.inner.status()
    }

    /// True for a 2xx status.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok()
    }

    /// The URL that answered (the query string is kept; no credentials).
    #[getter]
    fn url(&self) -> &str {
        self.inner.url()
    }

    /// The headers: a read-only, case-insensitive mapping (repeated headers joined by ", ").
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let cls = HEADERS.import(py, "zoho_oauth._headers", "Headers")?;
        let pairs: Vec<(&str, &str)> = self.inner.headers().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        cls.call1((pairs,))
    }

    /// The body as text (invalid UTF-8 replaced).
    #[getter]
    fn text(&self) -> String {
        self.inner.text()
    }

    /// The body as bytes.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.bytes())
    }

    /// `Retry-After` in seconds (from seconds or an HTTP date), or None.
    #[getter]
    fn retry_after(&self) -> Option<f64> {
        self.inner.retry_after().map(|d| d.as_secs_f64())
    }

    /// The body parsed as JSON (`json.loads`); raises `json.JSONDecodeError` (a `ValueError`)
    /// when it is not JSON, for example on 204 No Content.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let loads = JSON_LOADS
            .get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("json")?.getattr("loads")?.unbind()) })?;
        loads.bind(py).call1((PyBytes::new(py, self.inner.bytes()),))
    }

    /// The first value of a header (case-insensitive), or None.
    fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }

    /// Returns the response itself for 1xx-3xx; raises the typed error for 4xx/5xx:
    /// `ApiError` (`unauthorized`, `scope_mismatch`, `api_error`) or `RateLimitError`
    /// (`rate_limited`, with `retry_after`).
    fn raise_for_status(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let py = slf.py();
        let this = slf.get();
        if this.inner.status() < 400 {
            return Ok(slf);
        }
        this.inner.clone().error_for_status().py_err(py)?;
        Ok(slf)
    }

    fn __repr__(&self) -> String {
        format!("<Response [{}]>", self.inner.status())
    }
}
