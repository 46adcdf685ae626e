//! The native addon of the `zoho-oauth` npm package: conversions between JavaScript and the Rust
//! crates, and nothing else. All OAuth and HTTP logic lives in `zoho-oauth` (core/).
//!
//! Every asynchronous method returns a Promise created on the JS thread and settled from the
//! core's shared tokio runtime (`zoho_oauth::runtime()`), so waiting never blocks the event
//! loop; past a thread's warm-up a request alone in flight runs on the JS thread's own
//! runtime, driven by libuv without blocking (`here.rs`). Errors leave as the `ZohoError`
//! subclasses `index.js` registers (`error.rs`); the wrapper adds the idiomatic surface (async iterators, `fetch`, `AbortSignal`).

mod app;
mod client;
mod convert;
mod error;
mod here;
mod logger;
mod mock;
mod promise;
mod response;
mod store;
