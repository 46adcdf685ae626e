//! Property tests of store files (the `file://` store reads a file other processes, other
//! versions or people may have written): whatever the file holds, reading and writing through
//! the store never panics and a failure is a `store` error. No error message, hint or `Debug`
//! may repeat a secret found in the file (serde's own messages quote the offending value, so the
//! store must not pass them on). (The token, callback and envelope parsers have their properties
//! in `parsers_proptest.rs`.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use serde_json::{Value, json};
use zoho_oauth::{ErrorCode, FileStore, RefreshToken, StoreKey, TokenStore, block_on};

const FORMAT: &str = "zoho-oauth-token-store";
/// Token-shaped, so a leak of it would be unmistakable.
const SECRET: &str = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210";

fn scratch(contents: &[u8]) -> (PathBuf, PathBuf) {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "zoho-store-prop-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("tokens.json");
    std::fs::write(&file, contents).expect("write store file");
    (dir, file)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(SECRET)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("token".to_string()),
                    Just("access_token".to_string()),
                    Just("expires_at_ms".to_string()),
                    Just("refreshes".to_string()),
                    Just("lease".to_string()),
                    "[a-z_]{1,8}".prop_map(String::from)
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every operation of the store on the file; returns the errors.
fn exercise(file: &std::path::Path) -> Vec<zoho_oauth::Error> {
    let store = FileStore::new(file);
    let key = StoreKey::new("https://accounts.zoho.eu", "1000.CLIENT", &RefreshToken::new("1000.refresh"));
    let window = std::time::Duration::from_secs(600);
    let mut errors = Vec::new();
    block_on(async {
        if let Err(e) = store.get(&key).await {
            errors.push(e);
        }
        if let Err(e) = store.record_refresh(&key, 1_000, window).await {
            errors.push(e);
        }
        if let Err(e) = store.cooldown_until(&key).await {
            errors.push(e);
        }
        if let Err(e) = store.invalidate_if(&key, &SECRET.to_string().into()).await {
            errors.push(e);
        }
    });
    errors
}

fn all_store_errors(errors: &[zoho_oauth::Error]) -> Result<(), TestCaseError> {
    for e in errors {
        prop_assert_eq!(e.code(), ErrorCode::Store);
    }
    Ok(())
}

fn no_secret_in(errors: &[zoho_oauth::Error]) -> Result<(), TestCaseError> {
    for e in errors {
        let shown = format!("{e} {e:?} {:?} {:?}", e.hint(), e.body());
        prop_assert!(!shown.contains(SECRET), "a secret from the store file leaked into {}", shown);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), marker in any::<bool>()) {
        let mut contents = bytes;
        if marker {
            contents.extend_from_slice(FORMAT.as_bytes()); // looks like ours: kept aside, not touched
        }
        let (dir, file) = scratch(&contents);
        let errors = exercise(&file);
        let _ = std::fs::remove_dir_all(&dir);
        all_store_errors(&errors)?;
    }

    #[test]
    fn arbitrary_entries_never_panic(entries in json_value(), version in prop_oneof![Just(json!(1)), any::<i64>().prop_map(|n| json!(n))]) {
        let body = json!({"format": FORMAT, "version": version, "entries": {"zoho-oauth:v1:x": entries}});
        let (dir, file) = scratch(body.to_string().as_bytes());
        let errors = exercise(&file);
        let _ = std::fs::remove_dir_all(&dir);
        all_store_errors(&errors)?;
    }

    #[test]
    fn a_wrongly_typed_field_holding_a_token_does_not_leak(field in prop_oneof![
        Just("expires_at_ms"), Just("scopes"), Just("accounts_server"), Just("token_type")
    ]) {
        let mut token = json!({"access_token": "1000.x", "accounts_server": "https://accounts.zoho.eu", "expires_at_ms": 5});
        token[field] = if field == "accounts_server" || field == "token_type" { json!([SECRET]) } else { json!(SECRET) };
        let body = json!({"format": FORMAT, "version": 1, "entries": {"k": {"client_id": "c", "accounts_server": "a", "token": token}}});
        let (dir, file) = scratch(body.to_string().as_bytes());
        let errors = exercise(&file);
        let after = std::fs::read_to_string(&file).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        // The malformed entry is isolated, kept verbatim, while the store goes on working.
        let after: Value = serde_json::from_str(&after).unwrap_or_default();
        prop_assert!(after["unreadable_entries"]["k"].is_object(), "the bad entry is kept aside: {}", after);
        all_store_errors(&errors)?;
        no_secret_in(&errors)?;
    }
}
