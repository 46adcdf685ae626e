//! Secret newtypes: they print `[redacted]`, are zeroized on drop, and give their value only
//! through an explicit [`secret()`](ClientSecret::secret) call, so a stray `{:?}` in a log line
//! or an error message can never leak a credential.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wrap a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret value. Call this only where the value must go on the wire.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// True when the value is empty (a configuration mistake).
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// A short, stable, non-reversible fingerprint (first 12 hex digits of SHA-256),
            /// safe to log and to use as part of a store key.
            pub fn fingerprint(&self) -> String {
                fingerprint(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_string())
            }
        }
    };
}

secret_type!(
    /// An OAuth client secret (one per data centre when multi-DC secrets differ).
    ClientSecret
);
secret_type!(
    /// A long-lived refresh token. Does not expire until revoked or evicted.
    RefreshToken
);
secret_type!(
    /// A short-lived (one hour) access token, sent as `Authorization: Zoho-oauthtoken …`.
    AccessToken
);
secret_type!(
    /// A single-use grant (authorization) code, valid 3 minutes by default: exchange it at once.
    GrantCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636), kept between the authorization URL and the exchange.
    PkceVerifier
);
secret_type!(
    /// A device-flow device code: whoever holds it can collect the user's tokens.
    DeviceCode
);

/// Non-reversible short fingerprint of a secret value.
pub(crate) fn fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Compare without an early exit, so timing does not reveal a prefix match.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = ClientSecret::new("super-secret-value");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert!(!format!("{:?}", Some(&s)).contains("super"));
        assert_eq!(s.secret(), "super-secret-value");
        let r = RefreshToken::from("1000.abc");
        assert!(!format!("{r:?} {r}").contains("abc"));
    }

    #[test]
    fn fingerprint_is_stable_and_short() {
        let a = AccessToken::new("1000.x.y");
        assert_eq!(a.fingerprint(), AccessToken::new("1000.x.y").fingerprint());
        assert_eq!(a.fingerprint().len(), 12);
        assert_ne!(a.fingerprint(), AccessToken::new("1000.x.z").fingerprint());
    }

    #[test]
    fn equality() {
        assert_eq!(GrantCode::new("a"), GrantCode::new("a"));
        assert_ne!(GrantCode::new("a"), GrantCode::new("b"));
        assert_ne!(GrantCode::new("a"), GrantCode::new("ab"));
    }
}
