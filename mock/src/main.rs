//! `zoho-mock`: runs the fake Zoho until killed.
//!
//! ```sh
//! zoho-mock --port 0                 # prints the base URL (one line) and serves until SIGTERM
//! zoho-mock --port 0 --dc us --dc eu # one listener per DC; GET /__mock/info lists them all
//! ```

use std::process::ExitCode;

use clap::Parser;
use zoho_mock::{MockConfig, Settings};

/// A faithful fake of Zoho Accounts and the Zoho product APIs, on 127.0.0.1.
#[derive(Parser)]
#[command(name = "zoho-mock", version)]
struct Args {
    /// Port of the first data centre's listener (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A data centre to serve (repeatable; the first is the default user's home).
    #[arg(long = "dc", default_values_t = vec!["us".to_string()])]
    dcs: Vec<String>,
    /// Initial settings as a JSON object, for example '{"legacy_expiry":true}' (see mock/README.md).
    #[arg(long)]
    settings: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut settings = Settings::default();
    if let Some(json) = &args.settings {
        let patch = match serde_json::from_str::<serde_json::Value>(json) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("zoho-mock: --settings is not JSON ({e}); example: '{{\"legacy_expiry\":true}}'");
                return ExitCode::from(2);
            }
        };
        settings = match settings.patched(&patch) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("zoho-mock: bad --settings: {e}");
                return ExitCode::from(2);
            }
        };
    }
    let config = MockConfig { dcs: args.dcs, port: args.port, settings };
    match zoho_mock::serve_until_signal(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zoho-mock: cannot start: {e}");
            ExitCode::from(2)
        }
    }
}
