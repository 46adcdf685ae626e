//! The `/__mock/` control API: the HTTP face of [`crate::MockZoho`]'s methods, for tests written
//! in Python, Node or shell. Each handler calls the same [`Control`] method the Rust handle does.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::*;
use crate::state::Shared;

/// Operations shared by the Rust handle and the HTTP control API.
#[derive(Clone)]
pub(crate) struct Control(pub Arc<Shared>);

impl Control {
    pub fn info(&self) -> Value {
        let dcs: serde_json::Map<String, Value> = self
            .0
            .dcs
            .iter()
            .map(|d| (d.code.clone(), json!({"accounts_server": d.url, "api_domain": d.url})))
            .collect();
        json!({"dcs": dcs, "default_client_id": DEFAULT_CLIENT_ID, "default_user": DEFAULT_USER})
    }

    pub fn register_client(&self, spec: ClientSpec) -> Result<(), String> {
        if spec.client_id.is_empty() {
            return Err("client_id must not be empty".into());
        }
        if spec.client_secret.is_none() && spec.secrets.is_empty() && spec.client_type != ClientType::Js {
            return Err("a client needs client_secret or per-DC secrets".into());
        }
        self.0.lock().register_client(spec);
        Ok(())
    }

    pub fn register_user(&self, spec: UserSpec) -> Result<(), String> {
        self.0.lock().register_user(spec, &self.0.dcs)
    }

    pub fn mint_code(&self, req: &MintCode) -> Result<MintedCode, String> {
        let now = self.0.now_ms();
        let (code, dc, ttl) = self.0.lock().mint_code(req, None, None, now)?;
        Ok(MintedCode {
            code,
            expires_in: ttl,
            accounts_server: self.0.dc_url(&dc).unwrap_or_default().to_string(),
            location: dc,
        })
    }

    pub fn mint_refresh_token(&self, req: &MintCode) -> Result<MintedRefreshToken, String> {
        let (refresh_token, dc) = self.0.lock().mint_refresh(req)?;
        let url = self.0.dc_url(&dc).unwrap_or_default().to_string();
        Ok(MintedRefreshToken { refresh_token, accounts_server: url.clone(), api_domain: url })
    }

    pub fn approve_device(&self, user_code: &str, user: Option<&str>, deny: bool) -> Result<(), String> {
        self.0.lock().approve_device(user_code, user, deny)
    }

    pub fn configure_json(&self, patch: Value) -> Result<Settings, String> {
        let mut st = self.0.lock();
        st.settings = st.settings.patched(&patch)?;
        Ok(st.settings.clone())
    }

    pub fn inject_fault(&self, fault: Fault) -> Result<(), String> {
        if fault.count == 0 {
            return Err("a fault needs count >= 1".into());
        }
        if let Some(s) = fault.status
            && !(100..=599).contains(&s)
        {
            return Err(format!("status {s} is not an HTTP status"));
        }
        self.0.lock().faults.push(fault);
        Ok(())
    }

    pub fn seed_crm(&self, module: &str, count: usize) -> Result<(), String> {
        if count > 200_000 {
            return Err("count is capped at 200000".into());
        }
        self.0.lock().seed_crm(module, count);
        Ok(())
    }

    /// Moves the clock by `seconds` (finite, >= 0); answers the new time.
    pub fn advance(&self, seconds: f64) -> Result<i64, String> {
        if !seconds.is_finite() || seconds < 0.0 {
            return Err("seconds must be a finite number >= 0 (the clock never goes back)".into());
        }
        Ok(self.0.advance_ms(Duration::from_secs_f64(seconds).as_millis() as i64))
    }

    pub fn counters(&self) -> Counters {
        self.0.lock().counters.clone()
    }
}

fn answer<T: serde::Serialize>(r: Result<T, String>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

pub(crate) async fn info(State(c): State<Control>) -> Response {
    Json(c.info()).into_response()
}

pub(crate) async fn clients(State(c): State<Control>, Json(spec): Json<ClientSpec>) -> Response {
    answer(c.register_client(spec).map(|_| json!({"status": "success"})))
}

pub(crate) async fn users(State(c): State<Control>, Json(spec): Json<UserSpec>) -> Response {
    answer(c.register_user(spec).map(|_| json!({"status": "success"})))
}

pub(crate) async fn codes(State(c): State<Control>, Json(req): Json<MintCode>) -> Response {
    answer(c.mint_code(&req))
}

pub(crate) async fn refresh_tokens(State(c): State<Control>, Json(req): Json<MintCode>) -> Response {
    answer(c.mint_refresh_token(&req))
}

#[derive(Deserialize)]
pub(crate) struct Approve {
    pub user_code: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub deny: bool,
}

pub(crate) async fn approve(State(c): State<Control>, Json(a): Json<Approve>) -> Response {
    answer(c.approve_device(&a.user_code, a.user.as_deref(), a.deny).map(|_| json!({"status": "success"})))
}

pub(crate) async fn clock(State(c): State<Control>) -> Response {
    Json(json!({"now_ms": c.0.now_ms()})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Advance {
    pub seconds: f64,
}

pub(crate) async fn advance(State(c): State<Control>, Json(a): Json<Advance>) -> Response {
    answer(c.advance(a.seconds).map(|now| json!({"now_ms": now})))
}

pub(crate) async fn config(State(c): State<Control>, body: Option<Json<Value>>) -> Response {
    answer(c.configure_json(body.map(|Json(v)| v).unwrap_or_else(|| json!({}))))
}

pub(crate) async fn faults(State(c): State<Control>, Json(f): Json<Fault>) -> Response {
    answer(c.inject_fault(f).map(|_| json!({"status": "success"})))
}

#[derive(Deserialize)]
pub(crate) struct Seed {
    #[serde(default)]
    pub module: String,
    pub count: usize,
}

pub(crate) async fn seed(State(c): State<Control>, Path(module): Path<String>, Json(s): Json<Seed>) -> Response {
    answer(c.seed_crm(&module, s.count).map(|_| json!({"status": "success", "module": module, "count": s.count})))
}

pub(crate) async fn counters(State(c): State<Control>) -> Response {
    Json(c.counters()).into_response()
}

pub(crate) async fn reset(State(c): State<Control>) -> Response {
    c.0.reset();
    Json(json!({"status": "success"})).into_response()
}
