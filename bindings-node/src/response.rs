//! A fully read HTTP response. It reaches `index.js`'s `Response` as an External (typed
//! `ExternalObject<Response>` in native.d.ts): creating one is a single napi call, where a class
//! instance cost a constructor call and a wrap per response (issue 17). These functions read it.

// napi registers free functions only outside `cfg(test)` (clippy --all-targets).
#![cfg_attr(test, allow(dead_code))]

use napi::Result;
use napi::bindgen_prelude::{Buffer, External};
use napi_derive::napi;
use zoho_oauth::Response;

use crate::promise::check;

/// HTTP status code.
#[napi]
pub fn response_status(r: &External<Response>) -> u32 {
    u32::from(r.status())
}

/// The URL that answered.
#[napi]
pub fn response_url(r: &External<Response>) -> String {
    r.url().to_string()
}

/// Headers as `[name, value, name, value, ...]`, names lower-cased.
#[napi]
pub fn response_headers(r: &External<Response>) -> Vec<String> {
    r.headers().iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect()
}

/// The body as text.
#[napi]
pub fn response_text(r: &External<Response>) -> String {
    r.text()
}

/// The body bytes.
#[napi]
pub fn response_body(r: &External<Response>) -> Buffer {
    Buffer::from(r.bytes().to_vec())
}

/// Throw the typed error for 4xx/5xx (Zoho's code parsed from the product's envelope).
#[napi]
pub fn response_check_status(r: &External<Response>) -> Result<()> {
    check(Response::clone(r).error_for_status().map(|_| ()))
}

/// Throw the core's `invalid_response` error when the body is not JSON (`index.js` parses
/// with `JSON.parse` and calls this only when that failed).
#[napi]
pub fn response_check_json(r: &External<Response>) -> Result<()> {
    check(r.json::<serde_json::Value>().map(|_| ()))
}
