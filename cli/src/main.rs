//! `zoho-oauth`: Zoho OAuth from the shell, on the same core as the Rust, Python and Node
//! packages.
//!
//! ```sh
//! zoho-oauth demo                                   # the whole thing against the built-in fake Zoho
//! export ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=… ZOHO_DC=eu
//! zoho-oauth exchange --code 1000.abc…              # a self-client grant code from api-console.zoho.com
//! zoho-oauth request GET /crm/v8/Leads --query per_page=5
//! curl -H "Authorization: Zoho-oauthtoken $(zoho-oauth token)" …
//! ```
//!
//! Exit codes: 0 success, 2 usage, 3 configuration, 4 authorization, 5 rate limit or refresh
//! budget, 6 API error (a non-2xx answer), 7 transport or timeout, 8 token store, 1 anything
//! else (for example a failed write to stdout).

mod cmd;
mod config;
mod demo;
mod mockclock;
mod progress;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use zoho_oauth::{Error, ErrorFamily};

use crate::config::{Given, Values};

const EXIT_CODES: &str = "\
Exit codes: 0 success, 2 usage, 3 configuration, 4 authorization, 5 rate limit or refresh budget,
6 API error (non-2xx), 7 transport or timeout, 8 token store, 1 other.

Settings: flags, then ZOHO_* environment variables, then the config file (--config, $ZOHO_CONFIG
or ~/.config/zoho-oauth/config.toml), then defaults (dc us; token store
file://~/.local/share/zoho-oauth/tokens.json). The client secret is never stored.";

/// Zoho OAuth from the shell: exchange codes, log in, keep tokens fresh in a shared store, and
/// call Zoho's APIs. Run `zoho-oauth demo` to see it all against a built-in fake Zoho.
#[derive(Parser)]
#[command(name = "zoho-oauth", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by every command.
#[derive(Args, Clone)]
struct Global {
    /// Config file (TOML).
    #[arg(long, global = true, env = "ZOHO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Client id from api-console.zoho.com.
    #[arg(long, global = true, env = "ZOHO_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    /// Client secret (prefer the environment variable or --client-secret-file: flags show up
    /// in `ps`).
    #[arg(long, global = true, env = "ZOHO_CLIENT_SECRET", hide_env_values = true, value_name = "SECRET")]
    client_secret: Option<String>,
    /// Read the client secret from this file (`-` for stdin); wins over --client-secret.
    #[arg(long, global = true, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// Home data centre: us, eu, in, au, jp, cn, ca, sa, uk.
    #[arg(long, global = true, env = "ZOHO_DC", value_name = "DC")]
    dc: Option<String>,
    /// Token store URL: file:///path/tokens.json, redis://host:6379/0 or memory://.
    #[arg(long = "store", global = true, env = "ZOHO_TOKEN_STORE", value_name = "URL")]
    token_store: Option<String>,
    /// Accounts server override (a proxy, or the fake Zoho on loopback).
    #[arg(long, global = true, env = "ZOHO_ACCOUNTS_URL", value_name = "URL")]
    accounts_url: Option<String>,
    /// Base URL of relative paths for every product (overrides the token's api_domain).
    #[arg(long, global = true, env = "ZOHO_API_DOMAIN", value_name = "URL")]
    api_domain: Option<String>,
    /// The Desk organization id, sent as the orgId header to Desk.
    #[arg(long, global = true, env = "ZOHO_ORG_ID", value_name = "ID")]
    org_id: Option<String>,
    /// Which stored identity to use: its label (for example an email) or a prefix of its key.
    #[arg(long, global = true, env = "ZOHO_IDENTITY", value_name = "LABEL|KEY")]
    identity: Option<String>,
    /// Use this refresh token instead of a stored one (it is not stored). Prefer the
    /// environment variable or --refresh-token-file: flags show up in `ps`.
    #[arg(long, global = true, env = "ZOHO_REFRESH_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    refresh_token: Option<String>,
    /// Read the refresh token from this file (`-` for stdin); wins over --refresh-token.
    #[arg(long, global = true, value_name = "FILE")]
    refresh_token_file: Option<PathBuf>,
    /// Log the library's events on stderr (-v info, -vv debug); secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

impl Global {
    /// Replace the secrets given as files (or `-`, stdin) by their contents.
    fn read_secret_files(&mut self) -> Result<(), Error> {
        let stdin_twice = self.client_secret_file.as_deref() == Some(std::path::Path::new("-"))
            && self.refresh_token_file.as_deref() == Some(std::path::Path::new("-"));
        if stdin_twice {
            return Err(Error::config(
                "--client-secret-file and --refresh-token-file both read stdin",
                "give at most one of them as -, the other as a file",
            ));
        }
        if let Some(p) = &self.client_secret_file {
            self.client_secret = Some(read_secret(p, "--client-secret-file")?);
        }
        if let Some(p) = &self.refresh_token_file {
            self.refresh_token = Some(read_secret(p, "--refresh-token-file")?);
        }
        Ok(())
    }

    fn given(&self) -> Given {
        Given {
            config: self.config.clone(),
            values: Values {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                dc: self.dc.clone(),
                token_store: self.token_store.clone(),
                accounts_url: self.accounts_url.clone(),
                api_domain: self.api_domain.clone(),
                org_id: self.org_id.clone(),
            },
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Exchange a self-client grant code (API console → Self Client → Generate Code) and store
    /// the tokens.
    Exchange {
        /// The grant code (single use; valid 3 minutes by default: exchange it at once).
        #[arg(long)]
        code: String,
        /// A label for this identity in the store, for example the user's email.
        #[arg(long)]
        label: Option<String>,
    },
    /// Log in with the server-based flow: a loopback listener receives the redirect.
    Login {
        /// Scopes to ask for (repeatable or comma-separated).
        #[arg(long = "scope", value_delimiter = ',', default_values_t = vec!["ZohoCRM.modules.ALL".to_string()])]
        scopes: Vec<String>,
        /// Port of the loopback listener (register http://127.0.0.1:PORT/callback in the console).
        #[arg(long, default_value_t = 8765)]
        port: u16,
        /// Do not try to open a browser; only print the URL.
        #[arg(long)]
        no_browser: bool,
        /// Give up after this long (for example 5m).
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// A label for this identity in the store.
        #[arg(long)]
        label: Option<String>,
    },
    /// The device flow, for machines without a browser: shows a code to enter elsewhere.
    Device {
        /// Scopes to ask for (repeatable or comma-separated).
        #[arg(long = "scope", value_delimiter = ',', default_values_t = vec!["ZohoCRM.modules.ALL".to_string()])]
        scopes: Vec<String>,
        /// A label for this identity in the store.
        #[arg(long)]
        label: Option<String>,
    },
    /// Print a valid access token (refreshed through the store when needed), for scripts.
    Token,
    /// An authenticated request; pretty JSON on a terminal, raw when piped.
    Request {
        /// GET, POST, PUT, PATCH or DELETE.
        method: String,
        /// A path (relative to the product's base URL) or an absolute Zoho URL.
        path: String,
        /// crm (default), books, desk, mail or campaigns.
        #[arg(long)]
        product: Option<String>,
        /// A JSON body.
        #[arg(long)]
        json: Option<String>,
        /// A header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// A query parameter, `name=value` (repeatable).
        #[arg(long = "query")]
        query: Vec<String>,
        /// Follow CRM pagination and print every record (JSON lines when piped).
        #[arg(long)]
        paginate: bool,
    },
    /// The stored identities: DC, scopes, expiry and refresh budget left (never a secret).
    Status,
    /// Revoke the refresh token at Zoho and forget the identity.
    Revoke,
    /// Import tokens from the official Zoho SDKs' FileStore CSV (no new grant code needed).
    ImportZohoSdk {
        /// The CSV file the SDK's FileStore wrote.
        file: PathBuf,
    },
    /// Manage a token store itself (not the identities in it).
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// Run the fake Zoho on loopback until interrupted (prints its base URL).
    Mock {
        /// Port of the first data centre (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A data centre to serve (repeatable).
        #[arg(long = "serve-dc", default_values_t = vec!["us".to_string()])]
        dcs: Vec<String>,
    },
    /// A narrated tour against the built-in fake Zoho: no credentials, loopback only.
    Demo,
}

/// `zoho-oauth store …`.
#[derive(Subcommand)]
enum StoreCommand {
    /// Create the table of a SQL token store (postgres://… or mysql://…) ahead of first use, for
    /// teams that create schemas before the applications run; idempotent. Refuses a table of a
    /// newer schema version.
    Migrate {
        /// The store URL, for example postgres://admin@db:5432/app?table=zoho_oauth_tokens.
        url: String,
    },
}

/// A secret from a file or, for `-`, from stdin: the first line, trimmed.
fn read_secret(path: &std::path::Path, flag: &str) -> Result<String, Error> {
    use std::io::Read;
    let mut text = String::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text)).map(|_| ())
    };
    read.map_err(|e| {
        Error::config(format!("{flag}: cannot read {}: {e}", path.display()), "pass a readable file, or - for stdin")
    })?;
    let value = text.lines().next().unwrap_or_default().trim().to_string();
    if value.is_empty() {
        return Err(Error::config(format!("{flag}: {} is empty", path.display()), "put the secret on the first line"));
    }
    Ok(value)
}

/// Warn about secrets given as flags: every local user can read them in `ps`.
fn warn_secret_flags(matches: &clap::ArgMatches) {
    for (id, flag, env) in [
        ("client_secret", "--client-secret", "ZOHO_CLIENT_SECRET"),
        ("refresh_token", "--refresh-token", "ZOHO_REFRESH_TOKEN"),
    ] {
        // A global flag is recorded at the level where it was written.
        let mut level = Some(matches);
        while let Some(m) = level {
            if m.try_contains_id(id).unwrap_or(false)
                && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            {
                eprintln!(
                    "warning: {flag} on the command line is visible to other local users (ps, /proc); use {env} or {flag}-file (- for stdin)"
                );
                break;
            }
            level = m.subcommand().map(|(_, sub)| sub);
        }
    }
}

/// The documented exit code of an error.
fn exit_code(e: &Error) -> u8 {
    match e.code().family() {
        ErrorFamily::Config => 3,
        ErrorFamily::Auth => 4,
        ErrorFamily::RateLimit => 5,
        ErrorFamily::Api => 6,
        ErrorFamily::Transport => 7,
        ErrorFamily::Store => 8,
    }
}

/// Print a typed error: its message, Zoho's code, how long to wait, and the hint. Never a
/// stack trace; the core keeps secrets out of every error, and every field that may quote a
/// server is cleaned of terminal escapes.
fn report(e: &Error) {
    use term::clean;
    eprintln!("error: {} ({})", clean(e.message()), e.code());
    if let Some(s) = e.status() {
        eprintln!("  HTTP status: {s}");
    }
    if let Some(z) = e.zoho_code() {
        match e.zoho_message() {
            Some(m) => eprintln!("  Zoho says: {}: {}", clean(z), clean(m)),
            None => eprintln!("  Zoho says: {}", clean(z)),
        }
    }
    if let Some(r) = e.retry_after() {
        eprintln!("  retry after: {} s", r.as_secs_f64().ceil() as u64);
    }
    if let Some(h) = e.hint() {
        eprintln!("hint: {}", clean(h));
    }
}

/// The command's log subscriber: `-v` lines on stderr (colours only on a terminal), filtered
/// by level; the device-flow status layer sees the core's poll events at every level, so the
/// countdown's "last poll" moves even without `-v`.
fn subscriber(verbose: u8, ansi: bool) -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let level = match verbose {
        0 => "warn",
        1 => "zoho_oauth=info",
        _ => "zoho_oauth=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZOHO_LOG").unwrap_or_else(|_| level.into());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    tracing_subscriber::registry().with(fmt.with_filter(filter)).with(progress::DeviceStatus)
}

fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(verbose, std::io::stderr().is_terminal()).try_init();
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    warn_secret_flags(&matches);
    init_logging(cli.global.verbose);
    if let Err(e) = cli.global.read_secret_files() {
        report(&e);
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::run(cli.global, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(cmd::Failure::Zoho(e)) => {
            report(&e);
            ExitCode::from(exit_code(&e))
        }
        Err(cmd::Failure::Usage(e)) => {
            report(&e);
            ExitCode::from(2)
        }
        // The reader went away (`zoho-oauth token | head -c0`): nothing left to say to anyone.
        Err(cmd::Failure::ClosedPipe) => ExitCode::from(1),
        Err(cmd::Failure::Other(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}
