//! Kotlin (JVM and Android) bindings for `zoho-oauth`, generated with uniffi in proc-macro
//! mode: the package `com.zohooauth`.
//!
//! Conversions between uniffi types and the core's, and nothing else: every OAuth and HTTP
//! behaviour (cache, single-flight refresh, refresh budget, the 401 refresh, retries, host
//! allow-list, secret hygiene) lives in `zoho-oauth` (core/), shared with the Python and Node
//! packages. Async methods are Kotlin `suspend` functions whose work runs on the core's one
//! tokio runtime; errors are one `ZohoException` with the stable codes; every object that
//! holds a secret prints `[redacted]` in `toString()`.
//!
//! Generate the Kotlin file with `bindings-uniffi/generate.sh` (see README.md).
#![warn(missing_docs)]

uniffi::setup_scaffolding!("zoho_oauth");

mod app;
mod client;
mod convert;
mod error;
mod mock;
mod runtime;

pub use app::{AuthorizationUrl, DeviceAuthorization, OAuthApp, TokenSet};
pub use client::{Client, Paginator, RateLimits, RequestOptions, Response};
pub use convert::ClientType;
pub use error::{ErrorDetail, ErrorFamily, ZohoError};
pub use mock::MockServer;
