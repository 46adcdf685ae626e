//! Where an access token may go (DESIGN point 6) and the base URL of a relative path.

use std::str::FromStr;
use std::sync::Arc;

use crate::app::{OAuthApp, is_loopback, normalize_server_url};
use crate::dc::{DataCenter, is_zoho_host, truncate};
use crate::error::{Error, ErrorCode, Result};
use crate::token::TokenSet;

/// The Zoho product a relative path belongs to; it picks the base URL (DESIGN "Base URL of a
/// relative path").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Product {
    /// Zoho CRM (the token's `api_domain`), the default.
    #[default]
    Crm,
    /// Zoho Books (the token's `api_domain`).
    Books,
    /// Zoho Desk (`desk.zoho.<tld>`).
    Desk,
    /// Zoho Mail (`www.mail.zoho.<tld>`).
    Mail,
    /// Zoho Campaigns (`campaigns.zoho.<tld>`).
    Campaigns,
}

impl FromStr for Product {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "crm" | "" => Ok(Product::Crm),
            "books" => Ok(Product::Books),
            "desk" => Ok(Product::Desk),
            "mail" => Ok(Product::Mail),
            "campaigns" => Ok(Product::Campaigns),
            other => Err(Error::config(
                format!("unknown product {:?}", truncate(other, 30)),
                "use one of crm, books, desk, mail, campaigns, or pass an absolute URL",
            )),
        }
    }
}

/// Scheme, host and port of an explicitly allowed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &url::Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    fn parse(s: &str) -> Option<Origin> {
        url::Url::parse(s).ok().as_ref().and_then(Origin::of)
    }
}

/// The hosts of one client: its DC, an explicit `api_domain` and the origins configured
/// explicitly. It decides where the access token may go (DESIGN point 6) and where a relative
/// path points, from configuration alone, so every check happens before any I/O.
#[derive(Debug)]
pub(super) struct Hosts {
    dc: DataCenter,
    api_domain: Option<String>,
    explicit: Vec<Origin>,
}

impl Hosts {
    /// Validate the configured origins: the explicit `api_domain`, each `allow_host` entry (a
    /// URL or a bare host, which means `https://`), and every accounts server configured on the
    /// app (the mock, a proxy).
    pub(super) fn new(app: &OAuthApp, dc: DataCenter, api_domain: Option<&str>, allowed: &[String]) -> Result<Hosts> {
        let api_domain = api_domain.map(normalize_server_url).transpose()?;
        let mut explicit = Vec::new();
        if let Some(a) = &api_domain {
            explicit.extend(Origin::parse(a));
        }
        for h in allowed {
            let as_url = if h.contains("://") {
                normalize_server_url(h)?
            } else {
                normalize_server_url(&format!("https://{h}"))?
            };
            explicit.extend(Origin::parse(&as_url));
        }
        for dc in DataCenter::ALL {
            let server = app.accounts_server(dc);
            if app.is_override(&server) {
                explicit.extend(Origin::parse(&server));
            }
        }
        Ok(Hosts { dc, api_domain, explicit })
    }

    /// The user's DC.
    pub(super) fn dc(&self) -> DataCenter {
        self.dc
    }

    /// Keep a refreshed token only if its `api_domain` is one tokens may be sent to.
    pub(super) fn adopt(&self, mut t: TokenSet) -> Result<Arc<TokenSet>> {
        t.refresh_token = None;
        if let Some(d) = &t.api_domain
            && !self.api_domain_trusted(d)
        {
            return Err(Error::new(
                ErrorCode::InvalidResponse,
                format!("the token's api_domain {:?} is not a Zoho host", truncate(d, 80)),
            )
            .with_hint("configure api_domain or allow_host explicitly if this host is legitimate"));
        }
        Ok(Arc::new(t))
    }

    /// True when a token's `api_domain` may receive the token: a Zoho host over https, or an
    /// origin configured explicitly; never one with credentials.
    fn api_domain_trusted(&self, d: &str) -> bool {
        let Ok(u) = url::Url::parse(d) else {
            return false;
        };
        let Some(origin) = Origin::of(&u) else {
            return false;
        };
        // Credentials in an api_domain would break (or leak through) every request.
        if !u.username().is_empty() || u.password().is_some() {
            return false;
        }
        (u.scheme() == "https" && is_zoho_host(&origin.host)) || self.explicit.contains(&origin)
    }

    /// The base URL of a relative path for `product` (DESIGN "Base URL of a relative path").
    pub(super) fn base_for(&self, product: Product, token: &TokenSet) -> String {
        self.base_for_domain(product, token.api_domain.as_deref())
    }

    /// [`Hosts::base_for`] given the token's `api_domain`, if any.
    pub(super) fn base_for_domain(&self, product: Product, token_api_domain: Option<&str>) -> String {
        if let Some(d) = &self.api_domain {
            return d.clone();
        }
        let dc = self.dc;
        match product {
            Product::Crm | Product::Books => {
                token_api_domain.filter(|d| self.api_domain_trusted(d)).map_or_else(|| dc.api_domain(), str::to_string)
            }
            Product::Desk => dc.desk_host(),
            Product::Mail => dc.mail_host(),
            Product::Campaigns => dc.campaigns_host(),
        }
    }

    /// True when an access token may be sent to `url` without knowing the token (DC hosts and
    /// explicit origins), `Some(false)` when it never may, `None` when it depends on the
    /// token's `api_domain`.
    pub(super) fn static_allowed(&self, url: &url::Url) -> Option<bool> {
        let origin = Origin::of(url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Some(false);
        }
        if self.explicit.contains(&origin) {
            return Some(true);
        }
        match url.scheme() {
            "https" => {
                if self.dc.api_hosts().contains(&origin.host) && origin.port == 443 {
                    Some(true)
                } else if is_zoho_host(&origin.host) {
                    None
                } else {
                    Some(false)
                }
            }
            // Plain http is allowed only for explicit loopback origins, checked above.
            _ => Some(false),
        }
    }

    /// `Ok` when the access token may be sent to `url`, given the token whose `api_domain` may
    /// widen the static answer; a config error naming scheme and host otherwise.
    pub(super) fn check_allowed(&self, url: &url::Url, token: Option<&TokenSet>) -> Result<()> {
        let allowed = match self.static_allowed(url) {
            Some(b) => b,
            None => token
                .and_then(|t| t.api_domain.as_deref())
                .filter(|d| self.api_domain_trusted(d))
                .and_then(Origin::parse)
                .zip(Origin::of(url))
                .is_some_and(|(a, b)| a == b),
        };
        if allowed {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        let hint = if url.scheme() == "http" && !is_loopback(host) {
            "use https://; plain http is only allowed for loopback hosts configured explicitly"
        } else {
            "tokens go only to the DC's Zoho hosts, the token's api_domain, or hosts configured with allow_host/api_domain"
        };
        Err(Error::config(
            format!("refusing to send the access token to {}://{}", url.scheme(), truncate(host, 80)),
            hint,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(api_domain: Option<&str>, dc: DataCenter) -> Hosts {
        let app = match OAuthApp::builder("1000.ID").client_secret("s").dc(dc).build() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        match Hosts::new(&app, dc, api_domain, &[]) {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    fn token(api_domain: Option<&str>) -> TokenSet {
        let body = match api_domain {
            Some(d) => format!(r#"{{"access_token":"1000.a","api_domain":"{d}"}}"#),
            None => r#"{"access_token":"1000.a"}"#.to_string(),
        };
        match TokenSet::parse(200, &body, 0, "https://accounts.zoho.eu") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn base_url_of_relative_paths() {
        let c = client(None, DataCenter::Eu);
        let t = token(Some("https://www.zohoapis.eu"));
        assert_eq!(c.base_for(Product::Crm, &t), "https://www.zohoapis.eu");
        assert_eq!(c.base_for(Product::Books, &token(None)), "https://www.zohoapis.eu");
        assert_eq!(c.base_for(Product::Desk, &t), "https://desk.zoho.eu");
        assert_eq!(c.base_for(Product::Mail, &t), "https://www.mail.zoho.eu");
        assert_eq!(c.base_for(Product::Campaigns, &t), "https://campaigns.zoho.eu");
        // A foreign api_domain in a token is ignored for relative paths.
        assert_eq!(c.base_for(Product::Crm, &token(Some("https://evil.example"))), "https://www.zohoapis.eu");
        // An explicit api_domain wins for every product.
        let c = client(Some("https://proxy.zohoapis.eu"), DataCenter::Eu);
        assert_eq!(c.base_for(Product::Desk, &t), "https://proxy.zohoapis.eu");
        let ca = client(None, DataCenter::Ca);
        assert_eq!(ca.base_for(Product::Crm, &token(None)), "https://www.zohoapis.ca");
        assert_eq!(ca.base_for(Product::Desk, &token(None)), "https://desk.zohocloud.ca");
    }

    #[test]
    fn allowlist() {
        let c = client(None, DataCenter::Eu);
        let u = |s: &str| match url::Url::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.static_allowed(&u("https://www.zohoapis.eu/crm/v8/Leads")), Some(true));
        assert_eq!(c.static_allowed(&u("https://desk.zoho.eu/api/v1/tickets")), Some(true));
        assert_eq!(c.static_allowed(&u("https://www.zohoapis.eu:8443/x")), None);
        assert_eq!(
            c.static_allowed(&u("https://www.zohoapis.com/x")),
            None,
            "another DC: only as the token's api_domain"
        );
        assert_eq!(c.static_allowed(&u("https://evil.example/x")), Some(false));
        assert_eq!(c.static_allowed(&u("http://www.zohoapis.eu/x")), Some(false));
        assert_eq!(c.static_allowed(&u("http://127.0.0.1:8080/x")), Some(false));
        let other_dc = token(Some("https://www.zohoapis.com"));
        assert!(c.check_allowed(&u("https://www.zohoapis.com/x"), Some(&other_dc)).is_ok());
        assert!(c.check_allowed(&u("https://www.zohoapis.com/x"), None).is_err());
        assert!(c.check_allowed(&u("https://www.zohoapis.in/x"), Some(&other_dc)).is_err());
        let explicit = client(Some("http://127.0.0.1:8080"), DataCenter::Eu);
        assert_eq!(explicit.static_allowed(&u("http://127.0.0.1:8080/x")), Some(true));
        assert_eq!(explicit.static_allowed(&u("http://127.0.0.1:8081/x")), Some(false));
    }

    #[test]
    fn products_parse() {
        assert_eq!("Desk".parse::<Product>().ok(), Some(Product::Desk));
        assert_eq!("".parse::<Product>().ok(), Some(Product::Crm));
        assert!("creator".parse::<Product>().is_err());
    }
}
