//! API keys and the `Auth` extractor.
//!
//! Clients send `Authorization: Basic base64("<key>:")` (Vitally, Segment), a pasted raw key
//! after `Basic ` (Vitally's analytics docs tell users to paste the token as is), or
//! `Bearer <key>`. Keys are stored as SHA-256 hashes; verified keys are cached in memory.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use steward_engine::ids::{ApiKeyId, WorkspaceId};
use steward_store::Store;
use steward_store::rows::KeyRole;

use crate::app::AppState;
use crate::error::{ApiError, ErrorCode};

/// Who is calling: the workspace their key belongs to and what the key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth {
    pub workspace: WorkspaceId,
    pub role: KeyRole,
    /// The key itself: the source of what it writes (import filters are per key).
    pub key: ApiKeyId,
}

impl Auth {
    /// Refuses read-only keys.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "this API key is read-only",
            ))
        }
    }
}

impl Auth {
    /// Refuses keys that may not change configuration.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == KeyRole::Admin {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "only an admin API key may change configuration",
            ))
        }
    }
}

/// A new random API key: `stw_` and 43 URL-safe characters (256 bits).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("stw_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The first characters of a key, kept to recognise it without revealing it.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(8).collect()
}

/// Extracts the key from an `Authorization` header value.
pub fn key_from_header(value: &str) -> Option<String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if rest.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    // Basic base64("key:") is the documented form; anything that does not decode to
    // "user:password" is taken as a pasted raw key.
    match STANDARD
        .decode(rest)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    {
        Some(decoded) => match decoded.split_once(':') {
            Some((user, _password)) if !user.is_empty() => Some(user.to_owned()),
            _ => Some(rest.to_owned()),
        },
        None => Some(rest.to_owned()),
    }
}

/// Verified keys by hash. Keys are never revoked in place yet, so entries do not go stale.
#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<[u8; 32], Auth>>,
    /// `Authorization` header values already verified, with their key's hash: a client sends
    /// the same header on every request, and this spares each one decoding the header and
    /// hashing the key (SHA-256), a few microseconds of a read that takes tens.
    headers: RwLock<foldhash::HashMap<Box<[u8]>, Verified>>,
}

/// A verified caller and their key's hash.
type Verified = (Auth, [u8; 32]);

/// Header values remembered at most: only verified ones are, but a client could still send
/// endless spellings of a valid key (`Basic` padding, case of the scheme, spaces).
const MAX_HEADERS: usize = 4096;

impl KeyCache {
    /// The caller of an `Authorization` header value, and their key's hash (for rate limits).
    pub async fn authenticate_header(
        &self,
        store: &Store,
        header: &[u8],
    ) -> Result<(Auth, [u8; 32]), ApiError> {
        if let Some(known) = self.headers.read().expect("key cache lock").get(header) {
            return Ok(*known);
        }
        let key = std::str::from_utf8(header)
            .ok()
            .and_then(key_from_header)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "Authorization header is not `Basic <key>` or `Bearer <key>`",
                )
            })?;
        let auth = self.authenticate(store, &key).await?;
        let known = (auth, hash_key(&key));
        let mut headers = self.headers.write().expect("key cache lock");
        if headers.len() < MAX_HEADERS {
            headers.insert(header.into(), known);
        }
        Ok(known)
    }

    pub async fn authenticate(&self, store: &Store, key: &str) -> Result<Auth, ApiError> {
        let hash = hash_key(key);
        if let Some(auth) = self.keys.read().expect("key cache lock").get(&hash) {
            return Ok(*auth);
        }
        let row = store.find_api_key(&hash).await?;
        let row = row.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "invalid API key"))?;
        let auth = Auth {
            workspace: row.workspace_id,
            role: row.role,
            key: row.id,
        };
        self.keys
            .write()
            .expect("key cache lock")
            .insert(hash, auth);
        Ok(auth)
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthorized, "Authorization header not present.")
            })?;
        let (auth, hash) = state
            .keys
            .authenticate_header(&state.store, header.as_bytes())
            .await?;
        if let Some(limiter) = &state.rate_limiter {
            limiter.check(&hash, std::time::Instant::now())?;
        }
        Ok(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let b64 = STANDARD.encode("secret_key:");
        assert_eq!(
            key_from_header(&format!("Basic {b64}")).as_deref(),
            Some("secret_key")
        );
        assert_eq!(
            key_from_header("Basic stw_rawkey").as_deref(),
            Some("stw_rawkey")
        );
        assert_eq!(
            key_from_header("Bearer stw_abc").as_deref(),
            Some("stw_abc")
        );
        assert_eq!(
            key_from_header("bearer  stw_abc ").as_deref(),
            Some("stw_abc")
        );
        assert_eq!(key_from_header("Token x"), None);
        assert_eq!(key_from_header("Basic "), None);
    }

    #[test]
    fn generated_keys_are_distinct_and_prefixed() {
        let a = generate_key();
        assert!(a.starts_with("stw_") && a.len() == 47);
        assert_ne!(a, generate_key());
    }
}
