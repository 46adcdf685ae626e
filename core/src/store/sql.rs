//! `postgres://` (also `postgresql://`) and `mysql://` (MySQL and MariaDB): one store for a fleet
//! whose only shared state is its SQL database.
//!
//! # Design
//!
//! One table per store (default `zoho_oauth_tokens`, `?table=` names another), one row per
//! identity. A row holds the identity's whole state as JSON: the same record the memory and file
//! stores keep (`record.rs`), so every operation has the same semantics in every store, written
//! once. The row *is* the lease: its `lease` (holder and expiry, `until_ms`) and its fencing
//! counter (`fence`, the number handed out with each lease, and `token_fence`, the number the
//! cached token was written under) are fields of that record.
//!
//! Every write is one short transaction: the row is created if missing and locked (`INSERT …
//! ON CONFLICT DO UPDATE … RETURNING` on PostgreSQL, `INSERT … ON DUPLICATE KEY UPDATE` then
//! `SELECT … FOR UPDATE` on MySQL), the record is changed in memory, written back, committed.
//! So the lease, compare-and-invalidate, fenced writes and the refresh history are atomic, and
//! nothing depends on a session: no advisory lock a connection pool could leak, and a holder
//! killed mid-refresh leaves only a lease row that expires. A transaction that loses a
//! deadlock or a serialization race is retried (at most three times).
//!
//! Time comes from the caller's clock (the `now_ms` of [`TokenStore::try_lease`]), never from
//! the database server's `now()`: clients on a virtual clock and clients whose host clock
//! differs from the server's see the same lease expiry the Redis and file stores give them.
//!
//! The table is created on first use (`CREATE TABLE IF NOT EXISTS`, retried when several
//! processes race to create it) unless it is there already; teams that create schemas ahead run
//! `zoho-oauth store migrate <url>` (or [`SqlStore::migrate`]). The DDL, for PostgreSQL:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS zoho_oauth_tokens (
//!     id    VARCHAR(64) PRIMARY KEY,  -- 'zoho-oauth:v1:<hash>': no secret; '!schema' for the version row
//!     state TEXT NOT NULL             -- the identity's record (JSON), or {"schema_version":1}
//! );
//! INSERT INTO zoho_oauth_tokens (id, state) VALUES ('!schema', '{"schema_version":1}')
//!     ON CONFLICT (id) DO NOTHING;
//! ```
//!
//! and for MySQL/MariaDB:
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS zoho_oauth_tokens (
//!     id    VARCHAR(64) CHARACTER SET ascii PRIMARY KEY,
//!     state MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL
//! ) ENGINE=InnoDB;
//! INSERT IGNORE INTO zoho_oauth_tokens (id, state) VALUES ('!schema', '{"schema_version":1}');
//! ```
//!
//! A table whose version row says a newer schema is refused with a `store` error (never
//! rewritten). The refresh token is in a row only when the caller asked for it to be kept; the
//! client secret never is; keys are hashes.
//!
//! URL options: `table`, `timeout_ms` (per operation, default 2000), `pool_size` (default 5);
//! every other option goes to the driver, so TLS is `?sslmode=require` (PostgreSQL) or
//! `?ssl-mode=REQUIRED` (MySQL), with rustls. When the database is down or slower than
//! `timeout_ms`, every operation fails with a `store` error (see [`crate::store`] for why that
//! cannot cause a refresh storm); the pool reconnects by itself once it is back.

use std::future::Future;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::Row;
use tokio::sync::OnceCell;

use super::StoreKey;
use super::backend::{self, RecordBackend};
use super::record::Record;
use crate::error::{Error, Result};
use crate::redact::Scrub;

const DEFAULT_TABLE: &str = "zoho_oauth_tokens";
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);
const DEFAULT_POOL: u32 = 5;
/// The schema this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;
const SCHEMA_ROW: &str = "!schema";
/// Attempts of one transaction that loses a deadlock or serialization race.
const ATTEMPTS: usize = 3;

/// Which SQL database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mysql")]
    MySql,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => "PostgreSQL",
            #[cfg(feature = "mysql")]
            Dialect::MySql => "MySQL",
        }
    }

    fn create(self, t: &str) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => {
                format!("CREATE TABLE IF NOT EXISTS {t} (id VARCHAR(64) PRIMARY KEY, state TEXT NOT NULL)")
            }
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!(
                "CREATE TABLE IF NOT EXISTS {t} (id VARCHAR(64) CHARACTER SET ascii PRIMARY KEY, \
                 state MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL) ENGINE=InnoDB"
            ),
        }
    }

    fn insert_version(self, t: &str) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => format!("INSERT INTO {t} (id, state) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"),
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!("INSERT IGNORE INTO {t} (id, state) VALUES (?, ?)"),
        }
    }

    fn select(self, t: &str) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => format!("SELECT state FROM {t} WHERE id = $1"),
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!("SELECT state FROM {t} WHERE id = ?"),
        }
    }

    fn update(self, t: &str) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => format!("UPDATE {t} SET state = $1 WHERE id = $2"),
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!("UPDATE {t} SET state = ? WHERE id = ?"),
        }
    }

    fn delete(self, t: &str) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => format!("DELETE FROM {t} WHERE id = $1"),
            #[cfg(feature = "mysql")]
            Dialect::MySql => format!("DELETE FROM {t} WHERE id = ?"),
        }
    }
}

/// The statements of one table, written once when the store is opened.
struct Sql {
    create: String,
    insert_version: String,
    select: String,
    /// PostgreSQL: create-or-lock and read in one statement. MySQL: create-or-lock.
    lock: String,
    /// MySQL: read the locked row (PostgreSQL's `lock` returns it).
    select_locked: String,
    update: String,
    delete: String,
    list: String,
}

impl Sql {
    fn new(d: Dialect, t: &str) -> Self {
        let (lock, select_locked) = match d {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => (
                format!(
                    "INSERT INTO {t} (id, state) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING state"
                ),
                String::new(),
            ),
            #[cfg(feature = "mysql")]
            Dialect::MySql => (
                format!("INSERT INTO {t} (id, state) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = id"),
                format!("SELECT state FROM {t} WHERE id = ? FOR UPDATE"),
            ),
        };
        Sql {
            create: d.create(t),
            insert_version: d.insert_version(t),
            select: d.select(t),
            lock,
            select_locked,
            update: d.update(t),
            delete: d.delete(t),
            list: format!("SELECT id, state FROM {t} WHERE id LIKE 'zoho-oauth:%' ORDER BY id"),
        }
    }
}

enum Options {
    #[cfg(feature = "postgres")]
    Pg(sqlx::postgres::PgConnectOptions),
    #[cfg(feature = "mysql")]
    My(sqlx::mysql::MySqlConnectOptions),
}

enum Pool {
    #[cfg(feature = "postgres")]
    Pg(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    My(sqlx::MySqlPool),
}

/// Run `$body` with `$p` bound to the concrete pool: the statements are the same code for both
/// databases, type-checked once per driver.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "postgres")]
            Pool::Pg($p) => $body,
            #[cfg(feature = "mysql")]
            Pool::My($p) => $body,
        }
    };
}

/// A token store in a PostgreSQL or MySQL/MariaDB table, shared by every host that uses the same
/// database and table.
pub struct SqlStore {
    dialect: Dialect,
    options: Options,
    pool_size: u32,
    /// Made on first use, inside the caller's runtime (opening a store needs none).
    pool: OnceLock<Pool>,
    sql: Sql,
    table: String,
    timeout: Duration,
    /// The table is checked (and created when missing) once, on first use.
    ready: OnceCell<()>,
    /// The URL without its password, for messages.
    shown: String,
    /// The URL's password, scrubbed from any driver message.
    scrub: Scrub,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("url", &self.shown).field("table", &self.table).finish()
    }
}

fn is_retryable(e: &sqlx::Error) -> bool {
    // 40001: serialization failure (MySQL reports deadlocks with it too); 40P01: deadlock.
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40001" | "40P01")))
}

impl SqlStore {
    /// A store from `postgres://user:password@host:5432/db?table=…&timeout_ms=…&pool_size=…`
    /// (also `postgresql://`) or `mysql://…` (MySQL and MariaDB). Opening does no I/O: the pool
    /// connects on first use.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url.trim()).map_err(|e| bad_url(&e.to_string()))?;
        let dialect = match parsed.scheme() {
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            "mysql" | "mariadb" => Dialect::MySql,
            other => return Err(bad_url(&format!("{:?} is not a SQL store this build supports", other))),
        };
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad_url("it names no host"));
        }
        let mut table = DEFAULT_TABLE.to_string();
        let mut timeout = DEFAULT_TIMEOUT;
        let mut pool_size = DEFAULT_POOL;
        let positive = |v: &str, name: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad_url(&format!("{name} must be a positive integer")))
        };
        let mut rest = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "table" => table = v.into_owned(),
                "timeout_ms" => timeout = Duration::from_millis(positive(&v, "timeout_ms")?),
                "pool_size" => pool_size = positive(&v, "pool_size")?.min(100) as u32,
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        let valid = |t: &str| {
            t.len() <= 63
                && t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !valid(&table) {
            return Err(bad_url("table must be a plain name: letters, digits and _, at most 63"));
        }
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let scrub = Scrub::new(parsed.password());
        let shown = crate::redact::masked_url(parsed.as_str());
        let driver_url = match dialect {
            #[cfg(feature = "mysql")]
            Dialect::MySql if parsed.scheme() == "mariadb" => parsed.as_str().replacen("mariadb", "mysql", 1),
            _ => parsed.to_string(),
        };
        let fail = |e: sqlx::Error| bad_url(&scrub.apply(&e.to_string()));
        let options = match dialect {
            #[cfg(feature = "postgres")]
            Dialect::Postgres => Options::Pg(sqlx::postgres::PgConnectOptions::from_str(&driver_url).map_err(fail)?),
            #[cfg(feature = "mysql")]
            Dialect::MySql => Options::My(sqlx::mysql::MySqlConnectOptions::from_str(&driver_url).map_err(fail)?),
        };
        let sql = Sql::new(dialect, &table);
        Ok(SqlStore {
            dialect,
            options,
            pool_size,
            pool: OnceLock::new(),
            sql,
            table,
            timeout,
            ready: OnceCell::new(),
            shown,
            scrub,
        })
    }

    /// The connection pool; it connects lazily and reconnects by itself after an outage.
    fn pool(&self) -> &Pool {
        self.pool.get_or_init(|| match &self.options {
            #[cfg(feature = "postgres")]
            Options::Pg(o) => Pool::Pg(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(self.pool_size)
                    .acquire_timeout(self.timeout)
                    .connect_lazy_with(o.clone()),
            ),
            #[cfg(feature = "mysql")]
            Options::My(o) => Pool::My(
                sqlx::mysql::MySqlPoolOptions::new()
                    .max_connections(self.pool_size)
                    .acquire_timeout(self.timeout)
                    // Read committed: the locking reads see the latest row, and InnoDB takes no
                    // gap locks that could make concurrent first writes deadlock.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::Executor::execute(conn, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect_lazy_with(o.clone()),
            ),
        })
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let name = self.dialect.name();
        Error::store(self.scrub.apply(&format!("{name} token store {}: {what}: {e}", self.shown))).with_hint(format!(
            "check that {name} is running and reachable at the token store URL and that its user may read and \
             write the table {}; clients with a fresh cached token keep working meanwhile",
            self.table
        ))
    }

    /// Run one operation within the store's deadline, mapping failures to `store` errors.
    async fn run<T, F>(&self, what: &str, op: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, sqlx::Error>>,
    {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.err(what, e)),
            Err(_) => Err(self.err(what, "timed out")),
        }
    }

    /// Create the table and its version row when missing (idempotent, safe when several
    /// processes do it at once), and refuse a table of a newer schema. What
    /// `zoho-oauth store migrate` runs; every store operation runs it once first.
    pub async fn migrate(&self) -> Result<()> {
        self.ready.get_or_try_init(|| self.ensure_table()).await.map(|_| ())
    }

    async fn schema_version(&self) -> std::result::Result<Option<String>, sqlx::Error> {
        let q = self.sql.select.as_str();
        with_pool!(self.pool(), p => sqlx::query(q).bind(SCHEMA_ROW).fetch_optional(p).await?.map(|r| r.try_get(0)).transpose())
    }

    async fn ensure_table(&self) -> Result<()> {
        // A table created ahead (by `store migrate`, maybe by another user) is only read.
        let mut found = self.run("read the schema version", self.schema_version()).await.ok().flatten();
        if found.is_none() {
            let mut last = None;
            for _ in 0..ATTEMPTS {
                let (create, insert) = (self.sql.create.as_str(), self.sql.insert_version.as_str());
                let version = serde_json::json!({ "schema_version": SCHEMA_VERSION }).to_string();
                // Two processes creating the table at once may see a duplicate-type error on
                // PostgreSQL: the table is there then, and the next attempt finds it.
                let created = self
                    .run("create the table", async {
                        with_pool!(self.pool(), p => {
                            sqlx::query(create).execute(p).await?;
                            sqlx::query(insert).bind(SCHEMA_ROW).bind(version).execute(p).await.map(|_| ())
                        })
                    })
                    .await;
                match created {
                    Ok(_) => {
                        last = None;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if let Some(e) = last {
                return Err(e);
            }
            found = self.run("read the schema version", self.schema_version()).await?;
        }
        let version = found
            .as_deref()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| v.get("schema_version")?.as_u64());
        match version {
            Some(v) if v <= SCHEMA_VERSION => Ok(()),
            Some(v) => Err(self
                .err(
                    "refused",
                    format!("the table {} has schema version {v}; this build reads up to {SCHEMA_VERSION}", self.table),
                )
                .with_hint("upgrade zoho-oauth on this host, or give this build a table of its own with ?table=")),
            None => Err(self
                .err("refused", format!("the table {} has no readable schema version row", self.table))
                .with_hint("the table belongs to something else: give the store a table of its own with ?table=")),
        }
    }
}

fn bad_url(why: &str) -> Error {
    Error::config(
        format!("the SQL token store URL is invalid: {why}"),
        "write postgres://user:password@host:5432/db or mysql://user:password@host:3306/db, optionally \
         ?table=zoho_oauth_tokens&timeout_ms=2000&sslmode=require",
    )
}

/// Every store operation (`backend.rs`) on a row locked in a short transaction.
impl RecordBackend for SqlStore {
    /// Read one identity's record without locking it.
    async fn read<'a, T: Send + 'a>(
        &'a self,
        key: &'a StoreKey,
        f: impl FnOnce(Option<&Record>) -> T + Send + 'a,
    ) -> Result<T> {
        self.migrate().await?;
        let q = self.sql.select.as_str();
        let state: Option<String> = self
            .run("read", async {
                with_pool!(self.pool(), p => {
                    sqlx::query(q).bind(key.as_str()).fetch_optional(p).await?.map(|r| r.try_get(0)).transpose()
                })
            })
            .await?;
        Ok(f(state.as_deref().and_then(backend::parse).as_ref()))
    }

    /// Change one identity's record in a transaction that holds its row locked: created when
    /// missing, written back when `f` says it changed. A transaction that lost a deadlock or a
    /// serialization race is run again.
    async fn update<'a, T: Send + 'a>(
        &'a self,
        what: &'static str,
        key: &'a StoreKey,
        f: impl Fn(&mut Record) -> (T, bool) + Send + Sync + 'a,
    ) -> Result<T> {
        self.migrate().await?;
        let fresh = backend::fresh(key);
        let empty = serde_json::to_string(&fresh).map_err(|e| self.err(what, e))?;
        let sql = &self.sql;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = async {
                with_pool!(self.pool(), p => {
                    let mut tx = p.begin().await?;
                    let row = sqlx::query(&sql.lock).bind(key.as_str()).bind(&empty).fetch_optional(&mut *tx).await?;
                    let state: Option<String> = if sql.select_locked.is_empty() {
                        row.map(|r| r.try_get(0)).transpose()?
                    } else {
                        sqlx::query(&sql.select_locked)
                            .bind(key.as_str())
                            .fetch_optional(&mut *tx)
                            .await?
                            .map(|r| r.try_get(0))
                            .transpose()?
                    };
                    let mut rec = state.as_deref().and_then(backend::parse).unwrap_or_else(|| fresh.clone());
                    let (out, changed) = f(&mut rec);
                    if changed {
                        let body = serde_json::to_string(&rec).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                        sqlx::query(&sql.update).bind(body).bind(key.as_str()).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok::<T, sqlx::Error>(out)
                })
            };
            match tokio::time::timeout(self.timeout, tx).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) if attempt < ATTEMPTS && is_retryable(&e) => continue,
                Ok(Err(e)) => return Err(self.err(what, e)),
                Err(_) => return Err(self.err(what, "timed out")),
            }
        }
    }

    async fn records(&self) -> Result<Vec<(String, Record)>> {
        self.migrate().await?;
        let q = self.sql.list.as_str();
        let rows: Vec<(String, String)> = self
            .run("list", async {
                with_pool!(self.pool(), p => {
                    sqlx::query(q)
                        .fetch_all(p)
                        .await?
                        .into_iter()
                        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                        .collect::<std::result::Result<_, sqlx::Error>>()
                })
            })
            .await?;
        Ok(rows.into_iter().filter_map(|(id, state)| Some((id, backend::parse(&state)?))).collect())
    }

    async fn remove(&self, key: &StoreKey) -> Result<bool> {
        self.migrate().await?;
        let q = self.sql.delete.as_str();
        let n = self
            .run("delete", async {
                with_pool!(self.pool(), p => sqlx::query(q).bind(key.as_str()).execute(p).await.map(|r| r.rows_affected()))
            })
            .await?;
        Ok(n > 0)
    }
}
