//! `limit` / `from` / `sortBy` on every list, and the `{"results": [...], "next": ...}` envelope.
//!
//! The cursor (`next`) is opaque to clients: base64url of `sortBy:millis:id`, the key of the
//! last record of the page. A cursor made for one `sortBy` is refused for another.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use steward_engine::page::{PageKey, PageRequest, SortBy};
use steward_engine::time::Millis;

use crate::error::{ApiError, ErrorCode};

pub fn encode_cursor(sort: SortBy, key: PageKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", sort.as_str(), key.at.0, key.id))
}

pub fn decode_cursor(sort: SortBy, cursor: &str) -> Result<PageKey, ApiError> {
    let invalid = || {
        ApiError::field(
            ErrorCode::InvalidCursor,
            "from",
            "`from` is not a cursor returned as `next` by this list",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.splitn(3, ':');
    let (Some(s), Some(at), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if s != sort.as_str() {
        return Err(ApiError::field(
            ErrorCode::InvalidCursor,
            "from",
            format!(
                "`from` was made for sortBy={s}, not sortBy={}",
                sort.as_str()
            ),
        ));
    }
    Ok(PageKey {
        at: Millis(at.parse().map_err(|_| invalid())?),
        id: id.parse().map_err(|_| invalid())?,
    })
}

/// Parses the paging parameters of a list request.
pub fn page_request(query: &HashMap<String, String>) -> Result<PageRequest, ApiError> {
    let sort = match query.get("sortBy") {
        None => SortBy::default(),
        Some(raw) => SortBy::parse(raw).ok_or_else(|| {
            ApiError::field(
                ErrorCode::InvalidQuery,
                "sortBy",
                "`sortBy` must be `updatedAt` or `createdAt`",
            )
        })?,
    };
    let limit = match query.get("limit") {
        None => PageRequest::MAX_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=PageRequest::MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    ErrorCode::InvalidQuery,
                    "limit",
                    format!(
                        "`limit` must be a whole number from 1 to {}",
                        PageRequest::MAX_LIMIT
                    ),
                ));
            }
        },
    };
    let after = match query.get("from") {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c) => Some(decode_cursor(sort, c)?),
    };
    Ok(PageRequest { sort, limit, after })
}

/// The same request asking for one more record, to learn whether another page follows.
pub fn probe(page: &PageRequest) -> PageRequest {
    PageRequest {
        limit: page.limit + 1,
        ..*page
    }
}

/// [`envelope`] for stored rows, keyed as the page is sorted.
pub fn listed_envelope<T: steward_store::rows::Listed>(
    page: &PageRequest,
    rows: Vec<T>,
    render: impl Fn(&T) -> Value,
) -> Value {
    envelope(page, rows, |r| r.page_key(page.sort), render)
}

/// Builds the envelope from up to `limit + 1` items (fetched with [`probe`]).
pub fn envelope<T>(
    page: &PageRequest,
    mut items: Vec<T>,
    key: impl Fn(&T) -> PageKey,
    render: impl Fn(&T) -> Value,
) -> Value {
    let more = items.len() > page.limit;
    items.truncate(page.limit);
    let next = if more {
        items.last().map(|last| encode_cursor(page.sort, key(last)))
    } else {
        None
    };
    json!({
        "results": items.iter().map(render).collect::<Vec<_>>(),
        "next": next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_sort_check() {
        let key = PageKey {
            at: Millis(1234),
            id: uuid::Uuid::now_v7(),
        };
        let c = encode_cursor(SortBy::CreatedAt, key);
        assert_eq!(decode_cursor(SortBy::CreatedAt, &c).unwrap(), key);
        assert!(decode_cursor(SortBy::UpdatedAt, &c).is_err());
        assert!(decode_cursor(SortBy::UpdatedAt, "garbage!").is_err());
    }

    #[test]
    fn limit_bounds() {
        let q = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(page_request(&HashMap::new()).unwrap().limit, 100);
        assert_eq!(page_request(&q("limit", "5")).unwrap().limit, 5);
        for bad in ["0", "101", "x", "-1"] {
            assert_eq!(
                page_request(&q("limit", bad)).unwrap_err().field.as_deref(),
                Some("limit")
            );
        }
        assert!(page_request(&q("sortBy", "name")).is_err());
    }
}
