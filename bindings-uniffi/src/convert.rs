//! Options in: Kotlin values to the core's configuration (`zoho_oauth::config`), which holds
//! every rule; bad input becomes `ZohoException.Config` before any network I/O.

use std::collections::HashMap;

/// The kind of client registered in Zoho's API console; it decides PKCE and redirect rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ClientType {
    /// Server-based application (redirect URI, client secret).
    Server,
    /// Self client (codes generated in the API console; no redirect URI).
    SelfClient,
    /// Mobile or desktop application: PKCE S256 is added to the authorization URL.
    Mobile,
    /// Non-browser (device-flow) application.
    Device,
}

impl From<ClientType> for zoho_oauth::ClientType {
    fn from(t: ClientType) -> Self {
        match t {
            ClientType::Server => zoho_oauth::ClientType::Server,
            ClientType::SelfClient => zoho_oauth::ClientType::SelfClient,
            ClientType::Mobile => zoho_oauth::ClientType::Mobile,
            ClientType::Device => zoho_oauth::ClientType::Device,
        }
    }
}

impl ClientType {
    /// The name the core's configuration parses (`zoho_oauth::ClientConfig::app.client_type`).
    pub(crate) fn name(t: Option<ClientType>) -> Option<String> {
        t.map(|t| zoho_oauth::ClientType::from(t).as_str().to_string())
    }
}

/// A map of DC code to value as the core's configuration takes it.
pub(crate) fn pairs(m: HashMap<String, String>) -> Vec<(String, String)> {
    m.into_iter().collect()
}
