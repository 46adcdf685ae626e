//! The native module `zoho_oauth._native`: conversions between Python and the Rust crates, and
//! nothing else. All OAuth and HTTP logic lives in `zoho-oauth` (core/); the pure-Python package
//! in `python/zoho_oauth/` gives it an idiomatic face (exceptions, headers, adapters).

use pyo3::prelude::*;

mod aio;
mod app;
mod client;
mod convert;
mod errors;
mod logging;
mod mock;
mod response;
mod runtime;
mod store;

/// True when an answer is a 401 whose Zoho code means the access token is dead
/// (`INVALID_TOKEN`, `INVALID_OAUTH`, `INVALID_OAUTHTOKEN`, `AUTHENTICATION_FAILURE`): the one
/// case where the HTTP adapters refresh and resend. Scope errors never qualify.
#[pyfunction]
fn is_dead_token_response(status: u16, body: &[u8]) -> bool {
    zoho_oauth::is_dead_token_response(status, body)
}

/// Native part of the `zoho_oauth` package. Import `zoho_oauth`, not this module.
#[pymodule(gil_used = false)]
mod _native {
    use super::*;

    #[pymodule_export]
    use super::app::{AuthorizationUrl, DeviceAuthorization, OAuthApp, TokenSet};
    #[pymodule_export]
    use super::client::{AsyncClient, Client, Paginator};
    #[pymodule_export]
    use super::is_dead_token_response;
    #[pymodule_export]
    use super::mock::MockServer;
    #[pymodule_export]
    use super::response::Response;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        // The version is written once, in the workspace's Cargo.toml: maturin gives it to the
        // wheel's metadata (pyproject's `dynamic = ["version"]`) and this to `zoho_oauth.__version__`.
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        logging::install();
        let at_exit = pyo3::wrap_pyfunction!(super::runtime::_at_exit, m)?;
        m.py().import("atexit")?.call_method1("register", (at_exit,))?;
        Ok(())
    }
}
