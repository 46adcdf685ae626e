//! Cross-language conformance: every scenario of `tests/conformance/scenarios` through the Rust
//! public API. The schema, the actions and the matcher are described in
//! `tests/conformance/README.md`; the Python and Node runners implement the same few rules, so a
//! scenario that passes here and fails there fails the build.
//!
//! Every scenario is also a secret-leak check: a global `tracing` subscriber records every event
//! of every crate at TRACE, and no event, error (`Display`, `Debug`, body, hint) or `Debug` of a
//! client, app or token set may contain a client secret, refresh token, access token, grant code
//! or PKCE verifier the scenario used or saw.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::MockClock;
use futures_util::future::{BoxFuture, join_all};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use zoho_mock::{MockConfig, MockZoho, Settings};
use zoho_oauth::{
    AppConfig, AuthorizationRequest, Body, CallbackOptions, Client, ClientConfig, ClientType, DataCenter,
    DeviceAuthorization, DeviceFlowRequest, Error, ExchangeRequest, GrantCode, Method, OAuthApp, PkceVerifier,
    RefreshToken, RequestConfig, Response, TokenSet,
};

const DEFAULT_SCOPES: &[&str] = &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"];

type Outcome = std::result::Result<Value, Value>;

struct Runner {
    mock: Arc<MockZoho>,
    clock: Arc<MockClock>,
    dcs: HashMap<String, String>,
    vars: Mutex<Value>,
    clients: Mutex<HashMap<String, Client>>,
    apps: Mutex<HashMap<String, OAuthApp>>,
    flows: Mutex<HashMap<String, DeviceAuthorization>>,
    /// Everything the library printed, checked for secrets.
    shown: Mutex<Vec<String>>,
    secrets: Mutex<BTreeSet<String>>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn secs(v: &Value, k: &str) -> Option<Duration> {
    v.get(k).and_then(Value::as_f64).map(Duration::from_secs_f64)
}

fn dc(code: &str) -> DataCenter {
    DataCenter::from_code(code).expect("known dc")
}

fn lookup(vars: &Value, name: &str) -> Value {
    name.split('.').fold(vars.clone(), |v, part| v.get(part).cloned().unwrap_or(Value::Null))
}

fn error_value(e: &Error) -> Value {
    json!({"code": e.code().as_str(), "status": e.status(), "zoho_code": e.zoho_code(),
           "retry_after": e.retry_after().map(|d| d.as_secs_f64())})
}

impl Runner {
    async fn start(scenario: &Value) -> Runner {
        let m = scenario.get("mock").cloned().unwrap_or(json!({}));
        let settings = Settings::default().patched(m.get("settings").unwrap_or(&json!({}))).expect("settings");
        let dcs = m.get("dcs").map(strings).unwrap_or_else(|| vec!["us".into()]);
        let mock = Arc::new(MockZoho::start(MockConfig { dcs: dcs.clone(), port: 0, settings }).await.expect("mock"));
        let urls: HashMap<String, String> = dcs.iter().map(|d| (d.clone(), mock.url(d).expect("dc url"))).collect();
        let vars = json!({"base": mock.base_url(), "dc": urls});
        Runner {
            clock: MockClock::new(&mock),
            mock,
            dcs: urls,
            vars: Mutex::new(vars),
            clients: Mutex::default(),
            apps: Mutex::default(),
            flows: Mutex::default(),
            shown: Mutex::default(),
            secrets: Mutex::new(BTreeSet::from([zoho_mock::DEFAULT_CLIENT_SECRET.to_string()])),
        }
    }

    fn call(&self, op: &str, body: &Value) -> Value {
        let body = if body.is_null() { String::new() } else { body.to_string() };
        serde_json::from_str(&self.mock.call_json(op, &body).expect("mock control op")).expect("json")
    }

    /// Placeholders: `${name.path}` (a whole string keeps the value's type), `${http_date+N}`.
    fn sub(&self, v: &Value) -> Value {
        match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| self.sub(x)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), self.sub(x))).collect()),
            Value::String(st) if st.contains("${") => {
                if st.starts_with("${") && st.ends_with('}') && st.matches("${").count() == 1 {
                    return self.lookup(&st[2..st.len() - 1]);
                }
                let mut out = String::new();
                let mut rest = st.as_str();
                while let Some(i) = rest.find("${") {
                    let end = rest[i..].find('}').expect("closing brace") + i;
                    out.push_str(&rest[..i]);
                    match self.lookup(&rest[i + 2..end]) {
                        Value::String(x) => out.push_str(&x),
                        other => out.push_str(&other.to_string()),
                    }
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            other => other.clone(),
        }
    }

    fn lookup(&self, name: &str) -> Value {
        if let Some(n) = name.strip_prefix("http_date+") {
            let at = self.mock.now_ms() as u64 + (n.parse::<f64>().expect("seconds") * 1000.0) as u64;
            return Value::String(httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(at)));
        }
        lookup(&self.vars.lock().expect("vars"), name)
    }

    fn home_dc(&self) -> String {
        let base = self.mock.base_url();
        self.dcs.iter().find(|(_, u)| **u == base).map(|(k, _)| k.clone()).expect("home dc")
    }

    fn new_app(&self, a: &Value) -> OAuthApp {
        let ty = match s(a, "client_type").as_deref().unwrap_or("self") {
            "self" => ClientType::SelfClient,
            "server" => ClientType::Server,
            "mobile" => ClientType::Mobile,
            "device" => ClientType::Device,
            other => panic!("client type {other}"),
        };
        let mut b = OAuthApp::builder(s(a, "client_id").unwrap_or(zoho_mock::DEFAULT_CLIENT_ID.into()))
            .client_secret(s(a, "client_secret").unwrap_or(zoho_mock::DEFAULT_CLIENT_SECRET.into()))
            .client_type(ty)
            .dc(dc(&s(a, "dc").unwrap_or_else(|| self.home_dc())))
            .clock(self.clock.clone());
        for (code, url) in &self.dcs {
            b = b.dc_accounts_url(dc(code), url.clone());
        }
        for (code, secret) in a.get("dc_secrets").and_then(Value::as_object).into_iter().flatten() {
            b = b.dc_secret(dc(code), secret.as_str().expect("secret").to_string());
        }
        b.build().expect("app builds")
    }

    fn new_client(&self, c: &Value) -> std::result::Result<Client, Error> {
        let rt = match s(c, "refresh_token") {
            Some(rt) => rt,
            None => {
                let mut body = json!({"scopes": c.get("scopes").cloned().unwrap_or(json!(DEFAULT_SCOPES))});
                if let Some(u) = c.get("user") {
                    body["user"] = u.clone();
                }
                s(&self.call("mint_refresh_token", &body), "refresh_token").expect("refresh token")
            }
        };
        self.secrets.lock().expect("secrets").insert(rt.clone());
        // The scenario's options over the mock's defaults: its self client, the home DC's
        // listener as accounts server, the mock as the base URL of every product.
        let mut o = c.get("options").cloned().unwrap_or(json!({}));
        let home = s(&o, "dc").unwrap_or_else(|| self.home_dc());
        let defaults = json!({
            "client_id": zoho_mock::DEFAULT_CLIENT_ID, "client_secret": zoho_mock::DEFAULT_CLIENT_SECRET,
            "accounts_url": self.dcs[&home], "api_domain": self.mock.base_url(), "refresh_token": rt,
        });
        for (k, v) in defaults.as_object().expect("object") {
            if o.get(k).is_none() {
                o[k] = v.clone();
            }
        }
        let mut config = config_of(&o);
        // The bindings' `timeout` covers API attempts and token requests alike.
        config.app.timeout = config.timeout;
        config.app.clock = Some(self.clock.clone());
        // `ZOHO_CONFORMANCE_STORE`: play every scenario on that shared store (Redis, SQL, a
        // file) instead of the in-process default; identities never collide (every scenario's
        // mock has its own port and refresh tokens).
        if let Some(url) = std::env::var("ZOHO_CONFORMANCE_STORE").ok().filter(|u| !u.is_empty()) {
            config.token_store = Some(url);
        }
        config.build()
    }

    fn show(&self, text: String) {
        self.shown.lock().expect("shown").push(text);
    }

    fn token(&self, t: &TokenSet) -> Value {
        self.show(format!("{t:?}"));
        json!({
            "access_token": t.access_token.secret(),
            "refresh_token": t.refresh_token.as_ref().map(|r| r.secret().to_string()),
            "api_domain": t.api_domain,
            "accounts_server": t.accounts_server,
            "token_type": t.token_type,
            "scopes": t.scopes,
            "expires_in": (t.expires_at_ms - self.mock.now_ms()).div_euclid(1000),
        })
    }

    fn response(r: Response, raise: bool) -> std::result::Result<Value, Error> {
        let r = if raise { r.error_for_status()? } else { r };
        Ok(json!({"status": r.status(), "json": r.json::<Value>().ok(), "text": r.text(),
                  "retry_after": r.retry_after().map(|d| d.as_secs_f64())}))
    }

    fn client(&self, st: &Value) -> Client {
        self.clients.lock().expect("clients")[&s(st, "client").unwrap_or("main".into())].clone()
    }

    fn app(&self, st: &Value) -> OAuthApp {
        self.apps.lock().expect("apps")[&s(st, "app").unwrap_or("app".into())].clone()
    }

    fn act<'a>(&'a self, st: &'a Value) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            self.act_inner(st).await.map_err(|e| {
                self.show(format!("{e} {e:?} {:?} {:?} {:?}", e.body(), e.hint(), e.zoho_message()));
                error_value(&e)
            })
        })
    }

    async fn act_inner(&self, st: &Value) -> std::result::Result<Value, Error> {
        let text = |k: &str| s(st, k).unwrap_or_default();
        Ok(match text("do").as_str() {
            "mock" => self.call(&text("op"), st.get("body").unwrap_or(&Value::Null)),
            "advance_clock" => json!(self.mock.advance_clock(secs(st, "seconds").expect("seconds"))),
            "new_client" => {
                let c = self.new_client(st)?;
                self.show(format!("{c:?}"));
                self.clients.lock().expect("clients").insert(s(st, "name").unwrap_or("main".into()), c);
                Value::Null
            }
            "new_app" => {
                let a = self.new_app(st);
                self.show(format!("{a:?}"));
                self.apps.lock().expect("apps").insert(s(st, "name").unwrap_or("app".into()), a);
                Value::Null
            }
            "access_token" => json!(self.client(st).access_token().await?.secret()),
            "token_set" => {
                let t = self.client(st).token_set().await?;
                self.token(&t)
            }
            "force_refresh" => {
                let t = self.client(st).force_refresh().await?;
                self.token(&t)
            }
            "invalidate" => json!(self.client(st).invalidate(&text("token").into()).await?),
            "revoke" => {
                self.client(st).revoke().await?;
                Value::Null
            }
            "request" => {
                let method = Method::from_bytes(s(st, "method").unwrap_or("GET".into()).as_bytes()).expect("method");
                let mut r = self.client(st).request(method, text("path"));
                for (k, v) in st.get("params").and_then(Value::as_object).into_iter().flatten() {
                    r = r.query_pair(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                }
                for (k, v) in st.get("headers").and_then(Value::as_object).into_iter().flatten() {
                    r = r.header(k, v.as_str().expect("header value"));
                }
                if let Some(p) = s(st, "product") {
                    r = r.product(p.parse()?);
                }
                if let Some(j) = st.get("json") {
                    r = r.json(j);
                }
                if let Some(t) = secs(st, "timeout") {
                    r = r.timeout(t);
                }
                if let Some(n) = st.get("max_retries").and_then(Value::as_u64) {
                    r = r.max_retries(n as u32);
                }
                if st.get("retry_non_idempotent").and_then(Value::as_bool) == Some(true) {
                    r = r.retry_non_idempotent(true);
                }
                Self::response(r.send().await?, st.get("raise").and_then(Value::as_bool).unwrap_or(false))?
            }
            "rate_limits" => {
                let r = self.client(st).rate_limits();
                json!({"credits_remaining": r.credits_remaining, "retry_after": r.retry_after.map(|d| d.as_secs_f64()),
                       "status": r.status})
            }
            "paginate" => {
                let per_page = st.get("per_page").and_then(Value::as_u64).unwrap_or(200) as u32;
                json!({"count": self.client(st).paginate(text("path")).per_page(per_page).collect_all().await?.len()})
            }
            "concurrent" => {
                let n = st.get("n").and_then(Value::as_u64).expect("n") as usize;
                let inner = &st["step"];
                let outs = join_all((0..n).map(|_| self.act(inner))).await;
                let oks: Vec<String> = outs.iter().filter_map(|o| o.as_ref().ok()).map(Value::to_string).collect();
                let mut errors: Vec<String> =
                    outs.iter().filter_map(|o| o.as_ref().err()).filter_map(|e| s(e, "code")).collect();
                errors.sort();
                errors.dedup();
                let distinct: std::collections::HashSet<&String> = oks.iter().collect();
                json!({"ok": oks.len(), "errors": errors, "distinct": distinct.len()})
            }
            "exchange_code" => {
                let req = ExchangeRequest {
                    code: GrantCode::new(text("code")),
                    redirect_uri: s(st, "redirect_uri"),
                    code_verifier: s(st, "code_verifier").map(PkceVerifier::new),
                    accounts_server: s(st, "accounts_server"),
                };
                self.token(&self.app(st).exchange_code_with(&req).await?)
            }
            "refresh" => {
                let server = s(st, "accounts_server");
                self.token(&self.app(st).refresh(&RefreshToken::new(text("refresh_token")), server.as_deref()).await?)
            }
            "app_revoke" => {
                self.app(st).revoke(&RefreshToken::new(text("refresh_token")), None).await?;
                Value::Null
            }
            "client_credentials" => {
                let scopes = strings(&st["scopes"]);
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                self.token(&self.app(st).client_credentials(&scopes, None).await?)
            }
            "authorization_url" => {
                let req = AuthorizationRequest {
                    scopes: strings(&st["scopes"]),
                    redirect_uri: text("redirect_uri"),
                    access_type: s(st, "access_type"),
                    prompt: s(st, "prompt"),
                    state: s(st, "state"),
                    pkce: None,
                };
                let u = self.app(st).authorization_url(&req)?;
                json!({"url": u.url, "state": u.state, "code_verifier": u.code_verifier.map(|v| v.secret().to_string())})
            }
            "consent" => json!(consent(&text("url"), st.get("params")).await),
            "handle_callback" => {
                let opts = CallbackOptions {
                    expected_state: s(st, "expected_state"),
                    redirect_uri: s(st, "redirect_uri"),
                    code_verifier: s(st, "code_verifier").map(PkceVerifier::new),
                    skip_state_check: false,
                };
                self.token(&self.app(st).handle_callback(&text("url"), &opts).await?)
            }
            "start_device_flow" => {
                let req = DeviceFlowRequest {
                    scopes: strings(&st["scopes"]),
                    access_type: s(st, "access_type"),
                    prompt: None,
                };
                let f = self.app(st).start_device_flow(&req).await?;
                let out = json!({"user_code": f.user_code, "verification_url": f.verification_url,
                                 "expires_in": f.expires_in.as_secs_f64(), "interval": f.interval.as_secs_f64()});
                self.flows.lock().expect("flows").insert(s(st, "save").unwrap_or("flow".into()), f);
                out
            }
            "device_wait" => {
                let f = self.flows.lock().expect("flows")[&s(st, "flow").unwrap_or("flow".into())].clone();
                self.token(&f.wait().await?)
            }
            other => panic!("unknown action {other}"),
        })
    }

    async fn run(&self, scenario: &Value) -> std::result::Result<(), String> {
        self.apps.lock().expect("apps").insert("app".into(), self.new_app(&json!({})));
        let main = self.new_client(scenario.get("client").unwrap_or(&json!({}))).map_err(|e| e.to_string())?;
        self.clients.lock().expect("clients").insert("main".into(), main);
        for (i, raw) in scenario["steps"].as_array().expect("steps").iter().enumerate() {
            let st = self.sub(raw);
            collect_secrets(&st, &mut self.secrets.lock().expect("secrets"), "");
            let where_ = format!("step {i} ({})", st["do"]);
            let (before, t0) = (self.mock.now_ms(), Instant::now());
            let out = self.act(&st).await;
            let elapsed_ms = t0.elapsed().as_millis() as f64;
            let advanced = (self.mock.now_ms() - before) as f64 / 1000.0;
            let vars = self.vars.lock().expect("vars").clone();
            let exp = st.get("expect").cloned().unwrap_or(json!({}));
            let check = |want: &Value, got: &Value, what: &str| {
                if matches(want, got, &vars) {
                    Ok(())
                } else {
                    Err(format!("{where_}{what}: expected {want}, got {got}"))
                }
            };
            match (exp.get("error"), &out) {
                (Some(want), Err(got)) => {
                    let want = if want.is_string() { json!({"code": want}) } else { want.clone() };
                    check(&want, got, "")?;
                }
                (Some(want), Ok(got)) => return Err(format!("{where_}: expected error {want}, got {got}")),
                (None, Err(e)) => return Err(format!("{where_}: unexpected error {e}")),
                (None, Ok(got)) => {
                    if let Some(want) = exp.get("result") {
                        check(want, got, "")?;
                    }
                }
            }
            if let Some(want) = exp.get("counters") {
                check(want, &self.call("counters", &Value::Null), " counters")?;
            }
            if let Some(want) = exp.get("clock_advanced") {
                check(want, &json!(advanced), " clock_advanced")?;
            }
            if let Some(max) = exp.get("elapsed_ms_max").and_then(Value::as_f64)
                && elapsed_ms > max
            {
                return Err(format!("{where_}: took {elapsed_ms} ms"));
            }
            let out = out.unwrap_or_else(|e| e);
            collect_secrets(&out, &mut self.secrets.lock().expect("secrets"), "");
            if let Some(name) = s(&st, "save") {
                self.vars.lock().expect("vars")[name] = out;
            }
        }
        Ok(())
    }

    fn check_leaks(&self, events: &[String]) -> std::result::Result<(), String> {
        let secrets = self.secrets.lock().expect("secrets");
        let shown = self.shown.lock().expect("shown");
        for text in shown.iter().chain(events) {
            if let Some(secret) = secrets.iter().filter(|x| x.len() >= 8).find(|x| text.contains(x.as_str())) {
                return Err(format!("the secret {}... leaked into {text}", &secret[..4]));
            }
        }
        Ok(())
    }
}

const SECRET_KEYS: &[&str] = &["access_token", "refresh_token", "client_secret", "code_verifier"];
const GROUPS: &[&str] = &["secrets", "dc_secrets"];

/// Every secret in a step or a result: values of secret-named keys, everything under
/// `secrets`/`dc_secrets`, and anything shaped like a Zoho token or grant code.
fn collect_secrets(v: &Value, out: &mut BTreeSet<String>, key: &str) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_secrets(x, out, key)),
        Value::Object(o) => {
            o.iter().for_each(|(k, x)| collect_secrets(x, out, if GROUPS.contains(&key) { key } else { k }))
        }
        Value::String(x) => {
            let token_shaped = x.strip_prefix("1000.").is_some_and(|r| {
                r.len() >= 16 && r.chars().take(16).all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            });
            if SECRET_KEYS.contains(&key) || GROUPS.contains(&key) || token_shaped {
                out.insert(x.clone());
            }
        }
        _ => {}
    }
}

/// Every `tracing` event of every crate (the core, reqwest, hyper ...), one line each.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("span {} ", span.metadata().target());
        span.record(&mut Line(&mut line));
        self.0.lock().expect("events").push(line);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("span record ");
        values.record(&mut Line(&mut line));
        self.0.lock().expect("events").push(line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("{} ", event.metadata().target());
        event.record(&mut Line(&mut line));
        self.0.lock().expect("events").push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The browser's part: open the authorization URL, return the redirect's Location.
/// A scenario's client options (snake_case JSON) as the core's configuration, over fixed
/// credentials: the Rust runner's mapping is the same one-to-one mapping the bindings make.
fn config_of(o: &Value) -> ClientConfig {
    let num = |k: &str| o.get(k).and_then(Value::as_f64);
    let int = |k: &str| o.get(k).and_then(Value::as_i64);
    let map = |k: &str| -> Vec<(String, String)> {
        o.get(k)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default()
    };
    ClientConfig {
        app: AppConfig {
            client_id: s(o, "client_id").unwrap_or_else(|| CONFIG_CLIENT_ID.into()),
            client_secret: Some(s(o, "client_secret").unwrap_or_else(|| CONFIG_CLIENT_SECRET.into())),
            dc: s(o, "dc"),
            client_type: s(o, "client_type"),
            accounts_url: s(o, "accounts_url"),
            dc_accounts_urls: map("dc_accounts_urls"),
            dc_secrets: map("dc_secrets"),
            ..AppConfig::default()
        },
        refresh_token: s(o, "refresh_token").unwrap_or_else(|| CONFIG_REFRESH_TOKEN.into()),
        token_store: s(o, "token_store"),
        accounts_server: s(o, "accounts_server"),
        api_domain: s(o, "api_domain"),
        allow_hosts: o.get("allow_hosts").map(strings).unwrap_or_default(),
        refresh_margin: num("refresh_margin"),
        refresh_budget: int("refresh_budget"),
        timeout: num("timeout"),
        max_retries: int("max_retries"),
        max_concurrency: int("max_concurrency"),
        max_response_bytes: int("max_response_bytes"),
        ..ClientConfig::default()
    }
}

/// Credentials of the configuration cases (no mock: nothing is sent).
const CONFIG_CLIENT_ID: &str = "1000.CONFORMANCE";
const CONFIG_CLIENT_SECRET: &str = "conformance-secret";
const CONFIG_REFRESH_TOKEN: &str = "1000.conformance-refresh";
const PRODUCTS: [&str; 5] = ["crm", "books", "desk", "mail", "campaigns"];

/// One case of a `"kind": "config"` scenario: the client's resolution, or a request or page
/// size built (never sent), or the error.
fn config_case(case: &Value) -> std::result::Result<Value, Error> {
    let client = config_of(case.get("options").unwrap_or(&json!({}))).build()?;
    if let Some(r) = case.get("request") {
        let mut rc = RequestConfig {
            method: s(r, "method"),
            url: s(r, "path").unwrap_or_default(),
            product: s(r, "product"),
            timeout: r.get("timeout").and_then(Value::as_f64),
            max_retries: r.get("max_retries").and_then(Value::as_i64),
            ..RequestConfig::default()
        };
        if let Some(j) = r.get("json") {
            rc.bodies.push(Body::Json(j.to_string().into_bytes()));
        }
        if let Some(f) = r.get("form").and_then(Value::as_object) {
            rc.bodies
                .push(Body::Form(f.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().into())).collect()));
        }
        rc.request(&client)?;
        return Ok(json!("built"));
    }
    if let Some(p) = case.get("paginate") {
        let n = zoho_oauth::config::per_page("per_page", p["per_page"].as_i64().unwrap_or(200))?;
        let _ = client.paginate(s(p, "path").unwrap_or_default()).per_page(n);
        return Ok(json!("built"));
    }
    let mut hosts = json!({});
    for p in PRODUCTS {
        hosts[p] = json!(client.base_url(p.parse()?));
    }
    Ok(json!({"dc": client.dc().code(), "accounts_server": client.accounts_server(), "api_hosts": hosts}))
}

/// Every case of a configuration scenario; the failures, one line each.
fn run_config(scenario: &Value) -> std::result::Result<(), String> {
    let mut failures = Vec::new();
    for case in scenario["cases"].as_array().expect("cases") {
        let name = s(case, "name").unwrap_or_default();
        let exp = &case["expect"];
        let ok = match (exp.get("error"), config_case(case)) {
            (Some(want), Err(e)) => {
                let want = if want.is_string() { json!({"code": want}) } else { want.clone() };
                matches(&want, &error_value(&e), &json!({})).then_some(()).ok_or_else(|| format!("got error {e}"))
            }
            (Some(want), Ok(got)) => Err(format!("expected error {want}, got {got}")),
            (None, Err(e)) => Err(format!("unexpected error {e}")),
            (None, Ok(got)) => {
                matches(&exp["result"], &got, &json!({})).then_some(()).ok_or_else(|| format!("got {got}"))
            }
        };
        if let Err(e) = ok {
            failures.push(format!("case {name:?}: {e}"));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

async fn consent(url: &str, params: Option<&Value>) -> String {
    let mut url = url.to_string();
    for (k, v) in params.and_then(Value::as_object).into_iter().flatten() {
        url.push_str(&format!("&{k}={}", v.as_str().expect("param")));
    }
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
    let r = http.get(&url).send().await.expect("consent");
    assert_eq!(r.status().as_u16(), 302, "consent");
    r.headers()["location"].to_str().expect("location").to_string()
}

fn matches(want: &Value, got: &Value, vars: &Value) -> bool {
    if let Value::Object(o) = want
        && let Some((op, arg)) = o.iter().next().filter(|(k, _)| k.starts_with('$'))
    {
        return match op.as_str() {
            "$len" => match got {
                Value::Array(a) => Some(a.len() as u64) == arg.as_u64(),
                Value::String(x) => Some(x.len() as u64) == arg.as_u64(),
                _ => false,
            },
            "$between" => got.as_f64().is_some_and(|x| arg[0].as_f64() <= Some(x) && Some(x) <= arg[1].as_f64()),
            "$same" => *got == lookup(vars, arg.as_str().expect("var")),
            "$not" => !matches(arg, got, vars),
            "$contains" => got.as_str().is_some_and(|x| x.contains(arg.as_str().expect("substring"))),
            "$type" => match arg.as_str().expect("type") {
                "any" => !got.is_null(),
                "null" => got.is_null(),
                "string" => got.is_string(),
                "array" => got.is_array(),
                "object" => got.is_object(),
                "number" => got.is_number(),
                "boolean" => got.is_boolean(),
                other => panic!("unknown type {other}"),
            },
            other => panic!("unknown matcher {other}"),
        };
    }
    match want {
        Value::Object(o) => {
            got.is_object()
                && o.iter().all(|(k, v)| {
                    matches(v, got.get(k).unwrap_or(&Value::Null), vars)
                        || (v.as_f64() == Some(0.0) && got.get(k).is_none())
                })
        }
        Value::Array(a) => {
            got.as_array().is_some_and(|g| g.len() == a.len() && a.iter().zip(g).all(|(w, x)| matches(w, x, vars)))
        }
        Value::Number(n) => got.as_f64() == n.as_f64(),
        other => other == got,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_conformance_scenario() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenario dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "at least 40 scenarios");
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).expect("the only subscriber of this test binary");
    let mut failures = Vec::new();
    let mut refresh_events = 0;
    for path in &files {
        let scenario: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("scenario json");
        if let Some(why) = scenario.pointer("/not_in/rust") {
            println!("skipped {}: {why}", path.display());
            continue;
        }
        if scenario["kind"] == "config" {
            if let Err(e) = run_config(&scenario) {
                failures.push(format!("{}: {e}", path.file_name().expect("name").to_string_lossy()));
            }
            continue;
        }
        let runner = Runner::start(&scenario).await;
        let result = runner.run(&scenario).await;
        let events = std::mem::take(&mut *recorder.0.lock().expect("events"));
        refresh_events += events.iter().filter(|e| e.contains("refresh succeeded")).count();
        if let Err(e) = result.and_then(|()| runner.check_leaks(&events)) {
            failures.push(format!("{}: {e}", path.file_name().expect("name").to_string_lossy()));
        }
    }
    assert!(refresh_events > 0, "the core's tracing events were recorded");
    println!("conformance: {} of {} scenarios passed", files.len() - failures.len(), files.len());
    assert!(failures.is_empty(), "{} scenario(s) failed:\n{}", failures.len(), failures.join("\n"));
}
