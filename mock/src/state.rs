//! Zoho Accounts' bookkeeping: clients, users, grant codes, refresh and access tokens, device
//! codes, limits and the virtual clock. HTTP handlers and the Rust handle both call into here,
//! so the two control surfaces cannot drift apart.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::*;

/// A listener's data centre: its code and base URL.
#[derive(Clone, Debug)]
pub(crate) struct DcInfo {
    pub code: String,
    pub url: String,
}

/// Everything the listeners share.
pub(crate) struct Shared {
    state: Mutex<State>,
    pub dcs: Vec<DcInfo>,
    pub initial_settings: Settings,
    started: Instant,
    started_unix_ms: i64,
    offset_ms: AtomicI64,
}

impl Shared {
    pub fn new(dcs: Vec<DcInfo>, settings: Settings) -> Self {
        let started_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let state = State::new(&dcs, settings.clone());
        Shared {
            state: Mutex::new(state),
            dcs,
            initial_settings: settings,
            started: Instant::now(),
            started_unix_ms,
            offset_ms: AtomicI64::new(0),
        }
    }

    /// Virtual now in Unix milliseconds: real time since start plus every advance.
    pub fn now_ms(&self) -> i64 {
        self.started_unix_ms + self.started.elapsed().as_millis() as i64 + self.offset_ms.load(Ordering::SeqCst)
    }

    pub fn advance_ms(&self, ms: i64) -> i64 {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.now_ms()
    }

    /// Locks the state. A panic in one handler must not take the whole mock down, so a poisoned
    /// lock is recovered: every mutation leaves the state consistent between statements.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn dc_url(&self, code: &str) -> Option<&str> {
        self.dcs.iter().find(|d| d.code == code).map(|d| d.url.as_str())
    }

    pub fn reset(&self) {
        *self.lock() = State::new(&self.dcs, self.initial_settings.clone());
    }
}

pub(crate) struct User {
    pub spec: UserSpec,
    pub crm_org_id: String,
    pub desk_org_ids: Vec<String>,
    pub books_org_ids: Vec<String>,
    pub id: String,
}

struct GrantCode {
    client_id: String,
    user: String,
    dc: String,
    scopes: Vec<String>,
    offline: bool,
    redirect_uri: Option<String>,
    challenge: Option<(String, String)>,
    expires_at: i64,
}

struct RefreshRecord {
    client_id: String,
    user: String,
    dc: String,
    scopes: Vec<String>,
    seq: u64,
    /// When each access token minted from it was issued (for the throttle).
    issued: Vec<i64>,
    /// Live access tokens, oldest first (for eviction).
    live: VecDeque<String>,
}

pub(crate) struct AccessRecord {
    pub refresh: Option<String>,
    pub user: String,
    pub dc: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

enum DeviceStatus {
    Pending,
    Approved(String),
    Denied,
}

struct DeviceRecord {
    client_id: String,
    user_code: String,
    scopes: Vec<String>,
    offline: bool,
    expires_at: i64,
    interval_ms: i64,
    last_poll: Option<i64>,
    status: DeviceStatus,
}

/// A token-endpoint failure: the `error` value (the counter key) and the exact body Zoho sends.
pub(crate) struct TokenError {
    pub error: String,
    pub body: Value,
}

impl TokenError {
    pub fn new(error: &str) -> Self {
        TokenError { error: error.into(), body: json!({ "error": error }) }
    }
}

/// The result of authenticating a product API call.
pub(crate) enum AuthFailure {
    /// No `Authorization` header, or not a Zoho token header.
    Missing,
    /// Unknown, expired, revoked, evicted, or of another DC.
    Invalid,
}

/// Who a product API call runs as.
pub(crate) struct Caller {
    pub user_email: String,
    pub scopes: Vec<String>,
}

pub(crate) struct State {
    pub settings: Settings,
    clients: HashMap<String, ClientSpec>,
    users: BTreeMap<String, User>,
    codes: HashMap<String, GrantCode>,
    code_issues: HashMap<String, Vec<i64>>,
    consents: HashSet<(String, String)>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    pub access_tokens: HashMap<String, AccessRecord>,
    devices: HashMap<String, DeviceRecord>,
    pub faults: Vec<Fault>,
    pub counters: Counters,
    pub crm: BTreeMap<String, (String, Vec<Value>)>,
    pub crm_inflight: HashMap<String, u32>,
    pub crm_credit_log: HashMap<String, VecDeque<i64>>,
    pub desk_tickets: HashMap<String, Vec<Value>>,
    pub books_invoices: HashMap<String, Vec<Value>>,
    seq: u64,
}

/// A random token in Zoho's shape: `1000.<32 hex>.<32 hex>`.
pub(crate) fn zoho_token() -> String {
    let mut rng = rand::rng();
    let a: u128 = rng.random();
    let b: u128 = rng.random();
    format!("1000.{a:032x}.{b:032x}")
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

impl State {
    fn new(dcs: &[DcInfo], settings: Settings) -> Self {
        let first_dc = dcs.first().map(|d| d.code.clone()).unwrap_or_else(|| "us".into());
        let mut st = State {
            settings,
            clients: HashMap::new(),
            users: BTreeMap::new(),
            codes: HashMap::new(),
            code_issues: HashMap::new(),
            consents: HashSet::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            devices: HashMap::new(),
            faults: Vec::new(),
            counters: Counters::default(),
            crm: BTreeMap::new(),
            crm_inflight: HashMap::new(),
            crm_credit_log: HashMap::new(),
            desk_tickets: HashMap::new(),
            books_invoices: HashMap::new(),
            seq: 0,
        };
        st.register_client(ClientSpec::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ClientType::SelfClient));
        // The default user always exists; its DC is one of ours, so registration cannot fail.
        let _ = st.register_user(UserSpec::new(DEFAULT_USER, &first_dc), dcs);
        st.seed_crm("Leads", 5);
        st
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn register_client(&mut self, spec: ClientSpec) {
        self.clients.insert(spec.client_id.clone(), spec);
    }

    pub fn register_user(&mut self, spec: UserSpec, dcs: &[DcInfo]) -> Result<(), String> {
        if !dcs.iter().any(|d| d.code == spec.dc) {
            let known: Vec<_> = dcs.iter().map(|d| d.code.as_str()).collect();
            return Err(format!("user DC {:?} has no listener; this mock serves {known:?}", spec.dc));
        }
        let n = self.users.len() as u64 + 1;
        let crm_org_id = spec.crm_org_id.clone().unwrap_or_else(|| format!("60000000{n}"));
        let desk = if spec.desk_org_ids.is_empty() { vec![format!("70000000{n}")] } else { spec.desk_org_ids.clone() };
        let books =
            if spec.books_org_ids.is_empty() { vec![format!("80000000{n}")] } else { spec.books_org_ids.clone() };
        let id = format!("{}", 4_000_000_000_000_000_000u64 + n);
        self.users.insert(spec.email.clone(), User { spec, crm_org_id, desk_org_ids: desk, books_org_ids: books, id });
        Ok(())
    }

    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.get(email)
    }

    fn resolve_user(&self, user: Option<&str>) -> Result<&User, String> {
        let email = user.unwrap_or(DEFAULT_USER);
        self.users.get(email).ok_or_else(|| format!("unknown user {email:?}; register it with POST /__mock/users"))
    }

    /// Email and id of every user whose CRM org is `org`.
    pub fn users_in_org<'a>(&'a self, org: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.users.values().filter(move |u| u.crm_org_id == org).map(|u| (u.spec.email.as_str(), u.id.as_str()))
    }

    pub fn client(&self, id: &str) -> Option<&ClientSpec> {
        self.clients.get(id)
    }

    /// Mints a grant code. `redirect` and `challenge` are set for codes from `/oauth/v2/auth`.
    pub fn mint_code(
        &mut self,
        req: &MintCode,
        redirect: Option<String>,
        challenge: Option<(String, String)>,
        now: i64,
    ) -> Result<(String, String, u64), String> {
        if !self.clients.contains_key(&req.client_id) {
            return Err(format!("unknown client {:?}", req.client_id));
        }
        if req.scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        let user = self.resolve_user(req.user.as_deref())?;
        let dc = user.spec.dc.clone();
        let email = user.spec.email.clone();
        let ttl = req.ttl_secs.unwrap_or(self.settings.grant_code_ttl_secs);
        let offline = req.access_type.as_deref().is_none_or(|a| a == "offline");
        let code = zoho_token();
        self.codes.insert(
            code.clone(),
            GrantCode {
                client_id: req.client_id.clone(),
                user: email,
                dc: dc.clone(),
                scopes: req.scopes.clone(),
                offline,
                redirect_uri: redirect,
                challenge,
                expires_at: now + ttl as i64 * 1000,
            },
        );
        Ok((code, dc, ttl))
    }

    /// Counts a code issued from `/oauth/v2/auth`; false when the client's window is full.
    pub fn take_code_slot(&mut self, client_id: &str, now: i64) -> bool {
        let window = self.settings.refresh_throttle_window_secs as i64 * 1000;
        let max = self.settings.max_codes_per_window;
        let issues = self.code_issues.entry(client_id.to_string()).or_default();
        issues.retain(|t| now - t < window);
        if issues.len() >= max {
            return false;
        }
        issues.push(now);
        true
    }

    /// Records that `user` consented to `client_id`; true the first time.
    pub fn note_consent(&mut self, client_id: &str, user: &str) -> bool {
        self.consents.insert((client_id.to_string(), user.to_string()))
    }

    /// Mints a refresh token for `user` directly, evicting the user's oldest past the limit.
    pub fn new_refresh_token(&mut self, client_id: &str, user: &str, dc: &str, scopes: Vec<String>) -> String {
        let token = zoho_token();
        let seq = self.next_seq();
        let mut mine: Vec<(u64, String)> = self
            .refresh_tokens
            .iter()
            .filter(|(_, r)| r.client_id == client_id && r.user == user)
            .map(|(k, r)| (r.seq, k.clone()))
            .collect();
        mine.sort();
        let max = self.settings.max_refresh_tokens.max(1);
        while mine.len() >= max {
            let (_, oldest) = mine.remove(0);
            self.remove_refresh_token(&oldest);
        }
        self.refresh_tokens.insert(
            token.clone(),
            RefreshRecord {
                client_id: client_id.into(),
                user: user.into(),
                dc: dc.into(),
                scopes,
                seq,
                issued: Vec::new(),
                live: VecDeque::new(),
            },
        );
        token
    }

    fn remove_refresh_token(&mut self, token: &str) {
        if let Some(rec) = self.refresh_tokens.remove(token) {
            for at in rec.live {
                self.access_tokens.remove(&at);
            }
        }
    }

    /// Mints an access token, counting it against its refresh token's throttle and live limit.
    fn mint_access_token(
        &mut self,
        refresh: Option<&str>,
        user: &str,
        dc: &str,
        scopes: &[String],
        now: i64,
    ) -> String {
        let token = zoho_token();
        let ttl = self.settings.access_token_ttl_secs as i64 * 1000;
        let max_live = self.settings.max_live_access_tokens;
        if let Some(rt) = refresh
            && let Some(rec) = self.refresh_tokens.get_mut(rt)
        {
            rec.issued.push(now);
            rec.live.push_back(token.clone());
            let mut evicted = Vec::new();
            while rec.live.len() > max_live {
                if let Some(old) = rec.live.pop_front() {
                    evicted.push(old);
                }
            }
            for old in evicted {
                self.access_tokens.remove(&old);
            }
        }
        self.access_tokens.insert(
            token.clone(),
            AccessRecord {
                refresh: refresh.map(String::from),
                user: user.into(),
                dc: dc.into(),
                scopes: scopes.to_vec(),
                expires_at: now + ttl,
            },
        );
        token
    }

    fn token_body(&self, access: &str, refresh: Option<&str>, scopes: &[String], api_domain: &str) -> Value {
        let mut body = json!({
            "access_token": access,
            "scope": scopes.join(" "),
            "api_domain": api_domain,
            "token_type": "Bearer",
        });
        let ttl = self.settings.access_token_ttl_secs;
        if self.settings.legacy_expiry {
            body["expires_in_sec"] = json!(ttl);
            body["expires_in"] = json!(ttl * 1000);
        } else {
            body["expires_in"] = json!(ttl);
        }
        if let Some(rt) = refresh {
            body["refresh_token"] = json!(rt);
        }
        body
    }

    /// Checks the client, the DC and the secret, in Zoho's order.
    fn check_client(
        &self,
        dc: &str,
        p: &HashMap<String, String>,
        need_secret: bool,
    ) -> Result<&ClientSpec, TokenError> {
        let id = p.get("client_id").map(String::as_str).unwrap_or("");
        let client =
            self.clients.get(id).filter(|c| c.enabled_in(dc)).ok_or_else(|| TokenError::new("invalid_client"))?;
        if need_secret {
            let given = p.get("client_secret").map(String::as_str).unwrap_or("");
            if client.secret_for(dc) != Some(given) {
                return Err(TokenError::new("invalid_client_secret"));
            }
        }
        Ok(client)
    }

    pub fn exchange_code(&mut self, dc: &DcInfo, p: &HashMap<String, String>, now: i64) -> Result<Value, TokenError> {
        self.check_client(&dc.code, p, true)?;
        let code_value = p.get("code").map(String::as_str).unwrap_or("");
        let client_id = p.get("client_id").cloned().unwrap_or_default();
        let Some(code) = self.codes.get(code_value) else {
            return Err(TokenError::new("invalid_code"));
        };
        if code.client_id != client_id || code.dc != dc.code || code.expires_at <= now {
            return Err(TokenError::new("invalid_code"));
        }
        if let Some(expected) = &code.redirect_uri
            && p.get("redirect_uri") != Some(expected)
        {
            return Err(TokenError::new("invalid_redirect_uri"));
        }
        if let Some((method, challenge)) = &code.challenge {
            let verifier = p.get("code_verifier").map(String::as_str).unwrap_or("");
            let computed = if method == "S256" {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
            } else {
                verifier.to_string()
            };
            if verifier.is_empty() || &computed != challenge {
                return Err(TokenError::new("invalid_code"));
            }
        }
        // Single use: a code that got this far is consumed whatever happens next.
        let Some(code) = self.codes.remove(code_value) else {
            return Err(TokenError::new("invalid_code"));
        };
        let refresh =
            code.offline.then(|| self.new_refresh_token(&client_id, &code.user, &code.dc, code.scopes.clone()));
        let access = self.mint_access_token(refresh.as_deref(), &code.user, &code.dc, &code.scopes, now);
        Ok(self.token_body(&access, refresh.as_deref(), &code.scopes, &dc.url))
    }

    pub fn refresh(&mut self, dc: &DcInfo, p: &HashMap<String, String>, now: i64) -> Result<Value, TokenError> {
        self.check_client(&dc.code, p, true)?;
        let rt = p.get("refresh_token").map(String::as_str).unwrap_or("");
        let client_id = p.get("client_id").map(String::as_str).unwrap_or("");
        let window = self.settings.refresh_throttle_window_secs as i64 * 1000;
        let max = self.settings.refresh_throttle_max;
        let legacy = self.settings.throttle_body == "legacy";
        let Some(rec) = self.refresh_tokens.get_mut(rt) else {
            return Err(TokenError::new("invalid_code"));
        };
        if rec.client_id != client_id || rec.dc != dc.code {
            return Err(TokenError::new("invalid_code"));
        }
        rec.issued.retain(|t| now - t < window);
        if rec.issued.len() >= max {
            let body = if legacy {
                json!({"error_description": "You have made too many requests continuously. Please try again after some time.",
                       "error": "Access Denied", "status": "failure"})
            } else {
                json!({"error_description": "Token creation throttle limit reached. Please reuse the valid tokens you currently have.",
                       "error": "Access Denied"})
            };
            return Err(TokenError { error: "Access Denied".into(), body });
        }
        let (user, rdc, scopes) = (rec.user.clone(), rec.dc.clone(), rec.scopes.clone());
        let access = self.mint_access_token(Some(rt), &user, &rdc, &scopes, now);
        Ok(self.token_body(&access, None, &scopes, &dc.url))
    }

    pub fn client_credentials(
        &mut self,
        dc: &DcInfo,
        p: &HashMap<String, String>,
        now: i64,
    ) -> Result<Value, TokenError> {
        let client = self.check_client(&dc.code, p, true)?;
        if client.client_type != ClientType::SelfClient {
            return Err(TokenError::new("unauthorized_client"));
        }
        let scopes = split_scopes(p.get("scope").map(String::as_str).unwrap_or(""));
        if scopes.is_empty() {
            return Err(TokenError::new("invalid_scope"));
        }
        // Client credentials act as the org's default user of this DC.
        let user = self
            .users
            .values()
            .find(|u| u.spec.dc == dc.code)
            .map(|u| u.spec.email.clone())
            .unwrap_or_else(|| DEFAULT_USER.into());
        let access = self.mint_access_token(None, &user, &dc.code, &scopes, now);
        Ok(self.token_body(&access, None, &scopes, &dc.url))
    }

    /// Revokes a refresh token (and its access tokens) or a single access token.
    pub fn revoke(&mut self, token: &str) -> bool {
        if self.refresh_tokens.contains_key(token) {
            self.remove_refresh_token(token);
            return true;
        }
        if let Some(rec) = self.access_tokens.remove(token) {
            if let Some(rt) = rec.refresh
                && let Some(r) = self.refresh_tokens.get_mut(&rt)
            {
                r.live.retain(|t| t != token);
            }
            return true;
        }
        false
    }

    pub fn device_code(&mut self, dc: &DcInfo, p: &HashMap<String, String>, now: i64) -> Result<Value, TokenError> {
        let client = self.check_client(&dc.code, p, false)?;
        if client.client_type != ClientType::Device {
            return Err(TokenError::new("invalid_client"));
        }
        let client_id = client.client_id.clone();
        let scopes = split_scopes(p.get("scope").map(String::as_str).unwrap_or(""));
        if scopes.is_empty() {
            return Err(TokenError::new("invalid_scope"));
        }
        let device_code = zoho_token();
        let mut rng = rand::rng();
        let user_code: String = (0..8)
            .map(|i| if i == 4 { '-' } else { char::from(b"BCDFGHJKLMNPQRSTVWXZ"[rng.random_range(0..20)]) })
            .collect();
        let interval = self.settings.device_interval_secs;
        let expires = self.settings.device_expires_secs;
        self.devices.insert(
            device_code.clone(),
            DeviceRecord {
                client_id,
                user_code: user_code.clone(),
                scopes,
                offline: p.get("access_type").map(String::as_str) == Some("offline"),
                expires_at: now + expires as i64 * 1000,
                interval_ms: interval as i64 * 1000,
                last_poll: None,
                status: DeviceStatus::Pending,
            },
        );
        let verification_url = format!("{}/oauth/v3/device", dc.url);
        let mut body = json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_url": verification_url,
        });
        if self.settings.device_units == "ms" {
            body["expires_in"] = json!(expires * 1000);
            body["interval"] = json!(interval * 1000);
            body["verification_uri_complete"] = json!(format!("{verification_url}?user_code={user_code}"));
        } else {
            body["expires_in"] = json!(expires);
            body["interval"] = json!(interval);
        }
        Ok(body)
    }

    pub fn device_poll(&mut self, dc: &DcInfo, p: &HashMap<String, String>, now: i64) -> Result<Value, TokenError> {
        self.check_client(&dc.code, p, true)?;
        let code = p.get("code").map(String::as_str).unwrap_or("").to_string();
        let client_id = p.get("client_id").cloned().unwrap_or_default();
        let other_dc_field = self.settings.other_dc_field.clone();
        let Some(rec) = self.devices.get_mut(&code).filter(|r| r.client_id == client_id) else {
            return Err(TokenError::new("invalid_code"));
        };
        if rec.expires_at <= now {
            return Err(TokenError::new("expired"));
        }
        let too_soon = rec.last_poll.is_some_and(|last| now - last < rec.interval_ms);
        rec.last_poll = Some(now);
        if too_soon {
            return Err(TokenError::new("slow_down"));
        }
        let user = match &rec.status {
            DeviceStatus::Pending => return Err(TokenError::new("authorization_pending")),
            DeviceStatus::Denied => return Err(TokenError::new("access_denied")),
            DeviceStatus::Approved(user) => user.clone(),
        };
        let user_dc = self.users.get(&user).map(|u| u.spec.dc.clone()).unwrap_or_default();
        if user_dc != dc.code {
            let mut body = json!({ "error": "other_dc" });
            body[other_dc_field.as_str()] = json!(user_dc);
            return Err(TokenError { error: "other_dc".into(), body });
        }
        let Some(rec) = self.devices.remove(&code) else {
            return Err(TokenError::new("invalid_code"));
        };
        let refresh = rec.offline.then(|| self.new_refresh_token(&client_id, &user, &user_dc, rec.scopes.clone()));
        let access = self.mint_access_token(refresh.as_deref(), &user, &user_dc, &rec.scopes, now);
        Ok(self.token_body(&access, refresh.as_deref(), &rec.scopes, &dc.url))
    }

    pub fn approve_device(&mut self, user_code: &str, user: Option<&str>, deny: bool) -> Result<(), String> {
        let email = self.resolve_user(user)?.spec.email.clone();
        let rec = self
            .devices
            .values_mut()
            .find(|r| r.user_code.eq_ignore_ascii_case(user_code))
            .ok_or_else(|| format!("no pending device authorization with user code {user_code:?}"))?;
        rec.status = if deny { DeviceStatus::Denied } else { DeviceStatus::Approved(email) };
        Ok(())
    }

    pub fn mint_refresh(&mut self, req: &MintCode) -> Result<(String, String), String> {
        if !self.clients.contains_key(&req.client_id) {
            return Err(format!("unknown client {:?}", req.client_id));
        }
        if req.scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        let user = self.resolve_user(req.user.as_deref())?;
        let (email, dc) = (user.spec.email.clone(), user.spec.dc.clone());
        let token = self.new_refresh_token(&req.client_id, &email, &dc, req.scopes.clone());
        Ok((token, dc))
    }

    /// Authenticates a product API call made to the listener of `dc`.
    pub fn authenticate(&self, dc: &str, header: Option<&str>, now: i64) -> Result<Caller, AuthFailure> {
        let header = header.ok_or(AuthFailure::Missing)?;
        let token = header
            .strip_prefix("Zoho-oauthtoken ")
            .or_else(|| header.strip_prefix("Bearer "))
            .ok_or(AuthFailure::Missing)?
            .trim();
        let rec = self.access_tokens.get(token).ok_or(AuthFailure::Invalid)?;
        if rec.expires_at <= now || rec.dc != dc {
            return Err(AuthFailure::Invalid);
        }
        Ok(Caller { user_email: rec.user.clone(), scopes: rec.scopes.clone() })
    }

    pub fn seed_crm(&mut self, module: &str, count: usize) {
        let base = 5_000_000_000_000_000_000u64;
        let records = (1..=count)
            .map(|i| {
                json!({
                    "id": format!("{}", base + i as u64),
                    "Last_Name": format!("Record {i}"),
                    "First_Name": "Mock",
                    "Email": format!("record{i}@example.com"),
                    "Company": "Zylker",
                })
            })
            .collect();
        self.crm.insert(module.to_ascii_lowercase(), (module.to_string(), records));
    }
}

/// Whether granted scopes allow `op` on `service.area[.sub]`. `ALL` grants every operation,
/// `Service.area.OP` covers every sub-area, `Service.fullaccess.ALL` covers the whole service.
pub(crate) fn scope_allows(granted: &[String], service: &str, area: &str, sub: Option<&str>, op: &str) -> bool {
    granted.iter().any(|g| {
        let parts: Vec<&str> = g.split('.').collect();
        let op_ok = |o: &str| o.eq_ignore_ascii_case("ALL") || o.eq_ignore_ascii_case(op);
        match parts.as_slice() {
            [s, a, o] if s.eq_ignore_ascii_case(service) => {
                (a.eq_ignore_ascii_case(area) && op_ok(o)) || (a.eq_ignore_ascii_case("fullaccess") && op_ok(o))
            }
            [s, a, b, o] if s.eq_ignore_ascii_case(service) => {
                a.eq_ignore_ascii_case(area) && sub.is_some_and(|x| x.eq_ignore_ascii_case(b)) && op_ok(o)
            }
            _ => false,
        }
    })
}

/// The operation a method needs in Zoho's scope grammar.
pub(crate) fn op_for(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => "READ",
        "POST" => "CREATE",
        "PUT" | "PATCH" => "UPDATE",
        "DELETE" => "DELETE",
        _ => "ALL",
    }
}

/// Formats virtual Unix milliseconds as RFC 3339, as Zoho's `Created_Time` and expiry fields are.
pub(crate) fn iso(ms: i64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scope_grammar() {
        assert!(scope_allows(&s(&["ZohoCRM.modules.ALL"]), "ZohoCRM", "modules", Some("leads"), "READ"));
        assert!(scope_allows(&s(&["ZohoCRM.modules.READ"]), "ZohoCRM", "modules", Some("leads"), "READ"));
        assert!(!scope_allows(&s(&["ZohoCRM.modules.READ"]), "ZohoCRM", "modules", Some("leads"), "CREATE"));
        assert!(scope_allows(&s(&["ZohoCRM.modules.leads.ALL"]), "ZohoCRM", "modules", Some("Leads"), "CREATE"));
        assert!(!scope_allows(&s(&["ZohoCRM.modules.leads.ALL"]), "ZohoCRM", "modules", Some("contacts"), "READ"));
        assert!(!scope_allows(&s(&["ZohoCRM.users.READ"]), "ZohoCRM", "modules", Some("leads"), "READ"));
        assert!(scope_allows(&s(&["ZohoBooks.fullaccess.all"]), "ZohoBooks", "invoices", None, "CREATE"));
        assert!(!scope_allows(&s(&["Desk.tickets.READ"]), "ZohoBooks", "invoices", None, "READ"));
    }

    #[test]
    fn iso_is_rfc3339() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }
}
