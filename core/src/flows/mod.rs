//! The user-facing OAuth flows on an [`OAuthApp`]: the authorization URL (with PKCE), the
//! callback, and the device flow. The token-endpoint requests they end in (code exchange,
//! refresh, revoke) are the app's own, in [`app`](crate::app).
//!
//! Every token request is a `POST` with a form body (secrets never go in URLs), redirects are
//! never followed, and the accounts server is checked before the client secret is sent to it.

mod callback;
mod device;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use callback::{Callback, parse_callback};
pub use device::{DeviceAuthorization, DeviceFlowRequest};

use crate::app::{ClientType, ExchangeRequest, OAuthApp};
use crate::dc::DataCenter;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::{PkceVerifier, constant_time_eq};
use crate::token::TokenSet;

/// What to put in an authorization URL.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationRequest {
    /// Scopes such as `ZohoCRM.modules.ALL` (sent comma-separated).
    pub scopes: Vec<String>,
    /// The redirect URI registered in the API console.
    pub redirect_uri: String,
    /// `offline` to get a refresh token (default), or `online`.
    pub access_type: Option<String>,
    /// `consent` to force the consent screen (needed for a new refresh token).
    pub prompt: Option<String>,
    /// The state to round-trip; a random one is generated when `None`.
    pub state: Option<String>,
    /// Force PKCE on (`Some(true)`) or off; by default it is on only for mobile clients.
    pub pkce: Option<bool>,
}

impl AuthorizationRequest {
    /// A request for `scopes` redirecting to `redirect_uri`, offline access.
    pub fn new(scopes: &[&str], redirect_uri: impl Into<String>) -> Self {
        AuthorizationRequest {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            redirect_uri: redirect_uri.into(),
            ..Default::default()
        }
    }
}

/// An authorization URL and what must be kept until the callback arrives.
#[derive(Clone, Debug)]
pub struct AuthorizationUrl {
    /// Send the user's browser here.
    pub url: String,
    /// The state to compare with the callback's (keep it in the user's session).
    pub state: String,
    /// The PKCE verifier to pass to the exchange (mobile clients).
    pub code_verifier: Option<PkceVerifier>,
}

/// Options of [`OAuthApp::handle_callback`].
#[derive(Clone, Debug, Default)]
pub struct CallbackOptions {
    /// The state the authorization URL carried; a different or missing state is rejected.
    /// Required unless [`skip_state_check`](CallbackOptions::skip_state_check) says otherwise.
    pub expected_state: Option<String>,
    /// Accept a callback without comparing its state. Only for callers that check the state
    /// themselves: without the check a forged redirect can log a user in to another account.
    pub skip_state_check: bool,
    /// The redirect URI the authorization URL carried (server-based clients).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier from [`AuthorizationUrl::code_verifier`].
    pub code_verifier: Option<PkceVerifier>,
}

impl OAuthApp {
    /// Build the URL that starts the authorization code flow.
    ///
    /// The URL goes to the home DC's accounts server (`us` is also the multi-DC entry point).
    /// A random `state` is generated when none is given; mobile clients get PKCE S256.
    pub fn authorization_url(&self, req: &AuthorizationRequest) -> Result<AuthorizationUrl> {
        let scopes = join_scopes(&req.scopes)?;
        let redirect = req.redirect_uri.trim();
        if !(redirect.starts_with("https://") || redirect.starts_with("http://")) || url::Url::parse(redirect).is_err()
        {
            return Err(Error::config(
                "the redirect URI must be an absolute http:// or https:// URL",
                "pass the redirect URI registered in the API console",
            ));
        }
        let state = match &req.state {
            Some(s) if !s.is_empty() => s.clone(),
            _ => random_token(16),
        };
        let base = format!("{}/oauth/v2/auth", self.home_accounts_server());
        let mut url =
            url::Url::parse(&base).map_err(|_| Error::config("the accounts URL is invalid", "check accounts_url"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", self.client_id())
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect)
                .append_pair("scope", &scopes)
                .append_pair("access_type", req.access_type.as_deref().unwrap_or("offline"));
            if let Some(p) = &req.prompt {
                q.append_pair("prompt", p);
            }
            q.append_pair("state", &state);
        }
        let pkce = req.pkce.unwrap_or(self.client_type() == ClientType::Mobile);
        let code_verifier = if pkce {
            let verifier = random_token(32);
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            url.query_pairs_mut()
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            Some(PkceVerifier::new(verifier))
        } else {
            None
        };
        Ok(AuthorizationUrl { url: url.into(), state, code_verifier })
    }

    /// Handle the redirect Zoho sent back: parse it, check the state and the accounts
    /// server, and exchange the code at the user's DC with that DC's secret.
    pub async fn handle_callback(&self, callback_url: &str, opts: &CallbackOptions) -> Result<TokenSet> {
        let cb = parse_callback(callback_url)?;
        if cb.code.is_none() && cb.error.is_none() {
            return Err(Error::new(ErrorCode::InvalidResponse, "the callback has no code")
                .with_hint("pass the full URL Zoho redirected to"));
        }
        match (&opts.expected_state, opts.skip_state_check) {
            (Some(expected), _) => {
                let ok = cb.state.as_deref().is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()));
                if !ok {
                    return Err(Error::new(
                        ErrorCode::StateMismatch,
                        "the callback's state is not the one this app sent",
                    )
                    .with_hint("possible CSRF or a stale browser tab: start the authorization again"));
                }
            }
            (None, true) => {}
            (None, false) => {
                return Err(Error::config(
                    "handle_callback needs the state the authorization URL carried",
                    "pass expected_state (AuthorizationUrl.state, kept in the user's session); set skip_state_check only if you check the state yourself",
                ));
            }
        }
        if let Some(err) = &cb.error {
            let code = if err == "access_denied" { ErrorCode::AccessDenied } else { ErrorCode::InvalidResponse };
            return Err(Error::new(code, "the authorization was not granted")
                .with_zoho_code(err.clone())
                .with_hint("the user denied consent or Zoho's limit of 10 grant codes per 10 minutes was hit"));
        }
        let code = cb.code.clone().ok_or_else(|| {
            Error::new(ErrorCode::InvalidResponse, "the callback has no code")
                .with_hint("pass the full URL Zoho redirected to")
        })?;
        let accounts_server = match (&cb.accounts_server, &cb.location) {
            (Some(server), _) => Some(self.trusted_accounts_server(server)?.1),
            (None, Some(loc)) => Some(self.accounts_server(DataCenter::from_code(loc)?)),
            (None, None) => None,
        };
        self.exchange_code_with(&ExchangeRequest {
            code,
            redirect_uri: opts.redirect_uri.clone(),
            code_verifier: opts.code_verifier.clone(),
            accounts_server,
        })
        .await
    }

    /// Start the device flow (non-browser clients) at the home DC.
    pub async fn start_device_flow(&self, req: &DeviceFlowRequest) -> Result<DeviceAuthorization> {
        device::start(self, req).await
    }
}

pub(crate) fn join_scopes(scopes: &[String]) -> Result<String> {
    let cleaned: Vec<&str> = scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if cleaned.is_empty() {
        return Err(Error::config("no scopes given", "pass at least one scope, for example ZohoCRM.modules.ALL"));
    }
    if cleaned.iter().any(|s| s.contains(',') || s.contains(' ')) {
        return Err(Error::config(
            "a scope contains a comma or a space",
            "pass scopes as separate items, for example [\"ZohoCRM.modules.ALL\", \"ZohoCRM.users.READ\"]",
        ));
    }
    Ok(cleaned.join(","))
}

/// `n` random bytes, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(client_type: ClientType) -> OAuthApp {
        match OAuthApp::builder("1000.ID").client_secret("s").client_type(client_type).build() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn authorization_url_has_state_and_no_secret() {
        let a = app(ClientType::Server);
        let u = a
            .authorization_url(&AuthorizationRequest::new(
                &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"],
                "https://app.example/cb",
            ))
            .expect("url");
        assert!(u.url.starts_with("https://accounts.zoho.com/oauth/v2/auth?"));
        assert!(u.url.contains("scope=ZohoCRM.modules.ALL%2CZohoCRM.users.READ"));
        assert!(u.url.contains(&format!("state={}", u.state)));
        assert!(u.url.contains("access_type=offline"));
        assert!(!u.url.contains("client_secret"));
        assert!(u.code_verifier.is_none());
        assert!(u.state.len() >= 20);
        let u2 = a.authorization_url(&AuthorizationRequest::new(&["a.b.C"], "https://app.example/cb")).expect("url");
        assert_ne!(u.state, u2.state);
    }

    #[test]
    fn mobile_gets_pkce_s256() {
        let u = app(ClientType::Mobile)
            .authorization_url(&AuthorizationRequest::new(&["a.b.C"], "https://app.example/cb"))
            .expect("url");
        let verifier = u.code_verifier.expect("verifier");
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.secret().as_bytes()));
        assert!(u.url.contains(&format!("code_challenge={challenge}")));
        assert!(u.url.contains("code_challenge_method=S256"));
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        let a = app(ClientType::Server);
        let e = a.authorization_url(&AuthorizationRequest::new(&[], "https://x/cb")).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        let e = a.authorization_url(&AuthorizationRequest::new(&["a"], "not a url")).err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        let e = OAuthApp::builder("1000.ID").accounts_url("http://accounts.example.com").build().err();
        assert_eq!(e.map(|e| e.code()), Some(ErrorCode::Config));
        assert!(OAuthApp::builder("1000.ID").accounts_url("http://127.0.0.1:9").build().is_ok());
        assert!(OAuthApp::builder("").build().is_err());
    }
}
