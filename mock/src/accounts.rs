//! Zoho Accounts endpoints: consent, token, revoke, device flow and server info. Failures answer
//! HTTP 200 with an `error` body, as Zoho does (zoho-protocol.md section 4).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use crate::model::{ClientType, DEFAULT_USER, MintCode};
use crate::server::{ConnInfo, Form, HandledByTokenEndpoint, params};
use crate::state::{Shared, TokenError};

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><title>Zoho Accounts</title></head><body>\
         <h2>{title}</h2><p>{detail}</p></body></html>"
    );
    (status, Html(page)).into_response()
}

fn redirect(target: &url::Url) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// `GET /oauth/v2/auth`: the consent screen, simulated. `mock_user` picks who consents and
/// `mock_deny=true` clicks "Deny".
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let p = params(uri.query(), None, &[]);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let now = shared.now_ms();
    let mut st = shared.lock();
    let Some(client) = st.client(get("client_id")).cloned() else {
        return error_page(StatusCode::BAD_REQUEST, "Invalid Client", "The client_id is not registered.");
    };
    let redirect_uri = get("redirect_uri");
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid Redirect Uri",
            "The redirect_uri does not match the one registered for this client.",
        );
    }
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, "Invalid Redirect Uri", "The redirect_uri is not a URL.");
    };
    let state_param = p.get("state").cloned();
    let finish = |target: &mut url::Url, pairs: &[(&str, &str)]| {
        {
            let mut q = target.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(s) = &state_param {
                q.append_pair("state", s);
            }
        }
        redirect(target)
    };
    if get("response_type") != "code" {
        return finish(&mut target, &[("error", "unsupported_response_type")]);
    }
    if get("scope").is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "Invalid OAuthScope", "The scope parameter is required.");
    }
    let challenge = match (p.get("code_challenge"), get("code_challenge_method")) {
        (Some(c), m) if m.is_empty() || m == "plain" || m == "S256" => {
            Some((if m.is_empty() { "plain".to_string() } else { m.to_string() }, c.clone()))
        }
        (Some(_), _) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                "code_challenge_method must be S256 or plain.",
            );
        }
        (None, _) if client.client_type == ClientType::Mobile => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                "code_challenge is required for mobile clients.",
            );
        }
        (None, _) => None,
    };
    let user_email = p.get("mock_user").cloned().unwrap_or_else(|| DEFAULT_USER.into());
    if st.user(&user_email).is_none() {
        return error_page(StatusCode::BAD_REQUEST, "Unknown user", "mock_user names no registered user.");
    }
    if get("mock_deny") == "true" || !st.take_code_slot(&client.client_id, now) {
        return finish(&mut target, &[("error", "access_denied")]);
    }
    // Zoho returns a refresh token only on the first offline consent, or with prompt=consent.
    let wants_offline = get("access_type") == "offline";
    let first = st.note_consent(&client.client_id, &user_email);
    let offline = wants_offline && (first || get("prompt") == "consent");
    let req = MintCode {
        client_id: client.client_id.clone(),
        scopes: get("scope").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        user: Some(user_email),
        ttl_secs: None,
        access_type: Some(if offline { "offline" } else { "online" }.into()),
    };
    match st.mint_code(&req, Some(redirect_uri.to_string()), challenge, now) {
        Ok((code, dc, _)) => {
            let server = shared.dc_url(&dc).unwrap_or_default().to_string();
            finish(&mut target, &[("code", &code), ("location", &dc), ("accounts-server", &server)])
        }
        Err(e) => error_page(StatusCode::BAD_REQUEST, "Invalid Request", &e),
    }
}

fn token_answer(result: Result<Value, TokenError>) -> (String, Response) {
    let (outcome, body) = match result {
        Ok(v) => ("success".to_string(), v),
        Err(e) => (e.error, e.body),
    };
    let mut r = (StatusCode::OK, Json(body)).into_response();
    r.extensions_mut().insert(HandledByTokenEndpoint);
    (outcome, r)
}

fn count(shared: &Shared, grant: &str, outcome: &str) {
    let mut st = shared.lock();
    *st.counters.token_requests.entry(grant.into()).or_default().entry(outcome.into()).or_default() += 1;
    st.counters.token_requests_total += 1;
    if grant == "device_token" {
        st.counters.device_polls += 1;
    }
}

/// The token-like endpoints share one shape: read parameters, dispatch on `grant_type` (only
/// the grants the endpoint accepts), answer HTTP 200 with the result, count the outcome.
async fn token_endpoint(shared: Arc<Shared>, conn: ConnInfo, req: Form, accepts: &[&str]) -> Response {
    let p = req.0;
    let dc = shared.dcs[conn.dc].clone();
    let now = shared.now_ms();
    let grant = p.get("grant_type").cloned().unwrap_or_default();
    let result = {
        let mut st = shared.lock();
        match grant.as_str() {
            g if !accepts.contains(&g) => Err(TokenError::new("unsupported_grant_type")),
            "authorization_code" => st.exchange_code(&dc, &p, now),
            "refresh_token" => st.refresh(&dc, &p, now),
            "client_credentials" => st.client_credentials(&dc, &p, now),
            "device_request" => st.device_code(&dc, &p, now),
            "device_token" => st.device_poll(&dc, &p, now),
            _ => Err(TokenError::new("unsupported_grant_type")),
        }
    };
    let (outcome, r) = token_answer(result);
    count(&shared, if grant.is_empty() { "none" } else { &grant }, &outcome);
    r
}

/// `POST /oauth/v2/token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    req: Form,
) -> Response {
    token_endpoint(shared, conn, req, &["authorization_code", "refresh_token", "client_credentials"]).await
}

/// `POST /oauth/v3/device/code`.
pub(crate) async fn device_code(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    req: Form,
) -> Response {
    token_endpoint(shared, conn, req, &["device_request"]).await
}

/// `POST /oauth/v3/device/token`.
pub(crate) async fn device_token(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    req: Form,
) -> Response {
    token_endpoint(shared, conn, req, &["device_token"]).await
}

/// `POST /oauth/v2/token/revoke`.
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, req: Form) -> Response {
    let p = req.0;
    let token = p.get("token").cloned().unwrap_or_default();
    let mut st = shared.lock();
    st.counters.revocations += 1;
    if st.revoke(&token) {
        (StatusCode::OK, Json(json!({"status": "success"}))).into_response()
    } else {
        (StatusCode::BAD_REQUEST, Json(json!({"status": "failure", "error": "invalid_token"}))).into_response()
    }
}

/// `GET /oauth/v3/device`: where `verification_url` points; the mock approves through its
/// control API instead of a form.
pub(crate) async fn device_page() -> Response {
    Html(
        "<!DOCTYPE html><html><body><h2>Zoho device sign-in (mock)</h2>\
         <p>Approve with POST /__mock/device/approve {\"user_code\": \"…\"}.</p></body></html>",
    )
    .into_response()
}

/// `GET /oauth/serverinfo`: every DC's accounts server, in the shape third-party code reads.
pub(crate) async fn server_info(State(shared): State<Arc<Shared>>) -> Response {
    let locations: serde_json::Map<String, Value> =
        shared.dcs.iter().map(|d| (d.code.clone(), Value::String(d.url.clone()))).collect();
    Json(json!({"result": "success", "locations": locations})).into_response()
}
