//! Store files (written by other processes, other versions, people): every `file://` store
//! operation on arbitrary file contents ends with a value or a `store` error, never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use zoho_oauth::{ErrorCode, FileStore, RefreshToken, StoreKey, TokenStore, block_on};

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("zoho-fuzz-store-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = std::fs::remove_dir_all(dir());
    std::fs::create_dir_all(dir()).expect("scratch dir");
    let file = dir().join("tokens.json");
    std::fs::write(&file, data).expect("write");
    let store = FileStore::new(&file);
    let key = StoreKey::new("https://accounts.zoho.eu", "1000.CLIENT", &RefreshToken::new("1000.refresh"));
    block_on(async {
        for result in [
            store.get(&key).await.map(|_| ()),
            store.record_refresh(&key, 1_000, Duration::from_secs(600)).await.map(|_| ()),
            store.cooldown_until(&key).await.map(|_| ()),
        ] {
            if let Err(e) = result {
                assert_eq!(e.code(), ErrorCode::Store, "{e}");
            }
        }
    });
});
