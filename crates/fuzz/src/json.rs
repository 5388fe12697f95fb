//! Targets over JSON documents: proof documents, DID documents and resolutions, the API's
//! request bodies, and the genesis file.

use civitas_client::credential::{document_key, holder_key, issuer_key};
use civitas_client::did::{ResolutionJson, key_from_multibase, resolve_did_key};
use civitas_client::light::verify_proof;
use civitas_client::sdjwt::{self, Expectations};
use civitas_client::wire::{CredentialVerifyRequest, ProofJson};
use civitas_node::Genesis;
use civitas_types::codec::{Decode, Encode};
use civitas_types::did_doc::DidDocumentData;
use civitas_types::{Did, TransactionJson, VerifiedTransaction};
use serde_json::Value;

use crate::fixtures::{
    CHAIN_ID, KB_MAX_AGE_SECS, NOW_SECS, issuer_key as fixed_issuer_key, subject_did, validator_keys,
};

/// Most verification methods of a resolved document whose keys are looked up.
const METHODS_LOOKED_UP_MAX: usize = 16;

/// Asserts that `value`'s JSON form parses back to it.
fn assert_json_round_trip<T>(what: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_vec(value).unwrap_or_else(|e| panic!("a parsed {what} does not serialize: {e}"));
    let back: T = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("a {what}'s JSON does not parse back: {e}"));
    assert_eq!(&back, value, "a {what}'s JSON parses back to another value");
}

/// A proof document (`civitas verify`, the light client): parsed, round tripped, and verified
/// against the fixed genesis ([`CHAIN_ID`], [`validator_keys`]); a verified fact is described
/// as `civitas verify` prints it.
pub fn proof_document(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<ProofJson>(data) else { return };
    assert_json_round_trip("proof document", &doc);
    if let Ok(proven) = verify_proof(&doc, CHAIN_ID, validator_keys()) {
        assert_eq!(proven.height, doc.height, "a verified proof is about another height");
        assert_eq!(proven.finality.block_hash, proven.header.hash(), "the certificate finalizes another block");
        let _ = proven.fact.describe(proven.height);
    }
}

/// DID documents and what a DID names: the settable document (`update_did`'s JSON form)
/// validated, round tripped through JSON and the binary codec; a DID Resolution result with
/// the keys a verifier looks up in it (`civitas_client::credential`); and the same bytes as a
/// `did:civitas` DID, a `did:key` and a Multikey.
pub fn did_document(data: &[u8]) {
    if let Ok(doc) = serde_json::from_slice::<DidDocumentData>(data) {
        let _ = doc.validate(&subject_did());
        assert_json_round_trip("DID document", &doc);
        // The binary form has limits the JSON form leaves to validation; within them it must
        // give back the same document.
        if let Ok(back) = DidDocumentData::decode(&doc.encode()) {
            assert_eq!(back, doc, "a DID document's binary form decodes to another document");
        }
    }
    if let Ok(resolution) = serde_json::from_slice::<ResolutionJson>(data) {
        look_up_keys(&resolution);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(did) = text.parse::<Did>() {
            assert_eq!(did.to_string().parse::<Did>().as_ref(), Ok(&did), "a DID does not round trip");
        }
        look_up_keys(&resolve_did_key(text));
        let _ = key_from_multibase(text);
    }
}

/// Looks up, in `resolution`, every key a verifier could ask for: each listed method's
/// fragment under each relationship, as issuer and as holder.
fn look_up_keys(resolution: &ResolutionJson) {
    let document = resolution.did_document.as_ref();
    let id = document.and_then(|d| d.get("id")).and_then(Value::as_str);
    let did = id.and_then(|s| s.parse::<Did>().ok()).unwrap_or_else(subject_did);
    let methods = document.and_then(|d| d.get("verificationMethod")).and_then(Value::as_array);
    let mut fragments: Vec<&str> = methods
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .map(|id| id.rsplit('#').next().unwrap_or(id))
        .take(METHODS_LOOKED_UP_MAX)
        .collect();
    fragments.push("key-0");
    for fragment in fragments {
        for relation in ["assertionMethod", "authentication", "keyAgreement"] {
            let _ = document_key(resolution, &did, fragment, relation);
        }
        let _ = issuer_key(resolution, &did, Some(fragment));
        let _ = holder_key(resolution, &did, fragment);
    }
    let _ = issuer_key(resolution, &did, None);
}

/// The JSON request bodies the API deserializes: a transaction's JSON form
/// (`POST /v1/transactions`, read with [`civitas_client::wire::json_at_path`] as the API reads
/// it, then checked against the codec's limits) and a verification request
/// (`POST /v1/credentials/verify`).
pub fn request_json(data: &[u8]) {
    if let Ok(json) = civitas_client::wire::json_at_path::<TransactionJson>(data)
        && let Ok(signed) = json.to_signed()
    {
        let again = TransactionJson::from_signed(&signed);
        let text =
            serde_json::to_vec(&again).unwrap_or_else(|e| panic!("a transaction's JSON does not serialize: {e}"));
        let back: TransactionJson =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("a transaction's JSON does not parse back: {e}"));
        assert_eq!(back.to_signed().as_ref(), Ok(&signed), "a transaction's JSON form gives back another one");
        let _ = VerifiedTransaction::check(signed, CHAIN_ID);
    }
    if let Ok(request) = serde_json::from_slice::<CredentialVerifyRequest>(data) {
        let _ = request.aud.parse::<Did>();
        if request.presentation.len() <= sdjwt::PRESENTATION_BYTES_MAX {
            let _ = sdjwt::inspect(&request.presentation);
            let expect = Expectations {
                now: NOW_SECS,
                typ: Some(sdjwt::VC_TYP),
                key_binding: Some((request.aud.as_str(), request.nonce.as_str())),
                kb_max_age_secs: KB_MAX_AGE_SECS,
            };
            let pick = |header: &serde_json::Map<String, Value>, _: &serde_json::Map<String, Value>| {
                Ok(fixed_issuer_key(header.get("alg").and_then(Value::as_str)))
            };
            let _ = sdjwt::verify(&request.presentation, pick, &expect);
        }
    }
}

/// The genesis file (`Genesis::load`: UTF-8 JSON, then `validate`), round tripped through its
/// own JSON form; a valid one also yields its validator set, accounts, organizations, council
/// and committee.
pub fn genesis(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(genesis) = serde_json::from_str::<Genesis>(text) else { return };
    let again: Genesis = serde_json::from_str(&genesis.to_json())
        .unwrap_or_else(|e| panic!("a genesis file's own JSON does not parse back: {e}"));
    assert_eq!(again, genesis, "a genesis file's JSON parses back to another genesis");
    if genesis.validate().is_ok() {
        let set = genesis.validator_set().unwrap_or_else(|e| panic!("a valid genesis has no validator set: {e}"));
        assert_eq!(set.keys(), genesis.validator_keys().unwrap_or_default(), "validator keys and set disagree");
        let _ = (genesis.accounts(), genesis.organizations(), genesis.council(), genesis.committee());
    }
}
