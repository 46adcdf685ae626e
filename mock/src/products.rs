//! Product APIs with their own envelopes: CRM (`code/details/message/status`), Desk
//! (`errorCode/message`) and Books (numeric `code/message`), each with the auth failures Zoho
//! answers (zoho-protocol.md section 7).

// Early returns carry the finished error `Response`; boxing it would only add noise in a mock.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::server::ConnInfo;
use crate::state::{AuthFailure, Shared, iso, op_for, scope_allows};

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Product {
    Crm,
    Desk,
    Books,
}

pub(crate) fn crm_error(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    (status, Json(json!({"code": code, "details": details, "message": message, "status": "error"}))).into_response()
}

fn desk_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"errorCode": code, "message": message}))).into_response()
}

fn books_error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

const BOOKS_NOT_AUTHORIZED: &str = "You are not authorized to perform this operation";

/// The failure each product answers when authentication or the scope check fails.
fn auth_error(product: Product, failure: Option<AuthFailure>) -> Response {
    let unauthorized = StatusCode::UNAUTHORIZED;
    match (product, failure) {
        (Product::Crm, Some(AuthFailure::Missing)) => {
            crm_error(unauthorized, "AUTHENTICATION_FAILURE", "Authentication failed", json!({}))
        }
        (Product::Crm, Some(AuthFailure::Invalid)) => {
            crm_error(unauthorized, "INVALID_TOKEN", "invalid oauth token", json!({}))
        }
        (Product::Crm, None) => {
            crm_error(unauthorized, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}))
        }
        (Product::Desk, Some(AuthFailure::Missing)) => {
            desk_error(unauthorized, "UNAUTHORIZED", "You are not authenticated to perform this operation.")
        }
        (Product::Desk, Some(AuthFailure::Invalid)) => {
            desk_error(unauthorized, "INVALID_OAUTH", "The OAuth Token you provided is invalid.")
        }
        (Product::Desk, None) => desk_error(
            unauthorized,
            "SCOPE_MISMATCH",
            "The OAuth Token you provided does not have the scope to perform this operation.",
        ),
        (Product::Books, Some(AuthFailure::Missing)) => books_error(
            unauthorized,
            14,
            "The request could not be authenticated as the authentication value you entered is invalid. \
             Enter a valid authentication value and try again.",
        ),
        (Product::Books, _) => books_error(unauthorized, 57, BOOKS_NOT_AUTHORIZED),
    }
}

/// The caller of a product call after authentication and the scope check.
pub(crate) struct Authorized {
    pub email: String,
    pub crm_org: String,
    desk_orgs: Vec<String>,
    books_orgs: Vec<String>,
    pub user_id: String,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn authorize(
    shared: &Shared,
    conn: &ConnInfo,
    headers: &HeaderMap,
    method: &Method,
    product: Product,
    service: &str,
    area: &str,
    sub: Option<&str>,
) -> Result<Authorized, Response> {
    let st = shared.lock();
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = st
        .authenticate(&shared.dcs[conn.dc].code, header, shared.now_ms())
        .map_err(|f| auth_error(product, Some(f)))?;
    if !scope_allows(&caller.scopes, service, area, sub, op_for(method)) {
        return Err(auth_error(product, None));
    }
    let user = st.user(&caller.user_email).ok_or_else(|| auth_error(product, Some(AuthFailure::Invalid)))?;
    Ok(Authorized {
        email: user.spec.email.clone(),
        crm_org: user.crm_org_id.clone(),
        desk_orgs: user.desk_org_ids.clone(),
        books_orgs: user.books_org_ids.clone(),
        user_id: user.id.clone(),
    })
}

pub(crate) async fn simulated_latency(shared: &Shared) {
    let ms = shared.lock().settings.latency_ms;
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Holds one of an org's concurrent CRM slots until dropped.
pub(crate) struct CrmSlot {
    shared: Arc<Shared>,
    org: String,
}

impl Drop for CrmSlot {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if let Some(n) = st.crm_inflight.get_mut(&self.org) {
            *n = n.saturating_sub(1);
        }
    }
}

/// CRM's per-org concurrency limit and rolling 24-hour credits. On success returns the slot and
/// the `X-API-CREDITS-REMAINING` value to send (only once half the credits are used, as Zoho does).
pub(crate) fn crm_gate(shared: &Arc<Shared>, org: &str) -> Result<(CrmSlot, Option<u64>), Response> {
    let now = shared.now_ms();
    let mut st = shared.lock();
    let concurrency = st.settings.crm_concurrency;
    let credits = st.settings.crm_credits;
    let inflight = st.crm_inflight.entry(org.to_string()).or_insert(0);
    if concurrency.is_some_and(|max| *inflight >= max) {
        return Err(crm_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            "too many requests. please try again after some time",
            json!({}),
        ));
    }
    let mut remaining = None;
    if let Some(limit) = credits {
        let log = st.crm_credit_log.entry(org.to_string()).or_default();
        while log.front().is_some_and(|t| now - t >= 86_400_000) {
            log.pop_front();
        }
        let used = log.len() as u64;
        if used >= limit {
            return Err(crm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "LIMIT_EXCEEDED",
                "API credits for the organization are exhausted",
                json!({}),
            ));
        }
        log.push_back(now);
        if (used + 1) * 2 >= limit {
            remaining = Some(limit - used - 1);
        }
    }
    *st.crm_inflight.entry(org.to_string()).or_insert(0) += 1;
    Ok((CrmSlot { shared: shared.clone(), org: org.to_string() }, remaining))
}

pub(crate) fn with_credits(mut r: Response, remaining: Option<u64>) -> Response {
    if let Some(n) = remaining {
        r.headers_mut().insert("X-API-CREDITS-REMAINING", HeaderValue::from(n));
    }
    r
}

/// `/api/v1/{resource}`: Desk organizations and tickets.
pub(crate) async fn desk(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    Path(resource): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let area = match resource.as_str() {
        "organizations" => "basic",
        "tickets" => "tickets",
        _ => return desk_error(StatusCode::NOT_FOUND, "URL_NOT_FOUND", "The URL you requested could not be found."),
    };
    let who = match authorize(&shared, &conn, &headers, &method, Product::Desk, "Desk", area, None) {
        Ok(w) => w,
        Err(r) => return r,
    };
    simulated_latency(&shared).await;
    if resource == "organizations" {
        let orgs: Vec<Value> = who
            .desk_orgs
            .iter()
            .map(|id| json!({"id": id, "companyName": format!("Zylker {id}"), "isDefault": true}))
            .collect();
        return Json(json!({"data": orgs})).into_response();
    }
    let org = match headers.get("orgId").and_then(|v| v.to_str().ok()) {
        None => return desk_error(StatusCode::BAD_REQUEST, "INVALID_DATA", "The orgId header is mandatory."),
        Some(o) if !who.desk_orgs.iter().any(|d| d == o) => {
            return desk_error(
                StatusCode::UNAUTHORIZED,
                "OAUTH_ORG_MISMATCH",
                "The OAuthToken is not valid for specified organization",
            );
        }
        Some(o) => o.to_string(),
    };
    if method == Method::GET {
        let st = shared.lock();
        let tickets = st.desk_tickets.get(&org).cloned().unwrap_or_default();
        return Json(json!({"data": tickets})).into_response();
    }
    if method != Method::POST {
        return desk_error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "The method is not allowed.");
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return desk_error(StatusCode::BAD_REQUEST, "INVALID_DATA", "The request body is not valid JSON.");
    };
    let mut missing = Vec::new();
    for field in ["subject", "departmentId"] {
        if input.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            missing.push(field);
        }
    }
    if input.get("contactId").is_none() && input.get("contact").is_none() {
        missing.push("contactId");
    }
    if !missing.is_empty() {
        let errors: Vec<Value> = missing
            .iter()
            .map(|f| json!({"fieldName": format!("/{f}"), "errorType": "missing", "errorMessage": ""}))
            .collect();
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"errorCode": "UNPROCESSABLE_ENTITY", "message": "An invalid value was found in the input.", "errors": errors})),
        )
            .into_response();
    }
    let now = iso(shared.now_ms());
    let mut st = shared.lock();
    let seq = st.next_seq();
    let mut ticket = input;
    ticket["id"] = json!(format!("{}", 9_000_000_000_000u64 + seq));
    ticket["ticketNumber"] = json!(format!("{}", 100 + seq));
    ticket["status"] = json!("Open");
    ticket["createdTime"] = json!(now);
    st.desk_tickets.entry(org).or_default().push(ticket.clone());
    Json(ticket).into_response()
}

fn seed_invoices(org: &str) -> Vec<Value> {
    (1..=3)
        .map(|i| {
            json!({"invoice_id": format!("{org}{i:04}"), "invoice_number": format!("INV-{i:05}"),
                   "customer_id": "460000000026049", "customer_name": "Bowman & Co", "status": "sent",
                   "total": 100.0 * i as f64, "currency_code": "USD"})
        })
        .collect()
}

/// `/books/v3/invoices[/{id}]`.
pub(crate) async fn books(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    id: Option<Path<String>>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = match authorize(&shared, &conn, &headers, &method, Product::Books, "ZohoBooks", "invoices", None) {
        Ok(w) => w,
        Err(r) => return r,
    };
    simulated_latency(&shared).await;
    let Some(org) = q.get("organization_id").filter(|o| who.books_orgs.contains(o)).cloned() else {
        return books_error(
            StatusCode::BAD_REQUEST,
            6041,
            "organization_id is missing or the user is not associated with that organization.",
        );
    };
    let mut st = shared.lock();
    let invoices = st.books_invoices.entry(org.clone()).or_insert_with(|| seed_invoices(&org));
    if let Some(Path(id)) = id {
        return match invoices.iter().find(|i| i["invoice_id"] == json!(id)) {
            Some(inv) => Json(json!({"code": 0, "message": "success", "invoice": inv})).into_response(),
            None => books_error(StatusCode::NOT_FOUND, 1002, "Invoice does not exist."),
        };
    }
    if method == Method::POST {
        let input = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
        if input.get("customer_id").and_then(Value::as_str).is_none_or(str::is_empty) {
            return books_error(StatusCode::BAD_REQUEST, 4, "Invalid value passed for customer_id");
        }
        let n = invoices.len() + 1;
        let mut invoice = input;
        invoice["invoice_id"] = json!(format!("{org}{n:04}"));
        invoice["invoice_number"] = json!(format!("INV-{n:05}"));
        invoice["status"] = json!("draft");
        invoices.push(invoice.clone());
        return (
            StatusCode::CREATED,
            Json(json!({"code": 0, "message": "The invoice has been created.", "invoice": invoice})),
        )
            .into_response();
    }
    let page = q.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p > 0).unwrap_or(1);
    let per_page = q.get("per_page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p > 0).unwrap_or(200).min(200);
    let start = ((page - 1) * per_page).min(invoices.len());
    let end = (start + per_page).min(invoices.len());
    Json(json!({"code": 0, "message": "success", "invoices": &invoices[start..end],
                "page_context": {"page": page, "per_page": per_page, "has_more_page": end < invoices.len()}}))
    .into_response()
}

/// Unknown product paths: a 404 in the envelope of the product the path looks like.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/crm/") {
        crm_error(
            StatusCode::NOT_FOUND,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            json!({}),
        )
    } else if path.starts_with("/books/") {
        books_error(StatusCode::NOT_FOUND, 5, "Invalid URL Passed")
    } else {
        desk_error(StatusCode::NOT_FOUND, "URL_NOT_FOUND", "The URL you requested could not be found.")
    }
}
