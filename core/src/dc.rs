//! Zoho data centres: where a user's accounts server, API gateway and product hosts live.
//!
//! The mapping follows zoho-protocol.md sections 1.1, 1.3 and 1.4. Canada is the odd one: its
//! accounts and product hosts are on `zohocloud.ca`, but its API gateway is `www.zohoapis.ca`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A Zoho data centre. Parse one from its short code (`"eu"`) or from an accounts-server URL
/// (`"https://accounts.zoho.eu"`); an unknown one is a `config` error, never a silent default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataCenter {
    /// United States (`accounts.zoho.com`); also the entry point for multi-DC authorization.
    Us,
    /// Europe (`accounts.zoho.eu`).
    Eu,
    /// India (`accounts.zoho.in`).
    In,
    /// Australia (`accounts.zoho.com.au`).
    Au,
    /// Japan (`accounts.zoho.jp`).
    Jp,
    /// China (`accounts.zoho.com.cn`), a separate login system.
    Cn,
    /// Canada (`accounts.zohocloud.ca`, API `www.zohoapis.ca`).
    Ca,
    /// Saudi Arabia (`accounts.zoho.sa`).
    Sa,
    /// United Kingdom (`accounts.zoho.uk`).
    Uk,
}

impl DataCenter {
    /// Every supported data centre.
    pub const ALL: [DataCenter; 9] = [
        DataCenter::Us,
        DataCenter::Eu,
        DataCenter::In,
        DataCenter::Au,
        DataCenter::Jp,
        DataCenter::Cn,
        DataCenter::Ca,
        DataCenter::Sa,
        DataCenter::Uk,
    ];

    /// The short code Zoho uses as `location` (`"us"`, `"eu"` ...).
    pub fn code(self) -> &'static str {
        match self {
            DataCenter::Us => "us",
            DataCenter::Eu => "eu",
            DataCenter::In => "in",
            DataCenter::Au => "au",
            DataCenter::Jp => "jp",
            DataCenter::Cn => "cn",
            DataCenter::Ca => "ca",
            DataCenter::Sa => "sa",
            DataCenter::Uk => "uk",
        }
    }

    /// Top-level domain suffix of the `zoho.*` hosts (`com`, `eu`, `com.au` ...).
    fn tld(self) -> &'static str {
        match self {
            DataCenter::Us => "com",
            DataCenter::Eu => "eu",
            DataCenter::In => "in",
            DataCenter::Au => "com.au",
            DataCenter::Jp => "jp",
            DataCenter::Cn => "com.cn",
            DataCenter::Ca => "ca",
            DataCenter::Sa => "sa",
            DataCenter::Uk => "uk",
        }
    }

    /// Domain of the product and accounts hosts (`zoho.com`, `zohocloud.ca` ...).
    fn zoho_domain(self) -> String {
        match self {
            DataCenter::Ca => "zohocloud.ca".to_string(),
            dc => format!("zoho.{}", dc.tld()),
        }
    }

    /// Accounts server of this DC, e.g. `https://accounts.zoho.eu` (no trailing slash).
    pub fn accounts_server(self) -> String {
        format!("https://accounts.{}", self.zoho_domain())
    }

    /// API gateway for CRM, Books and other `www.zohoapis.*` products.
    pub fn api_domain(self) -> String {
        format!("https://www.zohoapis.{}", self.tld())
    }

    /// Zoho Desk host, e.g. `https://desk.zoho.eu`.
    pub fn desk_host(self) -> String {
        format!("https://desk.{}", self.zoho_domain())
    }

    /// Zoho Mail host, e.g. `https://www.mail.zoho.eu`.
    pub fn mail_host(self) -> String {
        format!("https://www.mail.{}", self.zoho_domain())
    }

    /// Zoho Campaigns host, e.g. `https://campaigns.zoho.eu`. Zoho documents no CA, SA or UK
    /// row; the pattern is extrapolated for those.
    pub fn campaigns_host(self) -> String {
        format!("https://campaigns.{}", self.zoho_domain())
    }

    /// Every host an access token of this DC may be sent to (API gateway and its CRM
    /// environments, Desk, Mail, Campaigns).
    pub fn api_hosts(self) -> Vec<String> {
        let tld = self.tld();
        let domain = self.zoho_domain();
        vec![
            format!("www.zohoapis.{tld}"),
            format!("zohoapis.{tld}"),
            format!("sandbox.zohoapis.{tld}"),
            format!("developer.zohoapis.{tld}"),
            format!("content.zohoapis.{tld}"),
            format!("desk.{domain}"),
            format!("www.mail.{domain}"),
            format!("mail.{domain}"),
            format!("campaigns.{domain}"),
        ]
    }

    /// Parse a short code (case-insensitive; surrounding spaces ignored).
    pub fn from_code(code: &str) -> Result<DataCenter> {
        let c = code.trim().to_ascii_lowercase();
        DataCenter::ALL.into_iter().find(|dc| dc.code() == c).ok_or_else(|| {
            Error::config(
                format!("unknown Zoho data centre {:?}", truncate(code, 40)),
                "use one of us, eu, in, au, jp, cn, ca, sa, uk",
            )
        })
    }

    /// Parse an accounts-server URL (`https://accounts.zoho.in`, with or without a trailing
    /// slash). Only the exact Zoho accounts hosts are recognised.
    pub fn from_accounts_url(url: &str) -> Result<DataCenter> {
        let parsed = url::Url::parse(url.trim()).map_err(|_| {
            Error::config(
                format!("not a URL: {:?}", truncate(url, 80)),
                "pass an accounts server such as https://accounts.zoho.eu",
            )
        })?;
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        DataCenter::ALL
            .into_iter()
            .find(|dc| {
                parsed.scheme() == "https"
                    && format!("accounts.{}", dc.zoho_domain()) == host
                    && parsed.port().is_none()
            })
            .ok_or_else(|| {
                Error::config(
                    format!("{:?} is not a Zoho accounts server", truncate(url, 80)),
                    "use https://accounts.zoho.<tld> of your data centre, or configure the server explicitly",
                )
            })
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for DataCenter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.contains("://") { DataCenter::from_accounts_url(s) } else { DataCenter::from_code(s) }
    }
}

/// True when `host` belongs to one of Zoho's domains (any DC): the test used before a token's
/// `api_domain` from a token response is trusted.
pub(crate) fn is_zoho_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut domains: Vec<String> = Vec::new();
    for dc in DataCenter::ALL {
        domains.push(dc.zoho_domain());
        domains.push(format!("zohoapis.{}", dc.tld()));
    }
    domains.iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let t: String = s.chars().take(max).collect();
        format!("{t}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canada_is_special() {
        assert_eq!(DataCenter::Ca.accounts_server(), "https://accounts.zohocloud.ca");
        assert_eq!(DataCenter::Ca.api_domain(), "https://www.zohoapis.ca");
        assert_eq!(DataCenter::Ca.desk_host(), "https://desk.zohocloud.ca");
        assert_eq!(DataCenter::Ca.mail_host(), "https://www.mail.zohocloud.ca");
    }

    #[test]
    fn table() {
        assert_eq!(DataCenter::Us.accounts_server(), "https://accounts.zoho.com");
        assert_eq!(DataCenter::Au.accounts_server(), "https://accounts.zoho.com.au");
        assert_eq!(DataCenter::Cn.accounts_server(), "https://accounts.zoho.com.cn");
        assert_eq!(DataCenter::Au.api_domain(), "https://www.zohoapis.com.au");
        assert_eq!(DataCenter::Eu.desk_host(), "https://desk.zoho.eu");
        assert_eq!(DataCenter::Jp.campaigns_host(), "https://campaigns.zoho.jp");
        assert_eq!(DataCenter::Uk.api_domain(), "https://www.zohoapis.uk");
    }

    #[test]
    fn parse_code_and_url_round_trip() {
        for dc in DataCenter::ALL {
            assert_eq!(DataCenter::from_code(dc.code()).ok(), Some(dc));
            assert_eq!(DataCenter::from_accounts_url(&dc.accounts_server()).ok(), Some(dc));
            let slash = format!("{}/", dc.accounts_server());
            assert_eq!(slash.parse::<DataCenter>().ok(), Some(dc));
        }
        assert_eq!(" EU ".parse::<DataCenter>().ok(), Some(DataCenter::Eu));
    }

    #[test]
    fn unknown_is_config_error() {
        let e = DataCenter::from_code("xx").err().map(|e| e.code());
        assert_eq!(e, Some(crate::ErrorCode::Config));
        assert!(DataCenter::from_accounts_url("https://accounts.evil.com").is_err());
        assert!(DataCenter::from_accounts_url("http://accounts.zoho.com").is_err());
        assert!(DataCenter::from_accounts_url("https://accounts.zoho.com.evil.com").is_err());
        assert!(DataCenter::from_accounts_url("garbage").is_err());
    }

    #[test]
    fn zoho_hosts() {
        assert!(is_zoho_host("www.zohoapis.com"));
        assert!(is_zoho_host("api.zoho.eu"));
        assert!(is_zoho_host("desk.zohocloud.ca"));
        assert!(!is_zoho_host("zohoapis.com.evil.net"));
        assert!(!is_zoho_host("evilzoho.com"));
    }
}
