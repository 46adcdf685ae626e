//! `redis://host:port/db` (and `rediss://` over rustls): one store for a fleet of hosts; also
//! `redis+cluster://host:port[,host:port…]` (Redis Cluster, `rediss+cluster://` with TLS) and
//! `redis+sentinel://host:port[,host:port…]/service[/db]` (the master a Sentinel group names).
//!
//! Per identity `K` (the [`StoreKey`] id) and prefix `P` (default `zoho-oauth:`), with the
//! identity in braces (a hash tag) so a Redis Cluster keeps an identity's keys in one slot and
//! every script below runs unchanged on one node:
//!
//! | key | holds |
//! | --- | --- |
//! | `P{K}:token` | the cached access token (JSON), expiring with it |
//! | `P{K}:tfence` | the fencing number the cached token was written under |
//! | `P{K}:lease` | the refresh lease: `SET NX PX` with the holder's random id |
//! | `P{K}:fence` | the fencing counter, incremented with every lease taken |
//! | `P{K}:refreshes` | the refresh times (sorted set), for the shared budget |
//! | `P{K}:cooldown` | the end of an `Access Denied` cooldown |
//! | `P{K}:backoff` | the failure backoff after a failed refresh (JSON), cleared by a success |
//! | `P{K}:meta` | client id, accounts server, label, and the refresh token only when asked |
//!
//! Every read-compare-write is one Lua script, so it is atomic: the lease is released by
//! compare-and-delete, a token is written only under a fence at least as new as the cached
//! one's, and an access token is invalidated only if it is still the rejected one.
//!
//! In a cluster the client library follows `MOVED`/`ASK` redirections and a master failover
//! (it refreshes the slot map); listing asks every master (`KEYS`, routed to all of them). With
//! Sentinel the store asks the sentinels for the master on first use and again after any
//! failed command, so after a failover it talks to the new master. A failover during a refresh
//! can lose at most the writes the old master had not replicated: the lease (another process
//! may then refresh once more) or the token (the next caller refreshes once more); the fencing
//! counter never goes back below the cached token's fence, so a stale token never overwrites a
//! newer one.
//!
//! When Redis is down or slower than `timeout_ms`, every operation fails with a `store` error
//! (see the module docs of [`crate::store`] for why that cannot cause a refresh storm).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncCommands, Cmd, Pipeline, RedisFuture, Script, Value};
use tokio::sync::Mutex;

use super::record::TokenRecord;
use super::{Backoff, MAX_HISTORY, Snapshot, StoreKey, StoredIdentity, TokenStore, window_ms};
use crate::clock::{BoxFuture, Clock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

const DEFAULT_PREFIX: &str = "zoho-oauth:";
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);
/// Refresh history and cooldown keys outlive any budget window by far, then expire.
const AUX_TTL_MS: i64 = 24 * 3600 * 1000;

const PUT: &str = r"
local f = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = tonumber(ARGV[2])
if n > 0 and n < f then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[6])
redis.call('HSET', KEYS[3], 'client_id', ARGV[4], 'accounts_server', ARGV[5])
return 1";

const INVALIDATE: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, t = pcall(cjson.decode, v)
if ok and type(t) == 'table' and t.access_token == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0";

const LEASE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local n = redis.call('INCR', KEYS[2])
local t = tonumber(redis.call('GET', KEYS[3]) or '0')
if n <= t then
  n = t + 1
  redis.call('SET', KEYS[2], n)
end
return n";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

const RECORD: &str = r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], 'client_id', ARGV[6], 'accounts_server', ARGV[7])
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf')";

/// Where the store's Redis is.
enum Target {
    Single(redis::Client),
    Cluster(ClusterClient),
    /// Asked for the current master on (re)connect.
    Sentinel(Mutex<SentinelClient>),
}

/// A connection to whichever Redis the URL names; every command goes through it.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(MultiplexedConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
        }
    }
}

/// A token store in Redis, shared by every host that points at the same server (cluster,
/// sentinel group) and prefix.
pub struct RedisStore {
    target: Target,
    prefix: String,
    timeout: Duration,
    /// Connected on first use (opening a store does no I/O). A single server's and a cluster's
    /// connection reconnect by themselves; a Sentinel master's is dropped after a failed
    /// command, so the next one asks the sentinels again.
    conn: Mutex<Option<Conn>>,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("url", &self.shown).field("prefix", &self.prefix).finish()
    }
}

fn hint() -> &'static str {
    "check that Redis is running and reachable at the token store URL; clients with a fresh cached token keep working meanwhile"
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::config(
        format!("the Redis token store URL is invalid: {why}"),
        "write redis://host:6379/0, redis+cluster://host:7000,host:7001 or redis+sentinel://host:26379/mymaster, \
         optionally ?prefix=myapp:&timeout_ms=2000",
    )
}

/// A `redis+cluster://` or `redis+sentinel://` URL taken apart: its several `host:port`s, and
/// the same URL with only the first host (for the url crate to read credentials, path and query).
struct MultiHost {
    tls: bool,
    hosts: Vec<String>,
    single: url::Url,
    shown: String,
}

fn split_hosts(url: &str, default_port: u16) -> Result<MultiHost> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("it has no scheme://"))?;
    let tls = scheme.to_ascii_lowercase().starts_with("rediss");
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let hosts: Vec<String> = hostlist
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| if h.contains(':') { h.to_string() } else { format!("{h}:{default_port}") })
        .collect();
    if hosts.is_empty() {
        return Err(bad("it names no host"));
    }
    let creds = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    let single = url::Url::parse(&format!("redis://{creds}{}{tail}", hosts[0])).map_err(bad)?;
    let shown_creds = match userinfo.map(|u| u.split_once(':')) {
        Some(Some((user, _))) => format!("{user}:***@"),
        Some(None) => creds.clone(),
        None => String::new(),
    };
    let shown = format!("{scheme}://{shown_creds}{hostlist}{tail}");
    Ok(MultiHost { tls, hosts, single, shown })
}

/// The `prefix` and `timeout_ms` options of `parsed`, removed from it.
fn take_options(parsed: &mut url::Url) -> Result<(String, Duration)> {
    let mut prefix = DEFAULT_PREFIX.to_string();
    let mut timeout = DEFAULT_TIMEOUT;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "prefix" => prefix = v.into_owned(),
            "timeout_ms" => {
                let ms: u64 =
                    v.parse().ok().filter(|ms| *ms > 0).ok_or_else(|| bad("timeout_ms must be a positive integer"))?;
                timeout = Duration::from_millis(ms);
            }
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((prefix, timeout))
}

/// A percent-encoded user or password from a URL, decoded (`+` stays `+`).
fn decoded(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl RedisStore {
    /// A store from `redis://[user:password@]host:port/db?prefix=…&timeout_ms=…` (or
    /// `rediss://`), `redis+cluster://[user:password@]host:port[,host:port…][?…]` (or
    /// `rediss+cluster://`), or `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db][?…]`
    /// (the user and password are the Redis servers'; the sentinels are asked without).
    pub fn from_url(url: &str) -> Result<Self> {
        let url = url.trim();
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        let conn = Mutex::new(None);
        match scheme.as_str() {
            "redis+cluster" | "rediss+cluster" => {
                let MultiHost { tls, hosts, mut single, shown } = split_hosts(url, 6379)?;
                let (prefix, timeout) = take_options(&mut single)?;
                let scheme = if tls { "rediss" } else { "redis" };
                let nodes: Vec<String> = hosts.iter().map(|h| format!("{scheme}://{h}")).collect();
                let mut b = ClusterClient::builder(nodes).connection_timeout(timeout).response_timeout(timeout);
                if !single.username().is_empty() {
                    b = b.username(decoded(single.username()));
                }
                if let Some(p) = single.password() {
                    b = b.password(decoded(p));
                }
                let client = b.build().map_err(bad)?;
                Ok(RedisStore { target: Target::Cluster(client), prefix, timeout, conn, shown })
            }
            "redis+sentinel" | "rediss+sentinel" => {
                let MultiHost { tls, hosts, mut single, shown } = split_hosts(url, 26379)?;
                let (prefix, timeout) = take_options(&mut single)?;
                let mut path = single.path().trim_matches('/').split('/');
                let service = path
                    .next()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| bad("it names no service: write redis+sentinel://host:26379/mymaster"))?;
                let db: i64 = match path.next() {
                    Some(d) => d.parse().map_err(|_| bad("the database after the service must be a number"))?,
                    None => 0,
                };
                let mut info = redis::RedisConnectionInfo::default().set_db(db);
                if !single.username().is_empty() {
                    info = info.set_username(decoded(single.username()));
                }
                if let Some(p) = single.password() {
                    info = info.set_password(decoded(p));
                }
                let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(info);
                if tls {
                    node = node.set_tls_mode(redis::TlsMode::Secure);
                }
                let scheme = if tls { "rediss" } else { "redis" };
                let sentinels: Vec<String> = hosts.iter().map(|h| format!("{scheme}://{h}")).collect();
                let client =
                    SentinelClient::build(sentinels, service, Some(node), SentinelServerType::Master).map_err(bad)?;
                Ok(RedisStore { target: Target::Sentinel(Mutex::new(client)), prefix, timeout, conn, shown })
            }
            _ => {
                let mut parsed = url::Url::parse(url).map_err(bad)?;
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(bad("it names no host"));
                }
                let (prefix, timeout) = take_options(&mut parsed)?;
                let shown = crate::redact::masked_url(parsed.as_str());
                let client = redis::Client::open(parsed.as_str()).map_err(bad)?;
                Ok(RedisStore { target: Target::Single(client), prefix, timeout, conn, shown })
            }
        }
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::store(format!("redis token store {}: {what}: {e}", self.shown)).with_hint(hint())
    }

    fn k(&self, key: &str, part: &str) -> String {
        format!("{}{{{key}}}:{part}", self.prefix)
    }

    async fn connect(&self) -> redis::RedisResult<Conn> {
        match &self.target {
            Target::Single(client) => {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                Ok(Conn::Single(ConnectionManager::new_with_config(client.clone(), cfg).await?))
            }
            Target::Cluster(client) => Ok(Conn::Cluster(client.get_async_connection().await?)),
            Target::Sentinel(sentinel) => {
                let master = sentinel.lock().await.async_get_client().await?;
                let cfg = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout));
                Ok(Conn::Sentinel(master.get_multiplexed_async_connection_with_config(&cfg).await?))
            }
        }
    }

    async fn conn(&self) -> Result<Conn> {
        let connected = tokio::time::timeout(self.timeout, async {
            let mut slot = self.conn.lock().await;
            if let Some(c) = slot.as_ref() {
                return Ok(c.clone());
            }
            let c = self.connect().await?;
            *slot = Some(c.clone());
            Ok::<Conn, redis::RedisError>(c)
        })
        .await;
        connected.map_err(|_| self.err("connect", "timed out"))?.map_err(|e| self.err("connect", &e).with_source(e))
    }

    /// Run one Redis operation with the store's deadline and map failures to `store` errors.
    async fn run<T, F>(&self, what: &str, op: impl FnOnce(Conn) -> F) -> Result<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn().await?;
        let outcome = match tokio::time::timeout(self.timeout, op(conn)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => self.err(what, &e).with_source(e),
            Err(_) => self.err(what, "timed out"),
        };
        if matches!(self.target, Target::Sentinel(_)) {
            // The master may have changed: ask the sentinels again next time.
            *self.conn.lock().await = None;
        }
        Err(outcome)
    }

    async fn put_impl(&self, key: &StoreKey, token: &TokenSet, fence: u64, now_ms: i64) -> Result<bool> {
        let body = serde_json::to_string(&TokenRecord::from_token(token))
            .map_err(|e| Error::store(format!("could not encode the token: {e}")))?;
        // Keep the token a little past its expiry (the client decides what is stale).
        let ttl = (token.expires_at_ms - now_ms).clamp(60_000, AUX_TTL_MS) + 60_000;
        let (tk, fk, mk) =
            (self.k(key.as_str(), "token"), self.k(key.as_str(), "tfence"), self.k(key.as_str(), "meta"));
        let written: i64 = self
            .run("put", |mut c| async move {
                Script::new(PUT)
                    .key(tk)
                    .key(fk)
                    .key(mk)
                    .arg(body)
                    .arg(fence)
                    .arg(ttl)
                    .arg(key.client_id())
                    .arg(key.accounts_server())
                    .arg(AUX_TTL_MS)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(written == 1)
    }

    fn parse_times(members: Vec<String>) -> Vec<i64> {
        let mut v: Vec<i64> = members.iter().filter_map(|m| m.split(':').next()?.parse().ok()).collect();
        v.sort_unstable();
        v
    }

    async fn identity(&self, id: &str) -> Result<Option<StoredIdentity>> {
        let (mk, tk, rk, ck, bk) = (
            self.k(id, "meta"),
            self.k(id, "token"),
            self.k(id, "refreshes"),
            self.k(id, "cooldown"),
            self.k(id, "backoff"),
        );
        type Listed =
            (std::collections::HashMap<String, String>, Option<String>, Vec<String>, Option<i64>, Option<String>);
        let (meta, token, refreshes, cooldown, backoff): Listed = self
            .run("list", |mut c| async move {
                redis::pipe().hgetall(mk).get(tk).zrange(rk, 0, -1).get(ck).get(bk).query_async(&mut c).await
            })
            .await?;
        let backoff = parse_backoff(backoff);
        if meta.is_empty() && token.is_none() {
            return Ok(None);
        }
        let token: Option<TokenRecord> = token.and_then(|t| serde_json::from_str(&t).ok());
        let t = token.and_then(|t| t.to_token());
        Ok(Some(StoredIdentity {
            key: StoreKey::from_parts(
                id.to_string(),
                meta.get("accounts_server").cloned().unwrap_or_default(),
                meta.get("client_id").cloned().unwrap_or_default(),
            ),
            label: meta.get("label").cloned(),
            api_domain: t.as_ref().and_then(|t| t.api_domain.clone()),
            scopes: t.as_ref().map(|t| t.scopes.clone()).unwrap_or_default(),
            expires_at_ms: t.as_ref().map(|t| t.expires_at_ms),
            has_refresh_token: meta.contains_key("refresh_token"),
            refreshes: Self::parse_times(refreshes),
            cooldown_until_ms: cooldown,
            backoff_until_ms: backoff.map(|b| b.until_ms),
        }))
    }
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// A stored token value; one this build cannot read is treated as absent (the next refresh
/// replaces it).
fn parse_token(v: Option<String>) -> Option<TokenSet> {
    v.and_then(|s| serde_json::from_str::<TokenRecord>(&s).ok()).and_then(|r| r.to_token())
}

/// A stored backoff value; one this build cannot read is treated as absent.
fn parse_backoff(v: Option<String>) -> Option<Backoff> {
    v.and_then(|s| serde_json::from_str(&s).ok())
}

impl TokenStore for RedisStore {
    fn get<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<TokenSet>>> {
        Box::pin(async move {
            let tk = self.k(key.as_str(), "token");
            let v: Option<String> = self.run("get", |mut c| async move { c.get(tk).await }).await?;
            Ok(parse_token(v))
        })
    }

    fn put<'a>(&'a self, key: &'a StoreKey, token: TokenSet) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.put_impl(key, &token, 0, now_ms()).await.map(|_| ()) })
    }

    fn put_fenced<'a>(&'a self, key: &'a StoreKey, token: TokenSet, fence: u64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move { self.put_impl(key, &token, fence.max(1), now_ms()).await })
    }

    fn invalidate_if<'a>(&'a self, key: &'a StoreKey, rejected: &'a AccessToken) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let tk = self.k(key.as_str(), "token");
            let n: i64 = self
                .run("invalidate", |mut c| async move {
                    Script::new(INVALIDATE).key(tk).arg(rejected.secret()).invoke_async(&mut c).await
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn try_lease<'a>(
        &'a self,
        key: &'a StoreKey,
        holder: &'a str,
        ttl: Duration,
        _now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            let (lk, fk, tfk) =
                (self.k(key.as_str(), "lease"), self.k(key.as_str(), "fence"), self.k(key.as_str(), "tfence"));
            let ttl_ms = window_ms(ttl).max(1);
            let n: i64 = self
                .run("lease", |mut c| async move {
                    Script::new(LEASE).key(lk).key(fk).key(tfk).arg(holder).arg(ttl_ms).invoke_async(&mut c).await
                })
                .await?;
            Ok(u64::try_from(n).ok())
        })
    }

    fn release_lease<'a>(&'a self, key: &'a StoreKey, holder: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let lk = self.k(key.as_str(), "lease");
            let _: i64 =
                self.run("release", |mut c| async move {
                    Script::new(RELEASE).key(lk).arg(holder).invoke_async(&mut c).await
                })
                .await?;
            Ok(())
        })
    }

    fn record_refresh<'a>(
        &'a self,
        key: &'a StoreKey,
        at_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        Box::pin(async move {
            let (rk, mk) = (self.k(key.as_str(), "refreshes"), self.k(key.as_str(), "meta"));
            let from = at_ms.saturating_sub(window_ms(window));
            let members: Vec<String> = self
                .run("record refresh", |mut c| async move {
                    Script::new(RECORD)
                        .key(rk)
                        .key(mk)
                        .arg(at_ms)
                        .arg(from)
                        .arg(rand::random::<u32>())
                        .arg(MAX_HISTORY)
                        .arg(AUX_TTL_MS)
                        .arg(key.client_id())
                        .arg(key.accounts_server())
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            Ok(Self::parse_times(members))
        })
    }

    fn refresh_history<'a>(
        &'a self,
        key: &'a StoreKey,
        now_ms: i64,
        window: Duration,
    ) -> BoxFuture<'a, Result<Vec<i64>>> {
        Box::pin(async move {
            let rk = self.k(key.as_str(), "refreshes");
            let from = format!("({}", now_ms.saturating_sub(window_ms(window)));
            let members: Vec<String> =
                self.run("refresh history", |mut c| async move { c.zrangebyscore(rk, from, "+inf").await }).await?;
            Ok(Self::parse_times(members))
        })
    }

    fn set_cooldown<'a>(&'a self, key: &'a StoreKey, until_ms: i64) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ck = self.k(key.as_str(), "cooldown");
            self.run("set cooldown", |mut c| async move { c.pset_ex(ck, until_ms, AUX_TTL_MS as u64).await }).await
        })
    }

    fn cooldown_until<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            let ck = self.k(key.as_str(), "cooldown");
            self.run("cooldown", |mut c| async move { c.get(ck).await }).await
        })
    }

    fn set_backoff<'a>(&'a self, key: &'a StoreKey, backoff: Backoff) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let bk = self.k(key.as_str(), "backoff");
            let body = serde_json::to_string(&backoff)
                .map_err(|e| Error::store(format!("could not encode the backoff: {e}")))?;
            self.run("set backoff", |mut c| async move { c.pset_ex(bk, body, AUX_TTL_MS as u64).await }).await
        })
    }

    fn backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<Backoff>>> {
        Box::pin(async move {
            let bk = self.k(key.as_str(), "backoff");
            let v: Option<String> = self.run("backoff", |mut c| async move { c.get(bk).await }).await?;
            Ok(parse_backoff(v))
        })
    }

    fn clear_backoff<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let bk = self.k(key.as_str(), "backoff");
            self.run("clear backoff", |mut c| async move { c.del(bk).await }).await
        })
    }

    fn snapshot<'a>(&'a self, key: &'a StoreKey, now_ms: i64, window: Duration) -> BoxFuture<'a, Result<Snapshot>> {
        Box::pin(async move {
            let id = key.as_str();
            let (tk, ck, bk, rk) =
                (self.k(id, "token"), self.k(id, "cooldown"), self.k(id, "backoff"), self.k(id, "refreshes"));
            let from = format!("({}", now_ms.saturating_sub(window_ms(window)));
            let (token, cooldown, backoff, refreshes): (Option<String>, Option<i64>, Option<String>, Vec<String>) =
                self.run("snapshot", |mut c| async move {
                    redis::pipe().get(tk).get(ck).get(bk).zrangebyscore(rk, from, "+inf").query_async(&mut c).await
                })
                .await?;
            Ok(Snapshot {
                token: parse_token(token),
                cooldown_until_ms: cooldown,
                backoff: parse_backoff(backoff),
                refreshes: Self::parse_times(refreshes),
            })
        })
    }

    fn save_refresh_token<'a>(
        &'a self,
        key: &'a StoreKey,
        refresh_token: &'a RefreshToken,
        label: Option<&'a str>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mk = self.k(key.as_str(), "meta");
            let mut fields = vec![
                ("client_id", key.client_id().to_string()),
                ("accounts_server", key.accounts_server().to_string()),
                ("refresh_token", refresh_token.secret().to_string()),
            ];
            if let Some(l) = label {
                fields.push(("label", l.to_string()));
            }
            self.run("save refresh token", |mut c| async move { c.hset_multiple(mk, &fields).await }).await
        })
    }

    fn load_refresh_token<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<RefreshToken>>> {
        Box::pin(async move {
            let mk = self.k(key.as_str(), "meta");
            let v: Option<String> =
                self.run("load refresh token", |mut c| async move { c.hget(mk, "refresh_token").await }).await?;
            Ok(v.map(RefreshToken::new))
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredIdentity>>> {
        Box::pin(async move {
            let pattern = format!("{}{{*}}:meta", self.prefix);
            let cluster = matches!(self.target, Target::Cluster(_));
            let keys: Vec<String> = self
                .run("list", |mut c| async move {
                    if cluster {
                        // SCAN walks one node; KEYS is sent to every master and the answers joined.
                        return c.keys(pattern).await;
                    }
                    let mut it = c.scan_match::<_, String>(pattern).await?;
                    let mut out = Vec::new();
                    while let Some(k) = futures_util::StreamExt::next(&mut it).await {
                        out.push(k?);
                    }
                    Ok(out)
                })
                .await?;
            let mut ids: Vec<String> = keys
                .iter()
                .filter_map(|k| {
                    Some(k.strip_prefix(&self.prefix)?.strip_prefix('{')?.strip_suffix("}:meta")?.to_string())
                })
                .collect();
            ids.sort();
            ids.dedup();
            let mut out = Vec::new();
            for id in ids {
                out.extend(self.identity(&id).await?);
            }
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let id = key.as_str();
            let keys: Vec<String> = ["token", "tfence", "lease", "fence", "refreshes", "cooldown", "backoff", "meta"]
                .iter()
                .map(|p| self.k(id, p))
                .collect();
            let n: i64 = self.run("delete", |mut c| async move { c.del(keys).await }).await?;
            Ok(n > 0)
        })
    }
}
