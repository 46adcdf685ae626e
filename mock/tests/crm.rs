//! CRM v8 over real HTTP: org, users, settings metadata, record reads and writes, upsert, search
//! and COQL, each with the errors Zoho answers (envelopes, status codes, scopes).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use zoho_mock::*;

const ALL: &[&str] =
    &["ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.ALL", "ZohoCRM.org.ALL", "ZohoCRM.coql.READ"];

async fn token_with(env: &Env, scopes: &[&str]) -> String {
    s(&env.self_client_tokens(scopes).await["access_token"]).to_string()
}

fn crm(env: &Env, path: &str) -> String {
    format!("{}/crm/v8/{path}", env.base())
}

fn is_numeric(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

fn scope_mismatch() -> Value {
    json!({"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope to access this URL", "status": "error"})
}

#[tokio::test]
async fn org_answers_the_callers_org_in_zohos_shape() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let r = env.get(&crm(&env, "org"), Some(&at), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/json;charset=utf-8");
    let org = &r.json()["org"][0];
    assert!(is_numeric(&org["id"]) && is_numeric(&org["zgid"]), "{org}");
    assert_eq!(org["primary_email"], DEFAULT_USER);
    for key in ["company_name", "time_zone", "currency", "iso_code", "domain_name"] {
        assert!(org[key].is_string(), "org.{key} in {org}");
    }
    let modules_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let denied = env.get(&crm(&env, "org"), Some(&modules_only), &[]).await;
    assert_eq!((denied.status, denied.json()), (401, scope_mismatch()));
    let none = env.get(&crm(&env, "org"), None, &[]).await;
    assert_eq!((none.status, none.json()["code"].clone()), (401, json!("AUTHENTICATION_FAILURE")));
}

#[tokio::test]
async fn users_by_type_and_by_id() {
    let env = start().await;
    env.mock
        .register_user(UserSpec {
            crm_org_id: Some("600000001".into()),
            ..UserSpec::new("colleague@example.com", "us")
        })
        .unwrap();
    let at = token_with(&env, &["ZohoCRM.users.READ"]).await;
    let me = env.get(&crm(&env, "users?type=CurrentUser"), Some(&at), &[]).await.json();
    let my = &me["users"][0];
    assert_eq!(my["email"], DEFAULT_USER);
    assert!(is_numeric(&my["id"]));
    assert_eq!(my["status"], "active");
    assert!(my["full_name"].is_string() && my["role"]["name"].is_string() && my["profile"]["name"].is_string());
    for q in ["users", "users?type=ActiveUsers", "users?type=AllUsers"] {
        let all = env.get(&crm(&env, q), Some(&at), &[]).await.json();
        assert_eq!(all["users"].as_array().unwrap().len(), 2, "{q}: both users of the org");
        assert_eq!(all["info"]["count"], 2);
    }
    let id = s(&my["id"]).to_string();
    let one = env.get(&crm(&env, &format!("users/{id}")), Some(&at), &[]).await.json();
    assert_eq!(one["users"][0]["email"], DEFAULT_USER);
    let unknown = env.get(&crm(&env, "users/123"), Some(&at), &[]).await;
    assert_eq!((unknown.status, unknown.text.as_str()), (204, ""));
    let deactive = env.get(&crm(&env, "users?type=DeactiveUsers"), Some(&at), &[]).await;
    assert_eq!(deactive.status, 204);
    let bad = env.get(&crm(&env, "users?type=Nobody"), Some(&at), &[]).await;
    assert_eq!((bad.status, bad.json()["code"].clone()), (400, json!("INVALID_DATA")));
    let modules_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    assert_eq!(env.get(&crm(&env, "users"), Some(&modules_only), &[]).await.json(), scope_mismatch());
}

#[tokio::test]
async fn settings_modules_fields_and_layouts() {
    let env = start().await;
    env.mock.seed_crm("Vendors_Custom", 2);
    let at = token_with(&env, &["ZohoCRM.settings.ALL"]).await;
    let modules = env.get(&crm(&env, "settings/modules"), Some(&at), &[]).await.json();
    let list = modules["modules"].as_array().unwrap();
    let leads = list.iter().find(|m| m["api_name"] == "Leads").expect("Leads");
    assert_eq!((leads["api_supported"].clone(), leads["generated_type"].clone()), (json!(true), json!("default")));
    assert!(is_numeric(&leads["id"]));
    let custom = list.iter().find(|m| m["api_name"] == "Vendors_Custom").expect("seeded modules are listed");
    assert_eq!(custom["generated_type"], "custom");
    let one = env.get(&crm(&env, "settings/modules/Leads"), Some(&at), &[]).await.json();
    assert_eq!(one["modules"][0]["api_name"], "Leads");
    let nope = env.get(&crm(&env, "settings/modules/Nope"), Some(&at), &[]).await;
    assert_eq!((nope.status, nope.json()["code"].clone()), (400, json!("INVALID_MODULE")));

    let fields = env.get(&crm(&env, "settings/fields?module=Leads"), Some(&at), &[]).await.json();
    let fields = fields["fields"].as_array().unwrap().clone();
    let field = |name: &str| fields.iter().find(|f| f["api_name"] == name).cloned().expect(name);
    let last = field("Last_Name");
    assert_eq!(
        (last["data_type"].clone(), last["json_type"].clone(), last["system_mandatory"].clone()),
        (json!("text"), json!("string"), json!(true))
    );
    assert!(is_numeric(&last["id"]));
    assert_eq!(field("Email")["data_type"], "email");
    assert_eq!(field("Owner")["json_type"], "jsonobject");
    let status = field("Lead_Status");
    assert_eq!(status["data_type"], "picklist");
    assert!(status["pick_list_values"].as_array().unwrap().iter().any(|v| v["actual_value"] == "Contacted"));
    let contacts = env.get(&crm(&env, "settings/fields?module=Contacts"), Some(&at), &[]).await.json();
    let account = contacts["fields"].as_array().unwrap().iter().find(|f| f["api_name"] == "Account_Name").cloned();
    let account = account.expect("Contacts.Account_Name");
    assert_eq!(account["data_type"], "lookup");
    assert_eq!(account["lookup"]["module"]["api_name"], "Accounts");

    let by_id = env.get(&crm(&env, &format!("settings/fields/{}?module=Leads", s(&last["id"]))), Some(&at), &[]).await;
    assert_eq!(by_id.json()["fields"][0]["api_name"], "Last_Name");
    let bad_id = env.get(&crm(&env, "settings/fields/42?module=Leads"), Some(&at), &[]).await;
    assert_eq!((bad_id.status, bad_id.json()["code"].clone()), (400, json!("INVALID_DATA")));
    let no_module = env.get(&crm(&env, "settings/fields"), Some(&at), &[]).await;
    assert_eq!(
        (no_module.status, no_module.json()),
        (
            400,
            json!({"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "module"},
                   "message": "One of the expected parameter is missing", "status": "error"})
        )
    );
    let unknown = env.get(&crm(&env, "settings/fields?module=Nope"), Some(&at), &[]).await;
    assert_eq!((unknown.status, unknown.json()["code"].clone()), (400, json!("INVALID_MODULE")));

    let layouts = env.get(&crm(&env, "settings/layouts?module=Leads"), Some(&at), &[]).await.json();
    let layout = &layouts["layouts"][0];
    assert!(is_numeric(&layout["id"]));
    assert!(layout["sections"][0]["fields"].as_array().unwrap().iter().any(|f| f["api_name"] == "Last_Name"));
    let by_id =
        env.get(&crm(&env, &format!("settings/layouts/{}?module=Leads", s(&layout["id"]))), Some(&at), &[]).await;
    assert_eq!(by_id.json()["layouts"][0]["id"], layout["id"]);
    let bad_layout = env.get(&crm(&env, "settings/layouts/1?module=Leads"), Some(&at), &[]).await;
    assert_eq!(bad_layout.status, 400);

    // Settings need ZohoCRM.settings.*; a module scope is not enough, a sub-scope covers its area.
    let modules_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let denied = env.get(&crm(&env, "settings/fields?module=Leads"), Some(&modules_only), &[]).await;
    assert_eq!((denied.status, denied.json()), (401, scope_mismatch()));
    let fields_only = token_with(&env, &["ZohoCRM.settings.fields.READ"]).await;
    assert_eq!(env.get(&crm(&env, "settings/fields?module=Leads"), Some(&fields_only), &[]).await.status, 200);
    assert_eq!(env.get(&crm(&env, "settings/layouts?module=Leads"), Some(&fields_only), &[]).await.status, 401);
}

#[tokio::test]
async fn get_update_and_delete_one_record() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let id = "5000000000000000002";
    let got = env.get(&crm(&env, &format!("Leads/{id}")), Some(&at), &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["data"][0]["Last_Name"], "Record 2");
    let some = env.get(&crm(&env, &format!("Leads/{id}?fields=Email")), Some(&at), &[]).await.json();
    assert_eq!(some["data"][0], json!({"id": id, "Email": "record2@example.com"}), "fields picks fields");
    let missing = env.get(&crm(&env, "Leads/404"), Some(&at), &[]).await;
    assert_eq!(
        (missing.status, missing.json()),
        (
            400,
            json!({"code": "INVALID_DATA", "details": {"id": "404"}, "message": "the id given seems to be invalid", "status": "error"})
        )
    );

    let url = crm(&env, &format!("Leads/{id}"));
    let updated = env.send(Method::PUT, &url, Some(&at), Some(json!({"data": [{"Company": "Acme"}]}))).await;
    assert_eq!(updated.status, 200);
    let result = &updated.json()["data"][0];
    assert_eq!((result["code"].clone(), result["message"].clone()), (json!("SUCCESS"), json!("record updated")));
    assert_eq!(result["details"]["id"], id);
    assert_eq!(env.get(&url, Some(&at), &[]).await.json()["data"][0]["Company"], "Acme");
    let cleared = env.send(Method::PUT, &url, Some(&at), Some(json!({"data": [{"Last_Name": ""}]}))).await;
    assert_eq!(cleared.status, 400);
    assert_eq!(cleared.json()["data"][0]["code"], "MANDATORY_NOT_FOUND");
    let unknown =
        env.send(Method::PUT, &crm(&env, "Leads/404"), Some(&at), Some(json!({"data": [{"Company": "x"}]}))).await;
    assert_eq!((unknown.status, unknown.json()["data"][0]["code"].clone()), (400, json!("INVALID_DATA")));

    let deleted = env.send(Method::DELETE, &url, Some(&at), None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.json()["data"][0],
        json!({"code": "SUCCESS", "details": {"id": id}, "message": "record deleted", "status": "success"})
    );
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 400, "gone");
    let again = env.send(Method::DELETE, &url, Some(&at), None).await;
    assert_eq!((again.status, again.json()["data"][0]["code"].clone()), (400, json!("INVALID_DATA")));

    let read_only = token_with(&env, &["ZohoCRM.modules.READ"]).await;
    let denied = env.send(Method::DELETE, &crm(&env, "Leads/5000000000000000001"), Some(&read_only), None).await;
    assert_eq!((denied.status, denied.json()), (401, scope_mismatch()));
    let denied = env
        .send(Method::PUT, &crm(&env, "Leads/5000000000000000001"), Some(&read_only), Some(json!({"data": [{}]})))
        .await;
    assert_eq!(denied.status, 401);
}

#[tokio::test]
async fn batch_update_and_delete_answer_per_record() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let leads = crm(&env, "Leads");
    let body = json!({"data": [{"id": "5000000000000000001", "Company": "A"}, {"id": "404", "Company": "B"}, {"Company": "C"}]});
    let mixed = env.send(Method::PUT, &leads, Some(&at), Some(body)).await;
    assert_eq!(mixed.status, 202, "some succeeded");
    let data = mixed.json()["data"].clone();
    assert_eq!(data[0]["code"], "SUCCESS");
    assert_eq!(data[1]["code"], "INVALID_DATA");
    assert_eq!(
        data[2],
        json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "id"}, "message": "required field not found", "status": "error"})
    );
    let all_ok = env.send(Method::PUT, &leads, Some(&at), Some(json!({"data": [{"id": "5000000000000000003"}]}))).await;
    assert_eq!(all_ok.status, 200);
    let empty = env.send(Method::PUT, &leads, Some(&at), Some(json!({"data": []}))).await;
    assert_eq!((empty.status, empty.json()["code"].clone()), (400, json!("INVALID_DATA")));

    let del = env
        .send(Method::DELETE, &format!("{leads}?ids=5000000000000000001,5000000000000000002,404"), Some(&at), None)
        .await;
    assert_eq!(del.status, 202);
    let codes: Vec<Value> = del.json()["data"].as_array().unwrap().iter().map(|d| d["code"].clone()).collect();
    assert_eq!(codes, vec![json!("SUCCESS"), json!("SUCCESS"), json!("INVALID_DATA")]);
    let no_ids = env.send(Method::DELETE, &leads, Some(&at), None).await;
    assert_eq!((no_ids.status, no_ids.json()["code"].clone()), (400, json!("REQUIRED_PARAM_MISSING")));
    let list = env.get(&leads, Some(&at), &[]).await.json();
    assert_eq!(list["info"]["count"], 3);
    let patch = env.send(Method::PATCH, &leads, Some(&at), Some(json!({"data": [{}]}))).await;
    assert_eq!((patch.status, patch.json()["code"].clone()), (405, json!("INVALID_REQUEST_METHOD")));
}

#[tokio::test]
async fn created_records_carry_numeric_ids_owner_and_times() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let made = env.post_json(&crm(&env, "Leads"), Some(&at), &[], json!({"data": [{"Last_Name": "New"}]})).await;
    assert_eq!(made.status, 201);
    let id = s(&made.json()["data"][0]["details"]["id"]).to_string();
    assert!(is_numeric(&json!(id)));
    let record = env.get(&crm(&env, &format!("Leads/{id}")), Some(&at), &[]).await.json()["data"][0].clone();
    assert_eq!(record["Owner"]["email"], DEFAULT_USER);
    assert!(record["Created_Time"].is_string() && record["Modified_Time"].is_string());
    let missing = env.post_json(&crm(&env, "Leads"), Some(&at), &[], json!({"data": [{"Company": "x"}]})).await;
    assert_eq!((missing.status, missing.json()["data"][0]["details"].clone()), (400, json!({"api_name": "Last_Name"})));
}

#[tokio::test]
async fn upsert_matches_duplicate_check_fields() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let url = crm(&env, "Leads/upsert");
    let body = json!({"data": [{"Last_Name": "Changed", "Email": "record1@example.com"}, {"Last_Name": "Fresh", "Email": "fresh@example.com"}],
                      "duplicate_check_fields": ["Email"]});
    let r = env.post_json(&url, Some(&at), &[], body).await;
    assert_eq!(r.status, 200);
    let data = r.json()["data"].clone();
    assert_eq!((data[0]["action"].clone(), data[0]["duplicate_field"].clone()), (json!("update"), json!("Email")));
    assert_eq!(data[0]["details"]["id"], "5000000000000000001");
    assert_eq!((data[1]["action"].clone(), data[1]["message"].clone()), (json!("insert"), json!("record added")));
    assert!(data[1]["duplicate_field"].is_null());
    let first = env.get(&crm(&env, "Leads/5000000000000000001"), Some(&at), &[]).await.json();
    assert_eq!(first["data"][0]["Last_Name"], "Changed");
    // Without duplicate_check_fields the module's unique fields (Leads: Email) are used.
    let all_new =
        env.post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "Z", "Email": "z@example.com"}]})).await;
    assert_eq!(all_new.status, 201, "only inserts");
    let again =
        env.post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "Z2", "Email": "Z@example.com"}]})).await;
    assert_eq!(again.json()["data"][0]["action"], "update");
    let mixed = env
        .post_json(&url, Some(&at), &[], json!({"data": [{"Email": "nameless@example.com"}, {"Last_Name": "Ok"}]}))
        .await;
    assert_eq!(mixed.status, 202);
    assert_eq!(mixed.json()["data"][0]["code"], "MANDATORY_NOT_FOUND");
    let bad = env
        .post_json(&url, Some(&at), &[], json!({"data": [{"Last_Name": "x"}], "duplicate_check_fields": ["Nope"]}))
        .await;
    assert_eq!((bad.status, bad.json()["code"].clone()), (400, json!("INVALID_DATA")));
}

#[tokio::test]
async fn search_by_criteria_email_phone_and_word() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    let add = json!({"data": [{"Last_Name": "Burns", "First_Name": "Maria", "Email": "mb@zylker.com", "Phone": "+1 (555) 010-0001", "Company": "Zylker Corp"},
                              {"Last_Name": "Burns", "First_Name": "Ted", "Email": "tb@zylker.com"}]});
    assert_eq!(env.post_json(&crm(&env, "Leads"), Some(&at), &[], add).await.status, 201);
    let search = |q: &str| crm(&env, &format!("Leads/search?{q}"));
    let names = |v: Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|r| s(&r["First_Name"]).to_string()).collect()
    };
    let both = env.get(&search("criteria=(Last_Name:equals:burns)"), Some(&at), &[]).await;
    assert_eq!(both.status, 200);
    let body = both.json();
    assert_eq!(body["info"]["count"], 2);
    assert_eq!(body["info"]["more_records"], false);
    let and =
        env.get(&search("criteria=((Last_Name:equals:Burns)and(First_Name:starts_with:Ma))"), Some(&at), &[]).await;
    assert_eq!(names(and.json()), vec!["Maria"]);
    let or = env.get(&search("criteria=((First_Name:equals:Ted)or(Email:equals:mb@zylker.com))"), Some(&at), &[]).await;
    assert_eq!(names(or.json()), vec!["Maria", "Ted"]);
    let email = env.get(&search("email=TB@zylker.com"), Some(&at), &[]).await;
    assert_eq!(names(email.json()), vec!["Ted"]);
    let phone = env.get(&search("phone=15550100001"), Some(&at), &[]).await;
    assert_eq!(names(phone.json()), vec!["Maria"]);
    let word = env.get(&search("word=corp"), Some(&at), &[]).await;
    assert_eq!(names(word.json()), vec!["Maria"]);
    let none = env.get(&search("criteria=(Last_Name:equals:Nobody)"), Some(&at), &[]).await;
    assert_eq!((none.status, none.text.as_str()), (204, ""));

    let malformed = env.get(&search("criteria=Last_Name:equals:Burns"), Some(&at), &[]).await;
    assert_eq!((malformed.status, malformed.json()["code"].clone()), (400, json!("INVALID_QUERY")));
    let unknown = env.get(&search("criteria=(Shoe_Size:equals:9)"), Some(&at), &[]).await;
    assert_eq!(unknown.json()["details"]["api_name"], "Shoe_Size");
    let nothing = env.get(&search(""), Some(&at), &[]).await;
    assert_eq!((nothing.status, nothing.json()["code"].clone()), (400, json!("REQUIRED_PARAM_MISSING")));
    let too_deep = env.get(&search("criteria=(Last_Name:equals:Burns)&page=11"), Some(&at), &[]).await;
    assert_eq!((too_deep.status, too_deep.json()["code"].clone()), (400, json!("LIMIT_REACHED")));
    let settings_only = token_with(&env, &["ZohoCRM.settings.ALL"]).await;
    assert_eq!(env.get(&search("word=corp"), Some(&settings_only), &[]).await.json(), scope_mismatch());
}

#[tokio::test]
async fn coql_select_where_limit_offset() {
    let env = start().await;
    env.mock.seed_crm("Leads", 30);
    let at = token_with(&env, ALL).await;
    let url = crm(&env, "coql");
    let query = |q: &str| json!({"select_query": q});
    let r = env
        .post_json(&url, Some(&at), &[], query("select Last_Name, Email from Leads where Email like 'record1%' and Company = 'Zylker' limit 5 offset 2"))
        .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let names: Vec<&str> = body["data"].as_array().unwrap().iter().map(|d| s(&d["Last_Name"])).collect();
    // record1, record10..record19 match; offset 2 skips record1 and record10.
    assert_eq!(names, vec!["Record 11", "Record 12", "Record 13", "Record 14", "Record 15"]);
    assert_eq!(body["data"][0].as_object().unwrap().len(), 3, "the selected fields and id");
    assert_eq!(body["info"], json!({"count": 5, "more_records": true}));
    let or = env
        .post_json(
            &url,
            Some(&at),
            &[],
            query("select Last_Name from Leads where (Last_Name = 'Record 3' or Last_Name = 'Record 4')"),
        )
        .await;
    assert_eq!(or.json()["info"]["count"], 2);
    let empty = env.post_json(&url, Some(&at), &[], query("select Last_Name from Leads where Last_Name = 'x'")).await;
    assert_eq!(empty.status, 204);

    let syntax = env.post_json(&url, Some(&at), &[], query("select from Leads")).await;
    assert_eq!((syntax.status, syntax.json()["code"].clone()), (400, json!("SYNTAX_ERROR")));
    let column = env.post_json(&url, Some(&at), &[], query("select Shoe_Size from Leads")).await;
    assert_eq!(
        (column.status, column.json()),
        (
            400,
            json!({"code": "INVALID_QUERY", "details": {"column_name": "Shoe_Size"}, "message": "column given seems to be invalid", "status": "error"})
        )
    );
    let module = env.post_json(&url, Some(&at), &[], query("select Last_Name from Nope")).await;
    assert_eq!(module.json()["code"], "INVALID_QUERY");
    let limit = env.post_json(&url, Some(&at), &[], query("select Last_Name from Leads limit 2001")).await;
    assert_eq!((limit.status, limit.json()["code"].clone()), (400, json!("LIMIT_EXCEEDED")));
    let no_query = env.post_json(&url, Some(&at), &[], json!({})).await;
    assert_eq!((no_query.status, no_query.json()["code"].clone()), (400, json!("REQUIRED_PARAM_MISSING")));
    let modules_only = token_with(&env, &["ZohoCRM.modules.ALL"]).await;
    let denied = env.post_json(&url, Some(&modules_only), &[], query("select Last_Name from Leads")).await;
    assert_eq!((denied.status, denied.json()), (401, scope_mismatch()), "COQL needs ZohoCRM.coql.READ");
    assert_eq!(env.get(&url, Some(&at), &[]).await.status, 405);
}

#[tokio::test]
async fn every_crm_version_serves_the_same_routes() {
    let env = start().await;
    let at = token_with(&env, ALL).await;
    for v in ["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"] {
        for path in ["org", "users?type=CurrentUser", "settings/fields?module=Leads", "Leads/5000000000000000001"] {
            let r = env.get(&format!("{}/crm/{v}/{path}", env.base()), Some(&at), &[]).await;
            assert_eq!(r.status, 200, "{v}/{path}: {}", r.text);
        }
    }
    for path in ["settings", "settings/nope", "Leads/1/2"] {
        let r = env.get(&crm(&env, path), Some(&at), &[]).await;
        assert_eq!((r.status, r.json()["code"].clone()), (404, json!("INVALID_URL_PATTERN")), "{path}");
    }
}
