//! The file store against damaged, foreign and planted files (issue 13, "Local secrets").

mod common;

use std::path::{Path, PathBuf};

use common::Recorder;
use zoho_oauth::{ErrorCode, FileStore, RefreshToken, StoreKey, TokenSet, TokenStore};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "zoho-oauth-store-hard-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn key(n: u32) -> StoreKey {
    StoreKey::new("https://accounts.zoho.eu", "1000.ID", &RefreshToken::new(format!("1000.refresh.{n}")))
}

fn token() -> TokenSet {
    TokenSet::parse(200, r#"{"access_token":"1000.access","expires_in":3600}"#, 0, "https://accounts.zoho.eu")
        .expect("token")
}

fn siblings(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_foreign_file_mentioning_the_marker_is_never_moved() {
    let dir = scratch("foreign");
    let path = dir.join("tokens.json");
    let text = "my notes: zoho-oauth-token-store is the format marker\n";
    std::fs::write(&path, text).expect("write");
    let store = FileStore::new(&path);
    assert_eq!(store.list().await.expect_err("foreign").code(), ErrorCode::Store);
    assert!(store.put(&key(1), token()).await.is_err());
    assert_eq!(std::fs::read_to_string(&path).expect("still there"), text);
}

#[tokio::test]
async fn listing_a_damaged_store_moves_nothing() {
    let dir = scratch("listing");
    let path = dir.join("tokens.json");
    std::fs::write(&path, "{\n  \"format\": \"zoho-oauth-token-store\",\n  \"version\": 1,\n  \"entries\": {")
        .expect("write");
    let store = FileStore::new(&path);
    let err = store.list().await.expect_err("truncated");
    assert!(err.message().contains("left in place"), "{err}");
    assert!(path.exists());
    assert!(!siblings(&dir).iter().any(|n| n.contains(".corrupt-")), "{:?}", siblings(&dir));
    // A client operation keeps it aside and starts over.
    assert!(store.get(&key(1)).await.is_err());
    assert!(siblings(&dir).iter().any(|n| n.contains(".corrupt-")));
    store.put(&key(1), token()).await.expect("fresh store");
}

#[tokio::test]
async fn one_bad_entry_is_isolated_and_unknown_fields_are_kept() {
    let dir = scratch("entry");
    let path = dir.join("tokens.json");
    let store = FileStore::new(&path);
    store.put(&key(1), token()).await.expect("put");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let id = key(1).as_str().to_string();
    v["entries"][&id]["from_a_newer_build"] = serde_json::json!({"kept": true});
    v["top_level_extra"] = serde_json::json!(7);
    v["entries"]["zoho-oauth:v1:broken"] = serde_json::json!({"client_id": 5, "refreshes": "no"});
    std::fs::write(&path, serde_json::to_string(&v).expect("encode")).expect("write");

    assert!(store.get(&key(1)).await.expect("the good entry still works").is_some());
    store.put(&key(2), token()).await.expect("writes go on");
    assert_eq!(store.list().await.expect("list").len(), 2);
    let after: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(after["entries"][&id]["from_a_newer_build"]["kept"], true, "{after}");
    assert_eq!(after["top_level_extra"], 7);
    assert_eq!(after["unreadable_entries"]["zoho-oauth:v1:broken"]["client_id"], 5, "{after}");
    assert!(!siblings(&dir).iter().any(|n| n.contains(".corrupt-")));
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_lock_file_is_not_followed() {
    let dir = scratch("symlink");
    let path = dir.join("tokens.json");
    let victim = dir.join("victim");
    std::os::unix::fs::symlink(&victim, dir.join("tokens.json.lock")).expect("symlink");
    let store = FileStore::new(&path);
    let err = store.put(&key(1), token()).await.expect_err("refused");
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(!victim.exists(), "the symlink was followed");
}

#[cfg(unix)]
/// Every event of the process, from any thread: the file store works on tokio's blocking pool,
/// so the recorder is the process-wide subscriber (set once, by the one test that reads it).
fn warnings_about(path: &Path) -> Vec<String> {
    static RECORDER: std::sync::OnceLock<Recorder> = std::sync::OnceLock::new();
    let r = RECORDER.get_or_init(|| {
        let r = Recorder::default();
        tracing::subscriber::set_global_default(r.clone()).expect("the only global subscriber");
        r
    });
    r.lines_with(&path.display().to_string())
        .into_iter()
        .filter(|l| l.contains("accessible to group or others"))
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn a_store_file_readable_by_others_is_reported_and_the_next_write_makes_it_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let dir = scratch("mode");
    let path = dir.join("tokens.json");
    assert!(warnings_about(&path).is_empty());
    let store = FileStore::new(&path);
    store.put(&key(1), token()).await.expect("put");
    assert_eq!(mode(&path), 0o600, "a new store file is private");
    store.get(&key(1)).await.expect("get").expect("stored");
    assert!(warnings_about(&path).is_empty(), "{:?}", warnings_about(&path));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(store.get(&key(1)).await.expect("get").is_some(), "a readable store still works");
    assert_eq!(store.list().await.expect("list").len(), 1);
    let seen = warnings_about(&path);
    assert_eq!(seen.len(), 2, "one warning per read: {seen:?}");
    assert!(seen[0].contains("mode=\"644\"") && seen[0].contains("chmod 600"), "{seen:?}");
    assert_eq!(mode(&path), 0o644, "reading changes nothing");

    store.put(&key(2), token()).await.expect("the next write");
    assert_eq!(mode(&path), 0o600, "the next write replaces it with a private file");
    let before = warnings_about(&path).len();
    assert_eq!(store.list().await.expect("list").len(), 2);
    assert_eq!(warnings_about(&path).len(), before, "no warning once it is 0600");
}
