//! Targets over SD-JWT credentials and the JWS tokens around them.

use civitas_client::credential::{check_issuance, issuer_of};
use civitas_client::sdjwt::{self, Disclosure, Expectations, status_list};
use serde_json::Value;

use crate::fixtures::{AUDIENCE, KB_MAX_AGE_SECS, NONCE, NOW_SECS, STATUS_LIST_URI, issuer_key, issuer_keys};

/// Status list entries looked up in a verified token: the first and the last of a chunk.
const STATUS_INDICES: [usize; 2] = [0, 4095];

/// An SD-JWT presentation or issuance, as the node's verifier (`POST /v1/credentials/verify`,
/// rentals: key binding to [`AUDIENCE`] and [`NONCE`] required) and an issuer anchoring its
/// credential (`civitas_client::credential`) read it, with the issuer key its `alg` names.
pub fn sd_jwt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parts) = sdjwt::split(text) {
        for encoded in parts.disclosures {
            if let Ok(d) = Disclosure::parse(encoded) {
                assert_eq!(d.encoded, encoded, "a parsed disclosure keeps another encoding");
            }
        }
    }
    let _ = sdjwt::inspect(text);
    let expect = Expectations {
        now: NOW_SECS,
        typ: Some(sdjwt::VC_TYP),
        key_binding: Some((AUDIENCE, NONCE)),
        kb_max_age_secs: KB_MAX_AGE_SECS,
    };
    let pick = |header: &serde_json::Map<String, Value>, _: &serde_json::Map<String, Value>| {
        Ok(issuer_key(header.get("alg").and_then(Value::as_str)))
    };
    if let Ok(verified) = sdjwt::verify(text, pick, &expect) {
        assert!(verified.disclosed.is_sorted(), "disclosed claim names are not sorted");
        for name in &verified.disclosed {
            assert!(verified.claims.contains_key(name), "disclosed claim `{name}` is not among the claims");
        }
        assert!(!verified.claims.contains_key("_sd"), "`_sd` survives verification");
        let _ = verified.holder.map(|h| h.thumbprint());
    }
    let _ = issuer_of(text);
    for key in issuer_keys() {
        let _ = check_issuance(text, key, NOW_SECS);
    }
}

/// A compact JWS: a status list token (`sdjwt::status_list::read`, with each issuer key) and
/// the issuer-signed JWT an SD-JWT starts with (`sdjwt::inspect`); the same bytes as a
/// `status_list` object, whose zlib list must stay within its bound and round trip.
pub fn jws(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        for key in issuer_keys() {
            for index in STATUS_INDICES {
                let _ = status_list::read(text, key, STATUS_LIST_URI, index);
            }
        }
        // An SD-JWT is a JWS followed by `~`: the JWS alone, as the first part.
        let _ = sdjwt::inspect(&format!("{text}~"));
    }
    if let Ok(object) = serde_json::from_slice::<Value>(data)
        && let Ok(entries) = status_list::decode(&object)
    {
        assert!(entries.len() <= status_list::LIST_BYTES_MAX, "a status list over its bound was accepted");
        let again = status_list::decode(&status_list::encode(&entries));
        assert_eq!(again.as_ref(), Ok(&entries), "a status list does not round trip");
    }
}
