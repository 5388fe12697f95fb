//! What every page shares: the shell (header with the search box, navigation, the height the
//! page was read at, footer), and how values are shown: times as UTC dates, amounts with their
//! two decimals, hashes and keys shortened with the whole on hover and a copy button, DIDs and
//! heights as links, and the box that offers a fact's proof with the line that checks it.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The pages' stylesheet and script paths (each served from the binary, versioned by name).
pub(crate) const STYLE_PATH: &str = "/static/civitas-3.css";
pub(crate) const SCRIPT_PATH: &str = "/static/civitas-1.js";

/// The navigation, in order: path and label.
const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/blocks", "Blocks"),
    ("/validators", "Validators"),
    ("/council", "Council"),
    ("/audit", "Audit trail"),
    ("/credentials", "Credentials"),
    ("/invoices", "Invoices"),
    ("/devices", "Devices"),
    ("/funds", "Project funds"),
    ("/rentals", "Rentals"),
    ("/stats", "Statistics"),
];

/// A whole explorer page: `title`, the height it shows the state at (`None` for an error
/// page), and `body`.
pub(crate) fn page(title: &str, height: Option<u64>, body: Markup) -> Markup {
    let search = html! {
        form.search role="search" action="/search" method="get" {
            label for="q" { "Search" }
            input #q type="search" name="q" maxlength="200" placeholder="A height, a hash or a DID" required;
            button type="submit" { "Find" }
        }
    };
    let at = html! {
        @if let Some(h) = height {
            p.at { "As of finalized block " a href=(format!("/blocks/{h}")) data-live-height { (h) } "." }
        }
    };
    let footer = html! {
        "Served by this node from its own store; no indexer. Every fact with a proof can be checked offline with "
        code { "civitas verify" } " and the chain's " a href="/genesis.json" download="genesis.json" { "genesis.json" } "."
    };
    shell(&Shell { title, brand: "Civitas", nav_label: "Explorer", nav: NAV, extra: search, at, footer }, body)
}

/// What frames a page: its title, the brand and navigation, anything more in the header, a
/// line under the title, and the footer's text.
pub(crate) struct Shell<'a> {
    pub(crate) title: &'a str,
    pub(crate) brand: &'a str,
    pub(crate) nav_label: &'a str,
    pub(crate) nav: &'a [(&'a str, &'a str)],
    pub(crate) extra: Markup,
    pub(crate) at: Markup,
    pub(crate) footer: Markup,
}

/// A whole page in `frame`.
pub(crate) fn shell(frame: &Shell<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · " (frame.brand) }
                link rel="stylesheet" href=(STYLE_PATH);
                script src=(SCRIPT_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { (frame.brand) }
                    nav aria-label=(frame.nav_label) {
                        ul { @for (path, label) in frame.nav { li { a href=(path) { (label) } } } }
                    }
                    (frame.extra)
                }
                main #main {
                    h1 { (frame.title) }
                    (frame.at)
                    (body)
                }
                footer { p { (frame.footer) } }
            }
        }
    }
}

/// `ms` (Unix milliseconds) as `2026-03-02 08:00:00 UTC`.
pub(crate) fn date(ms: u64) -> String {
    let t = civitas_client::did::datetime(ms);
    format!("{} UTC", t.trim_end_matches('Z').replace('T', " "))
}

/// A time element for `ms`: the date, machine-readable too.
pub(crate) fn time(ms: u64) -> Markup {
    html! { time datetime=(civitas_client::did::datetime(ms)) { (date(ms)) } }
}

/// `minor` units as an amount with two decimals and thousands separators: `12,345.67`.
pub(crate) fn amount(minor: u128) -> String {
    let whole = (minor / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", minor % 100)
}

/// A long value (a hash, key or DID) shortened to its first and last characters, the whole on
/// hover and for screen readers, with a button that copies it.
pub(crate) fn short(value: &str) -> Markup {
    html! {
        span.short {
            (abbreviated(value))
            button.copy type="button" data-copy=(value) aria-label=(format!("Copy {value}")) title="Copy" { "copy" }
        }
    }
}

fn abbreviated(value: &str) -> Markup {
    // A DID keeps its method, so that what is shown still says what it is.
    let prefix = ["did:civitas:", "did:key:"].iter().find(|p| value.starts_with(**p)).map_or(0, |p| p.len());
    let shown = if value.len() > prefix + 20 && value.is_ascii() {
        format!("{}…{}", &value[..prefix + 12], &value[value.len() - 6..])
    } else {
        value.to_owned()
    };
    html! { abbr title=(value) { (shown) } }
}

/// A shortened value that links to `href`, with its copy button.
pub(crate) fn short_link(value: &str, href: &str) -> Markup {
    html! {
        span.short {
            a href=(href) { (abbreviated(value)) }
            button.copy type="button" data-copy=(value) aria-label=(format!("Copy {value}")) title="Copy" { "copy" }
        }
    }
}

/// A DID, linked to its account page.
pub(crate) fn did(did: &civitas_types::Did) -> Markup {
    let text = did.to_string();
    short_link(&text, &format!("/accounts/{text}"))
}

/// A height, linked to its block.
pub(crate) fn height(h: u64) -> Markup {
    html! { a href=(format!("/blocks/{h}")) { (h) } }
}

/// The box that offers the proof of a fact: the API URL that returns its proof document (saved
/// as `file`) and the command that checks it offline.
pub(crate) fn proof(api: &str, file: &str, what: &str) -> Markup {
    html! {
        section.proof aria-label=(format!("Proof of {what}")) {
            h2 { "Check it yourself" }
            p {
                "This node proves " (what) " against the state root of a finalized block, signed by a quorum of the validators. "
                a href=(api) download=(file) { "Download the proof (" (file) ")" }
                " and the chain's " a href="/genesis.json" download="genesis.json" { "genesis.json" } ", then run, with no node:"
            }
            pre { code { "civitas verify " (file) " --genesis genesis.json" } }
        }
    }
}

/// A key–value table of facts.
pub(crate) fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.facts {
            @for (k, v) in rows { dt { (k) } dd { (v) } }
        }
    }
}

/// Links to the newer and older pages of a list, where there are any.
pub(crate) fn pager(newer: Option<String>, older: Option<String>) -> Markup {
    html! {
        @if newer.is_some() || older.is_some() {
            nav.pager aria-label="Pages" {
                @if let Some(n) = newer { a rel="prev" href=(n) { "← Newer" } }
                @if let Some(o) = older { a rel="next" href=(o) { "Older →" } }
            }
        }
    }
}

/// JSON, pretty-printed in a block.
pub(crate) fn json_block(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    html! { pre.json { code { (text) } } }
}

/// A status word styled by its meaning (`ok`, `bad`, `wait`).
pub(crate) fn badge(text: &str, kind: &str) -> Markup {
    html! { span class=(format!("badge {kind}")) { (text) } }
}

/// Trusted, fixed markup (an inline SVG the page builds from numbers only).
pub(crate) fn raw(svg: String) -> Markup {
    PreEscaped(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_two_decimals_and_separators() {
        assert_eq!(amount(0), "0.00");
        assert_eq!(amount(5), "0.05");
        assert_eq!(amount(1670), "16.70");
        assert_eq!(amount(123_456_789), "1,234,567.89");
        assert_eq!(amount(u128::MAX), "3,402,823,669,209,384,634,633,746,074,317,682,114.55");
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(date(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(date(1_772_438_400_123), "2026-03-02 08:00:00 UTC");
    }

    #[test]
    fn long_values_are_shortened_with_the_whole_kept() {
        let h = "ab".repeat(32);
        let m = short(&h).into_string();
        assert!(m.contains(&format!("title=\"{h}\"")) && m.contains("abababababab…ababab"), "{m}");
        assert!(m.contains(&format!("data-copy=\"{h}\"")));
        assert!(short("12").into_string().contains(">12<"));
        let did = format!("did:civitas:{}", "0123456789".repeat(4));
        assert!(short(&did).into_string().contains("did:civitas:012345678901…456789"));
    }

    #[test]
    fn text_is_escaped() {
        let m = page("<script>", None, html! { p { "a & b" } }).into_string();
        assert!(m.contains("&lt;script&gt;") && m.contains("a &amp; b") && !m.contains("<script>"));
    }
}
