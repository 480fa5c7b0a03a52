//! The access token: required on every API request when one is set (and one must be set
//! to listen on anything but a loopback address).
//!
//! A client sends it as `Authorization: Bearer TOKEN`, or as the `token` query parameter
//! (a browser's `EventSource` cannot set headers). The comparison takes the same time
//! whatever the bytes are ([`subtle`]), so timing does not reveal how much of a guess was
//! right.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// Whether the request carries `expected`.
pub fn authorized(expected: &str, headers: &HeaderMap, query: Option<&str>) -> bool {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(given) = from_header {
        return same(expected, given);
    }
    let Some(query) = query else {
        return false;
    };
    crate::params::decode_query(query)
        .unwrap_or_default()
        .iter()
        .find(|(k, _)| k == "token")
        .is_some_and(|(_, v)| same(expected, v))
}

/// Constant-time equality (the length is not secret).
pub fn same(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_or_query_token() {
        let mut h = HeaderMap::new();
        assert!(!authorized("s3cret", &h, None));
        assert!(authorized(
            "s3cret",
            &h,
            Some("since=2025-01-01&token=s3cret")
        ));
        assert!(!authorized("s3cret", &h, Some("token=s3cre")));
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(authorized("s3cret", &h, None));
        h.insert(header::AUTHORIZATION, "Bearer s3creT".parse().unwrap());
        assert!(!authorized("s3cret", &h, Some("token=s3cret")));
    }
}
