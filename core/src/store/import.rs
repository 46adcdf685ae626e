//! Import of tokens from the official Zoho SDKs' `FileStore` CSV, so a project can switch to
//! zoho-oauth without spending new grant codes.
//!
//! The SDKs write a header row and then one row per user. Older SDKs (Python, Node for API v2)
//! write `user_mail,client_id,refresh_token,access_token,grant_token,expiry_time`; newer ones
//! (Java, C#, TypeScript, Python 8.0) write `id,user_mail,client_id,client_secret,refresh_token,
//! access_token,grant_token,expiry_time,redirect_url[,api_domain]`. Columns are found by their
//! header name, so both layouts (and column orders) work. `expiry_time` is Unix milliseconds.
//! The client secret column, when present, is ignored: zoho-oauth never stores it.

use super::{StoreKey, TokenStore};
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// One row of an SDK token file.
#[derive(Clone, Debug)]
pub struct SdkToken {
    /// The `user_mail` column (kept as the identity's label).
    pub user_mail: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The refresh token (rows without one are skipped: they cannot be refreshed).
    pub refresh_token: RefreshToken,
    /// The access token and its expiry (Unix ms), when the row has both.
    pub access_token: Option<(AccessToken, i64)>,
    /// The `api_domain` column of the newest SDKs.
    pub api_domain: Option<String>,
}

impl SdkToken {
    /// Write this row into `store` for `accounts_server` (the SDK file does not record the
    /// DC; pass the one the SDK was configured with): the refresh token with the email as the
    /// label, and the access token when it has one. Returns the identity's key.
    pub async fn save_to(&self, store: &dyn TokenStore, accounts_server: &str) -> Result<StoreKey> {
        let accounts_server = accounts_server.trim_end_matches('/');
        let key = StoreKey::new(accounts_server, &self.client_id, &self.refresh_token);
        store.save_refresh_token(&key, &self.refresh_token, self.user_mail.as_deref()).await?;
        if let Some((at, expires_at_ms)) = &self.access_token {
            let token = TokenSet {
                access_token: at.clone(),
                refresh_token: None,
                api_domain: self.api_domain.clone(),
                accounts_server: accounts_server.to_string(),
                token_type: "Bearer".into(),
                expires_at_ms: *expires_at_ms,
                issued_at_ms: expires_at_ms.saturating_sub(3_600_000),
                scopes: Vec::new(),
                id_token: None,
            };
            store.put(&key, token).await?;
        }
        Ok(key)
    }
}

/// Parse an SDK `FileStore` CSV. Rows without a client id or refresh token are skipped; a file
/// without the `client_id` and `refresh_token` columns is a `config` error naming what it has.
pub fn import_zoho_sdk_csv(csv_text: &str) -> Result<Vec<SdkToken>> {
    let hint = "pass the CSV file the Zoho SDK's FileStore wrote (its first row names the columns)";
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let headers =
        reader.headers().map_err(|e| Error::config(format!("the SDK token file is not CSV: {e}"), hint))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(client_id), Some(refresh)) = (col("client_id"), col("refresh_token")) else {
        let names: Vec<&str> = headers.iter().take(12).collect();
        return Err(Error::config(
            format!("the SDK token file has no client_id and refresh_token columns (it has: {})", names.join(", ")),
            hint,
        ));
    };
    let (mail, access, expiry, api_domain) =
        (col("user_mail"), col("access_token"), col("expiry_time"), col("api_domain"));
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row =
            row.map_err(|e| Error::config(format!("row {} of the SDK token file is not valid CSV: {e}", i + 2), hint))?;
        let cell =
            |c: Option<usize>| c.and_then(|c| row.get(c)).map(str::trim).filter(|v| !v.is_empty() && *v != "null");
        let (Some(cid), Some(rt)) = (cell(Some(client_id)), cell(Some(refresh))) else {
            continue;
        };
        let access_token = match (cell(access), cell(expiry).and_then(|e| e.parse::<i64>().ok())) {
            (Some(at), Some(exp)) => Some((AccessToken::new(at), exp)),
            _ => None,
        };
        out.push(SdkToken {
            user_mail: cell(mail).map(str::to_string),
            client_id: cid.to_string(),
            refresh_token: RefreshToken::new(rt),
            access_token,
            api_domain: cell(api_domain).map(str::to_string),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sdk_layouts_parse_and_rows_without_refresh_tokens_are_skipped() {
        let old = "user_mail,client_id,refresh_token,access_token,grant_token,expiry_time\n\
                   a@x.com,1000.A,1000.r1,1000.at1,,1790000000000\n\
                   b@x.com,1000.A,,1000.at2,1000.grant,1790000000000\n";
        let t = import_zoho_sdk_csv(old).unwrap_or_default();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].user_mail.as_deref(), Some("a@x.com"));
        assert_eq!(t[0].refresh_token.secret(), "1000.r1");
        assert_eq!(t[0].access_token.as_ref().map(|a| a.1), Some(1_790_000_000_000));

        let new = "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain\n\
                   1,\"c@x.com\",1000.B,sec,1000.r2,null,,null,https://x/cb,https://www.zohoapis.eu\n";
        let t = import_zoho_sdk_csv(new).unwrap_or_default();
        assert_eq!(t.len(), 1);
        assert!(t[0].access_token.is_none());
        assert_eq!(t[0].api_domain.as_deref(), Some("https://www.zohoapis.eu"));
        assert!(!format!("{:?}", t[0]).contains("1000.r2"), "Debug must not show the refresh token");
    }

    #[test]
    fn a_foreign_file_is_a_config_error() {
        let e = import_zoho_sdk_csv("name,email\nx,y\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("no client_id and refresh_token columns"), "{e}");
    }
}
