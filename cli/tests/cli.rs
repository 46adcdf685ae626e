//! The `zoho-oauth` binary against zoho-mock over real HTTP: every command, the exit codes, and
//! that no secret ever reaches stdout or stderr.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use zoho_mock::{ClientSpec, ClientType, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MintCode, MockConfig, MockZoho};
use zoho_oauth::{FileStore, RefreshToken, StoreKey, TokenStore};

const BIN: &str = env!("CARGO_BIN_EXE_zoho-oauth");

struct Env {
    mock: MockZoho,
    dir: PathBuf,
}

impl Env {
    async fn start() -> Env {
        let mock = MockZoho::start(MockConfig::default()).await.expect("mock");
        mock.seed_crm("Leads", 250);
        let dir = std::env::temp_dir().join(format!(
            "zoho-oauth-cli-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        Env { mock, dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("tokens.json")
    }

    /// The command with a clean environment: only what the test sets, HOME in the scratch dir.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", &self.dir);
        c.env("ZOHO_CLIENT_ID", DEFAULT_CLIENT_ID)
            .env("ZOHO_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
            .env("ZOHO_ACCOUNTS_URL", self.mock.base_url())
            .env("ZOHO_API_DOMAIN", self.mock.base_url())
            .env("ZOHO_TOKEN_STORE", format!("file://{}", self.store().display()));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("runs")
    }

    fn code(&self, scopes: &[&str]) -> String {
        self.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, scopes)).expect("code").code
    }
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Exit code, stdout and stderr, and no secret in either.
fn checked(o: Output, secrets: &[&str]) -> (i32, String, String) {
    let (out, err) = text(&o);
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!out.contains(s) && !err.contains(s), "a secret leaked:\n{out}\n{err}");
    }
    (o.status.code().unwrap_or(-1), out, err)
}

/// Make the stored access token of `rt` expired, as if an hour had passed for the command
/// (which reads the wall clock, not the mock's virtual one).
async fn expire_stored_token(env: &Env, rt: &str) -> StoreKey {
    let store = FileStore::new(env.store());
    let key = StoreKey::new(&env.mock.base_url(), DEFAULT_CLIENT_ID, &RefreshToken::new(rt));
    let mut t = store.get(&key).await.expect("get").expect("a stored token");
    t.expires_at_ms = now_ms() - 1_000;
    store.put(&key, t).await.expect("put");
    key
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn refresh_token_in(path: &Path) -> String {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("store")).expect("json");
    let entries = v["entries"].as_object().expect("entries");
    entries.values().find_map(|e| e["refresh_token"].as_str()).expect("a stored refresh token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_status_token_request_paginate_revoke() {
    let env = Env::start().await;
    let code = env.code(&["ZohoCRM.modules.ALL", "Desk.tickets.ALL"]);
    let secrets = [DEFAULT_CLIENT_SECRET, code.as_str()];
    let (rc, out, err) = checked(env.run(&["exchange", "--code", &code, "--label", "me@example.com"]), &secrets);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("stored me@example.com"), "{err}");
    assert!(out.is_empty(), "exchange prints nothing on stdout");
    let rt = refresh_token_in(&env.store());
    let secrets = [DEFAULT_CLIENT_SECRET, rt.as_str()];

    let (rc, out, _) = checked(env.run(&["status"]), &secrets);
    assert_eq!(rc, 0);
    assert!(out.contains("me@example.com") && out.contains("ZohoCRM.modules.ALL"), "{out}");
    assert!(out.contains("valid, expires in") && out.contains("10 of 10 left"), "{out}");
    assert!(out.contains("refresh token   stored"), "{out}");

    // `token` prints the cached access token (the one thing meant for stdout).
    let (rc, token, _) = checked(env.run(&["token"]), &secrets);
    assert_eq!(rc, 0);
    assert!(token.trim().starts_with("1000."), "{token}");
    assert_eq!(env.mock.counters().token_requests_for("refresh_token"), 0, "cached: no refresh");

    // Expired: `token` refreshes through the store, once, and status shows the budget.
    expire_stored_token(&env, &rt).await;
    let (rc, token2, _) = checked(env.run(&["token"]), &secrets);
    assert_eq!(rc, 0);
    assert_ne!(token, token2);
    assert_eq!(env.mock.counters().token_requests_for("refresh_token"), 1);
    let (_, out, _) = checked(env.run(&["status"]), &secrets);
    assert!(out.contains("9 of 10 left"), "{out}");

    // Requests: raw JSON when piped, query, headers, products, pagination.
    let (rc, out, _) = checked(env.run(&["request", "GET", "/crm/v8/Leads", "--query", "per_page=2"]), &secrets);
    assert_eq!(rc, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("raw JSON on a pipe");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert!(out.ends_with('\n'), "piped output ends with a newline");

    let (rc, out, err) = checked(env.run(&["request", "GET", "/crm/v8/Leads", "--paginate"]), &secrets);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out.lines().count(), 250, "one JSON record per line across pages");
    assert!(err.contains("250 records"));

    let ticket = r#"{"subject":"cli","departmentId":"1","contactId":"1"}"#;
    let mut desk = env.cmd(&["request", "POST", "/api/v1/tickets", "--product", "desk", "--json", ticket]);
    desk.env("ZOHO_ORG_ID", "700000001");
    let (rc, out, err) = checked(desk.output().expect("runs"), &secrets);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("\"subject\":\"cli\""), "{out}");

    // A non-2xx answer: the body on stdout, the typed error on stderr, exit code 6.
    let (rc, out, err) = checked(
        env.run(&["request", "POST", "/api/v1/tickets", "--product", "desk", "-H", "orgId: 700000001", "--json", "{}"]),
        &secrets,
    );
    assert_eq!(rc, 6, "{err}");
    assert!(out.contains("UNPROCESSABLE_ENTITY"));
    assert!(err.contains("error:") && err.contains("hint:"), "{err}");

    let (rc, _, err) = checked(env.run(&["revoke"]), &secrets);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(env.mock.counters().revocations, 1);
    let (_, out, _) = checked(env.run(&["status"]), &secrets);
    assert!(out.contains("no stored identities"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_are_distinct_and_errors_carry_hints() {
    let env = Env::start().await;
    let secrets = [DEFAULT_CLIENT_SECRET];

    // Auth: a code Zoho rejects (HTTP 200 with {"error":"invalid_code"}).
    let (rc, _, err) = checked(env.run(&["exchange", "--code", "1000.not-a-real-code"]), &secrets);
    assert_eq!(rc, 4, "{err}");
    assert!(err.contains("invalid_code") && err.contains("hint:"), "{err}");

    // Config: no client id; an unknown product; nothing stored yet.
    let (rc, _, err) = checked(env.cmd(&["token"]).env_remove("ZOHO_CLIENT_ID").output().expect("runs"), &secrets);
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("no client id") && err.contains("ZOHO_CLIENT_ID"), "{err}");
    let (rc, _, err) = checked(env.run(&["token"]), &secrets);
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("zoho-oauth exchange"), "{err}");
    let (rc, _, _) = checked(env.run(&["status", "--dc", "mars"]), &secrets);
    assert_eq!(rc, 3);

    // Store: a foreign file where the store should be; it is left alone.
    std::fs::write(env.store(), "[1, 2, 3]").expect("write");
    let (rc, _, err) = checked(env.run(&["status"]), &secrets);
    assert_eq!(rc, 8, "{err}");
    assert_eq!(std::fs::read_to_string(env.store()).expect("read"), "[1, 2, 3]");
    std::fs::remove_file(env.store()).expect("rm");

    // Transport: nothing listens at the accounts URL.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let (rc, _, err) = checked(
        env.cmd(&["exchange", "--code", "1000.x"])
            .env("ZOHO_ACCOUNTS_URL", format!("http://{dead}"))
            .output()
            .expect("runs"),
        &secrets,
    );
    assert_eq!(rc, 7, "{err}");
    assert!(err.contains(&format!("http://{dead}")), "the transport error names where it went: {err}");

    // Rate limit: the store says ten refreshes happened in the last ten minutes.
    let code = env.code(&["ZohoCRM.modules.ALL"]);
    assert_eq!(checked(env.run(&["exchange", "--code", &code]), &secrets).0, 0);
    let rt = refresh_token_in(&env.store());
    let key = expire_stored_token(&env, &rt).await;
    let store = FileStore::new(env.store());
    for i in 0..10 {
        store.record_refresh(&key, now_ms() - 1_000 * i, Duration::from_secs(600)).await.expect("record");
    }
    let (rc, _, err) = checked(env.run(&["token"]), &[DEFAULT_CLIENT_SECRET, &rt]);
    assert_eq!(rc, 5, "{err}");
    assert!(err.contains("refresh_budget_exhausted") && err.contains("retry after"), "{err}");
    assert_eq!(env.mock.counters().token_requests_for("refresh_token"), 0, "no call to Zoho past the budget");

    // Usage errors are 2, whether clap or the command finds them.
    assert_eq!(env.run(&["request"]).status.code(), Some(2));
    for args in [
        &["request", "FETCH", "/x"][..],
        &["request", "GET", "/x", "--query", "per_page"],
        &["request", "GET", "/x", "-H", "nocolon"],
        &["request", "POST", "/x", "--json", "{"],
        &["request", "GET", "/x", "--product", "creator"],
        &["request", "POST", "/x", "--paginate"],
    ] {
        let (rc, _, err) = checked(env.run(args), &secrets);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(err.contains("hint:"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_cannot_drive_the_terminal_and_a_closed_pipe_is_quiet() {
    let env = Env::start().await;
    let hostile = r#"{"error":"invalid_code","error_description":"\u001b]0;pwned\u0007\u001b[2Kgone\u009b"}"#;
    let mut fault = zoho_mock::Fault::new("/oauth/v2/token", 1);
    fault.body = Some(hostile.to_string());
    env.mock.inject_fault(fault).expect("fault");
    let (rc, _, err) = checked(env.run(&["exchange", "--code", "1000.x"]), &[DEFAULT_CLIENT_SECRET]);
    assert_eq!(rc, 4, "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\u{9b}'), "raw escapes: {err:?}");
    assert!(err.contains("\\x1b]0;pwned"), "shown, escaped: {err}");

    // `token` into a pipe nobody reads: no panic, no backtrace.
    let code = env.code(&["ZohoCRM.modules.ALL"]);
    assert_eq!(checked(env.run(&["exchange", "--code", &code]), &[DEFAULT_CLIENT_SECRET]).0, 0);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = env.cmd(&["token"]).stdout(writer).output().expect("runs");
    let (rc, _, err) = checked(o, &[DEFAULT_CLIENT_SECRET]);
    assert_ne!(rc, 101, "{err}");
    assert!(err.is_empty(), "quiet: {err}");

    // -v logs into a pipe carry no colour codes; an unknown DC names where it came from.
    let (rc, _, err) = checked(env.cmd(&["token", "-vv"]).output().expect("runs"), &[DEFAULT_CLIENT_SECRET]);
    assert_eq!(rc, 0, "{err}");
    assert!(!err.is_empty() && !err.contains('\u{1b}'), "{err:?}");
    let (rc, _, err) = checked(env.cmd(&["status"]).env("ZOHO_DC", "europe").output().expect("runs"), &[]);
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("ZOHO_DC"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_precedence() {
    let env = Env::start().await;
    let cfg = env.dir.join("config.toml");
    std::fs::write(&cfg, format!("client_id = \"{DEFAULT_CLIENT_ID}\"\ndc = \"eu\"\n")).expect("write");
    // The file supplies the client id; the environment (unset here) would win over it.
    let mut c = env.cmd(&["status"]);
    c.env_remove("ZOHO_CLIENT_ID").env("ZOHO_CONFIG", &cfg);
    assert_eq!(c.output().expect("runs").status.code(), Some(0));
    // A flag beats the file: --dc mars is refused although the file says eu.
    let mut c = env.cmd(&["status", "--dc", "mars"]);
    c.env("ZOHO_CONFIG", &cfg);
    assert_eq!(c.output().expect("runs").status.code(), Some(3));
    // A typo in the file is an error, not silently ignored.
    std::fs::write(&cfg, "clientid = \"x\"\n").expect("write");
    let mut c = env.cmd(&["status"]);
    c.env("ZOHO_CONFIG", &cfg);
    let (rc, _, err) = checked(c.output().expect("runs"), &[]);
    assert_eq!(rc, 3);
    assert!(err.contains("config file") && err.contains("keys:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_zoho_sdk_then_use_without_a_new_code() {
    let env = Env::start().await;
    let rt = env
        .mock
        .mint_refresh_token(MintCode::new(DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))
        .expect("rt")
        .refresh_token;
    let csv = env.dir.join("sdk_tokens.csv");
    std::fs::write(
        &csv,
        format!("user_mail,client_id,refresh_token,access_token,grant_token,expiry_time\nsdk@example.com,{DEFAULT_CLIENT_ID},{rt},,,\n"),
    )
    .expect("write");
    let secrets = [DEFAULT_CLIENT_SECRET, rt.as_str()];
    let (rc, _, err) = checked(env.run(&["import-zoho-sdk", csv.to_str().expect("utf8")]), &secrets);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("imported sdk@example.com"), "{err}");
    let (rc, out, _) =
        checked(env.run(&["request", "GET", "/crm/v8/Leads", "--identity", "sdk@example.com"]), &secrets);
    assert_eq!(rc, 0);
    assert!(out.contains("\"data\""));
    assert_eq!(env.mock.counters().token_requests_for("authorization_code"), 0);
}

fn wait_line(reader: &mut impl BufRead, contains: &str) -> String {
    let until = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(Instant::now() < until, "no line with {contains:?}");
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("the command ended before printing {contains:?}");
        }
        if line.contains(contains) {
            return line.trim().to_string();
        }
    }
}

fn finish(mut child: Child) -> i32 {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code().unwrap_or(-1);
        }
        assert!(Instant::now() < until, "the command did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_loopback_redirect() {
    let env = Env::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let mut spec = ClientSpec::new("1000.SERVER", "server-secret", ClientType::Server);
    spec.redirect_uris = vec![format!("http://127.0.0.1:{port}/callback")];
    env.mock.register_client(spec).expect("register");
    let mut child = env
        .cmd(&[
            "login",
            "--port",
            &port.to_string(),
            "--no-browser",
            "--scope",
            "ZohoCRM.modules.ALL",
            "--label",
            "web",
        ])
        .env("ZOHO_CLIENT_ID", "1000.SERVER")
        .env("ZOHO_CLIENT_SECRET", "server-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let url = wait_line(&mut err, "/oauth/v2/auth");
    assert!(url.contains("state=") && url.contains("redirect_uri="), "{url}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
    // A stray or forged request with the wrong state (or none) is answered and ignored: the
    // login keeps waiting for the real redirect instead of aborting.
    for stray in ["code=1000.x&state=forged&location=us", "", "favicon"] {
        let page = http
            .get(format!("http://127.0.0.1:{port}/callback?{stray}"))
            .send()
            .await
            .expect("stray")
            .text()
            .await
            .expect("page");
        assert!(page.contains("ignored"), "{page}");
    }
    // The browser: consent at the mock, which redirects to the command's loopback listener.
    let consent = http.get(&url).send().await.expect("consent");
    assert_eq!(consent.status(), 302);
    let back = consent.headers()["location"].to_str().expect("location").to_string();
    assert!(back.contains("accounts-server="), "{back}");
    let page = http.get(&back).send().await.expect("callback").text().await.expect("page");
    assert!(page.contains("close this tab"));
    let rest: String = err.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert_eq!(finish(child), 0, "{rest}");
    assert!(rest.contains("stored web"), "{rest}");
    assert!(!rest.contains("server-secret"));
    assert_eq!(env.mock.counters().token_requests_for("authorization_code"), 1, "only the real code was exchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_with_countdown_and_approval() {
    let env = Env::start().await;
    env.mock.register_client(ClientSpec::new("1000.DEVICE", "device-secret", ClientType::Device)).expect("register");
    let mut child = env
        .cmd(&["device", "--scope", "ZohoCRM.modules.ALL", "--label", "tv"])
        .env("ZOHO_CLIENT_ID", "1000.DEVICE")
        .env("ZOHO_CLIENT_SECRET", "device-secret")
        .env("ZOHO_MOCK_VIRTUAL_CLOCK", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let line = wait_line(&mut err, "enter the code:");
    let user_code = line.rsplit(' ').next().expect("code").to_string();
    env.mock.approve_device(&user_code, None, false).expect("approve");
    let rest: String = err.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert_eq!(finish(child), 0, "{rest}");
    assert!(rest.contains("waiting for approval") && rest.contains("left"), "a countdown: {rest}");
    assert!(rest.contains("stored tv"), "{rest}");
    assert!(env.mock.counters().device_polls >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_command_serves_until_sigterm() {
    let mut child = Command::new(BIN)
        .args(["mock", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let base = wait_line(&mut out, "http://127.0.0.1:");
    let info = reqwest::get(format!("{base}/__mock/info")).await.expect("info");
    assert_eq!(info.status(), 200);
    // The printed curl line works as printed: it names the JSON content type the route needs.
    let hint = wait_line(&mut err, "mint a grant code");
    assert!(hint.contains("-H 'content-type: application/json'"), "{hint}");
    let minted = reqwest::Client::new()
        .post(format!("{base}/__mock/codes"))
        .header("content-type", "application/json")
        .body(r#"{"scopes":["ZohoCRM.modules.ALL"]}"#)
        .send()
        .await
        .expect("mint");
    assert_eq!(minted.status(), 200);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    assert_eq!(finish(child), 0);
}

#[test]
fn demo_runs_and_checks_itself() {
    let o = Command::new(BIN).arg("demo").env_remove("ZOHO_CLIENT_SECRET").output().expect("runs");
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for step in ["exchanged", "invalid_code", "single flight", "Retry-After", "ticket", "scope_mismatch"] {
        assert!(out.contains(step), "the demo shows {step:?}:\n{out}");
    }
    assert!(!out.contains(DEFAULT_CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_secrets_config_permissions_and_secret_files() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::start().await;
    let secrets = [DEFAULT_CLIENT_SECRET];
    // A config file others may write, holding the secret: refused with the chmod hint.
    let cfg = env.dir.join("loose.toml");
    std::fs::write(&cfg, format!("client_secret = \"{DEFAULT_CLIENT_SECRET}\"\n")).expect("write");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = env.cmd(&["status"]).env_remove("ZOHO_CLIENT_SECRET").env("ZOHO_CONFIG", &cfg).output().expect("runs");
    let (rc, _, err) = checked(out, &secrets);
    assert_eq!(rc, 3, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = env.cmd(&["status"]).env_remove("ZOHO_CLIENT_SECRET").env("ZOHO_CONFIG", &cfg).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));

    // --client-secret on the command line works but warns; a file or stdin does not warn.
    let code = env.code(&["ZohoCRM.modules.ALL"]);
    let out = env
        .cmd(&["exchange", "--code", &code, "--client-secret", DEFAULT_CLIENT_SECRET])
        .env_remove("ZOHO_CLIENT_SECRET")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning: --client-secret on the command line"), "{err}");
    let file = env.dir.join("secret.txt");
    std::fs::write(&file, format!("{DEFAULT_CLIENT_SECRET}\n")).expect("write");
    let code = env.code(&["ZohoCRM.modules.ALL"]);
    let out = env
        .cmd(&["exchange", "--code", &code, "--client-secret-file", file.to_str().expect("utf8")])
        .env_remove("ZOHO_CLIENT_SECRET")
        .output()
        .expect("runs");
    let (rc, _, err) = checked(out, &secrets);
    assert_eq!(rc, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let rt = refresh_token_in(&env.store());
    let mut child = env
        .cmd(&["token", "--refresh-token-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{rt}").expect("write");
    }
    let (rc, out, err) = checked(child.wait_with_output().expect("runs"), &[DEFAULT_CLIENT_SECRET, &rt]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.trim().starts_with("1000."), "{out}");
}

/// `store migrate` creates a SQL store's table ahead (idempotent, password never shown), then the
/// commands use the store by URL; a non-SQL store has nothing to migrate. Skipped when the test
/// command's database servers are not configured, unless `ZOHO_REQUIRE_STORES=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_migrate_then_use_a_sql_store() {
    let env = Env::start().await;
    let (rc, _, err) = checked(env.run(&["store", "migrate", "memory://"]), &[]);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("nothing to migrate"), "{err}");
    for var in ["ZOHO_TEST_POSTGRES_URL", "ZOHO_TEST_MYSQL_URL"] {
        let Some(base) = std::env::var(var).ok().filter(|u| !u.is_empty()) else {
            assert!(std::env::var("ZOHO_REQUIRE_STORES").as_deref() != Ok("1"), "{var} is not set");
            continue;
        };
        let url = format!("{base}?table=cli_{}_{}", std::process::id(), now_ms());
        let password = url::Url::parse(&url).expect("url").password().map(str::to_string).unwrap_or_default();
        for _ in 0..2 {
            let (rc, _, err) = checked(env.run(&["store", "migrate", &url]), &[&password]);
            assert_eq!(rc, 0, "{err}");
            assert!(err.contains("ready:") && err.contains("schema version 1"), "{err}");
        }
        let rt = env
            .mock
            .mint_refresh_token(MintCode::new(DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))
            .expect("rt")
            .refresh_token;
        let secrets = [DEFAULT_CLIENT_SECRET, rt.as_str(), password.as_str()];
        let mut c = env.cmd(&["token", "--refresh-token", &rt]);
        c.env("ZOHO_TOKEN_STORE", &url);
        let (rc, out, err) = checked(c.output().expect("runs"), &secrets[..2]);
        assert_eq!(rc, 0, "{err}");
        let key = StoreKey::new(&env.mock.base_url(), DEFAULT_CLIENT_ID, &RefreshToken::new(rt.clone()));
        let stored = zoho_oauth::open_store(&url).expect("store").get(&key).await.expect("get").expect("stored");
        assert_eq!(stored.access_token.secret(), out.trim(), "the command kept the token in the SQL store");
    }
}
