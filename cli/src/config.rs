//! Where the command's settings come from, in this order (the first that has a value wins):
//!
//! 1. flags (`--client-id`, `--dc`, `--store`, …);
//! 2. `ZOHO_*` environment variables (`ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET`, `ZOHO_DC`,
//!    `ZOHO_TOKEN_STORE`, `ZOHO_ACCOUNTS_URL`, `ZOHO_API_DOMAIN`, `ZOHO_ORG_ID`,
//!    `ZOHO_REFRESH_TOKEN`);
//! 3. the config file: `--config FILE`, else `$ZOHO_CONFIG`, else
//!    `$XDG_CONFIG_HOME/zoho-oauth/config.toml` (`~/.config/zoho-oauth/config.toml`) when it
//!    exists; TOML with the keys `client_id`, `client_secret`, `dc`, `token_store`,
//!    `accounts_url`, `api_domain`, `org_id`;
//! 4. defaults: `dc = "us"`, `token_store = "file://$XDG_DATA_HOME/zoho-oauth/tokens.json"`
//!    (`~/.local/share/zoho-oauth/tokens.json`).
//!
//! Flags 1 and 2 are merged by clap (each flag names its variable); this module adds 3 and 4.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zoho_oauth::{AppConfig, ClientSecret, DataCenter, Error, OAuthApp, Result};

/// The settings one source gives (the config file, or the flags and environment); each may be
/// missing. In a config file, unknown keys are an error, so a typo is not ignored.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub dc: Option<String>,
    pub token_store: Option<String>,
    pub accounts_url: Option<String>,
    pub api_domain: Option<String>,
    pub org_id: Option<String>,
}

/// The settings after every source is merged.
#[derive(Debug)]
pub struct Settings {
    pub client_id: Option<String>,
    pub client_secret: Option<ClientSecret>,
    pub dc: DataCenter,
    pub token_store: String,
    pub accounts_url: Option<String>,
    pub api_domain: Option<String>,
    pub org_id: Option<String>,
}

/// What the flags and environment gave (clap already applied their precedence), and which
/// config file to read.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub config: Option<PathBuf>,
    pub values: Values,
}

fn home_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(fallback)),
    }
}

fn default_config_path() -> Option<PathBuf> {
    home_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("zoho-oauth").join("config.toml"))
}

/// The default token store: a file in the user's data folder.
fn default_store() -> Result<String> {
    let dir = home_dir("XDG_DATA_HOME", ".local/share").ok_or_else(|| {
        Error::config(
            "no default token store: neither XDG_DATA_HOME nor HOME is set",
            "pass --store file:///path/tokens.json",
        )
    })?;
    let path = dir.join("zoho-oauth").join("tokens.json");
    Ok(format!("file://{}", path.display()))
}

fn read_file(path: &Path, explicit: bool) -> Result<Values> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(Values::default()),
        Err(e) => {
            return Err(Error::config(
                format!("cannot read the config file {}: {e}", path.display()),
                "fix the path given with --config or ZOHO_CONFIG",
            ));
        }
    };
    let values: Values = toml::from_str(&text).map_err(|e| {
        Error::config(
            format!("the config file {} is not valid: {}", path.display(), e.message()),
            "keys: client_id, client_secret, dc, token_store, accounts_url, api_domain, org_id (TOML)",
        )
    })?;
    check_permissions(path, &values)?;
    Ok(values)
}

/// Refuse a config file that others may write when it holds a secret or a URL (which could
/// send the secret elsewhere), the way ssh refuses a loose `~/.ssh/config`.
#[cfg(unix)]
fn check_permissions(path: &Path, v: &Values) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let sensitive =
        v.client_secret.is_some() || v.accounts_url.is_some() || v.api_domain.is_some() || v.token_store.is_some();
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0);
    if sensitive && mode & 0o022 != 0 {
        return Err(Error::config(
            format!(
                "the config file {} is writable by group or others (mode {:o}) and holds a secret or a URL",
                path.display(),
                mode & 0o777
            ),
            format!("chmod 600 {}", path.display()),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _v: &Values) -> Result<()> {
    Ok(())
}

impl Given {
    /// Merge with the config file and the defaults.
    pub fn resolve(self) -> Result<Settings> {
        let (path, explicit) = match self.config.clone() {
            Some(p) => (Some(p), true),
            None => (default_config_path(), false),
        };
        let file = match &path {
            Some(p) => read_file(p, explicit)?,
            None => Values::default(),
        };
        let given = self.values;
        let pick = |a: Option<String>, b: Option<String>| a.filter(|v| !v.trim().is_empty()).or(b);
        let dc = match pick(given.dc, file.dc) {
            Some(code) => code.parse::<DataCenter>().map_err(|e| {
                Error::config(
                    format!("{} (from --dc, ZOHO_DC or the config file's dc)", e.message()),
                    e.hint().unwrap_or("use us, eu, in, au, jp, cn, ca, sa or uk"),
                )
            })?,
            None => DataCenter::Us,
        };
        let token_store = match pick(given.token_store, file.token_store) {
            Some(s) => s,
            None => default_store()?,
        };
        Ok(Settings {
            client_id: pick(given.client_id, file.client_id),
            client_secret: pick(given.client_secret, file.client_secret).map(ClientSecret::new),
            dc,
            token_store,
            accounts_url: pick(given.accounts_url, file.accounts_url),
            api_domain: pick(given.api_domain, file.api_domain),
            org_id: pick(given.org_id, file.org_id),
        })
    }
}

impl Settings {
    pub fn client_id(&self) -> Result<&str> {
        self.client_id.as_deref().ok_or_else(|| {
            Error::config(
                "no client id",
                "pass --client-id, export ZOHO_CLIENT_ID, or set client_id in the config file (from api-console.zoho.com)",
            )
        })
    }

    /// The OAuth app of these settings as the core's configuration; the secret is required
    /// for every token request.
    pub fn app_config(&self, client_type: zoho_oauth::ClientType) -> Result<AppConfig> {
        let secret = self.client_secret.clone().ok_or_else(|| {
            Error::config(
                "no client secret",
                "export ZOHO_CLIENT_SECRET (or set client_secret in the config file); it is never stored with the tokens",
            )
        })?;
        let clock = match &self.accounts_url {
            Some(u) if std::env::var("ZOHO_MOCK_VIRTUAL_CLOCK").as_deref() == Ok("1") => {
                Some(std::sync::Arc::new(crate::mockclock::MockHttpClock::new(u))
                    as std::sync::Arc<dyn zoho_oauth::Clock>)
            }
            _ => None,
        };
        Ok(AppConfig {
            client_id: self.client_id()?.to_string(),
            client_secret: Some(secret.secret().to_string()),
            dc: Some(self.dc.code().to_string()),
            client_type: Some(client_type.as_str().to_string()),
            accounts_url: self.accounts_url.clone(),
            clock,
            ..AppConfig::default()
        })
    }

    /// The OAuth app of these settings.
    pub fn app(&self, client_type: zoho_oauth::ClientType) -> Result<OAuthApp> {
        self.app_config(client_type)?.build()
    }
}
