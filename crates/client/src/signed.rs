//! Signed reads: a caller proves which key asks, so the node shows each party only its own
//! records (a module's private reads: invoices and payments, the access log about a holder).

use civitas_types::{PublicKey, SecretKey, Signature};

/// Request headers of a signed read: the caller's key, the time, and its signature over
/// [`request_message`].
pub const HEADER_KEY: &str = "civitas-key";
/// See [`HEADER_KEY`].
pub const HEADER_TIME: &str = "civitas-time";
/// See [`HEADER_KEY`].
pub const HEADER_SIGNATURE: &str = "civitas-signature";
/// Most a signed request's time may differ from the node's clock.
pub const REQUEST_SKEW_MS: u64 = 300_000;

/// What a caller signs for a signed read (invoices, payments, the access log): the method, the path with its query, and the time.
pub fn request_message(method: &str, path_and_query: &str, time_ms: u64) -> Vec<u8> {
    format!("civitas/request/v1\n{method}\n{path_and_query}\n{time_ms}").into_bytes()
}

/// The three headers of a signed request by `key` at `time_ms`.
pub fn sign_request(key: &SecretKey, method: &str, path_and_query: &str, time_ms: u64) -> [(String, String); 3] {
    let signature = key.sign(&request_message(method, path_and_query, time_ms));
    [
        (HEADER_KEY.into(), key.public_key().to_hex()),
        (HEADER_TIME.into(), time_ms.to_string()),
        (HEADER_SIGNATURE.into(), signature.to_hex()),
    ]
}

/// Checks a signed request's headers at `now_ms`: the key that signed it, or why not.
pub fn check_request(
    method: &str,
    path_and_query: &str,
    key: &str,
    time: &str,
    signature: &str,
    now_ms: u64,
) -> Result<PublicKey, String> {
    let key = PublicKey::from_hex(key).map_err(|e| format!("{HEADER_KEY}: {e}"))?;
    let time: u64 = time.parse().map_err(|_| format!("{HEADER_TIME}: milliseconds since the Unix epoch"))?;
    if time.abs_diff(now_ms) > REQUEST_SKEW_MS {
        return Err(format!("{HEADER_TIME}: more than five minutes from the node's clock"));
    }
    let signature = Signature::from_hex(signature).map_err(|e| format!("{HEADER_SIGNATURE}: {e}"))?;
    if !key.verify(&signature, &request_message(method, path_and_query, time)) {
        return Err(format!("{HEADER_SIGNATURE}: does not verify for this request"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_requests_verify_only_as_signed_and_in_time() {
        let key = SecretKey::from_seed([5; 32]);
        let [(_, k), (_, t), (_, s)] = sign_request(&key, "GET", "/v1/records/1", 1_000_000);
        assert_eq!(check_request("GET", "/v1/records/1", &k, &t, &s, 1_100_000), Ok(key.public_key()));
        assert!(check_request("GET", "/v1/records/2", &k, &t, &s, 1_100_000).is_err(), "another path");
        assert!(check_request("GET", "/v1/records/1", &k, &t, &s, 1_000_000 + REQUEST_SKEW_MS + 1).is_err());
        assert!(check_request("GET", "/v1/records/1", "zz", &t, &s, 1_000_000).is_err());
        assert!(check_request("GET", "/v1/records/1", &k, "soon", &s, 1_000_000).is_err());
    }
}
