//! Callback URLs (attacker-controlled query strings): `parse_callback` never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let _ = zoho_oauth::parse_callback(&input);
    let _ = zoho_oauth::parse_callback(&format!("https://app.example/cb?{input}"));
});
