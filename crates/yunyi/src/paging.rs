//! Keyset paging for lists: `?limit=N&after=ID`. Keyset (not offset) so that a page is as cheap
//! at row 1,000,000 as at row 1 and rows inserted meanwhile are neither skipped nor repeated.

use serde::Serialize;

use crate::error::{AppError, FieldError};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl PageRequest {
    /// Parses `limit` and `after` from a raw query string; other parameters are ignored.
    /// Every invalid parameter is reported, by name.
    pub fn from_query(query: Option<&str>) -> Result<Self, AppError> {
        let mut page = Self::default();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "limit" => match value.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => page.limit = n,
                    _ => errors.push(FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}, got '{value}'"),
                    )),
                },
                "after" => match value.parse::<i64>() {
                    Ok(n) if n >= 0 => page.after = Some(n),
                    _ => errors.push(FieldError::new(
                        "after",
                        format!("must be an id from a previous page's next_after, got '{value}'"),
                    )),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(page)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    /// Rows to fetch: one more than the limit tells whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of results. `next_after` is the value for `after` to get the next page, or null.
/// A list that is not paged: short by nature (a person's appointments, a hospital's staff).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from `fetch_limit()` rows, ordered by id.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id)
        } else {
            None
        };
        Self {
            items: rows,
            next_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_each_bad_field() {
        assert_eq!(
            PageRequest::from_query(None).ok(),
            Some(PageRequest::default())
        );
        let p = PageRequest::from_query(Some("limit=5&after=10&x=y")).ok();
        assert_eq!(
            p,
            Some(PageRequest {
                after: Some(10),
                limit: 5
            })
        );
        match PageRequest::from_query(Some("limit=0&after=abc")) {
            Err(AppError::Validation(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["limit", "after"]);
            }
            other => panic!("expected validation error, got {other:?}"),
        }
        assert!(PageRequest::from_query(Some("limit=101")).is_err());
    }

    #[test]
    fn next_after_only_when_more_rows_exist() {
        let req = PageRequest {
            after: None,
            limit: 2,
        };
        let page = Page::from_rows(vec![1, 2, 3], &req, |x| *x);
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next_after, Some(2));
        let page = Page::from_rows(vec![1, 2], &req, |x| *x);
        assert_eq!(page.next_after, None);
    }
}
