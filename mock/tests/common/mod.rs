//! Shared helpers for the mock's tests: a started mock and a plain reqwest client that never
//! follows redirects (the consent redirect is what the tests look at).
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use serde_json::Value;
use zoho_mock::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MintCode, MockConfig, MockZoho};

pub struct Env {
    pub mock: MockZoho,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn start() -> Env {
    start_with(MockConfig::default()).await
}

pub async fn start_with(config: MockConfig) -> Env {
    let mock = MockZoho::start(config).await.expect("mock starts");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Env { mock, http }
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Reply { status, headers, text }
}

impl Env {
    pub fn base(&self) -> String {
        self.mock.base_url()
    }

    /// POSTs a form to `{base}{path}`.
    pub async fn post_form(&self, base: &str, path: &str, form: &[(&str, &str)]) -> Reply {
        reply(self.http.post(format!("{base}{path}")).form(form).send().await.expect("request")).await
    }

    /// POSTs to the token endpoint of `base` and insists on Zoho's HTTP 200.
    pub async fn token_at(&self, base: &str, form: &[(&str, &str)]) -> Value {
        let r = self.post_form(base, "/oauth/v2/token", form).await;
        assert_eq!(r.status, 200, "Zoho answers the token endpoint with 200: {}", r.text);
        r.json()
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Value {
        self.token_at(&self.base(), form).await
    }

    /// Mints a self-client code for the default client and exchanges it.
    pub async fn self_client_tokens(&self, scopes: &[&str]) -> Value {
        let code = self.mock.mint_code(MintCode::new(DEFAULT_CLIENT_ID, scopes)).expect("mint");
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", &code.code),
        ])
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Value {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    pub async fn get(&self, url: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.get(url);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Zoho-oauthtoken {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.expect("request")).await
    }

    pub async fn post_json(&self, url: &str, token: Option<&str>, headers: &[(&str, &str)], body: Value) -> Reply {
        let mut req = self.http.post(url).json(&body);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Zoho-oauthtoken {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.expect("request")).await
    }

    /// Any method with an optional JSON body, as Zoho's record writes need (PUT, DELETE).
    pub async fn send(&self, method: reqwest::Method, url: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Zoho-oauthtoken {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.expect("request")).await
    }

    pub async fn control(&self, path: &str, body: Value) -> Reply {
        reply(self.http.post(format!("{}/__mock{path}", self.base())).json(&body).send().await.expect("request")).await
    }
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}
