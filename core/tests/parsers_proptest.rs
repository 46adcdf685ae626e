//! Property tests: the token response, callback URL and error envelope parsers never panic on
//! arbitrary input and always answer with a value or a typed error.

use proptest::prelude::*;
use zoho_oauth::fuzzing::{envelope, parse_api_error};
use zoho_oauth::{ErrorCode, TokenSet, parse_callback};

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("access_token".to_string()),
                    Just("expires_in".to_string()),
                    Just("expires_in_sec".to_string()),
                    Just("scope".to_string()),
                    Just("api_domain".to_string()),
                    Just("error".to_string()),
                    Just("code".to_string()),
                    Just("errorCode".to_string()),
                    Just("data".to_string()),
                    Just("message".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

const TOKEN_CODES: [ErrorCode; 8] = [
    ErrorCode::InvalidCode,
    ErrorCode::InvalidClient,
    ErrorCode::InvalidClientSecret,
    ErrorCode::InvalidRedirectUri,
    ErrorCode::AccessDenied,
    ErrorCode::TokenThrottled,
    ErrorCode::DeviceFlowExpired,
    ErrorCode::InvalidResponse,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_parser_never_panics_on_text(body in ".{0,200}", status in 100u16..600) {
        match TokenSet::parse(status, &body, 1_700_000_000_000, "https://accounts.zoho.com") {
            Ok(t) => prop_assert!(!t.access_token.secret().is_empty()),
            Err(e) => prop_assert!(TOKEN_CODES.contains(&e.code()) || e.code() == ErrorCode::Config),
        }
    }

    #[test]
    fn token_parser_decides_by_access_token(v in json_value(), now in 0i64..4_000_000_000_000) {
        let body = v.to_string();
        let has = v.get("access_token").and_then(|a| a.as_str()).is_some_and(|s| !s.is_empty());
        match TokenSet::parse(200, &body, now, "https://accounts.zoho.eu") {
            Ok(t) => {
                prop_assert!(has);
                prop_assert!(t.expires_at_ms >= now);
                let shown = format!("{:?}", t.access_token);
                prop_assert_eq!(shown.as_str(), "AccessToken([redacted])");
            }
            Err(e) => {
                // An access token that is there but not visible ASCII, or a lifetime that is not
                // a sane number, is refused as invalid_response (strict parsing).
                prop_assert!(!has || e.code() == ErrorCode::InvalidResponse);
                prop_assert!(TOKEN_CODES.contains(&e.code()) || e.code() == ErrorCode::Config);
                prop_assert!(e.hint().is_some());
            }
        }
    }

    #[test]
    fn truncated_token_bodies_are_errors_without_secrets(cut in 0usize..120) {
        let full = r#"{"access_token":"1000.0123456789abcdef.fedcba9876543210","refresh_token":"1000.aaaabbbbccccdddd","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}"#;
        let body = &full[..cut.min(full.len() - 1)];
        let err = TokenSet::parse(200, body, 0, "https://accounts.zoho.com").expect_err("truncated");
        prop_assert_eq!(err.code(), ErrorCode::InvalidResponse);
        let shown = format!("{err} {err:?}");
        prop_assert!(!shown.contains("0123456789abcdef"));
        prop_assert!(!shown.contains("aaaabbbbccccdddd"));
    }

    #[test]
    fn callback_parser_never_panics(input in ".{0,200}") {
        match parse_callback(&input) {
            Ok(cb) => prop_assert!(cb.code.is_some() || cb.error.is_some()),
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidResponse),
        }
    }

    #[test]
    fn callback_parser_reads_fields_in_any_order_and_encoding(
        code in "[0-9a-f.]{1,40}",
        state in "[A-Za-z0-9_-]{0,30}",
        dc in prop::sample::select(vec!["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "uk"]),
        encode in any::<bool>(),
        order in any::<bool>(),
    ) {
        let server = format!("https://accounts.zoho.{dc}");
        let server_param = if encode { server.replace(':', "%3A").replace('/', "%2F") } else { server.clone() };
        let parts = [
            format!("code={code}"),
            format!("state={state}"),
            format!("location={dc}"),
            format!("accounts-server={server_param}"),
        ];
        let query = if order { parts.join("&") } else { parts.iter().rev().cloned().collect::<Vec<_>>().join("&") };
        let cb = parse_callback(&format!("https://app.example/cb?{query}")).expect("parses");
        prop_assert_eq!(cb.code.as_ref().map(|c| c.secret().to_string()), Some(code));
        prop_assert_eq!(cb.state.as_deref(), Some(state.as_str()));
        prop_assert_eq!(cb.location.as_deref(), Some(dc));
        prop_assert_eq!(cb.accounts_server.as_deref(), Some(server.as_str()));
    }

    #[test]
    fn envelope_parsers_never_panic(v in json_value(), text in ".{0,100}", status in 400u16..600) {
        let _ = envelope(&text);
        let _ = envelope(&v.to_string());
        for body in [text, v.to_string()] {
            let e = parse_api_error(status, &body, None);
            prop_assert!(matches!(
                e.code(),
                ErrorCode::ApiError | ErrorCode::Unauthorized | ErrorCode::ScopeMismatch | ErrorCode::RateLimited
            ));
            prop_assert_eq!(e.status(), Some(status));
            prop_assert!(e.hint().is_some());
        }
    }
}
