//! `OAuthApp` and `DeviceAuthorization`: the flows that obtain tokens.

use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;
use zoho_oauth::{
    AuthorizationRequest, CallbackOptions, DeviceAuthorization, DeviceFlowRequest, ExchangeRequest, GrantCode,
    OAuthApp, PkceVerifier, RefreshToken,
};

use crate::convert::{AppOptions, NativeTokenSet, build_app};
use crate::logger::NativeLogger;
use crate::mock::MockClock;
use crate::promise::{CancelToken, Runs, check, spawn};

/// What to put in an authorization URL. Field for field the core's `AuthorizationRequest` in
/// camelCase (napi needs a `#[napi(object)]` of its own to read a JavaScript object); the rules
/// about the values live in the core.
#[napi(object, object_to_js = false)]
pub struct AuthorizationUrlOptions {
    /// Scopes such as `ZohoCRM.modules.ALL`.
    pub scopes: Vec<String>,
    /// The redirect URI registered in the API console.
    pub redirect_uri: String,
    /// `offline` (default) to get a refresh token, or `online`.
    pub access_type: Option<String>,
    /// `consent` to force the consent screen.
    pub prompt: Option<String>,
    /// The state to round-trip; a random one by default.
    pub state: Option<String>,
    /// Force PKCE S256 on or off (default: on for mobile clients only).
    pub pkce: Option<bool>,
}

/// An authorization URL and what to keep until the callback.
#[napi(object)]
pub struct AuthorizationUrlResult {
    /// Send the user's browser here.
    pub url: String,
    /// Compare with the callback's state (keep it in the user's session).
    pub state: String,
    /// The PKCE verifier to pass to `handleCallback` (mobile clients).
    pub code_verifier: Option<String>,
}

/// Options of `handleCallback`.
#[napi(object, object_to_js = false)]
pub struct CallbackOpts {
    /// The state the authorization URL carried.
    pub expected_state: Option<String>,
    /// The redirect URI the authorization URL carried.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier from `authorizationUrl`.
    pub code_verifier: Option<String>,
    /// Accept a callback without comparing its state (only when the caller checks it itself).
    pub skip_state_check: Option<bool>,
}

/// Options of `exchangeCode`.
#[napi(object, object_to_js = false)]
pub struct ExchangeOpts {
    /// The redirect URI (server-based and mobile clients; not for self clients).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (mobile clients).
    pub code_verifier: Option<String>,
    /// The user's accounts server; the home DC's by default.
    pub accounts_server: Option<String>,
}

/// Options of `startDeviceFlow`.
#[napi(object, object_to_js = false)]
pub struct DeviceFlowOpts {
    /// Scopes to ask for.
    pub scopes: Vec<String>,
    /// `offline` (default) or `online`.
    pub access_type: Option<String>,
    /// `consent` to force the consent screen.
    pub prompt: Option<String>,
}

fn dispatch(logger: &Option<tracing::Dispatch>) -> Option<&tracing::Dispatch> {
    logger.as_ref()
}

/// A Zoho OAuth client registration (client id, secret per DC, accounts servers).
#[napi]
pub struct NativeApp {
    app: OAuthApp,
    logger: Option<tracing::Dispatch>,
}

#[napi]
impl NativeApp {
    /// Validate the options and build the app (no network I/O).
    #[napi(constructor)]
    pub fn new(options: AppOptions, clock: Option<&MockClock>, logger: Option<&NativeLogger>) -> Result<Self> {
        let app = build_app(options, clock)?;
        Ok(NativeApp { app, logger: logger.map(|l| l.dispatch.clone()) })
    }

    /// The client id.
    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.app.client_id().to_string()
    }

    /// The home DC's code.
    #[napi(getter)]
    pub fn dc(&self) -> String {
        self.app.dc().code().to_string()
    }

    /// The home DC's accounts server.
    #[napi(getter)]
    pub fn accounts_server(&self) -> String {
        self.app.home_accounts_server()
    }

    /// Build the URL that starts the authorization code flow.
    #[napi]
    pub fn authorization_url(&self, options: AuthorizationUrlOptions) -> Result<AuthorizationUrlResult> {
        let req = AuthorizationRequest {
            scopes: options.scopes,
            redirect_uri: options.redirect_uri,
            access_type: options.access_type,
            prompt: options.prompt,
            state: options.state,
            pkce: options.pkce,
        };
        let u = check(self.app.authorization_url(&req))?;
        Ok(AuthorizationUrlResult {
            url: u.url,
            state: u.state,
            code_verifier: u.code_verifier.map(|v| v.secret().to_string()),
        })
    }

    /// Check the callback (state, accounts server) and exchange its code at the user's DC.
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn handle_callback<'e>(
        &self,
        env: &'e Env,
        callback_url: String,
        options: Option<CallbackOpts>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let o = options.unwrap_or(CallbackOpts {
            expected_state: None,
            redirect_uri: None,
            code_verifier: None,
            skip_state_check: None,
        });
        let opts = CallbackOptions {
            expected_state: o.expected_state,
            redirect_uri: o.redirect_uri,
            code_verifier: o.code_verifier.map(PkceVerifier::new),
            skip_state_check: o.skip_state_check.unwrap_or(false),
        };
        let fut = async move { app.handle_callback(&callback_url, &opts).await };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, |t| Ok(NativeTokenSet { inner: t }))
    }

    /// Exchange a grant code (self clients: just the code).
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn exchange_code<'e>(
        &self,
        env: &'e Env,
        code: String,
        options: Option<ExchangeOpts>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let o = options.unwrap_or(ExchangeOpts { redirect_uri: None, code_verifier: None, accounts_server: None });
        let req = ExchangeRequest {
            code: GrantCode::new(code),
            redirect_uri: o.redirect_uri,
            code_verifier: o.code_verifier.map(PkceVerifier::new),
            accounts_server: o.accounts_server,
        };
        let fut = async move { app.exchange_code_with(&req).await };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, |t| Ok(NativeTokenSet { inner: t }))
    }

    /// A new access token for a refresh token (no cache, no budget: use `Client` for that).
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn refresh<'e>(
        &self,
        env: &'e Env,
        refresh_token: String,
        accounts_server: Option<String>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        let fut = async move { app.refresh(&rt, accounts_server.as_deref()).await };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, |t| Ok(NativeTokenSet { inner: t }))
    }

    /// Revoke a refresh token and every access token minted from it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn revoke<'e>(
        &self,
        env: &'e Env,
        refresh_token: String,
        accounts_server: Option<String>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let rt = RefreshToken::new(refresh_token);
        let fut = async move { app.revoke(&rt, accounts_server.as_deref()).await };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, |()| Ok(()))
    }

    /// Client-credentials grant (self clients only).
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn client_credentials<'e>(
        &self,
        env: &'e Env,
        scopes: Vec<String>,
        soid: Option<String>,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let fut = async move {
            let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
            app.client_credentials(&refs, soid.as_deref()).await
        };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, |t| Ok(NativeTokenSet { inner: t }))
    }

    /// Start the device flow at the home DC.
    #[napi(ts_return_type = "Promise<NativeDeviceAuthorization>")]
    pub fn start_device_flow<'e>(
        &self,
        env: &'e Env,
        options: DeviceFlowOpts,
        cancel: Option<&CancelToken>,
    ) -> Result<Object<'e>> {
        let app = self.app.clone();
        let req =
            DeviceFlowRequest { scopes: options.scopes, access_type: options.access_type, prompt: options.prompt };
        let logger = self.logger.clone();
        let fut = async move { app.start_device_flow(&req).await };
        spawn(Runs::Shared, env, cancel, dispatch(&self.logger), fut, move |d| {
            Ok(NativeDeviceAuthorization { inner: d, logger })
        })
    }
}

/// A started device flow.
#[napi]
pub struct NativeDeviceAuthorization {
    inner: DeviceAuthorization,
    logger: Option<tracing::Dispatch>,
}

#[napi]
impl NativeDeviceAuthorization {
    /// The code the user types at `verificationUrl`.
    #[napi(getter)]
    pub fn user_code(&self) -> String {
        self.inner.user_code.clone()
    }

    /// Where the user enters the code.
    #[napi(getter)]
    pub fn verification_url(&self) -> String {
        self.inner.verification_url.clone()
    }

    /// A URL with the code pre-filled, when Zoho sends one.
    #[napi(getter)]
    pub fn verification_url_complete(&self) -> Option<String> {
        self.inner.verification_url_complete.clone()
    }

    /// How long the user code is valid, in seconds.
    #[napi(getter)]
    pub fn expires_in(&self) -> f64 {
        self.inner.expires_in.as_secs_f64()
    }

    /// Poll interval in seconds (at least 30, Zoho's rule).
    #[napi(getter)]
    pub fn interval(&self) -> f64 {
        self.inner.interval.as_secs_f64()
    }

    /// Absolute expiry of the user code, Unix milliseconds.
    #[napi(getter)]
    pub fn expires_at_ms(&self) -> f64 {
        self.inner.expires_at_ms as f64
    }

    /// Poll (every `interval`, on the core runtime) until the user approves or denies, or the
    /// code expires.
    #[napi(ts_return_type = "Promise<NativeTokenSet>")]
    pub fn wait<'e>(&self, env: &'e Env, cancel: Option<&CancelToken>) -> Result<Object<'e>> {
        let flow = self.inner.clone();
        let fut = async move { flow.wait().await };
        spawn(Runs::Shared, env, cancel, self.logger.as_ref(), fut, |t| Ok(NativeTokenSet { inner: t }))
    }
}
