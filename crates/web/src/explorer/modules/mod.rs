//! The modules' pages, one file per module as the API has: device passports (`devices`),
//! project funds drawn as the flow of their money (`funds`), rentals and a property's history
//! (`rentals`), and statistics rounds with their published totals (`stats`). What they share
//! is here: the newest-first pages of a numbered list, organizations' names beside their DIDs,
//! how an amount becomes a length in a drawing, and text made safe for an inline SVG.

mod devices;
mod funds;
mod rentals;
mod stats;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use civitas_node::Node;
use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout;

/// The modules' pages.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().merge(devices::routes()).merge(funds::routes()).merge(rentals::routes()).merge(stats::routes())
}

/// Entries per page of a list.
const PER_PAGE: u64 = 25;

/// A page's query, or the reason it is not one (an unknown parameter among them).
fn params<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, PageError> {
    query.map(|Query(q)| q).map_err(|e| PageError::bad(e.body_text()))
}

/// The query of a page that takes none: any parameter is refused with its name.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// One page of a numbered list of `total` entries, newest first: the positions it shows and the
/// `before` of the newer and older pages, where there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Newest {
    positions: Range<u64>,
    newer: Option<u64>,
    older: Option<u64>,
}

impl Newest {
    /// The page of the entries before position `before` (all of the newest when `None`).
    fn of(total: u64, before: Option<u64>) -> Newest {
        let top = before.map_or(total, |b| b.min(total));
        let bottom = top.saturating_sub(PER_PAGE);
        Newest {
            positions: bottom..top,
            newer: (top < total).then(|| top.saturating_add(PER_PAGE).min(total)),
            older: (bottom > 0).then_some(bottom),
        }
    }

    /// The pager of a list at `path`.
    fn pager(&self, path: &str) -> Markup {
        let link = |b: u64| format!("{path}?before={b}");
        layout::pager(self.newer.map(link), self.older.map(link))
    }
}

/// The names of those of `dids` that are organizations.
fn org_names(state: &impl StateRead, dids: impl IntoIterator<Item = Did>) -> Result<BTreeMap<Did, String>, StoreError> {
    let mut names = BTreeMap::new();
    for did in dids {
        if names.contains_key(&did) {
            continue;
        }
        if let Some(o) = civitas_execution::orgs::query::organization(state, &did)? {
            names.insert(did, o.name);
        }
    }
    Ok(names)
}

/// A DID with its organization's name, where it has one.
fn party(did: &Did, names: &BTreeMap<Did, String>) -> Markup {
    html! {
        @if let Some(name) = names.get(did) { (name) " " }
        (layout::did(did))
    }
}

/// `secs` (unix seconds of block time) as a time element.
fn unix(secs: u64) -> Markup {
    layout::time(secs.saturating_mul(1000))
}

/// `text` escaped for an inline SVG (as element text or an attribute's value).
fn svg_text(text: &str) -> String {
    html! { (text) }.into_string()
}

/// `value` of `max` as a length of at most `span`, without overflow for any amount.
fn scale(value: u128, max: u128, span: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let value = value.min(max);
    let span = u128::from(span);
    let length = match value.checked_mul(span) {
        Some(v) => v / max,
        None => value / (max / span).max(1),
    };
    u64::try_from(length).unwrap_or(u64::MAX)
}

/// At most `chars` characters of `text`, with an ellipsis where it was cut.
fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(chars.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::tests::fixture;

    #[tokio::test]
    async fn bad_input_is_a_page_with_the_reason_and_a_4xx() {
        let f = fixture();
        f.transfers(0, &[5]);
        let civitas = format!("did:civitas:{}", "0".repeat(40));
        let device = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let long = "x".repeat(300);
        let cases = [
            ("/devices?before=x", StatusCode::BAD_REQUEST, "before is a whole number"),
            ("/devices?vendor=FFF1", StatusCode::BAD_REQUEST, "unknown field"),
            ("/devices?device=abc", StatusCode::BAD_REQUEST, "`abc` is not a device id"),
            ("/devices/abc", StatusCode::BAD_REQUEST, "`abc` is not a device id: no did:key:z prefix"),
            (&format!("/devices/{long}"), StatusCode::BAD_REQUEST, "not a device id: too long"),
            (
                "/devices/did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
                StatusCode::BAD_REQUEST,
                "not an Ed25519 key",
            ),
            (&format!("/devices/{civitas}"), StatusCode::BAD_REQUEST, "is an account, not a device"),
            (&format!("/devices/{device}"), StatusCode::NOT_FOUND, "no device did:key:z6MkiTBz"),
            (&format!("/devices/{device}?controller=bob"), StatusCode::BAD_REQUEST, "40 hexadecimal digits"),
            (&format!("/devices/{device}?scene=Kitchen"), StatusCode::BAD_REQUEST, "a scene's name is 1 to 64"),
            (&format!("/devices/{device}?scene=a&controller={civitas}"), StatusCode::BAD_REQUEST, "not both"),
            (&format!("/devices/{device}?owner=1"), StatusCode::BAD_REQUEST, "unknown field"),
            ("/funds?before=-1", StatusCode::BAD_REQUEST, "before is a whole number; `-1` is not"),
            ("/funds?page=2", StatusCode::BAD_REQUEST, "unknown field"),
            ("/funds/projects/abc", StatusCode::BAD_REQUEST, "a project's number is a whole number; `abc` is not"),
            ("/funds/projects/99999999999999999999999", StatusCode::BAD_REQUEST, "a whole number"),
            ("/funds/projects/0", StatusCode::NOT_FOUND, "there is no project 0 at block 1"),
            ("/rentals?before=1.5", StatusCode::BAD_REQUEST, "before is a whole number"),
            ("/rentals?limit=5", StatusCode::BAD_REQUEST, "unknown field"),
            ("/rentals/properties/x", StatusCode::BAD_REQUEST, "a property's number is a whole number"),
            ("/rentals/properties/3", StatusCode::NOT_FOUND, "there is no property 3 at block 1"),
            ("/rentals/properties/3?from=z", StatusCode::BAD_REQUEST, "from is a whole number"),
            ("/rentals/properties/3?prove=true", StatusCode::BAD_REQUEST, "unknown field"),
            ("/stats?before=ten", StatusCode::BAD_REQUEST, "before is a whole number"),
            ("/stats?from=0", StatusCode::BAD_REQUEST, "unknown field"),
            ("/stats/rounds/-3", StatusCode::BAD_REQUEST, "a round's number is a whole number"),
            ("/stats/rounds/7", StatusCode::NOT_FOUND, "there is no statistics round 7 at block 1"),
            ("/stats/rounds/7/reports", StatusCode::NOT_FOUND, "there is no page /stats/rounds/7/reports"),
            ("/stats/rounds/7?prove=true", StatusCode::BAD_REQUEST, "unknown field `prove`"),
            ("/funds/projects/0?prove=true", StatusCode::BAD_REQUEST, "unknown field `prove`"),
        ];
        for (uri, status, reason) in cases {
            f.refused(uri, status, reason).await;
        }
        // Empty lists are pages too.
        for (uri, text) in
            [("/devices", "no PAA yet"), ("/funds", "No project yet"), ("/rentals", "Nothing is listed yet")]
        {
            assert!(f.page(uri).await.contains(text), "{uri}");
        }
    }

    #[test]
    fn pages_run_newest_first() {
        let check = |total, before, expected: (Range<u64>, Option<u64>, Option<u64>)| {
            let n = Newest::of(total, before);
            assert_eq!((n.positions, n.newer, n.older), expected, "{total} before {before:?}");
        };
        check(0, None, (0..0, None, None));
        check(3, None, (0..3, None, None));
        check(60, None, (35..60, None, Some(35)));
        check(60, Some(35), (10..35, Some(60), Some(10)));
        check(60, Some(10), (0..10, Some(35), None));
        check(60, Some(999), (35..60, None, Some(35)));
    }

    #[test]
    fn amounts_scale_without_overflow() {
        assert_eq!(scale(50, 100, 400), 200);
        assert_eq!(scale(0, 0, 400), 0);
        assert_eq!(scale(200, 100, 400), 400, "never longer than the span");
        assert_eq!(scale(u128::MAX, u128::MAX, 400), 400);
        assert_eq!(scale(u128::MAX / 2, u128::MAX, 400), 200);
    }

    #[test]
    fn svg_text_is_escaped_and_long_labels_cut() {
        assert_eq!(svg_text("<b> & \"q\""), "&lt;b&gt; &amp; &quot;q&quot;");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
