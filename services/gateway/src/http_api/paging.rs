//! Cursor paging as every list route does it: `page_size` (clamped; 0 or absent = the service's
//! default) and an opaque `cursor` in; `next_cursor` (null at the end) out.

use floodgate_proto::types::v1 as types;

/// The largest page a client may ask for.
pub const MAX_PAGE: u32 = 100;

pub fn request(page_size: Option<u32>, cursor: Option<&str>) -> types::PageRequest {
    types::PageRequest {
        page_size: page_size.unwrap_or(0).min(MAX_PAGE),
        cursor: cursor.unwrap_or_default().to_owned(),
    }
}

/// The cursor of the next page, if there is one.
pub fn next(page: Option<types::PageResponse>) -> Option<String> {
    page.map(|p| p.next_cursor).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_the_last_has_no_cursor() {
        assert_eq!(request(Some(10_000), Some("c")).page_size, MAX_PAGE);
        assert_eq!(request(None, None), types::PageRequest { page_size: 0, cursor: String::new() });
        assert_eq!(next(Some(types::PageResponse { next_cursor: String::new() })), None);
        assert_eq!(next(Some(types::PageResponse { next_cursor: "n".into() })), Some("n".into()));
    }
}
