//! The state of one identity as the memory and file stores keep it, and the store operations on
//! it, written once so both stores behave the same. Serialized as JSON by the file store (and,
//! field for field, by the Redis store's token value).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Backoff, MAX_HISTORY, StoreKey, StoredIdentity};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::TokenSet;

/// A cached access token as stored. The refresh token and the OpenID `id_token` are not part
/// of it: the refresh token is kept separately and only on request, the id_token never.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_domain: Option<String>,
    accounts_server: String,
    #[serde(default = "bearer")]
    token_type: String,
    expires_at_ms: i64,
    /// Absent in stores written before the lifetime was kept: one hour is assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at_ms: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
}

fn bearer() -> String {
    "Bearer".into()
}

impl TokenRecord {
    pub(crate) fn from_token(t: &TokenSet) -> Self {
        TokenRecord {
            access_token: t.access_token.secret().to_string(),
            api_domain: t.api_domain.clone(),
            accounts_server: t.accounts_server.clone(),
            token_type: t.token_type.clone(),
            expires_at_ms: t.expires_at_ms,
            issued_at_ms: Some(t.issued_at_ms),
            scopes: t.scopes.clone(),
        }
    }

    /// The token, unless its access token could never be sent (not visible ASCII, as a store
    /// written by an older build may hold): such a token is treated as absent, so the next call
    /// refreshes and replaces it instead of failing on it until it expires.
    pub(crate) fn to_token(&self) -> Option<TokenSet> {
        if !crate::token::is_visible_ascii(&self.access_token) || self.access_token.is_empty() {
            return None;
        }
        Some(TokenSet {
            access_token: AccessToken::new(self.access_token.clone()),
            refresh_token: None,
            api_domain: self.api_domain.clone(),
            accounts_server: self.accounts_server.clone(),
            token_type: self.token_type.clone(),
            expires_at_ms: self.expires_at_ms,
            issued_at_ms: self.issued_at_ms.unwrap_or(self.expires_at_ms.saturating_sub(3_600_000)),
            scopes: self.scopes.clone(),
            id_token: None,
        })
    }
}

/// The in-process lease of the memory store (the file store uses an OS file lock instead).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LeaseRecord {
    holder: String,
    until_ms: i64,
}

/// Everything a store keeps for one identity.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Record {
    pub client_id: String,
    pub accounts_server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenRecord>,
    /// Only present when the caller asked for it to be kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub refreshes: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_until_ms: Option<i64>,
    /// The failure backoff after a failed refresh (cleared by a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// The last fencing number handed out with a lease.
    #[serde(default)]
    pub fence: u64,
    /// The fencing number under which the cached token was written (0: unfenced).
    #[serde(default)]
    pub token_fence: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseRecord>,
    /// Fields this build does not know (written by a newer build of the same schema version):
    /// kept as they are and written back, never dropped.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// The records of a store, by key id.
pub(crate) type Records = BTreeMap<String, Record>;

/// Get or create the record of `key`.
pub(crate) fn entry<'m>(map: &'m mut Records, key: &StoreKey) -> &'m mut Record {
    map.entry(key.as_str().to_string()).or_insert_with(|| Record {
        client_id: key.client_id().to_string(),
        accounts_server: key.accounts_server().to_string(),
        ..Record::default()
    })
}

impl Record {
    pub(crate) fn token(&self) -> Option<TokenSet> {
        self.token.as_ref().and_then(TokenRecord::to_token)
    }

    pub(crate) fn put(&mut self, token: &TokenSet) {
        self.token = Some(TokenRecord::from_token(token));
        self.token_fence = 0;
    }

    pub(crate) fn put_fenced(&mut self, token: &TokenSet, fence: u64) -> bool {
        if fence < self.token_fence {
            return false;
        }
        self.token = Some(TokenRecord::from_token(token));
        self.token_fence = fence;
        true
    }

    pub(crate) fn invalidate_if(&mut self, rejected: &AccessToken) -> bool {
        if self.token.as_ref().is_some_and(|t| t.access_token == rejected.secret()) {
            self.token = None;
            true
        } else {
            false
        }
    }

    /// The next fencing number (the lease itself is the caller's business).
    pub(crate) fn next_fence(&mut self) -> u64 {
        self.fence = self.fence.saturating_add(1).max(self.token_fence.saturating_add(1));
        self.fence
    }

    /// An in-record lease (memory store): taken when free, expired or already ours.
    pub(crate) fn try_lease(&mut self, holder: &str, until_ms: i64, now_ms: i64) -> Option<u64> {
        match &self.lease {
            Some(l) if l.holder != holder && l.until_ms > now_ms => None,
            _ => {
                self.lease = Some(LeaseRecord { holder: holder.to_string(), until_ms });
                Some(self.next_fence())
            }
        }
    }

    /// Release the lease if `holder` holds it; whether it did.
    pub(crate) fn release_lease(&mut self, holder: &str) -> bool {
        let ours = self.lease.as_ref().is_some_and(|l| l.holder == holder);
        if ours {
            self.lease = None;
        }
        ours
    }

    pub(crate) fn record_refresh(&mut self, at_ms: i64, window_ms: i64) -> Vec<i64> {
        self.refreshes.push(at_ms);
        self.refreshes.sort_unstable();
        let excess = self.refreshes.len().saturating_sub(MAX_HISTORY);
        self.refreshes.drain(..excess);
        self.history(at_ms, window_ms)
    }

    pub(crate) fn history(&self, now_ms: i64, window_ms: i64) -> Vec<i64> {
        let from = now_ms.saturating_sub(window_ms);
        self.refreshes.iter().copied().filter(|t| *t > from).collect()
    }

    /// Everything the refresh path reads, at once.
    pub(crate) fn snapshot(&self, now_ms: i64, window_ms: i64) -> super::Snapshot {
        super::Snapshot {
            token: self.token(),
            cooldown_until_ms: self.cooldown_until_ms,
            backoff: self.backoff.clone(),
            refreshes: self.history(now_ms, window_ms),
        }
    }

    pub(crate) fn save_refresh_token(&mut self, rt: &RefreshToken, label: Option<&str>) {
        self.refresh_token = Some(rt.secret().to_string());
        if let Some(l) = label {
            self.label = Some(l.to_string());
        }
    }

    pub(crate) fn load_refresh_token(&self) -> Option<RefreshToken> {
        self.refresh_token.as_deref().map(RefreshToken::new)
    }

    pub(crate) fn identity(&self, id: &str) -> StoredIdentity {
        StoredIdentity {
            key: StoreKey::from_parts(id.to_string(), self.accounts_server.clone(), self.client_id.clone()),
            label: self.label.clone(),
            api_domain: self.token.as_ref().and_then(|t| t.api_domain.clone()),
            scopes: self.token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default(),
            expires_at_ms: self.token.as_ref().map(|t| t.expires_at_ms),
            has_refresh_token: self.refresh_token.is_some(),
            refreshes: self.refreshes.clone(),
            cooldown_until_ms: self.cooldown_until_ms,
            backoff_until_ms: self.backoff.as_ref().map(|b| b.until_ms),
        }
    }
}

/// Every identity of `map`, without secrets.
pub(crate) fn list(map: &Records) -> Vec<StoredIdentity> {
    map.iter().map(|(id, r)| r.identity(id)).collect()
}
