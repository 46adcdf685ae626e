//! Token-endpoint answers: `TokenSet::parse` never panics, and a success always has an access
//! token (Zoho answers errors with HTTP 200, so the body alone decides).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zoho_oauth::TokenSet;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let body = String::from_utf8_lossy(&data[2..]);
    if let Ok(t) = TokenSet::parse(status, &body, 1_700_000_000_000, "https://accounts.zoho.eu") {
        assert!(!t.access_token.secret().is_empty());
    }
});
