//! Token-endpoint requests of an [`OAuthApp`]: code exchange, refresh, client credentials and
//! revocation. Every one is a `POST` with a form body (secrets never go in URLs) to a trusted
//! accounts server, with the answer capped and redirects never followed.

use std::time::Duration;

use super::{MAX_TOKEN_RESPONSE_BYTES, OAuthApp};
use crate::error::{Error, ErrorCode, Result};
use crate::flows::join_scopes;
use crate::secret::{GrantCode, PkceVerifier, RefreshToken};
use crate::token::TokenSet;

/// A code exchange with every option.
#[derive(Clone, Debug)]
pub struct ExchangeRequest {
    /// The grant code.
    pub code: GrantCode,
    /// The redirect URI (server-based and mobile clients; not for self clients).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (mobile clients).
    pub code_verifier: Option<PkceVerifier>,
    /// The user's accounts server (from the callback); the home DC's when `None`.
    pub accounts_server: Option<String>,
}

impl OAuthApp {
    /// Exchange a self-client grant code at the home DC (no redirect URI).
    pub async fn exchange_code(&self, code: &GrantCode) -> Result<TokenSet> {
        self.exchange_code_with(&ExchangeRequest {
            code: code.clone(),
            redirect_uri: None,
            code_verifier: None,
            accounts_server: None,
        })
        .await
    }

    /// Exchange a grant code with every option (server-based clients pass `redirect_uri`).
    pub async fn exchange_code_with(&self, req: &ExchangeRequest) -> Result<TokenSet> {
        let (dc, server) = self.resolve_server(req.accounts_server.as_deref())?;
        let secret = self.secret_for(dc)?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("code", req.code.secret().to_string()),
        ];
        if let Some(r) = &req.redirect_uri {
            form.push(("redirect_uri", r.clone()));
        }
        if let Some(v) = &req.code_verifier {
            form.push(("code_verifier", v.secret().to_string()));
        }
        let scrub = self.scrub().with(form.iter().filter(|(k, _)| *k != "grant_type").map(|(_, v)| v.as_str()));
        let answer = self.post_form(&server, "/oauth/v2/token", &form, "code exchange").await;
        zeroize_form(form);
        let (status, body) = answer.map_err(|e| e.scrub(&scrub))?;
        TokenSet::parse(status, &body, self.inner.clock.now_ms(), &server).map_err(|e| e.scrub(&scrub))
    }

    /// Get a new access token with a refresh token, at `accounts_server` (the home DC's when
    /// `None`). Zoho does not rotate refresh tokens, so the result carries none.
    ///
    /// This is one request, without retries; [`Client`](crate::Client) adds the single flight,
    /// the budget, bounded retries and the failure backoff around it.
    pub async fn refresh(&self, refresh_token: &RefreshToken, accounts_server: Option<&str>) -> Result<TokenSet> {
        self.refresh_attempt(refresh_token, accounts_server, None).await.result
    }

    /// One refresh request, judged the way the refresh path needs: whether it may have issued a
    /// token (it counts against Zoho's budget) and whether the failure is transient.
    pub(crate) async fn refresh_attempt(
        &self,
        refresh_token: &RefreshToken,
        accounts_server: Option<&str>,
        timeout: Option<Duration>,
    ) -> TokenAttempt {
        let (dc, server) = match self.resolve_server(accounts_server) {
            Ok(v) => v,
            Err(e) => return TokenAttempt::refused(e),
        };
        let secret = match self.secret_for(dc) {
            Ok(s) => s,
            Err(e) => return TokenAttempt::refused(e),
        };
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("refresh_token", refresh_token.secret().to_string()),
        ];
        let answer = self.post_form_raw(&server, "/oauth/v2/token", &form, "token refresh", timeout).await;
        zeroize_form(form);
        match answer {
            Err(PostFailure { error, sent }) => TokenAttempt {
                // An answer beyond the size cap is not a network accident: not retried.
                transient: error.code() != ErrorCode::ResponseTooLarge,
                result: Err(error),
                // Once the request may have reached Zoho, a token may have been issued and
                // counted even though the answer never arrived.
                may_have_issued: sent,
                retry_after: None,
            },
            Ok(a) => {
                let result = TokenSet::parse(a.status, &a.body, self.inner.clock.now_ms(), &server);
                let transient = match &result {
                    Ok(_) => false,
                    // No recognisable answer from Zoho (an error page, a proxy's body) with a
                    // status that says "try again": transient. Zoho's own answers never are.
                    Err(e) => {
                        e.code() == ErrorCode::InvalidResponse
                            && e.zoho_code().is_none()
                            && is_transient_status(a.status)
                    }
                };
                TokenAttempt { may_have_issued: result.is_ok(), result, transient, retry_after: a.retry_after }
            }
        }
    }

    /// Client-credentials grant (self clients only): an access token without a refresh token.
    /// `soid` is `Service.orgid` (for example `ZohoCRM.600000434`) when Zoho asks for it.
    pub async fn client_credentials(&self, scopes: &[&str], soid: Option<&str>) -> Result<TokenSet> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let scope = join_scopes(&scopes)?;
        let (dc, server) = self.resolve_server(None)?;
        let secret = self.secret_for(dc)?;
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", self.inner.client_id.clone()),
            ("client_secret", secret.secret().to_string()),
            ("scope", scope),
        ];
        if let Some(s) = soid {
            form.push(("soid", s.to_string()));
        }
        let (status, body) = self.post_form(&server, "/oauth/v2/token", &form, "client credentials").await?;
        zeroize_form(form);
        TokenSet::parse(status, &body, self.inner.clock.now_ms(), &server).map_err(|e| e.scrub(&self.scrub()))
    }

    /// Revoke a refresh token (and with it every access token minted from it).
    pub async fn revoke(&self, refresh_token: &RefreshToken, accounts_server: Option<&str>) -> Result<()> {
        let (_, server) = self.resolve_server(accounts_server)?;
        let form = vec![("token", refresh_token.secret().to_string())];
        let (status, body) = self.post_form(&server, "/oauth/v2/token/revoke", &form, "revocation").await?;
        zeroize_form(form);
        let scrub = self.scrub().with([refresh_token.secret()]);
        let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        let ok_status = parsed.as_ref().and_then(|v| v.get("status")).and_then(|s| s.as_str()).map(|s| s == "success");
        match (status, ok_status) {
            (200..=299, Some(true)) => Ok(()),
            (400, _) | (_, Some(false)) => Err(Error::new(ErrorCode::InvalidCode, "Zoho did not revoke the token")
                .with_status(status)
                .with_body(&body)
                .with_hint("the token is unknown, already revoked, or belongs to another DC")
                .scrub(&scrub)),
            _ => Err(Error::new(ErrorCode::InvalidResponse, "unexpected answer from the revoke endpoint")
                .with_status(status)
                .with_body(&body)
                .with_hint("check the accounts URL")
                .scrub(&scrub)),
        }
    }

    /// POST a form to the accounts server; returns status and body text.
    pub(crate) async fn post_form(
        &self,
        server: &str,
        path: &str,
        form: &[(&str, String)],
        what: &str,
    ) -> Result<(u16, String)> {
        self.post_form_raw(server, path, form, what, None).await.map(|a| (a.status, a.body)).map_err(|f| f.error)
    }

    /// [`post_form`](Self::post_form) with the answer's `Retry-After`, an optional timeout for
    /// this request, and, on failure, whether the request may have reached the server.
    async fn post_form_raw(
        &self,
        server: &str,
        path: &str,
        form: &[(&str, String)],
        what: &str,
        timeout: Option<Duration>,
    ) -> std::result::Result<FormAnswer, PostFailure> {
        let url = format!("{server}{path}");
        let mut req = self.inner.http.post(&url).header(reqwest::header::ACCEPT, "application/json").form(form);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        // A failure to connect means nothing was sent; any later failure (a reset or timeout
        // while waiting for the answer) may come after Zoho processed the request.
        let failure = |e: reqwest::Error| PostFailure { sent: !e.is_connect(), error: Error::from_reqwest(e, what) };
        let resp = req.send().await.map_err(failure)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry::parse_retry_after(v, self.inner.clock.now_ms()));
        // Capped: a hostile endless body cannot grow the process.
        let body = read_token_body(resp, what).await.map_err(|error| PostFailure { error, sent: true })?;
        Ok(FormAnswer { status, body, retry_after })
    }
}

/// The answer to a form POST.
struct FormAnswer {
    status: u16,
    body: String,
    retry_after: Option<Duration>,
}

/// A form POST that got no answer.
struct PostFailure {
    error: Error,
    /// Whether the request may have reached the server (anything but a failure to connect).
    sent: bool,
}

/// Statuses after which a token request may be tried again: Zoho did not process it.
fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// One token-endpoint request as the refresh path judges it (DESIGN "Refresh on a bad day").
pub(crate) struct TokenAttempt {
    /// The token, or why there is none.
    pub result: Result<TokenSet>,
    /// A token was, or may have been, issued: it counts against Zoho's budget. True for a
    /// success and for a reset or timeout after the request was sent; false for a refused
    /// connection, a 5xx or 429 answer, an error page or any answer of Zoho's without a token.
    pub may_have_issued: bool,
    /// The failure may go away by itself: no connection, no answer, or a 5xx/429 answer that is
    /// not one of Zoho's own errors. Zoho's answers (`invalid_code`, `Access Denied`, ...) never are.
    pub transient: bool,
    /// The answer's `Retry-After`, if it had one.
    pub retry_after: Option<Duration>,
}

impl TokenAttempt {
    /// An attempt stopped before any request (bad configuration).
    fn refused(e: Error) -> Self {
        TokenAttempt { result: Err(e), may_have_issued: false, transient: false, retry_after: None }
    }
}

/// A token-endpoint body as text, capped at [`MAX_TOKEN_RESPONSE_BYTES`].
pub(crate) async fn read_token_body(resp: reqwest::Response, what: &str) -> Result<String> {
    let bytes = crate::response::read_capped(resp, MAX_TOKEN_RESPONSE_BYTES, || what.to_string()).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn zeroize_form(form: Vec<(&str, String)>) {
    use zeroize::Zeroize;
    for (_, mut v) in form {
        v.zeroize();
    }
}
