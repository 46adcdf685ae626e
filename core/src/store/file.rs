//! `file:///path/tokens.json`: the embedded default for persistence, shared by every process on
//! one machine.
//!
//! - The file is JSON with a format marker and a schema version. Every change is a
//!   read-modify-write under an exclusive lock on `<file>.lock`, written to a temporary file
//!   (mode 0600), fsynced and atomically renamed over the old one, so readers never see half a
//!   file and a crash leaves either the old or the new version.
//! - The refresh lease is an OS advisory lock (`flock`) on `<file>.leases/<key>.lock`: the
//!   holder refreshes, the others wait and re-read. The kernel drops the lock when its holder
//!   dies, so a process killed with `kill -9` mid-refresh blocks nobody.
//! - A file that is not a zoho-oauth store (valid JSON of another shape, or not JSON at all) is
//!   never touched: every operation fails with a `store` error naming it. A truncated or
//!   otherwise corrupt store file (one that begins like ours) is kept aside as
//!   `<file>.corrupt-<unix ms>` by the next client operation (which fails and says so) and the
//!   store starts empty, so nothing is silently lost; listing (`status`) only reports it. One entry that does not parse is isolated under `"unreadable_entries"` (kept
//!   verbatim) while the others stay in use; unknown fields are written back as they were.
//! - The lock and lease files are opened without following symlinks. Missing parent folders
//!   are created with mode 0700; a store file readable by others is reported with a warning
//!   (the next write makes it 0600). The client secret is never stored.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::record::{self, Record, Records};
use super::{Backoff, Snapshot, StoreKey, StoredIdentity, TokenStore, window_ms};
use crate::clock::{BoxFuture, Clock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// The format marker of a store file.
const FORMAT: &str = "zoho-oauth-token-store";
/// The schema version this build reads and writes.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StoreFile {
    format: String,
    version: u32,
    #[serde(default)]
    entries: Records,
    /// Entries that did not parse, kept verbatim (isolated, not lost).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    unreadable_entries: serde_json::Map<String, serde_json::Value>,
    /// Top-level fields this build does not know, written back as they were.
    #[serde(flatten)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// What a store file holds besides the usable entries, carried from load to save.
#[derive(Default)]
struct Kept {
    unreadable_entries: serde_json::Map<String, serde_json::Value>,
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// A token store in one JSON file, shared by every process on the machine.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lock_path: PathBuf,
    lease_dir: PathBuf,
    /// Lease files this process holds, by key id. Dropping one (after unlocking) frees it.
    leases: Mutex<HashMap<String, File>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("path", &self.inner.path).finish()
    }
}

impl FileStore {
    /// A store in the file at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let sibling = |suffix: &str| sibling(&path, "", suffix);
        FileStore {
            inner: Arc::new(Inner {
                lock_path: sibling(".lock"),
                lease_dir: sibling(".leases"),
                path,
                leases: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A store from a `file:///absolute/path.json` URL.
    pub fn from_url(url: &str) -> Result<Self> {
        let hint = "write file:///absolute/path/tokens.json (three slashes, an absolute path)";
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| Error::config(format!("the token store URL is not a valid file URL: {e}"), hint))?;
        if parsed.host_str().is_some_and(|h| !h.is_empty() && h != "localhost") {
            return Err(Error::config("a file:// token store URL cannot name a host", hint));
        }
        let path = parsed.to_file_path().map_err(|_| Error::config("the file:// URL has no usable path", hint))?;
        if path.file_name().is_none() || url.trim().ends_with('/') {
            return Err(Error::config("the file:// URL names a folder, not a file", hint));
        }
        Ok(FileStore::new(path))
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Run `f` on the records under the exclusive file lock, then write them back if `f` says
    /// they changed. Runs on tokio's blocking pool (file locks and fsync block).
    fn update<'a, T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Records) -> (T, bool) + Send + 'static,
    ) -> BoxFuture<'a, Result<T>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.locked_update(f))
                .await
                .map_err(|e| Error::store(format!("the token store task failed: {e}")))?
        })
    }

    /// [`update`](Self::update) on the record of `key` (created when missing).
    fn with_record<'a, T: Send + 'static>(
        &self,
        key: &StoreKey,
        f: impl FnOnce(&mut Record) -> (T, bool) + Send + 'static,
    ) -> BoxFuture<'a, Result<T>> {
        let key = key.clone();
        self.update(move |map| f(record::entry(map, &key)))
    }

    /// Read-only access to the record of `key`, if there is one.
    fn read<'a, T: Send + 'static>(
        &self,
        key: &StoreKey,
        f: impl FnOnce(Option<&Record>) -> T + Send + 'static,
    ) -> BoxFuture<'a, Result<T>> {
        let id = key.as_str().to_string();
        self.update(move |map| (f(map.get(&id)), false))
    }

    /// Read-only access to every record for listing (`zoho-oauth status`): never writes, never
    /// moves a damaged file aside. (Single reads on the refresh path may: a client must be able
    /// to start over in a fresh store.)
    fn read_all<'a, T: Send + 'static>(
        &self,
        f: impl FnOnce(&Records) -> T + Send + 'static,
    ) -> BoxFuture<'a, Result<T>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || inner.locked(false, |map| (f(map), false)))
                .await
                .map_err(|e| Error::store(format!("the token store task failed: {e}")))?
        })
    }
}

/// The entries of a store file, and what else it holds. An entry without the fields and types
/// of a token entry is isolated (kept verbatim in `unreadable_entries`) instead of failing the
/// whole store; the warning names it without serde's message, which quotes the offending value
/// (maybe a token).
fn parse_entries(v: serde_json::Value) -> std::result::Result<(Records, Kept), String> {
    let serde_json::Value::Object(mut top) = v else {
        return Err("it is not a JSON object".into());
    };
    let mut kept = Kept::default();
    if let Some(serde_json::Value::Object(m)) = top.remove("unreadable_entries") {
        kept.unreadable_entries = m;
    }
    let entries = match top.remove("entries") {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => return Err("its \"entries\" is not an object".into()),
    };
    top.remove("format");
    top.remove("version");
    kept.unknown = top;
    let mut out = Records::new();
    for (id, entry) in entries {
        match serde_json::from_value::<Record>(entry.clone()) {
            Ok(r) => {
                out.insert(id, r);
            }
            Err(_) => {
                // Our keys are hashes; anything else is not echoed.
                let shown = if id.starts_with("zoho-oauth:v1:") && id.len() <= 64 { id.as_str() } else { "an entry" };
                warn!(target: "zoho_oauth", entry = %shown, "a token store entry is unreadable; it is kept aside in unreadable_entries");
                kept.unreadable_entries.insert(id, entry);
            }
        }
    }
    Ok((out, kept))
}

/// True when `bytes` begin the way a store file of ours does (`{` then the format marker), so a
/// damaged one can be told from a foreign file that merely mentions the marker.
fn looks_like_ours(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    let t = head.trim_start();
    t.starts_with('{')
        && t.find(FORMAT).is_some_and(|at| {
            let before = &t[..at];
            before.contains("\"format\"") && before.len() < 64
        })
}

/// `<prefix><file name><suffix>` next to `path` (lock file, lease folder, temp and corrupt copies).
fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{prefix}{name}{suffix}"))
}

/// Create `dir` and its missing parents with mode 0700.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| io_error("could not create the folder", dir, e))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::store(format!("{what} {}: {e}", path.display())).with_source(e)
}

impl Inner {
    fn locked_update<T>(&self, f: impl FnOnce(&mut Records) -> (T, bool)) -> Result<T> {
        self.locked(true, f)
    }

    /// Under the lock: load, run `f`, save when it changed something. `writing` says whether
    /// the caller may write (and so may move a corrupt file aside); a read-only caller only
    /// reports what it found.
    fn locked<T>(&self, writing: bool, f: impl FnOnce(&mut Records) -> (T, bool)) -> Result<T> {
        let lock = self.open_lock_file()?;
        lock.lock().map_err(|e| io_error("could not lock", &self.lock_path, e))?;
        let result = (|| {
            let (mut map, kept) = self.load(writing)?;
            let (out, changed) = f(&mut map);
            if changed {
                self.save(&map, kept)?;
            }
            Ok(out)
        })();
        // Closing the file drops the lock too; unlocking first frees it even if a forked child
        // still holds a copy of the descriptor.
        let _ = lock.unlock();
        result
    }

    fn ensure_parent(&self) -> Result<()> {
        let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        if parent.is_dir() {
            return Ok(());
        }
        create_private_dir(parent)
    }

    fn open_private(&self, path: &Path, create_new: bool) -> std::io::Result<File> {
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        if create_new {
            o.create_new(true);
        } else {
            o.create(true).truncate(false);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // A symlink planted at the lock or lease path must not redirect the open.
            o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        o.open(path)
    }

    fn open_lock_file(&self) -> Result<File> {
        self.ensure_parent()?;
        self.open_private(&self.lock_path, false).map_err(|e| io_error("could not open", &self.lock_path, e))
    }

    fn load(&self, writing: bool) -> Result<(Records, Kept)> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok((Records::new(), Kept::default())),
            Err(e) => return Err(io_error("could not read", &self.path, e)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok((Records::new(), Kept::default()));
        }
        self.warn_if_readable_by_others();
        let shown = self.path.display();
        let damaged = |why: &str| if writing { self.keep_aside(why) } else { self.corrupt_left_in_place(why) };
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v.get("format").and_then(|f| f.as_str()) == Some(FORMAT) => {
                let version = v.get("version").and_then(|n| n.as_u64()).unwrap_or(0);
                if version != u64::from(VERSION) {
                    return Err(Error::store(format!(
                        "{shown} is a token store of schema version {version}; this build reads version {VERSION}"
                    ))
                    .with_hint("upgrade zoho-oauth, or point the token store at another file"));
                }
                parse_entries(v).map_err(|why| damaged(&why))
            }
            Ok(_) => Err(self.foreign()),
            // Not JSON, but it begins like one of ours: truncated or damaged.
            Err(_) if looks_like_ours(&bytes) => Err(damaged("it is truncated or corrupt")),
            Err(_) => Err(self.foreign()),
        }
    }

    /// A store file others can read exposes the cached access tokens (and any kept refresh
    /// token): say so; the next write replaces it with a 0600 file.
    fn warn_if_readable_by_others(&self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = fs::metadata(&self.path)
                && m.permissions().mode() & 0o077 != 0
            {
                warn!(target: "zoho_oauth", path = %self.path.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "the token store file is accessible to group or others; chmod 600 it (the next write does)");
            }
        }
    }

    /// A read-only operation found a damaged store: report it, move nothing.
    fn corrupt_left_in_place(&self, why: &str) -> Error {
        Error::store(format!("the token store {} could not be read ({why}); it was left in place", self.path.display()))
            .with_hint("the next client operation on this store keeps it aside and starts a new one")
    }

    fn foreign(&self) -> Error {
        Error::store(format!("{} is not a zoho-oauth token store; it was left untouched", self.path.display()))
            .with_hint("point the token store at a new file, for example file:///var/lib/app/zoho-tokens.json")
    }

    /// Move a corrupt store file aside (never overwrite it) and say where it went.
    fn keep_aside(&self, why: &str) -> Error {
        let aside = sibling(&self.path, "", &format!(".corrupt-{}", SystemClock.now_ms()));
        match fs::rename(&self.path, &aside) {
            Ok(()) => {
                warn!(target: "zoho_oauth", path = %self.path.display(), kept_as = %aside.display(), "corrupt token store kept aside");
                Error::store(format!(
                    "the token store {} could not be read ({why}); it was kept aside as {} and the store starts empty",
                    self.path.display(),
                    aside.display()
                ))
                .with_hint("retry: clients refresh into a fresh store; inspect or delete the kept file")
            }
            Err(e) => {
                io_error(&format!("the token store is corrupt ({why}) and could not be moved aside:"), &self.path, e)
            }
        }
    }

    fn save(&self, map: &Records, kept: Kept) -> Result<()> {
        self.ensure_parent()?;
        let file = StoreFile {
            format: FORMAT.into(),
            version: VERSION,
            entries: map.clone(),
            unreadable_entries: kept.unreadable_entries,
            unknown: kept.unknown,
        };
        let body = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::store(format!("could not encode the token store: {e}")))?;
        let tmp = sibling(&self.path, ".", &format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>()));
        let write = || -> std::io::Result<()> {
            let mut f = self.open_private(&tmp, true)?;
            f.write_all(&body)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Make the rename itself durable.
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error("could not write", &self.path, e)
        })
    }

    fn lease_path(&self, key: &str) -> PathBuf {
        let file: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        self.lease_dir.join(format!("{file}.lock"))
    }

    /// Take the OS lock of `key`'s lease file without blocking.
    fn try_lock_lease(&self, key: &str) -> Result<bool> {
        let mut held = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if held.contains_key(key) {
            // This process already holds it (the in-process flight lock serializes callers).
            return Ok(true);
        }
        create_private_dir(&self.lease_dir)?;
        let path = self.lease_path(key);
        let file = self.open_private(&path, false).map_err(|e| io_error("could not open", &path, e))?;
        match file.try_lock() {
            Ok(()) => {
                held.insert(key.to_string(), file);
                Ok(true)
            }
            Err(fs::TryLockError::WouldBlock) => Ok(false),
            Err(fs::TryLockError::Error(e)) => Err(io_error("could not lock", &path, e)),
        }
    }

    fn unlock_lease(&self, key: &str) {
        let file = self.leases.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        if let Some(f) = file {
            let _ = f.unlock();
        }
    }
}

impl TokenStore for FileStore {
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>> {
        self.read(key, |r| r.and_then(Record::token))
    }

    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>> {
        self.with_record(key, move |r| (r.put(&token), true))
    }

    fn put_fenced<'a>(&'a self, key: &'a StoreKey, token: TokenSet, fence: u64) -> BoxFuture<'a, Result<bool>> {
        self.with_record(key, move |r| {
            let written = r.put_fenced(&token, fence);
            (written, written)
        })
    }

    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        let rejected = rejected.clone();
        self.with_record(key, move |r| {
            let removed = r.invalidate_if(&rejected);
            (removed, removed)
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        _holder: &'a str,
        _ttl: Duration,
        _now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<u64>>> {
        let inner = self.inner.clone();
        let key = key.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                if !inner.try_lock_lease(key.as_str())? {
                    return Ok(None);
                }
                let fence = inner.locked_update(|map| (record::entry(map, &key).next_fence(), true));
                if fence.is_err() {
                    inner.unlock_lease(key.as_str());
                }
                fence.map(Some)
            })
            .await
            .map_err(|e| Error::store(format!("the token store task failed: {e}")))?
        })
    }

    fn release_lease<'a>(&'a self, key: &'a StoreKey, _holder: &'a str) -> BoxFuture<'a, Result<()>> {
        self.inner.unlock_lease(key.as_str());
        Box::pin(std::future::ready(Ok(())))
    }

    fn record_refresh<'a>(
        &'a self,
        key: &'a StoreKey,
        at_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        self.with_record(key, move |r| (r.record_refresh(at_ms, window_ms(window)), true))
    }

    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        self.read(key, move |r| r.map(|r| r.history(now_ms, window_ms(window))).unwrap_or_default())
    }

    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>> {
        self.with_record(key, move |r| (r.cooldown_until_ms = Some(until_ms), true))
    }

    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>> {
        self.read(key, |r| r.and_then(|r| r.cooldown_until_ms))
    }

    fn set_backoff<'a>(&'a self, key: &'a StoreKey, backoff: Backoff) -> BoxFuture<'a, Result<()>> {
        self.with_record(key, move |r| (r.backoff = Some(backoff), true))
    }

    fn backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Backoff>>> {
        self.read(key, |r| r.and_then(|r| r.backoff.clone()))
    }

    fn clear_backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        self.with_record(key, |r| {
            let had = r.backoff.take().is_some();
            ((), had)
        })
    }

    fn snapshot<'a>(&'a self, key: &'a StoreKey, now_ms: i64, window: Duration) -> BoxFuture<'a, Result<Snapshot>> {
        let window = window_ms(window);
        self.read(key, move |r| r.map(|r| r.snapshot(now_ms, window)).unwrap_or_default())
    }

    fn save_refresh_token<'a>(
        &'a self,
        key: &'a StoreKey,
        refresh_token: &'a RefreshToken,
        label: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        let rt = refresh_token.clone();
        let label = label.map(str::to_string);
        self.with_record(key, move |r| (r.save_refresh_token(&rt, label.as_deref()), true))
    }

    fn load_refresh_token<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<RefreshToken>>> {
        self.read(key, |r| r.and_then(Record::load_refresh_token))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredIdentity>>> {
        self.read_all(record::list)
    }

    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<bool>> {
        let id = key.as_str().to_string();
        self.update(move |map| {
            let existed = map.remove(&id).is_some();
            (existed, existed)
        })
    }
}
