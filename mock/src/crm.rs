//! Zoho CRM (`/crm/{v2..v8}/…`): records, search, upsert, COQL, the org, users and the metadata
//! (`/settings/modules|fields|layouts`) that Zoho's SDKs read before any record. Shapes, status
//! codes and errors follow Zoho's CRM v8 OpenAPI definitions (`zoho/crm-oas`); where those are
//! silent the choice is listed in mock/README.md.

// Early returns carry the finished error `Response`; boxing it would only add noise in a mock.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::crm_meta::{ModuleDef, all_modules, org_json, user_json};
use crate::crm_query::{Filter, field_text, parse_coql, parse_criteria};
use crate::products::{Authorized, Product, authorize, crm_error, crm_gate, simulated_latency, with_credits};
use crate::server::ConnInfo;
use crate::state::{Shared, State as MockState, iso};

const CRM_VERSIONS: &[&str] = &["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"];
const PAGE_LIMIT: usize = 2000;
/// Records per write request (Zoho: 100).
const WRITE_LIMIT: usize = 100;
/// Rows per COQL query (Zoho v8: 2,000).
const COQL_LIMIT: usize = 2000;

fn bad_request(code: &str, message: &str, details: Value) -> Response {
    crm_error(StatusCode::BAD_REQUEST, code, message, details)
}

fn invalid_url() -> Response {
    crm_error(
        StatusCode::NOT_FOUND,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        json!({}),
    )
}

fn invalid_method() -> Response {
    crm_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "INVALID_REQUEST_METHOD",
        "The http request method type is not a valid one",
        json!({}),
    )
}

fn invalid_module(details: Value) -> Response {
    bad_request("INVALID_MODULE", "the module name given seems to be invalid", details)
}

fn param_missing(name: &str) -> Response {
    bad_request("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", json!({"param_name": name}))
}

/// What a CRM path asks for, decided before authentication so that the scope is known.
enum Route {
    Org,
    Users(Option<String>),
    Settings { what: String, id: Option<String> },
    Coql,
    Records { module: String, id: Option<String> },
    Search(String),
    Upsert(String),
}

impl Route {
    fn parse(rest: &str) -> Option<Route> {
        let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let own = |s: &str| s.to_string();
        Some(match seg.as_slice() {
            ["org"] => Route::Org,
            ["users"] => Route::Users(None),
            ["users", id] => Route::Users(Some(own(id))),
            ["settings", what @ ("modules" | "fields" | "layouts")] => Route::Settings { what: own(what), id: None },
            ["settings", what @ ("modules" | "fields" | "layouts"), id] => {
                Route::Settings { what: own(what), id: Some(own(id)) }
            }
            ["coql"] => Route::Coql,
            [module, "search"] => Route::Search(own(module)),
            [module, "upsert"] => Route::Upsert(own(module)),
            [module] if *module != "settings" => Route::Records { module: own(module), id: None },
            [module, id] if *module != "settings" => Route::Records { module: own(module), id: Some(own(id)) },
            _ => return None,
        })
    }

    /// The scope area and sub-area (`ZohoCRM.{area}[.{sub}].{OP}`) the route needs.
    fn scope(&self) -> (&str, Option<&str>) {
        match self {
            Route::Org => ("org", None),
            Route::Users(_) => ("users", None),
            Route::Settings { what, .. } => ("settings", Some(what.as_str())),
            Route::Coql => ("coql", None),
            Route::Records { module, .. } | Route::Search(module) | Route::Upsert(module) => {
                ("modules", Some(module.as_str()))
            }
        }
    }
}

/// Every `/crm/{version}/…` request.
pub(crate) async fn crm(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnInfo>,
    Path((version, rest)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !CRM_VERSIONS.contains(&version.as_str()) {
        return invalid_url();
    }
    let Some(route) = Route::parse(&rest) else {
        return invalid_url();
    };
    // COQL is a read sent as POST: its scope is ZohoCRM.coql.READ.
    let scope_method = if matches!(route, Route::Coql) { Method::GET } else { method.clone() };
    let (area, sub) = route.scope();
    let who = match authorize(&shared, &conn, &headers, &scope_method, Product::Crm, "ZohoCRM", area, sub) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (_slot, remaining) = match crm_gate(&shared, &who.crm_org) {
        Ok(g) => g,
        Err(r) => return r,
    };
    simulated_latency(&shared).await;
    let now = iso(shared.now_ms());
    let mut st = shared.lock();
    let m = method.as_str();
    let r = match (&route, m) {
        (Route::Org, "GET") => org(&who),
        (Route::Users(id), "GET") => users(&st, &who, id.as_deref(), &q),
        (Route::Settings { what, id }, "GET") => settings(&st, what, id.as_deref(), &q, &now),
        (Route::Coql, "POST") => coql(&st, &body),
        (Route::Search(module), "GET") => search(&st, module, &q),
        (Route::Upsert(module), "POST") => write(&mut st, module, None, &body, Write::Upsert, &who, &now),
        (Route::Records { module, id: None }, "GET") => list(&st, module, &q, &now),
        (Route::Records { module, id: None }, "POST") => write(&mut st, module, None, &body, Write::Insert, &who, &now),
        (Route::Records { module, id }, "PUT") => {
            write(&mut st, module, id.as_deref(), &body, Write::Update, &who, &now)
        }
        (Route::Records { module, id: Some(id) }, "GET") => get_one(&st, module, id, &q),
        (Route::Records { module, id }, "DELETE") => delete(&mut st, module, id.as_deref(), &q),
        _ => invalid_method(),
    };
    with_credits(r, remaining)
}

fn org(who: &Authorized) -> Response {
    let zuid = user_json(&who.user_id, &who.email)["zuid"].clone();
    let org = org_json(&numeric_org_id(&who.crm_org), &who.email, zuid.as_str().unwrap_or(""));
    Json(json!({"org": [org]})).into_response()
}

/// Zoho's org ids are numeric; an org registered with another id is shown as a stable number.
fn numeric_org_id(org: &str) -> String {
    if !org.is_empty() && org.bytes().all(|b| b.is_ascii_digit()) {
        return org.to_string();
    }
    let n = org.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % 1_000_000_000;
    format!("{}", 600_000_000_000u64 + n)
}

const USER_TYPES_ALL: &[&str] =
    &["AllUsers", "ActiveUsers", "ConfirmedUsers", "ActiveConfirmedUsers", "AdminUsers", "ActiveConfirmedAdmins"];
const USER_TYPES_NONE: &[&str] = &["DeactiveUsers", "NotConfirmedUsers", "DeletedUsers"];

fn users(st: &MockState, who: &Authorized, id: Option<&str>, q: &HashMap<String, String>) -> Response {
    let everyone: Vec<Value> = st.users_in_org(&who.crm_org).map(|(email, id)| user_json(id, email)).collect();
    if let Some(id) = id {
        return match everyone.into_iter().find(|u| u["id"] == id) {
            Some(u) => Json(json!({"users": [u]})).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        };
    }
    let chosen = match q.get("type").map(String::as_str) {
        Some("CurrentUser") => vec![user_json(&who.user_id, &who.email)],
        None => everyone,
        Some(t) if USER_TYPES_ALL.contains(&t) => everyone,
        Some(t) if USER_TYPES_NONE.contains(&t) => vec![],
        Some(_) => {
            return bad_request("INVALID_DATA", "invalid data", json!({"param_name": "type"}));
        }
    };
    if chosen.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let n = chosen.len();
    Json(json!({"users": chosen, "info": {"per_page": 200, "count": n, "page": 1, "more_records": false}}))
        .into_response()
}

/// The module called `name` (any case): a standard module or one created through the control API.
fn module(st: &MockState, name: &str) -> Option<ModuleDef> {
    all_modules(st.crm.values().map(|(n, _)| n.as_str())).into_iter().find(|m| m.api_name.eq_ignore_ascii_case(name))
}

fn records<'a>(st: &'a MockState, m: &ModuleDef) -> &'a [Value] {
    st.crm.get(&m.api_name.to_ascii_lowercase()).map(|(_, r)| r.as_slice()).unwrap_or(&[])
}

fn records_mut<'a>(st: &'a mut MockState, m: &ModuleDef) -> &'a mut Vec<Value> {
    &mut st.crm.entry(m.api_name.to_ascii_lowercase()).or_insert_with(|| (m.api_name.clone(), Vec::new())).1
}

fn settings(st: &MockState, what: &str, id: Option<&str>, q: &HashMap<String, String>, now: &str) -> Response {
    if what == "modules" {
        let modules = all_modules(st.crm.values().map(|(n, _)| n.as_str()));
        return match id {
            None => Json(json!({"modules": modules.iter().map(|m| m.json(now)).collect::<Vec<_>>()})).into_response(),
            Some(name) => match modules.iter().find(|m| m.api_name.eq_ignore_ascii_case(name) || m.id == name) {
                Some(m) => {
                    let mut j = m.json(now);
                    j["fields"] = json!(m.fields_json(now));
                    Json(json!({"modules": [j]})).into_response()
                }
                None => invalid_module(json!({"api_name": name})),
            },
        };
    }
    let Some(name) = q.get("module") else {
        return param_missing("module");
    };
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"param_name": "module"}));
    };
    let found = match (what, id) {
        ("fields", None) => Some(json!({"fields": m.fields_json(now)})),
        ("fields", Some(id)) => m.field_by_id(id, now).map(|f| json!({"fields": [f]})),
        ("layouts", None) => Some(json!({"layouts": [m.layout_json(now)]})),
        (_, Some(id)) => (id == m.layout_id()).then(|| json!({"layouts": [m.layout_json(now)]})),
        _ => None,
    };
    match found {
        Some(body) => Json(body).into_response(),
        None => bad_request("INVALID_DATA", "the id given seems to be invalid", json!({"id": id})),
    }
}

fn parse_positive(q: &HashMap<String, String>, key: &str, default: usize) -> Result<usize, Response> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad_request("INVALID_DATA", "invalid data", json!({"api_name": key}))),
    }
}

fn per_page(q: &HashMap<String, String>) -> Result<usize, Response> {
    match parse_positive(q, "per_page", 200)? {
        n if n <= 200 => Ok(n),
        _ => Err(bad_request("INVALID_DATA", "invalid data", json!({"api_name": "per_page"}))),
    }
}

/// A record with only the `fields` asked for (comma-separated), and always its id.
fn project(record: &Value, fields: Option<&String>) -> Value {
    let Some(fields) = fields else {
        return record.clone();
    };
    let mut out = serde_json::Map::new();
    out.insert("id".into(), record["id"].clone());
    for f in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if let Some((k, v)) = record.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(f))) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn list(st: &MockState, name: &str, q: &HashMap<String, String>, now: &str) -> Response {
    let per_page = match per_page(q) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let page_token = q.get("page_token");
    if page_token.is_some() && q.contains_key("page") {
        return bad_request(
            "INVALID_REQUEST",
            "page and page_token cannot be used together",
            json!({"param_name": "page_token"}),
        );
    }
    let offset = match page_token {
        Some(t) => match t.strip_prefix("ptk.").and_then(|h| usize::from_str_radix(h, 16).ok()) {
            Some(o) => o,
            None => return bad_request("INVALID_DATA", "invalid page token", json!({"param_name": "page_token"})),
        },
        None => {
            let page = match parse_positive(q, "page", 1) {
                Ok(p) => p,
                Err(r) => return r,
            };
            let offset = (page - 1) * per_page;
            if offset >= PAGE_LIMIT {
                return bad_request(
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "you cannot fetch more than 2000 records with page; use page_token",
                    json!({"limit": PAGE_LIMIT}),
                );
            }
            offset
        }
    };
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    let records = records(st, &m);
    if offset >= records.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    // Pages by number stop at record 2,000; only page tokens reach further.
    let cap = if page_token.is_some() { records.len() } else { PAGE_LIMIT.min(records.len()) };
    let end = (offset + per_page).min(cap).max(offset.min(cap));
    let more = end < records.len();
    let next_token = more.then(|| format!("ptk.{end:x}"));
    let info = json!({
        "per_page": per_page,
        "count": end - offset,
        "page": offset / per_page + 1,
        "more_records": more,
        "sort_by": "id",
        "sort_order": "desc",
        "next_page_token": next_token,
        "previous_page_token": (offset > 0).then(|| format!("ptk.{:x}", offset.saturating_sub(per_page))),
        "page_token_expiry": next_token.as_ref().map(|_| now.to_string()),
    });
    let data: Vec<Value> = records[offset..end].iter().map(|r| project(r, q.get("fields"))).collect();
    Json(json!({"data": data, "info": info})).into_response()
}

fn invalid_id(id: &str) -> Value {
    json!({"code": "INVALID_DATA", "details": {"id": id}, "message": "the id given seems to be invalid", "status": "error"})
}

fn get_one(st: &MockState, name: &str, id: &str, q: &HashMap<String, String>) -> Response {
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    match records(st, &m).iter().find(|r| r["id"] == id) {
        Some(r) => Json(json!({"data": [project(r, q.get("fields"))]})).into_response(),
        None => (StatusCode::BAD_REQUEST, Json(invalid_id(id))).into_response(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Write {
    Insert,
    Update,
    Upsert,
}

/// The per-record answer of a write and whether it succeeded.
fn outcome(ok: bool, code: &str, message: &str, details: Value) -> (bool, Value) {
    let status = if ok { "success" } else { "error" };
    (ok, json!({"code": code, "details": details, "message": message, "status": status}))
}

/// Zoho's status for a batch: all failed 400, mixed 202, else `all_ok`.
fn batch_status(results: &[(bool, Value)], all_ok: StatusCode) -> StatusCode {
    let ok = results.iter().filter(|(ok, _)| *ok).count();
    match ok {
        0 => StatusCode::BAD_REQUEST,
        n if n == results.len() => all_ok,
        _ => StatusCode::ACCEPTED,
    }
}

fn batch(results: Vec<(bool, Value)>, all_ok: StatusCode) -> Response {
    let status = batch_status(&results, all_ok);
    let data: Vec<Value> = results.into_iter().map(|(_, v)| v).collect();
    (status, Json(json!({"data": data}))).into_response()
}

fn owner(who: &Authorized) -> Value {
    json!({"id": who.user_id, "name": user_json(&who.user_id, &who.email)["full_name"], "email": who.email})
}

/// The first mandatory field that `item` leaves empty (all of them for an insert, only those
/// it sends for an update).
fn missing_mandatory(m: &ModuleDef, item: &Value, insert: bool) -> Option<&'static str> {
    m.mandatory().find(|f| match item.get(*f) {
        None => insert,
        Some(v) => v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()),
    })
}

/// Inserts, updates (`PUT /{module}` and `/{module}/{id}`) and upserts, each answering one
/// result per record.
fn write(
    st: &mut MockState,
    name: &str,
    path_id: Option<&str>,
    body: &[u8],
    kind: Write,
    who: &Authorized,
    now: &str,
) -> Response {
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let Some(items) = parsed.as_ref().and_then(|v| v.get("data")).and_then(Value::as_array).filter(|d| !d.is_empty())
    else {
        return bad_request(
            "INVALID_DATA",
            "the body must be JSON with a non-empty data array",
            json!({"api_name": "data"}),
        );
    };
    if items.len() > WRITE_LIMIT || (path_id.is_some() && items.len() > 1) {
        let limit = if path_id.is_some() { 1 } else { WRITE_LIMIT };
        return bad_request("LIMIT_EXCEEDED", "Record count exceeded", json!({"limit": limit}));
    }
    let dup_fields: Vec<String> =
        match parsed.as_ref().and_then(|v| v.get("duplicate_check_fields")).and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).map(String::from).collect(),
            None => m.unique.iter().map(|s| s.to_string()).collect(),
        };
    if let Some(unknown) = dup_fields.iter().find(|f| m.field(f).is_none()) {
        return bad_request(
            "INVALID_DATA",
            "invalid data",
            json!({"api_name": "duplicate_check_fields", "value": unknown}),
        );
    }
    let mut results = Vec::new();
    let mut inserted_all = true;
    for item in items {
        let Some(fields) = item.as_object() else {
            results.push(outcome(false, "INVALID_DATA", "invalid data", json!({"expected_data_type": "jsonobject"})));
            continue;
        };
        // Which existing record this item updates, if any.
        let target = match kind {
            Write::Insert => None,
            Write::Update => {
                let Some(id) = path_id.or_else(|| fields.get("id").and_then(Value::as_str)) else {
                    results.push(outcome(
                        false,
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        json!({"api_name": "id"}),
                    ));
                    continue;
                };
                match records(st, &m).iter().position(|r| r["id"] == id) {
                    Some(i) => Some((i, None)),
                    None => {
                        results.push((false, invalid_id(id)));
                        continue;
                    }
                }
            }
            Write::Upsert => dup_fields.iter().find_map(|f| {
                let wanted = field_text(item, f)?;
                let i = records(st, &m)
                    .iter()
                    .position(|r| field_text(r, f).is_some_and(|v| v.eq_ignore_ascii_case(&wanted)))?;
                Some((i, Some(f.clone())))
            }),
        };
        if let Some(missing) = missing_mandatory(&m, item, target.is_none()) {
            results.push(outcome(
                false,
                "MANDATORY_NOT_FOUND",
                "required field not found",
                json!({"api_name": missing}),
            ));
            continue;
        }
        let by = owner(who);
        match target {
            Some((i, dup)) => {
                inserted_all = false;
                let record = &mut records_mut(st, &m)[i];
                for (k, v) in fields.iter().filter(|(k, _)| k.as_str() != "id") {
                    record[k] = v.clone();
                }
                record["Modified_Time"] = json!(now);
                record["Modified_By"] = by.clone();
                let details = json!({"id": record["id"], "Modified_Time": now, "Modified_By": by,
                                     "Created_Time": record.get("Created_Time").cloned().unwrap_or(json!(now)),
                                     "Created_By": record.get("Created_By").cloned().unwrap_or(by.clone())});
                let (ok, mut v) = outcome(true, "SUCCESS", "record updated", details);
                if kind == Write::Upsert {
                    v["action"] = json!("update");
                    v["duplicate_field"] = json!(dup);
                }
                results.push((ok, v));
            }
            None => {
                let id = format!("{}", 6_000_000_000_000_000_000u64 + st.next_seq());
                let mut record = Value::Object(fields.clone());
                record["id"] = json!(id);
                if record.get("Owner").is_none_or(Value::is_null) {
                    record["Owner"] = by.clone();
                }
                for (k, v) in [("Created_By", &by), ("Modified_By", &by)] {
                    record[k] = v.clone();
                }
                record["Created_Time"] = json!(now);
                record["Modified_Time"] = json!(now);
                records_mut(st, &m).push(record);
                let details = json!({"id": id, "Created_Time": now, "Modified_Time": now,
                                     "Created_By": by, "Modified_By": by});
                let (ok, mut v) = outcome(true, "SUCCESS", "record added", details);
                if kind == Write::Upsert {
                    v["action"] = json!("insert");
                    v["duplicate_field"] = Value::Null;
                }
                results.push((ok, v));
            }
        }
    }
    let all_ok = match kind {
        Write::Insert => StatusCode::CREATED,
        Write::Upsert if inserted_all => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    batch(results, all_ok)
}

fn delete(st: &mut MockState, name: &str, path_id: Option<&str>, q: &HashMap<String, String>) -> Response {
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    let ids: Vec<String> = match (path_id, q.get("ids")) {
        (Some(id), _) => vec![id.to_string()],
        (None, Some(ids)) => ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        (None, None) => vec![],
    };
    if ids.is_empty() {
        return param_missing("ids");
    }
    if ids.len() > WRITE_LIMIT {
        return bad_request("LIMIT_EXCEEDED", "Record count exceeded", json!({"limit": WRITE_LIMIT}));
    }
    let records = records_mut(st, &m);
    let results = ids
        .iter()
        .map(|id| match records.iter().position(|r| r["id"] == id.as_str()) {
            Some(i) => {
                records.remove(i);
                outcome(true, "SUCCESS", "record deleted", json!({"id": id}))
            }
            None => (false, invalid_id(id)),
        })
        .collect();
    batch(results, StatusCode::OK)
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// `GET /{module}/search`: one of `criteria`, `email`, `phone`, `word` (in that order of
/// precedence when several are sent), paged like the record list up to 2,000 records.
fn search(st: &MockState, name: &str, q: &HashMap<String, String>) -> Response {
    let Some(m) = module(st, name) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    let typed = |kind: &str| m.all_fields().filter(|f| f.data_type == kind).map(|f| f.api_name).collect::<Vec<_>>();
    let matches: Box<dyn Fn(&Value) -> bool> = if let Some(c) = q.get("criteria") {
        let filter = match parse_criteria(c) {
            Ok(f) => f,
            Err(reason) => return bad_request("INVALID_QUERY", "invalid query formed", json!({"reason": reason})),
        };
        if let Some(unknown) = filter.fields().into_iter().find(|f| *f != "id" && m.field(f).is_none()) {
            return bad_request(
                "INVALID_QUERY",
                "invalid query formed",
                json!({"reason": "the field is not available for search", "api_name": unknown}),
            );
        }
        Box::new(move |r| filter.matches(r))
    } else if let Some(email) = q.get("email") {
        let (fields, email) = (typed("email"), email.clone());
        Box::new(move |r| fields.iter().any(|f| field_text(r, f).is_some_and(|v| v.eq_ignore_ascii_case(&email))))
    } else if let Some(phone) = q.get("phone") {
        let (fields, phone) = (typed("phone"), digits(phone));
        Box::new(move |r| {
            !phone.is_empty() && fields.iter().any(|f| field_text(r, f).is_some_and(|v| digits(&v) == phone))
        })
    } else if let Some(word) = q.get("word") {
        let word = word.to_lowercase();
        let text: Vec<&str> = m
            .all_fields()
            .filter(|f| matches!(f.data_type, "text" | "textarea" | "email" | "phone" | "picklist" | "website"))
            .map(|f| f.api_name)
            .collect();
        Box::new(move |r| {
            !word.is_empty() && text.iter().any(|f| field_text(r, f).is_some_and(|v| v.to_lowercase().contains(&word)))
        })
    } else {
        return param_missing("criteria");
    };
    let (page, per_page) = match (parse_positive(q, "page", 1), per_page(q)) {
        (Ok(p), Ok(n)) => (p, n),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    if page * per_page > PAGE_LIMIT {
        return bad_request("LIMIT_REACHED", "maximum response iteration limit reached", json!({"limit": "2000"}));
    }
    let found: Vec<&Value> = records(st, &m).iter().filter(|r| matches(r)).collect();
    let offset = (page - 1) * per_page;
    if offset >= found.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let end = (offset + per_page).min(found.len());
    let data: Vec<Value> = found[offset..end].iter().map(|r| project(r, q.get("fields"))).collect();
    Json(json!({"data": data, "info": {"per_page": per_page, "count": end - offset, "page": page,
                                        "more_records": end < found.len()}}))
    .into_response()
}

/// `POST /coql` with `{"select_query": "…"}` (the subset in mock/README.md).
fn coql(st: &MockState, body: &[u8]) -> Response {
    let query = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("select_query").and_then(Value::as_str).map(String::from));
    let Some(query) = query else {
        return param_missing("select_query");
    };
    let q = match parse_coql(&query) {
        Ok(q) => q,
        Err(e) => {
            return bad_request(
                "SYNTAX_ERROR",
                "error occured while parsing the query",
                json!({"clause": e.clause, "reason": e.reason}),
            );
        }
    };
    let Some(m) = module(st, &q.module) else {
        return bad_request("INVALID_QUERY", "invalid query formed", json!({"module": q.module}));
    };
    let where_fields = q.filter.as_ref().map(Filter::fields).unwrap_or_default();
    if let Some(bad) =
        q.fields.iter().map(String::as_str).chain(where_fields).find(|f| *f != "id" && m.field(f).is_none())
    {
        return bad_request("INVALID_QUERY", "column given seems to be invalid", json!({"column_name": bad}));
    }
    let limit = q.limit.unwrap_or(200);
    if limit == 0 || limit > COQL_LIMIT {
        return bad_request("LIMIT_EXCEEDED", "limit exceeded", json!({"by": "limit", "limit": COQL_LIMIT}));
    }
    let found: Vec<&Value> =
        records(st, &m).iter().filter(|r| q.filter.as_ref().is_none_or(|f| f.matches(r))).collect();
    if q.offset >= found.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let end = (q.offset + limit).min(found.len());
    let data: Vec<Value> = found[q.offset..end]
        .iter()
        .map(|r| {
            let mut row = serde_json::Map::new();
            for f in &q.fields {
                let v = r.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(f))).map(|(_, v)| v);
                // Lookups come back as their id only, as COQL answers them.
                let v = match v {
                    Some(Value::Object(o)) => json!({"id": o.get("id").cloned().unwrap_or(Value::Null)}),
                    Some(v) => v.clone(),
                    None => Value::Null,
                };
                row.insert(f.clone(), v);
            }
            row.insert("id".into(), r["id"].clone());
            Value::Object(row)
        })
        .collect();
    Json(json!({"data": data, "info": {"count": end - q.offset, "more_records": end < found.len()}})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm_query::Op;

    #[test]
    fn routes() {
        assert!(matches!(Route::parse("org"), Some(Route::Org)));
        assert!(matches!(Route::parse("settings/fields"), Some(Route::Settings { .. })));
        assert!(Route::parse("settings").is_none());
        assert!(Route::parse("settings/nope").is_none());
        assert!(Route::parse("Leads/1/2").is_none());
        assert!(matches!(Route::parse("Leads/search"), Some(Route::Search(_))));
        assert!(matches!(Route::parse("Leads/5"), Some(Route::Records { id: Some(_), .. })));
    }

    #[test]
    fn org_ids_are_numeric() {
        assert_eq!(numeric_org_id("600000001"), "600000001");
        let id = numeric_org_id("org-crm-1");
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(id, numeric_org_id("org-crm-1"));
    }

    #[test]
    fn ops_used() {
        // Search criteria map `in` to Equals with several values.
        let f = parse_criteria("(Last_Name:in:A,B)").unwrap();
        assert!(matches!(f, Filter::Cond { op: Op::Equals, .. }));
    }
}
