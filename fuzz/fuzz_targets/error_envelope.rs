//! Product API error bodies (CRM, Desk, Books, Mail envelopes): the envelope reader and the
//! typed-error builder never panic, whatever the status and body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zoho_oauth::fuzzing::{envelope, parse_api_error};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let body = String::from_utf8_lossy(&data[2..]);
    let _ = envelope(&body);
    let _ = parse_api_error(status, &body, None).to_string();
});
