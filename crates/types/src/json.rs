//! The JSON forms of the chain's vocabulary, derived from the one definition of each type with
//! serde: DIDs as `did:civitas:` strings, keys, signatures and hashes as lowercase hex, amounts
//! as decimal strings (JSON numbers lose precision past 2^53), enums by their stable names.
//!
//! JSON is for people and programs at the edges (the API, the CLI, the SDK); the signed form is
//! always the canonical binary encoding, and [`TransactionJson::to_signed`] re-decodes it so the
//! codec's limits are the only limits.

use std::borrow::Cow;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{Object, Schema, SchemaType, Type};
use utoipa::openapi::{RefOr, schema::ObjectBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::codec::{Decode, Encode};
use crate::{Did, Hash, Instruction, PublicKey, Signature, SignedTransaction, Transaction};

fn string_schema(description: &str, pattern: &str) -> RefOr<Schema> {
    let o: Object = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .pattern(Some(pattern))
        .build();
    RefOr::T(Schema::Object(o))
}

/// Gives a type whose text form is `Display` + a parser a JSON string form and a string schema.
macro_rules! string_form {
    ($ty:ty, $name:literal, $parse:expr, $show:expr, $description:literal, $pattern:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[allow(clippy::redundant_closure_call)]
                s.serialize_str(&($show)(self))
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = Cow::<'de, str>::deserialize(d)?;
                #[allow(clippy::redundant_closure_call)]
                ($parse)(&*s).map_err(|e| D::Error::custom(format_args!("`{s}`: {e}")))
            }
        }

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string_schema($description, $pattern)
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_form!(
    Did,
    "Did",
    |s: &str| s.parse::<Did>(),
    |d: &Did| d.to_string(),
    "a Civitas DID",
    "^did:civitas:[0-9a-f]{40}$"
);
string_form!(Hash, "Hash", Hash::from_hex, Hash::to_hex, "a SHA-256 hash, hex", "^[0-9a-fA-F]{64}$");
string_form!(
    PublicKey,
    "PublicKey",
    PublicKey::from_hex,
    PublicKey::to_hex,
    "an Ed25519 public key, hex",
    "^[0-9a-fA-F]{64}$"
);
string_form!(
    Signature,
    "Signature",
    Signature::from_hex,
    Signature::to_hex,
    "an Ed25519 signature, hex",
    "^[0-9a-fA-F]{128}$"
);

string_form!(
    crate::device::DeviceId,
    "DeviceId",
    |s: &str| s.parse::<crate::device::DeviceId>(),
    |d: &crate::device::DeviceId| d.to_string(),
    "a device: the did:key of its first operational key (Ed25519)",
    "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"
);

/// Amounts (`u128` minor units) as decimal strings: `#[serde(with = "crate::json::amount")]`
/// with `#[schema(value_type = String, pattern = "^[0-9]+$")]`.
pub mod amount {
    use std::borrow::Cow;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the decimal string.
    pub fn serialize<S: Serializer>(amount: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(amount)
    }

    /// Reads a decimal string of ASCII digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom(format_args!("amount `{s}`: must be a decimal integer string")));
        }
        s.parse().map_err(|_| D::Error::custom(format_args!("amount `{s}`: too large")))
    }
}

/// Optional amounts as decimal strings or null: `#[serde(with = "crate::json::amount_opt")]`
/// with `#[schema(value_type = Option<String>)]`.
pub mod amount_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the decimal string, or null.
    pub fn serialize<S: Serializer>(amount: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match amount {
            Some(a) => s.collect_str(a),
            None => s.serialize_none(),
        }
    }

    /// Reads a decimal string of ASCII digits, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::amount")] u128);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(a)| a))
    }
}

/// Lists of amounts (`u128`) as decimal strings: `#[serde(with = "crate::json::amounts")]` with
/// `#[schema(value_type = Vec<String>)]`.
pub mod amounts {
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the decimal strings.
    pub fn serialize<S: Serializer>(amounts: &[u128], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(amounts.len()))?;
        for a in amounts {
            seq.serialize_element(&a.to_string())?;
        }
        seq.end()
    }

    /// Reads decimal strings of ASCII digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::amount")] u128);
        Ok(Vec::<Wrapped>::deserialize(d)?.into_iter().map(|Wrapped(a)| a).collect())
    }
}

/// 32-byte arrays (public keys) as lowercase hex: `#[serde(with = "crate::json::hex_bytes_array")]`.
pub mod hex_bytes_array {
    use std::borrow::Cow;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Reads 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        let bytes = hex::decode(s.as_bytes()).map_err(|e| D::Error::custom(format_args!("not hex: {e}")))?;
        bytes.try_into().map_err(|_| D::Error::custom("expected 32 bytes (64 hex digits)"))
    }
}

/// Byte strings (certificates, key identifiers) as lowercase hex: `#[serde(with =
/// "crate::json::hex_bytes")]` with `#[schema(value_type = String, pattern = "^([0-9a-f]{2})*$")]`.
pub mod hex_bytes {
    use std::borrow::Cow;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Reads hex (either case).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        hex::decode(s.as_bytes()).map_err(|e| D::Error::custom(format_args!("not hex: {e}")))
    }
}

/// Optional byte strings as lowercase hex or null: `#[serde(with = "crate::json::hex_bytes_opt")]`.
pub mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the hex, or null.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::hex_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    /// Reads hex (either case), or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Hex(#[serde(with = "super::hex_bytes")] Vec<u8>);
        Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
    }
}

impl Serialize for Instruction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_module(s)
    }
}

impl<'de> Deserialize<'de> for Instruction {
    /// Reads the `type` first, then the fields of that module's instruction, so an unknown
    /// type is named as such rather than as a mismatch with every module.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let kind = match value.get("type") {
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(_) => return Err(D::Error::custom("`type` must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        Instruction::from_json_value(&kind, value).map_err(D::Error::custom)
    }
}

impl PartialSchema for Instruction {
    fn schema() -> RefOr<Schema> {
        Instruction::module_schemas()
    }
}

impl ToSchema for Instruction {
    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        Instruction::collect_module_schemas(out);
    }
}

/// A signed transaction in JSON. The signature covers the canonical binary form, which the
/// node rebuilds from these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionJson {
    /// The chain's id.
    pub chain_id: String,
    /// The signing key.
    pub signer: PublicKey,
    /// The signer's next nonce.
    pub nonce: u64,
    /// The last height at which it may be included.
    pub valid_until_height: u64,
    /// What to do.
    pub instructions: Vec<Instruction>,
    /// Ed25519 signature over the canonical bytes.
    pub signature: Signature,
}

impl TransactionJson {
    /// The signed transaction, checked against every limit of the canonical codec (lengths of
    /// strings and lists, sizes) by encoding it and decoding it back.
    pub fn to_signed(self) -> Result<SignedTransaction, crate::codec::DecodeError> {
        let signed = SignedTransaction {
            tx: Transaction {
                chain_id: self.chain_id,
                signer: self.signer,
                nonce: self.nonce,
                valid_until_height: self.valid_until_height,
                instructions: self.instructions,
            },
            signature: self.signature,
        };
        SignedTransaction::decode(&signed.encode())
    }

    /// The JSON form of a signed transaction.
    pub fn from_signed(s: &SignedTransaction) -> TransactionJson {
        TransactionJson {
            chain_id: s.tx.chain_id.clone(),
            signer: s.tx.signer,
            nonce: s.tx.nonce,
            valid_until_height: s.tx.valid_until_height,
            instructions: s.tx.instructions.clone(),
            signature: s.signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::tx::tests::{arb_instruction, arb_signed};

    fn parse(v: serde_json::Value) -> Result<Instruction, String> {
        serde_json::from_value::<Instruction>(v).map_err(|e| e.to_string())
    }

    proptest! {
        #[test]
        fn every_instruction_round_trips_through_json_under_its_name(i in arb_instruction()) {
            let v = serde_json::to_value(&i).expect("serializes");
            prop_assert_eq!(v["type"].as_str(), Some(i.name()));
            prop_assert_eq!(parse(v), Ok(i));
        }

        #[test]
        fn transactions_round_trip_through_json(tx in arb_signed()) {
            let text = serde_json::to_string(&TransactionJson::from_signed(&tx)).expect("serializes");
            let back: TransactionJson = serde_json::from_str(&text).expect("parses");
            prop_assert_eq!(back.to_signed(), Ok(tx));
        }
    }

    #[test]
    fn errors_name_the_instruction_and_the_value() {
        let did = Did::from_initial_key(&PublicKey([1; 32])).to_string();
        assert_eq!(parse(json!({"type": "mint_money"})), Err("unknown instruction type `mint_money`".into()));
        assert_eq!(parse(json!({"to": did})), Err("missing field `type`".into()));
        let bad = parse(json!({"type": "transfer", "to": did, "amount": "1.5"})).expect_err("a decimal point");
        assert!(bad.contains("transfer") && bad.contains("amount `1.5`"), "{bad}");
        let bad = parse(json!({"type": "transfer", "to": "did:web:x", "amount": "1"})).expect_err("not ours");
        assert!(bad.contains("`did:web:x`: a Civitas DID starts with `did:civitas:`"), "{bad}");
        let bad = parse(json!({"type": "transfer", "to": did, "amount": "1", "memo": "x"})).expect_err("unknown");
        assert!(bad.contains("memo"), "{bad}");
        let bad = parse(json!({"type": "set_member", "org": did, "member": did, "role": "owner"})).expect_err("role");
        assert!(bad.contains("owner") && bad.contains("admin"), "{bad}");
    }

    #[test]
    fn council_actions_keep_their_flat_form() {
        let key = PublicKey([7; 32]);
        let by = Did::from_initial_key(&key);
        let add = json!({"type": "propose", "ttl_blocks": 10, "by": by.to_string(), "action": {
            "type": "add_validator", "public_key": key.to_hex(), "address": "10.0.0.5:9000", "name": "Transport"}});
        let parsed = parse(add.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&parsed).expect("serializes"), add);
        let mut extra = add;
        extra["action"]["port"] = json!(1);
        assert!(parse(extra).expect_err("an unknown field").contains("port"));
        let remove = json!({"type": "remove_validator", "public_key": key.to_hex()});
        let action: crate::council::CouncilAction = serde_json::from_value(remove.clone()).expect("parses");
        assert_eq!(action, crate::council::CouncilAction::RemoveValidator { key });
        assert_eq!(serde_json::to_value(&action).expect("serializes"), remove);
    }

    #[test]
    fn byte_strings_are_hex_and_anything_else_is_refused() {
        let by = Did::from_initial_key(&PublicKey([7; 32])).to_string();
        let add = |certificate: &str| json!({"type": "propose", "ttl_blocks": 10, "by": by, "action": {"type": "add_paa", "certificate": certificate}});
        let parsed = parse(add("30820102")).expect("hex");
        assert_eq!(serde_json::to_value(&parsed).expect("serializes"), add("30820102"));
        let bad = parse(add("not hex")).expect_err("not hex");
        assert!(bad.contains("not hex"), "{bad}");
        let odd = parse(add("308")).expect_err("odd length");
        assert!(odd.contains("not hex"), "{odd}");
    }

    #[test]
    fn did_documents_name_keys_by_type_and_relations_by_did_core_names() {
        use crate::did_doc::{DidDocumentData, KeyMaterial, Relations};
        let text = json!({"methods": [{"id": "phone", "key_type": "Ed25519", "public_key": "11".repeat(32),
            "relations": ["authentication", "capabilityInvocation"]}],
            "services": [{"id": "web", "type": "LinkedDomains", "endpoint": "https://city.example"}]});
        let doc: DidDocumentData = serde_json::from_value(text.clone()).expect("parses");
        assert_eq!(doc.methods[0].key, KeyMaterial::Ed25519([0x11; 32]));
        assert_eq!(doc.methods[0].relations, Relations::AUTHENTICATION.with(Relations::CAPABILITY_INVOCATION));
        let mut expected = text;
        expected["controllers"] = json!([]);
        assert_eq!(serde_json::to_value(&doc).expect("serializes"), expected);
        let x25519 = json!({"controllers": [], "services": [], "methods": [{"id": "seal", "key_type": "X25519",
            "public_key": "22".repeat(32), "relations": ["keyAgreement"]}]});
        let doc: DidDocumentData = serde_json::from_value(x25519.clone()).expect("parses");
        assert_eq!(
            (doc.methods[0].key, doc.methods[0].relations),
            (KeyMaterial::X25519([0x22; 32]), Relations::KEY_AGREEMENT)
        );
        assert_eq!(serde_json::to_value(&doc).expect("serializes"), x25519);
        let short = json!({"methods": [{"id": "x", "key_type": "X25519", "public_key": "22", "relations": []}]});
        let bad = serde_json::from_value::<DidDocumentData>(short).expect_err("short");
        assert!(bad.to_string().contains("an X25519 key is 32 bytes"), "{bad}");
        let rsa = json!({"methods": [{"id": "x", "key_type": "RSA", "public_key": "00", "relations": []}]});
        let bad = serde_json::from_value::<DidDocumentData>(rsa).expect_err("RSA");
        assert!(bad.to_string().contains("key_type: \"RSA\" is not Ed25519, P-256 or X25519"), "{bad}");
    }

    #[test]
    fn the_codec_limits_hold_for_json_too() {
        let key = PublicKey([3; 32]);
        let tx = TransactionJson {
            chain_id: "c".repeat(crate::limits::CHAIN_ID_BYTES_MAX + 1),
            signer: key,
            nonce: 0,
            valid_until_height: 1,
            instructions: vec![],
            signature: Signature([0; 64]),
        };
        assert!(tx.to_signed().is_err(), "an over-long chain id is refused");
        let many = TransactionJson {
            chain_id: "c".into(),
            signer: key,
            nonce: 0,
            valid_until_height: 1,
            instructions: vec![
                crate::AccountInstruction::RegisterAccount.into();
                crate::limits::TX_INSTRUCTIONS_MAX + 1
            ],
            signature: Signature([0; 64]),
        };
        assert!(many.to_signed().is_err(), "too many instructions are refused");
    }
}
