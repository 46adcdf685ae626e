//! The device flow (Zoho "non-browser applications"), zoho-protocol.md section 2.5.
//!
//! Zoho's rules differ from RFC 8628: the endpoints are `/oauth/v3/device/{code,token}`, the
//! device code travels as `code`, polling is allowed once per 30 seconds, `interval` and
//! `expires_in` may be milliseconds, and a user of another DC answers `other_dc` with the DC
//! to poll next.

use std::time::Duration;

use serde_json::Value;
use tracing::{debug, info};

use super::join_scopes;
use crate::app::{OAuthApp, zeroize_form};
use crate::dc::DataCenter;
use crate::error::{Error, ErrorCode, Result};
use crate::secret::DeviceCode;
use crate::token::{TokenSet, num_field, token_error};

/// Zoho's documented polling rule: at most one poll per 30 seconds.
pub(crate) const MIN_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Extra wait added after a `slow_down` answer.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(30);

/// What to ask for when starting the device flow.
#[derive(Clone, Debug, Default)]
pub struct DeviceFlowRequest {
    /// Scopes (sent comma-separated).
    pub scopes: Vec<String>,
    /// `offline` (default) to get a refresh token, or `online`.
    pub access_type: Option<String>,
    /// `consent` to force the consent screen.
    pub prompt: Option<String>,
}

impl DeviceFlowRequest {
    /// Offline access to `scopes`.
    pub fn new(scopes: &[&str]) -> Self {
        DeviceFlowRequest { scopes: scopes.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }
}

/// A started device flow: show `user_code` and `verification_url` to the user, then
/// [`wait`](DeviceAuthorization::wait).
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    app: OAuthApp,
    device_code: DeviceCode,
    /// The code the user types at `verification_url`.
    pub user_code: String,
    /// Where the user enters the code.
    pub verification_url: String,
    /// A URL with the code pre-filled, when Zoho sends one.
    pub verification_url_complete: Option<String>,
    /// How long the user code is valid.
    pub expires_in: Duration,
    /// Poll interval (at least 30 s, Zoho's rule).
    pub interval: Duration,
    /// Absolute expiry, Unix ms.
    pub expires_at_ms: i64,
    accounts_server: String,
}

/// Values above this are taken as milliseconds (Zoho's older docs use ms).
const MS_THRESHOLD: u64 = 1000;

fn seconds_or_ms(v: u64) -> Duration {
    if v > MS_THRESHOLD { Duration::from_millis(v) } else { Duration::from_secs(v) }
}

pub(super) async fn start(app: &OAuthApp, req: &DeviceFlowRequest) -> Result<DeviceAuthorization> {
    let scope = join_scopes(&req.scopes)?;
    let server = app.home_accounts_server();
    let form = vec![
        ("grant_type", "device_request".to_string()),
        ("client_id", app.client_id().to_string()),
        ("scope", scope),
        ("access_type", req.access_type.clone().unwrap_or_else(|| "offline".into())),
    ];
    let mut form = form;
    if let Some(p) = &req.prompt {
        form.push(("prompt", p.clone()));
    }
    let (status, body) = app.post_form(&server, "/oauth/v3/device/code", &form, "device code request").await?;
    let value: Value = serde_json::from_str(&body).map_err(|cause| {
        Error::new(ErrorCode::InvalidResponse, "the device code endpoint answered something that is not JSON")
            .with_status(status)
            .with_body(&body)
            .with_hint("check the accounts URL")
            .with_source(cause)
    })?;
    let obj = value.as_object().ok_or_else(|| {
        Error::new(ErrorCode::InvalidResponse, "the device code endpoint answered JSON that is not an object")
            .with_status(status)
            .with_hint("check the accounts URL")
    })?;
    let Some(device_code) = obj.get("device_code").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Err(token_error(status, obj, &body));
    };
    let get = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let user_code = get("user_code").ok_or_else(|| {
        Error::new(ErrorCode::InvalidResponse, "the device code answer has no user_code").with_status(status)
    })?;
    let verification_url = get("verification_url")
        .or_else(|| get("verification_uri"))
        .or_else(|| get("verification_uri_complete"))
        .ok_or_else(|| {
            Error::new(ErrorCode::InvalidResponse, "the device code answer has no verification_url").with_status(status)
        })?;
    let expires_in = num_field(obj, "expires_in").map(seconds_or_ms).unwrap_or(Duration::from_secs(300));
    let interval = num_field(obj, "interval").map(seconds_or_ms).unwrap_or(MIN_POLL_INTERVAL).max(MIN_POLL_INTERVAL);
    let now = app.clock().now_ms();
    info!(target: "zoho_oauth", expires_in_s = expires_in.as_secs(), "device flow started");
    Ok(DeviceAuthorization {
        app: app.clone(),
        device_code: DeviceCode::new(device_code),
        user_code,
        verification_url,
        verification_url_complete: get("verification_uri_complete"),
        expires_in,
        interval,
        expires_at_ms: now.saturating_add(expires_in.as_millis() as i64),
        accounts_server: server,
    })
}

/// One poll's outcome.
enum Poll {
    Pending,
    SlowDown,
    OtherDc(DataCenter),
    Done(Box<TokenSet>),
}

impl DeviceAuthorization {
    /// Poll until the user approves (tokens), denies (`access_denied`) or the code expires
    /// (`device_flow_expired`). Waits `interval` (at least 30 s) before each poll, backs off on
    /// `slow_down`, and follows `other_dc` to the user's accounts server.
    pub async fn wait(&self) -> Result<TokenSet> {
        let clock = self.app.clock().clone();
        let mut interval = self.interval;
        let mut server = self.accounts_server.clone();
        loop {
            if clock.now_ms().saturating_add(interval.as_millis() as i64) > self.expires_at_ms {
                // The next poll would come after expiry: one last wait until expiry, then stop.
                let left = self.expires_at_ms.saturating_sub(clock.now_ms()).max(0) as u64;
                clock.sleep(Duration::from_millis(left)).await;
                return Err(expired());
            }
            clock.sleep(interval).await;
            match self.poll_at(&server).await? {
                Poll::Pending => debug!(target: "zoho_oauth", "device flow: authorization pending"),
                Poll::SlowDown => {
                    interval = (interval + SLOW_DOWN_STEP).min(Duration::from_secs(300));
                    debug!(target: "zoho_oauth", interval_s = interval.as_secs(), "device flow: slow_down");
                }
                Poll::OtherDc(dc) => {
                    server = self.app.accounts_server(dc);
                    info!(target: "zoho_oauth", dc = %dc, "device flow: user is in another DC; polling there");
                }
                Poll::Done(tokens) => {
                    info!(target: "zoho_oauth", "device flow approved");
                    return Ok(*tokens);
                }
            }
        }
    }

    /// The accounts server the flow started at.
    pub fn accounts_server(&self) -> &str {
        &self.accounts_server
    }

    async fn poll_at(&self, server: &str) -> Result<Poll> {
        let scrub = self.app.scrub().with([self.device_code.secret()]);
        self.poll_once(server).await.map_err(|e| e.scrub(&scrub))
    }

    async fn poll_once(&self, server: &str) -> Result<Poll> {
        let (dc, server) = self.app.trusted_accounts_server(server)?;
        let secret = self.app.secret_for(dc)?;
        let form = vec![
            ("grant_type", "device_token".to_string()),
            ("client_id", self.app.client_id().to_string()),
            ("client_secret", secret.secret().to_string()),
            ("code", self.device_code.secret().to_string()),
        ];
        let (status, body) = self.app.post_form(&server, "/oauth/v3/device/token", &form, "device poll").await?;
        zeroize_form(form);
        let value: Option<Value> = serde_json::from_str(&body).ok();
        let obj = value.as_ref().and_then(Value::as_object);
        if let Some(obj) = obj
            && !obj.contains_key("access_token")
        {
            match obj.get("error").and_then(Value::as_str) {
                Some("authorization_pending") => return Ok(Poll::Pending),
                Some("slow_down") => return Ok(Poll::SlowDown),
                Some("other_dc") => {
                    let loc = obj.get("user_location").or_else(|| obj.get("dc")).and_then(Value::as_str).ok_or_else(
                        || {
                            Error::new(ErrorCode::InvalidResponse, "other_dc answer without the user's DC")
                                .with_status(status)
                                .with_body(&body)
                        },
                    )?;
                    return Ok(Poll::OtherDc(DataCenter::from_code(loc)?));
                }
                Some("expired") => return Err(expired()),
                _ => {}
            }
        }
        let now = self.app.clock().now_ms();
        TokenSet::parse(status, &body, now, &server).map(|t| Poll::Done(Box::new(t)))
    }
}

fn expired() -> Error {
    Error::new(ErrorCode::DeviceFlowExpired, "the device code expired before the user approved it")
        .with_zoho_code("expired")
        .with_hint("start the device flow again and enter the user code within the time shown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(seconds_or_ms(30), Duration::from_secs(30));
        assert_eq!(seconds_or_ms(300), Duration::from_secs(300));
        assert_eq!(seconds_or_ms(30000), Duration::from_secs(30));
        assert_eq!(seconds_or_ms(300000), Duration::from_secs(300));
    }
}
