//! The native addon of the `zoho-oauth` npm package: conversions between JavaScript and the Rust
//! crates, and nothing else. All OAuth and HTTP logic lives in `zoho-oauth` (core/).
//!
//! Every asynchronous method returns a Promise created on the JS thread and settled from the
//! core's shared tokio runtime (`zoho_oauth::runtime()`), so network I/O and waiting never
//! happen on the event loop. The JavaScript wrapper (`index.js`) turns rejections into
//! `ZohoError`s and adds the idiomatic surface (async iterators, `fetch`, `AbortSignal`).

mod app;
mod client;
mod convert;
mod logger;
mod mock;
mod promise;
