//! Size caps and cursors. An assistant's context is small and a 10k-pod cluster is not, so
//! every list answer is cut at a count and at a byte budget, whichever comes first, and
//! carries a `nextCursor` to continue. Cursors are opaque to the client (`c<offset>`);
//! a cursor from another query simply pages that query's list from the same offset.

use serde::Serialize;

/// Structured bytes per answer. Large enough for a useful page, small enough that a
/// single call never floods a model's context.
pub const BYTE_BUDGET: usize = 48 * 1024;
/// Items per page when the caller gives no `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 500;

/// Where a page starts, from the `cursor` argument.
pub fn offset(cursor: Option<&str>) -> Result<usize, String> {
    match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c
            .strip_prefix('c')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                format!(
                    "invalid cursor {c:?}: pass the nextCursor of a previous answer, or omit it for the first page"
                )
            }),
    }
}

pub fn cursor_at(offset: usize) -> String {
    format!("c{offset}")
}

/// The page size asked for, checked.
pub fn limit(limit: Option<usize>) -> Result<usize, String> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err("limit must be at least 1".to_string()),
        Some(n) if n > MAX_LIMIT => Err(format!(
            "limit {n} is above the maximum {MAX_LIMIT}: page with nextCursor instead"
        )),
        Some(n) => Ok(n),
    }
}

/// One page of a list: the items, how many there are in all, and where the next page starts.
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub next_cursor: Option<String>,
}

/// Cuts `all` from `offset`, at `limit` items or [`BYTE_BUDGET`] serialized bytes, always
/// keeping at least one item so paging makes progress.
pub fn paginate<T: Serialize>(all: Vec<T>, offset: usize, limit: usize) -> Page<T> {
    let total = all.len();
    cut(total, all.into_iter().skip(offset), offset, limit)
}

/// [`paginate`] over borrowed rows, building the answer item only for rows on the page:
/// a status summary parsed from an object's JSON costs nothing for the 9,950 pods not shown.
pub fn paginate_by<S, T: Serialize>(
    all: &[S],
    offset: usize,
    limit: usize,
    build: impl FnMut(&S) -> T,
) -> Page<T> {
    cut(all.len(), all.iter().skip(offset).map(build), offset, limit)
}

fn cut<T: Serialize>(
    total: usize,
    rest: impl Iterator<Item = T>,
    offset: usize,
    limit: usize,
) -> Page<T> {
    let mut items = Vec::new();
    let mut bytes = 0usize;
    for item in rest {
        if items.len() >= limit {
            break;
        }
        let size = serde_json::to_vec(&item).map(|v| v.len()).unwrap_or(0);
        if !items.is_empty() && bytes + size > BYTE_BUDGET {
            break;
        }
        bytes += size;
        items.push(item);
    }
    let end = offset.saturating_add(items.len());
    let next_cursor = (end < total).then(|| cursor_at(end));
    Page {
        items,
        total,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_the_list_once() {
        let all: Vec<u32> = (0..120).collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let off = offset(cursor.as_deref()).unwrap();
            let page = paginate(all.clone(), off, 50);
            assert_eq!(page.total, 120);
            seen.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn byte_budget_cuts_but_keeps_one() {
        let big = "x".repeat(BYTE_BUDGET);
        let page = paginate(vec![big.clone(), big], 0, 10);
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_cursor.as_deref(), Some("c1"));
    }

    #[test]
    fn bad_cursors_and_limits_are_errors() {
        assert!(offset(Some("zz")).is_err());
        assert_eq!(offset(Some("")).unwrap(), 0);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(MAX_LIMIT + 1)).is_err());
    }
}
