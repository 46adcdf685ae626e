//! The commands. Each one is a thin use of the core: every OAuth and HTTP decision (exchange,
//! refresh, single flight, budget, retries, allowlist) is the library's, so the command behaves
//! exactly like a Rust, Python or Node program with the same store.

use std::io::{IsTerminal, Write};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use zoho_oauth::{
    AuthorizationRequest, CallbackOptions, Client, ClientConfig, ClientType, DataCenter, DeviceFlowRequest, Error,
    GrantCode, Method, Product, StoredIdentity, TokenSet, TokenStore, import_zoho_sdk_csv, masked_url, open_store,
};

use crate::config::Settings;
use crate::term::{clean, clean_lines};
use crate::{Command, Global, StoreCommand, progress};

/// How a command failed: a typed library error (with its exit code), a usage mistake in the
/// command line (exit 2), stdout closed by the reader (`| head`: exit quietly), or something
/// local.
pub enum Failure {
    Zoho(Error),
    Usage(Error),
    ClosedPipe,
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Zoho(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe { Failure::ClosedPipe } else { Failure::Other(e.to_string()) }
    }
}

/// A mistake in how the command was called (exit 2), with the library's wording and hint.
fn usage(e: Error) -> Failure {
    Failure::Usage(e)
}

type Outcome = std::result::Result<(), Failure>;

pub async fn run(g: Global, command: Command) -> Outcome {
    match command {
        Command::Demo => crate::demo::run().await,
        Command::Mock { port, dcs } => mock(port, dcs).await,
        Command::Status => status(&g.given().resolve()?).await,
        Command::Exchange { code, label } => exchange(&g.given().resolve()?, &code, label.as_deref()).await,
        Command::Login { scopes, port, no_browser, timeout, label } => {
            login(&g.given().resolve()?, &scopes, port, no_browser, timeout, label.as_deref()).await
        }
        Command::Device { scopes, label } => device(&g.given().resolve()?, &scopes, label.as_deref()).await,
        Command::Token => {
            let c = client(&g).await?;
            let token = c.access_token().await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", token.secret())?;
            out.flush()?;
            Ok(())
        }
        Command::Request { method, path, product, json, headers, query, paginate } => {
            let req = RequestArgs { method, path, product, json, headers, query };
            check_request_args(&req)?;
            if paginate && !req.method.eq_ignore_ascii_case("GET") {
                return Err(usage(Error::config("--paginate works with GET only", "drop --paginate, or use GET")));
            }
            let s = g.given().resolve()?;
            let c = client(&g).await?;
            if paginate { paginate_records(&c, &req).await } else { request(&c, &s, &req).await }
        }
        Command::Revoke => {
            let c = client(&g).await?;
            c.revoke().await?;
            c.store().delete(c.store_key()).await?;
            eprintln!("revoked the refresh token and removed {} from the store", c.store_key());
            Ok(())
        }
        Command::ImportZohoSdk { file } => import(&g.given().resolve()?, &file).await,
        Command::Store { action: StoreCommand::Migrate { url } } => migrate(&url).await,
    }
}

/// `store migrate URL`: create a SQL store's table and version row (idempotent); other stores
/// have no schema to create.
async fn migrate(url: &str) -> Outcome {
    let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "postgres" | "postgresql" | "mysql" | "mariadb") {
        open_store(url).map_err(usage)?;
        eprintln!("nothing to migrate: {} needs no schema", masked_url(url));
        return Ok(());
    }
    let store = zoho_oauth::SqlStore::from_url(url).map_err(usage)?;
    store.migrate().await?;
    eprintln!("ready: {} (schema version {})", masked_url(url), zoho_oauth::SCHEMA_VERSION);
    Ok(())
}

fn store_of(s: &Settings) -> Result<Arc<dyn TokenStore>, Error> {
    open_store(&s.token_store)
}

/// Keep freshly obtained tokens: the access token and, because the user asked for it by
/// running this command, the refresh token (the client secret never).
async fn keep(s: &Settings, tokens: &TokenSet, label: Option<&str>, how: &str) -> Outcome {
    let rt = tokens.refresh_token.clone().ok_or_else(|| {
        Error::config(
            format!("{how} gave no refresh token"),
            "ask for offline access (access_type=offline; for a self client, generate the code again) or use prompt=consent",
        )
    })?;
    let app = s.app(ClientType::SelfClient)?;
    let client = Client::builder(app, rt)
        .accounts_server(tokens.accounts_server.clone())
        .token_store_url(&s.token_store)
        .build()?;
    let mut cached = tokens.clone();
    cached.refresh_token = None;
    client.store().put(client.store_key(), cached).await?;
    client.save_refresh_token(label).await?;
    let dc = DataCenter::from_accounts_url(&tokens.accounts_server)
        .map(|d| d.code().to_string())
        .unwrap_or_else(|_| "custom".into());
    eprintln!(
        "stored {} (DC {dc}, scopes {}) in {}",
        clean(label.unwrap_or(client.store_key().as_str())),
        clean(&tokens.scopes.join(" ")),
        masked_url(&s.token_store)
    );
    eprintln!("next: zoho-oauth request GET /crm/v8/Leads --query per_page=5");
    Ok(())
}

async fn exchange(s: &Settings, code: &str, label: Option<&str>) -> Outcome {
    let app = s.app(ClientType::SelfClient)?;
    let tokens = app.exchange_code(&GrantCode::new(code.trim())).await?;
    keep(s, &tokens, label, "the code exchange").await
}

/// The client of the selected identity: `--refresh-token` when given, else the one stored
/// identity of this client id (or the one `--identity` names).
async fn client(g: &Global) -> Result<Client, Failure> {
    let s = g.given().resolve()?;
    let mut b = match &g.refresh_token {
        Some(rt) => ClientConfig {
            app: s.app_config(ClientType::SelfClient)?,
            refresh_token: rt.trim().to_string(),
            token_store: Some(s.token_store.clone()),
            ..ClientConfig::default()
        }
        .builder()?,
        None => {
            let store = store_of(&s)?;
            let id = pick_identity(store.as_ref(), s.client_id()?, g.identity.as_deref()).await?;
            let rt = store.load_refresh_token(&id.key).await?.ok_or_else(|| {
                Error::config("the stored identity has no refresh token", "run zoho-oauth exchange or login again")
            })?;
            Client::builder(s.app(ClientType::SelfClient)?, rt)
                .accounts_server(id.key.accounts_server().to_string())
                .token_store(store)
        }
    };
    if let Some(d) = &s.api_domain {
        b = b.api_domain(d.clone());
    }
    Ok(b.build()?)
}

async fn pick_identity(store: &dyn TokenStore, client_id: &str, wanted: Option<&str>) -> Result<StoredIdentity, Error> {
    let all: Vec<StoredIdentity> =
        store.list().await?.into_iter().filter(|i| i.has_refresh_token && i.key.client_id() == client_id).collect();
    let matching: Vec<&StoredIdentity> = match wanted {
        None => all.iter().collect(),
        Some(w) => all
            .iter()
            .filter(|i| {
                i.label.as_deref() == Some(w)
                    || i.key.as_str().starts_with(w)
                    || i.key.as_str().rsplit(':').next().is_some_and(|h| h.starts_with(w))
            })
            .collect(),
    };
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::config(
            match wanted {
                Some(w) => format!("no stored identity of client {client_id} matches {w:?}"),
                None => format!("no stored identity of client {client_id}"),
            },
            "run zoho-oauth exchange --code … (or login, device, import-zoho-sdk) first, or pass --refresh-token",
        )),
        many => Err(Error::config(
            format!(
                "{} stored identities of client {client_id}: {}",
                many.len(),
                many.iter()
                    .map(|i| i.label.clone().unwrap_or_else(|| i.key.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "choose one with --identity LABEL (or a prefix of its key); zoho-oauth status lists them",
        )),
    }
}

struct RequestArgs {
    method: String,
    path: String,
    product: Option<String>,
    json: Option<String>,
    headers: Vec<String>,
    query: Vec<String>,
}

fn split_pair<'a>(item: &'a str, sep: char, what: &str, example: &str) -> Result<(&'a str, &'a str), Error> {
    item.split_once(sep)
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Error::config(format!("{what} {item:?} has no {sep:?}"), format!("write it as {example}")))
}

/// Check the command line of `request` before anything else: a mistake there is a usage
/// error (exit 2), not a configuration one.
fn check_request_args(a: &RequestArgs) -> Result<(Method, Product), Failure> {
    let method = zoho_oauth::config::method(&a.method).map_err(usage)?;
    let product = match &a.product {
        Some(p) => Product::from_str(p).map_err(usage)?,
        None => Product::Crm,
    };
    for q in &a.query {
        split_pair(q, '=', "query parameter", "--query per_page=5").map_err(usage)?;
    }
    for h in &a.headers {
        split_pair(h, ':', "header", "-H 'orgId: 123'").map_err(usage)?;
    }
    if let Some(j) = &a.json
        && let Err(e) = serde_json::from_str::<serde_json::Value>(j)
    {
        return Err(usage(Error::config(
            format!("--json is not valid JSON: {e}"),
            "pass one JSON value, quoted for the shell",
        )));
    }
    Ok((method, product))
}

async fn request(c: &Client, s: &Settings, a: &RequestArgs) -> Outcome {
    let (method, product) = check_request_args(a)?;
    let mut req = c.request(method, a.path.clone()).product(product);
    for q in &a.query {
        let (k, v) = split_pair(q, '=', "query parameter", "--query per_page=5")?;
        req = req.query_pair(k, v);
    }
    let mut has_org = false;
    for h in &a.headers {
        let (k, v) = split_pair(h, ':', "header", "-H 'orgId: 123'")?;
        has_org |= k.eq_ignore_ascii_case("orgId");
        req = req.header(k, v);
    }
    if product == Product::Desk
        && !has_org
        && let Some(org) = &s.org_id
    {
        req = req.header("orgId", org.clone());
    }
    if let Some(j) = &a.json {
        req = req.json_str(j);
    }
    let r = req.send().await?;
    let text = r.text();
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or(clean_lines(&text)))?,
            Err(_) => writeln!(out, "{}", clean_lines(&text))?,
        }
    } else {
        out.write_all(text.as_bytes())?;
        // A shell reading the output expects a final newline (`$(…)`, `read`, the prompt).
        if !text.is_empty() && !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    r.error_for_status()?;
    Ok(())
}

async fn paginate_records(c: &Client, a: &RequestArgs) -> Outcome {
    let mut pages = c.paginate(a.path.clone());
    for q in &a.query {
        let (k, v) = split_pair(q, '=', "query parameter", "--query fields=Last_Name").map_err(usage)?;
        pages = pages.query_pair(k, v);
    }
    let tty = std::io::stdout().is_terminal();
    let mut n = 0u64;
    while let Some(record) = pages.next_record().await? {
        let mut out = std::io::stdout().lock();
        if tty {
            writeln!(out, "{}", serde_json::to_string_pretty(&record).unwrap_or_default())?;
        } else {
            writeln!(out, "{record}")?;
        }
        n += 1;
    }
    eprintln!("{n} records");
    Ok(())
}

fn describe_expiry(expires_at_ms: Option<i64>, now_ms: i64) -> String {
    match expires_at_ms {
        None => "none cached".into(),
        Some(at) if at > now_ms => {
            format!("valid, expires in {}", progress::clock(Duration::from_millis((at - now_ms) as u64)))
        }
        Some(at) => format!("expired {} ago", progress::clock(Duration::from_millis((now_ms - at) as u64))),
    }
}

async fn status(s: &Settings) -> Outcome {
    let store = store_of(s)?;
    let ids = store.list().await?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(out, "token store: {}", masked_url(&s.token_store))?;
    if ids.is_empty() {
        writeln!(out, "no stored identities; run zoho-oauth exchange --code … to add one")?;
    }
    for id in &ids {
        let dc = DataCenter::from_accounts_url(id.key.accounts_server())
            .map(|d| d.code().to_string())
            .unwrap_or_else(|_| "custom".into());
        let recent = id.refreshes.iter().filter(|t| **t > now - 600_000).count();
        writeln!(out, "\n{}", clean(id.label.as_deref().unwrap_or("(no label)")))?;
        writeln!(out, "  key             {}", clean(id.key.as_str()))?;
        writeln!(out, "  data centre     {dc} ({})", clean(id.key.accounts_server()))?;
        writeln!(out, "  client id       {}", clean(id.key.client_id()))?;
        let scopes = if id.scopes.is_empty() { "-".into() } else { id.scopes.join(" ") };
        writeln!(out, "  scopes          {}", clean(&scopes))?;
        writeln!(out, "  access token    {}", describe_expiry(id.expires_at_ms, now))?;
        writeln!(out, "  refresh budget  {} of 10 left in the last 10 minutes", 10usize.saturating_sub(recent))?;
        match id.cooldown_until_ms.filter(|c| *c > now) {
            Some(c) => writeln!(
                out,
                "  cooldown        Zoho throttled refreshes; {} left",
                progress::clock(Duration::from_millis((c - now) as u64))
            )?,
            None => writeln!(out, "  cooldown        none")?,
        }
        writeln!(out, "  refresh token   {}", if id.has_refresh_token { "stored" } else { "not stored" })?;
    }
    Ok(())
}

async fn import(s: &Settings, file: &std::path::Path) -> Outcome {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::config(
            format!("cannot read {}: {e}", file.display()),
            "pass the CSV file the Zoho SDK's FileStore wrote",
        )
    })?;
    let rows = import_zoho_sdk_csv(&text)?;
    let server = match &s.accounts_url {
        Some(u) => u.clone(),
        None => s.dc.accounts_server(),
    };
    let store = store_of(s)?;
    for row in &rows {
        row.save_to(store.as_ref(), &server).await?;
        eprintln!("imported {} ({})", row.user_mail.as_deref().unwrap_or("(no email)"), row.client_id);
    }
    eprintln!("{} identities imported into {}; the SDK's file was not changed", rows.len(), masked_url(&s.token_store));
    Ok(())
}

async fn mock(port: u16, dcs: Vec<String>) -> Outcome {
    eprintln!(
        "fake Zoho starting; point the command at it with ZOHO_ACCOUNTS_URL=<the URL below> ZOHO_CLIENT_ID={} ZOHO_CLIENT_SECRET={}",
        zoho_mock::DEFAULT_CLIENT_ID,
        zoho_mock::DEFAULT_CLIENT_SECRET
    );
    eprintln!(
        "mint a grant code: curl -s -XPOST <URL>/__mock/codes -H 'content-type: application/json' -d '{{\"scopes\":[\"ZohoCRM.modules.ALL\"]}}'"
    );
    let config = zoho_mock::MockConfig { dcs, port, settings: zoho_mock::Settings::default() };
    zoho_mock::serve_until_signal(config).await.map_err(|e| Failure::Other(format!("cannot start the fake Zoho: {e}")))
}

/// Open `url` in a browser when one is likely there; the URL is always printed too.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(cmd) = opener {
        let _ = std::process::Command::new(cmd)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

async fn login(
    s: &Settings,
    scopes: &[String],
    port: u16,
    no_browser: bool,
    timeout: Duration,
    label: Option<&str>,
) -> Outcome {
    let app = s.app(ClientType::Server)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        Failure::Zoho(Error::config(
            format!("cannot listen on 127.0.0.1:{port}: {e}"),
            "pick another --port and register http://127.0.0.1:PORT/callback as a redirect URI",
        ))
    })?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let auth = app.authorization_url(&AuthorizationRequest::new(&scope_refs, redirect_uri.clone()))?;

    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let base = redirect_uri.clone();
    let expected_state = auth.state.clone();
    let route = axum::routing::get(move |axum::extract::RawQuery(q): axum::extract::RawQuery| {
        let tx = tx.clone();
        let q = q.unwrap_or_default();
        // Only the redirect carrying this login's state ends the wait; a stray or forged
        // request (another tab, a scanner, a favicon) is ignored, and the login keeps waiting.
        let ours = url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "state" && v == expected_state);
        let url = format!("{base}?{q}");
        async move {
            if !ours {
                return axum::response::Html("<p>zoho-oauth: ignored (not the state this login sent).</p>");
            }
            if let Some(tx) = tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = tx.send(url);
            }
            axum::response::Html("<p>zoho-oauth: you can close this tab and return to the terminal.</p>")
        }
    });
    let server = axum::serve(listener, axum::Router::new().route("/callback", route));
    let server = tokio::spawn(async move { server.await });

    eprintln!("Open this URL to log in (redirect URI {redirect_uri} must be registered for the client):");
    eprintln!("  {}", auth.url);
    if !no_browser {
        open_browser(&auth.url);
    }
    eprintln!("waiting for the redirect (up to {})…", humantime::format_duration(timeout));
    let callback = tokio::time::timeout(timeout, rx).await;
    server.abort();
    let callback = match callback {
        Ok(Ok(url)) => url,
        _ => {
            return Err(Error::config(
                format!("no redirect arrived within {}", humantime::format_duration(timeout)),
                "finish the login in the browser, or pass a longer --timeout",
            )
            .into());
        }
    };
    let opts = CallbackOptions {
        expected_state: Some(auth.state.clone()),
        redirect_uri: Some(redirect_uri),
        code_verifier: auth.code_verifier.clone(),
        skip_state_check: false,
    };
    let tokens = app.handle_callback(&callback, &opts).await?;
    keep(s, &tokens, label, "the login").await
}

async fn device(s: &Settings, scopes: &[String], label: Option<&str>) -> Outcome {
    let app = s.app(ClientType::Device)?;
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let flow = app.start_device_flow(&DeviceFlowRequest::new(&scope_refs)).await?;
    eprintln!("On any device, open {} and enter the code: {}", clean(&flow.verification_url), clean(&flow.user_code));
    if let Some(full) = &flow.verification_url_complete {
        eprintln!("  (or open {})", clean(full));
    }
    let ticker = tokio::spawn(progress::countdown(std::time::Instant::now() + flow.expires_in));
    let result = flow.wait().await;
    ticker.abort();
    eprintln!();
    let tokens = result?;
    keep(s, &tokens, label, "the device flow").await
}
