//! The native addon of the `zoho-oauth` npm package: conversions between JavaScript and the Rust
//! crates, and nothing else. All OAuth and HTTP logic lives in `zoho-oauth` (core/).
//!
//! Every asynchronous method returns a Promise created on the JS thread and settled from the
//! core's shared tokio runtime (`zoho_oauth::runtime()`), so network I/O and waiting never
//! happen on the event loop. Errors leave as the `ZohoError` subclasses `index.js` registers
//! (`error.rs`); the wrapper adds the idiomatic surface (async iterators, `fetch`, `AbortSignal`).

mod app;
mod client;
mod convert;
mod error;
mod logger;
mod mock;
mod promise;
mod response;
mod store;
