//! CRM, Desk and Books over real HTTP: envelopes, auth failures, scopes, pagination and limits.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use zoho_mock::*;

async fn token_with(env: &Env, scopes: &[&str]) -> String {
    s(&env.self_client_tokens(scopes).await["access_token"]).to_string()
}

#[tokio::test]
async fn crm_auth_failures_use_crm_codes() {
    let env = start().await;
    let leads = format!("{}/crm/v8/Leads", env.base());
    let none = env.get(&leads, None, &[]).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.json(),
        json!({"code": "AUTHENTICATION_FAILURE", "details": {}, "message": "Authentication failed", "status": "error"})
    );
    let bogus = env.get(&leads, Some("1000.bogus.bogus"), &[]).await;
    assert_eq!((bogus.status, bogus.json()["code"].clone()), (401, json!("INVALID_TOKEN")));
    let users_only = token_with(&env, &["ZohoCRM.users.READ"]).await;
    let scope = env.get(&leads, Some(&users_only), &[]).await;
    assert_eq!(scope.status, 401);
    assert_eq!(
        scope.json(),
        json!({"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope to access this URL", "status": "error"})
    );
    let me = env.get(&format!("{}/crm/v8/users?type=CurrentUser", env.base()), Some(&users_only), &[]).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["users"][0]["email"], DEFAULT_USER);
    // Module-level scopes cover only their module; READ does not allow CREATE.
    let leads_read = token_with(&env, &["ZohoCRM.modules.leads.READ"]).await;
    assert_eq!(env.get(&leads, Some(&leads_read), &[]).await.status, 200);
    assert_eq!(env.get(&format!("{}/crm/v8/Contacts", env.base()), Some(&leads_read), &[]).await.status, 401);
    let create = env.post_json(&leads, Some(&leads_read), &[], json!({"data": [{"Last_Name": "X"}]})).await;
    assert_eq!(create.json()["code"], "OAUTH_SCOPE_MISMATCH");
    // Bearer is accepted as well as Zoho-oauthtoken.
    let bearer = env.http.get(&leads).header("Authorization", format!("Bearer {leads_read}")).send().await.unwrap();
    assert_eq!(bearer.status(), 200);
}

#[tokio::test]
async fn crm_pagination_by_page_up_to_2000_then_page_token() {
    let env = start().await;
    env.mock.seed_crm("Leads", 2500);
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let base = format!("{}/crm/v8/Leads", env.base());
    let first = env.get(&format!("{base}?per_page=200"), Some(&at), &[]).await.json();
    assert_eq!(first["info"]["count"], 200);
    assert_eq!(first["info"]["more_records"], true);
    assert_eq!(first["data"][0]["id"], "5000000000000000001");
    let tenth = env.get(&format!("{base}?page=10&per_page=200"), Some(&at), &[]).await.json();
    assert_eq!(tenth["info"]["more_records"], true);
    assert_eq!(tenth["data"][199]["Last_Name"], "Record 2000");
    let eleventh = env.get(&format!("{base}?page=11&per_page=200"), Some(&at), &[]).await;
    assert_eq!(eleventh.status, 400);
    assert_eq!(eleventh.json()["code"], "DISCRETE_PAGINATION_LIMIT_EXCEEDED");
    // Walk the whole module with page tokens.
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let url = match &token {
            None => format!("{base}?per_page=200"),
            Some(t) => format!("{base}?per_page=200&page_token={t}"),
        };
        let page = env.get(&url, Some(&at), &[]).await.json();
        seen += page["data"].as_array().unwrap().len();
        if page["info"]["more_records"] != true {
            assert!(page["info"]["next_page_token"].is_null());
            break;
        }
        assert!(page["info"]["page_token_expiry"].is_string());
        token = Some(s(&page["info"]["next_page_token"]).to_string());
    }
    assert_eq!(seen, 2500);
    let both = env.get(&format!("{base}?page=2&page_token=ptk.10"), Some(&at), &[]).await;
    assert_eq!((both.status, both.json()["code"].clone()), (400, json!("INVALID_REQUEST")));
    let too_big = env.get(&format!("{base}?per_page=201"), Some(&at), &[]).await;
    assert_eq!((too_big.status, too_big.json()["code"].clone()), (400, json!("INVALID_DATA")));
    let bad_token = env.get(&format!("{base}?page_token=garbage"), Some(&at), &[]).await;
    assert_eq!(bad_token.status, 400);
}

#[tokio::test]
async fn crm_empty_module_is_204_and_unknown_module_is_invalid_module() {
    let env = start().await;
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let empty = env.get(&format!("{}/crm/v8/Deals", env.base()), Some(&at), &[]).await;
    assert_eq!(empty.status, 204);
    assert!(empty.text.is_empty());
    let unknown = env.get(&format!("{}/crm/v8/NoSuchModule", env.base()), Some(&at), &[]).await;
    assert_eq!(unknown.json()["code"], "INVALID_MODULE");
    let version = env.get(&format!("{}/crm/v99/Leads", env.base()), Some(&at), &[]).await;
    assert_eq!((version.status, version.json()["code"].clone()), (404, json!("INVALID_URL_PATTERN")));
}

#[tokio::test]
async fn crm_insert_answers_per_record_statuses() {
    let env = start().await;
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let url = format!("{}/crm/v8/Leads", env.base());
    let all_ok = env.post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "A"}, {"Last_Name": "B"}]})).await;
    assert_eq!(all_ok.status, 201);
    let body = all_ok.json();
    assert_eq!(body["data"][0]["code"], "SUCCESS");
    assert_eq!(body["data"][0]["status"], "success");
    assert!(body["data"][1]["details"]["id"].is_string());
    let mixed =
        env.post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "C"}, {"Company": "no name"}]})).await;
    assert_eq!(mixed.status, 202);
    assert_eq!(
        mixed.json()["data"][1],
        json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name"}, "message": "required field not found", "status": "error"})
    );
    let none_ok = env.post_json(&url, Some(&at), &[], json!({"data": [{"Company": "x"}]})).await;
    assert_eq!(none_ok.status, 400);
    let garbage = env
        .http
        .post(&url)
        .header("Authorization", format!("Zoho-oauthtoken {at}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let list = env.get(&url, Some(&at), &[]).await.json();
    assert_eq!(list["info"]["count"], 5 + 3, "three records were added");
}

#[tokio::test]
async fn crm_concurrency_limit_answers_429_too_many_requests() {
    let env = start().await;
    env.mock
        .configure(|s| {
            s.crm_concurrency = Some(1);
            s.latency_ms = 300;
        })
        .unwrap();
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let url = format!("{}/crm/v8/Leads", env.base());
    let (a, b) = tokio::join!(env.get(&url, Some(&at), &[]), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        env.get(&url, Some(&at), &[]).await
    });
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 429);
    assert_eq!(
        b.json(),
        json!({"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests. please try again after some time", "status": "error"})
    );
    // The slot is released: a later call succeeds.
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 200);
}

#[tokio::test]
async fn crm_credits_header_appears_at_half_and_calls_stop_when_spent() {
    let env = start().await;
    env.mock.configure(|s| s.crm_credits = Some(4)).unwrap();
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let url = format!("{}/crm/v8/Leads", env.base());
    let mut remaining = Vec::new();
    for _ in 0..4 {
        let r = env.get(&url, Some(&at), &[]).await;
        assert_eq!(r.status, 200);
        remaining.push(r.headers.get("x-api-credits-remaining").map(|v| v.to_str().unwrap().to_string()));
    }
    assert_eq!(remaining, vec![None, Some("2".into()), Some("1".into()), Some("0".into())]);
    let spent = env.get(&url, Some(&at), &[]).await;
    assert_eq!((spent.status, spent.json()["code"].clone()), (429, json!("LIMIT_EXCEEDED")));
    env.mock.advance_clock(Duration::from_secs(86_400));
    let a = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    assert_eq!(env.get(&url, Some(&a), &[]).await.status, 200, "credits are a rolling 24-hour window");
}

#[tokio::test]
async fn desk_requires_org_id_and_uses_error_code_envelopes() {
    let env = start().await;
    let at = token_with(&env, &["Desk.tickets.ALL", "Desk.basic.READ"]).await;
    let base = env.base();
    let orgs = env.get(&format!("{base}/api/v1/organizations"), Some(&at), &[]).await;
    assert_eq!(orgs.status, 200, "organizations needs no orgId");
    let org = s(&orgs.json()["data"][0]["id"]).to_string();
    let tickets = format!("{base}/api/v1/tickets");
    let no_org = env.get(&tickets, Some(&at), &[]).await;
    assert_eq!((no_org.status, no_org.json()["errorCode"].clone()), (400, json!("INVALID_DATA")));
    let wrong_org = env.get(&tickets, Some(&at), &[("orgId", "123")]).await;
    assert_eq!(
        (wrong_org.status, wrong_org.json()),
        (
            401,
            json!({"errorCode": "OAUTH_ORG_MISMATCH", "message": "The OAuthToken is not valid for specified organization"})
        )
    );
    let created = env
        .post_json(
            &tickets,
            Some(&at),
            &[("orgId", &org)],
            json!({"subject": "Printer on fire", "departmentId": "1", "contactId": "2"}),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.json()["status"], "Open");
    let invalid = env.post_json(&tickets, Some(&at), &[("orgId", &org)], json!({"departmentId": "1"})).await;
    assert_eq!(invalid.status, 422);
    let errors = invalid.json()["errors"].clone();
    assert_eq!(errors[0], json!({"fieldName": "/subject", "errorType": "missing", "errorMessage": ""}));
    let list = env.get(&tickets, Some(&at), &[("orgId", &org)]).await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    let none = env.get(&tickets, None, &[("orgId", &org)]).await;
    assert_eq!(
        (none.status, none.json()),
        (401, json!({"errorCode": "UNAUTHORIZED", "message": "You are not authenticated to perform this operation."}))
    );
    let bad = env.get(&tickets, Some("1000.x.y"), &[("orgId", &org)]).await;
    assert_eq!(
        bad.json(),
        json!({"errorCode": "INVALID_OAUTH", "message": "The OAuth Token you provided is invalid."})
    );
    let crm_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let scope = env.get(&tickets, Some(&crm_only), &[("orgId", &org)]).await;
    assert_eq!((scope.status, scope.json()["errorCode"].clone()), (401, json!("SCOPE_MISMATCH")));
}

#[tokio::test]
async fn books_needs_organization_id_and_answers_numeric_codes() {
    let env = start().await;
    let at = token_with(&env, &["ZohoBooks.invoices.ALL"]).await;
    let base = format!("{}/books/v3/invoices", env.base());
    let org = "800000001";
    let list = env.get(&format!("{base}?organization_id={org}&per_page=2"), Some(&at), &[]).await;
    assert_eq!(list.status, 200);
    let body = list.json();
    assert_eq!((body["code"].clone(), body["message"].clone()), (json!(0), json!("success")));
    assert_eq!(body["page_context"], json!({"page": 1, "per_page": 2, "has_more_page": true}));
    let missing = env.get(&format!("{base}/404404?organization_id={org}"), Some(&at), &[]).await;
    assert_eq!((missing.status, missing.json()), (404, json!({"code": 1002, "message": "Invoice does not exist."})));
    let no_org = env.get(&base, Some(&at), &[]).await;
    assert_eq!((no_org.status, no_org.json()["code"].clone()), (400, json!(6041)));
    let created =
        env.post_json(&format!("{base}?organization_id={org}"), Some(&at), &[], json!({"customer_id": "42"})).await;
    assert_eq!(created.status, 201);
    let id = s(&created.json()["invoice"]["invoice_id"]).to_string();
    let fetched = env.get(&format!("{base}/{id}?organization_id={org}"), Some(&at), &[]).await;
    assert_eq!(fetched.json()["invoice"]["customer_id"], "42");

    let none = env.get(&format!("{base}?organization_id={org}"), None, &[]).await;
    assert_eq!((none.status, none.json()["code"].clone()), (401, json!(14)));
    let dead = env.get(&format!("{base}?organization_id={org}"), Some("1000.a.b"), &[]).await;
    assert_eq!(
        (dead.status, dead.json()),
        (401, json!({"code": 57, "message": "You are not authorized to perform this operation"}))
    );
    let crm_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let scope = env.get(&format!("{base}?organization_id={org}"), Some(&crm_only), &[]).await;
    assert_eq!(scope.json()["code"], 57, "Books answers a missing scope like a dead token");
}

#[tokio::test]
async fn api_calls_are_counted_by_route_and_status() {
    let env = start().await;
    let at = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let url = format!("{}/crm/v8/Leads", env.base());
    env.get(&url, Some(&at), &[]).await;
    env.get(&url, None, &[]).await;
    let c = env.mock.counters();
    assert_eq!(c.api_calls("GET /crm/v8/Leads"), 2);
    assert_eq!(c.api_calls["GET /crm/v8/Leads"]["401"], 1);
    assert_eq!(c.api_calls_total(), 2);
    let over_http: Value =
        env.http.get(format!("{}/__mock/counters", env.base())).send().await.unwrap().json().await.unwrap();
    assert_eq!(over_http["api_calls_total"], 2);
}
