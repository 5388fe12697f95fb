//! Transactions: what a signer asks the ledger to do, signed over its canonical bytes.

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::crypto::{Hash, PublicKey, SecretKey, Signature, verify_batch};
use crate::limits;

/// An amount of the city's accounting currency, in minor units.
pub type Amount = u128;

/// A role an account holds. Roles are granted at genesis (later, by the council); everything
/// not granted is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The finance bureau: may create currency.
    Finance,
}

impl Role {
    /// The role's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Finance => "finance",
        }
    }

    /// The role with this name.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "finance" => Some(Role::Finance),
            _ => None,
        }
    }
}

impl Encode for Role {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Role::Finance => 0,
        });
    }
}

impl Decode for Role {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("role")? {
            0 => Ok(Role::Finance),
            tag => Err(DecodeError::UnknownTag { what: "role", tag }),
        }
    }
}

/// What each module's instruction enum provides so that [`Instruction`] can compose them: its
/// names and its part of the canonical encoding. A module's instructions are one enum in its
/// own folder; the top-level tag of each is the module's first tag plus its own.
pub trait ModuleInstruction: Sized {
    /// The module's name.
    const MODULE: &'static str;
    /// Its instructions' stable names (used in JSON, receipts and the audit trail), in tag order.
    const NAMES: &'static [&'static str];
    /// The instruction's tag within its module (its index in `NAMES`).
    fn tag(&self) -> u8;
    /// The instruction's stable name.
    fn name(&self) -> &'static str {
        Self::NAMES[usize::from(self.tag())]
    }
    /// Encodes the fields, after the tag.
    fn encode_fields(&self, out: &mut Vec<u8>);
    /// Decodes the fields of the instruction with module tag `tag`.
    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Declares [`Instruction`] from the list of modules, each with its first tag.
macro_rules! modules {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $base:literal,)*) => {
        /// One step of a transaction: an instruction of one module. The set is closed: a new
        /// capability is a new variant of its module's enum; a new module is one line in the
        /// list below, with the first tag after the last module's.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Instruction {
            $($(#[$doc])* $variant($ty),)*
        }

        $(impl From<$ty> for Instruction {
            fn from(i: $ty) -> Instruction {
                Instruction::$variant(i)
            }
        })*

        impl Instruction {
            /// Each module's name, first tag and instruction names, in tag order.
            pub const MODULES: &'static [(&'static str, u8, &'static [&'static str])] =
                &[$((<$ty as ModuleInstruction>::MODULE, $base, <$ty as ModuleInstruction>::NAMES),)*];

            /// The name of the module that owns the instruction.
            pub fn module(&self) -> &'static str {
                match self {
                    $(Instruction::$variant(_) => <$ty as ModuleInstruction>::MODULE,)*
                }
            }

            /// The instruction's stable name, as used in JSON, receipts and the audit trail.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Instruction::$variant(i) => i.name(),)*
                }
            }

            /// Writes the JSON form: the module's own (`{"type": name, ...fields}`).
            pub(crate) fn serialize_module<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Instruction::$variant(i) => serde::Serialize::serialize(i, s),)*
                }
            }

            /// Reads the JSON form of the instruction named `kind` with the module that owns it.
            pub(crate) fn from_json_value(kind: &str, value: serde_json::Value) -> Result<Instruction, String> {
                $(if <$ty as ModuleInstruction>::NAMES.contains(&kind) {
                    return serde_json::from_value::<$ty>(value)
                        .map(Instruction::$variant)
                        .map_err(|e| format!("{kind}: {e}"));
                })*
                Err(format!("unknown instruction type `{kind}`"))
            }

            /// The JSON schema: one of the modules' instruction schemas.
            pub(crate) fn module_schemas() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::OneOfBuilder::new()
                    $(.item(utoipa::openapi::Ref::from_schema_name(<$ty as utoipa::ToSchema>::name())))*
                    .into()
            }

            /// The modules' instruction schemas and those they refer to, for OpenAPI components.
            pub(crate) fn collect_module_schemas(
                out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
            ) {
                $(
                    out.push((<$ty as utoipa::ToSchema>::name().into(), <$ty as utoipa::PartialSchema>::schema()));
                    <$ty as utoipa::ToSchema>::schemas(out);
                )*
            }
        }

        #[cfg(test)]
        impl Instruction {
            /// Any instruction of any module (each module's `arbitrary`), for property tests.
            pub(crate) fn arbitrary() -> proptest::strategy::BoxedStrategy<Instruction> {
                use proptest::strategy::Strategy as _;
                proptest::strategy::Union::new(vec![
                    $(<$ty>::arbitrary().prop_map(Instruction::$variant).boxed(),)*
                ])
                .boxed()
            }
        }

        impl Encode for Instruction {
            fn encode_to(&self, out: &mut Vec<u8>) {
                match self {
                    $(Instruction::$variant(i) => {
                        out.push($base + i.tag());
                        i.encode_fields(out);
                    })*
                }
            }
        }

        impl Decode for Instruction {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let tag = r.u8("instruction")?;
                $(if let Some(local) = tag.checked_sub($base)
                    && usize::from(local) < <$ty as ModuleInstruction>::NAMES.len()
                {
                    return Ok(Instruction::$variant(<$ty>::decode_fields(local, r)?));
                })*
                Err(DecodeError::UnknownTag { what: "instruction", tag })
            }
        }
    };
}

// The chain's modules: the one registration list of this crate. Tags are part of the signed
// encoding, so a module keeps its range for good; a new module takes the next free range.
modules! {
    /// Accounts and the currency.
    Accounts(crate::account::AccountInstruction) = 0,
    /// DID documents.
    Dids(crate::did_doc::DidInstruction) = 4,
    /// Organizations and their officials.
    Orgs(crate::org::OrgInstruction) = 7,
    /// The council.
    Council(crate::council::CouncilInstruction) = 9,
    /// E-invoices.
    Invoices(crate::invoice::InvoiceInstruction) = 11,
    /// Credentials and consent.
    Credentials(crate::credential::CredentialInstruction) = 17,
    /// Device passports.
    Devices(crate::device::DeviceInstruction) = 24,
    /// Device event logs.
    Logs(crate::log::LogInstruction) = 39,
    /// Public project funds.
    Funds(crate::fund::FundInstruction) = 41,
    /// Rentals: listings, leases, deposits and rent.
    Rentals(crate::rental::RentalInstruction) = 53,
    /// The data catalog: datasets, access requests and grants, logged uses.
    Catalog(crate::catalog::CatalogInstruction) = 65,
    /// Transport statistics by secure aggregation.
    Stats(crate::stats::StatsInstruction) = 72,
}

impl Instruction {
    /// Every instruction's name, in tag order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Instruction::MODULES.iter().flat_map(|(_, _, names)| names.iter().copied())
    }
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The chain this transaction is meant for; any other chain refuses it.
    pub chain_id: String,
    /// The key that signs it: the signer account's current key.
    pub signer: PublicKey,
    /// The signer account's next nonce (0 for a registration).
    pub nonce: u64,
    /// The last height at which it may be included.
    pub valid_until_height: u64,
    /// What to do, in order; all or nothing.
    pub instructions: Vec<Instruction>,
}

const SIGNING_DOMAIN: &[u8] = b"civitas/tx/v1\0";

impl Transaction {
    /// The bytes the signer signs: a domain tag, then the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = SIGNING_DOMAIN.to_vec();
        self.encode_to(&mut out);
        out
    }

    /// Signs the transaction with `key`, which should be `self.signer`'s secret.
    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes());
        SignedTransaction { tx: self, signature }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.chain_id.as_bytes());
        self.signer.encode_to(out);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.valid_until_height.to_be_bytes());
        put_seq(out, &self.instructions);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            chain_id: r.string(limits::CHAIN_ID_BYTES_MAX, "chain id")?,
            signer: PublicKey::decode_from(r)?,
            nonce: r.u64("nonce")?,
            valid_until_height: r.u64("valid until height")?,
            instructions: r.seq(limits::TX_INSTRUCTIONS_MAX, "instructions", Instruction::decode_from)?,
        })
    }
}

/// A transaction and its signature, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The signer's signature over [`Transaction::signing_bytes`].
    pub signature: Signature,
}

impl Encode for SignedTransaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tx.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for SignedTransaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedTransaction { tx: Transaction::decode_from(r)?, signature: Signature::decode_from(r)? })
    }
}

/// Why a transaction fails the checks that need no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxCheckError {
    /// Its chain id is not this chain's.
    #[error("transaction is for chain `{found}`, this is `{expected}`")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// It has no instructions.
    #[error("transaction has no instructions")]
    Empty,
    /// It is larger than a transaction may be.
    #[error("transaction is {bytes} bytes, over the limit of {max}")]
    TooLarge {
        /// Its encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not verify against the signer key.
    #[error("signature does not verify against the signer key")]
    BadSignature,
}

impl TxCheckError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxCheckError::WrongChain { .. } => "wrong_chain",
            TxCheckError::Empty => "empty_transaction",
            TxCheckError::TooLarge { .. } => "transaction_too_large",
            TxCheckError::BadSignature => "bad_signature",
        }
    }
}

/// A transaction whose chain id, shape and signature have been checked. Only the checks in this
/// module can build one, so code that takes a `VerifiedTransaction` need not check again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransaction {
    signed: SignedTransaction,
    hash: Hash,
    encoded_len: usize,
}

impl VerifiedTransaction {
    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }

    /// SHA-256 of the signed transaction's encoding.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Size of the signed transaction's encoding, in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// Checks many transactions for `chain_id`, verifying their signatures as one batch.
    pub fn check_many(txs: Vec<SignedTransaction>, chain_id: &str) -> Vec<Result<VerifiedTransaction, TxCheckError>> {
        let prepared: Vec<Result<Prepared, TxCheckError>> = txs
            .into_iter()
            .map(|signed| {
                let encoded = signed.encode();
                stateless_checks(&signed, chain_id, encoded.len())?;
                let signing = signed.tx.signing_bytes();
                Ok((signed, encoded, signing))
            })
            .collect();
        let items: Vec<(PublicKey, Signature, &[u8])> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|(s, _, m)| (s.tx.signer, s.signature, m.as_slice()))
            .collect();
        let mut valid = verify_batch(&items).into_iter();
        prepared
            .into_iter()
            .map(|p| {
                let (signed, encoded, _) = p?;
                if !valid.next().unwrap_or(false) {
                    return Err(TxCheckError::BadSignature);
                }
                Ok(VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed })
            })
            .collect()
    }

    /// Checks one transaction for `chain_id`.
    pub fn check(signed: SignedTransaction, chain_id: &str) -> Result<VerifiedTransaction, TxCheckError> {
        let encoded = signed.encode();
        stateless_checks(&signed, chain_id, encoded.len())?;
        if !signed.tx.signer.verify(&signed.signature, &signed.tx.signing_bytes()) {
            return Err(TxCheckError::BadSignature);
        }
        Ok(VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed })
    }

    /// Trusts a transaction this node verified before it was stored (its own committed blocks).
    /// Only for re-reading the node's own store; anything from a peer goes through `check`.
    pub fn from_trusted_store(signed: SignedTransaction) -> VerifiedTransaction {
        let encoded = signed.encode();
        VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed }
    }
}

/// A transaction that passed the stateless checks: itself, its encoding, its signing bytes.
type Prepared = (SignedTransaction, Vec<u8>, Vec<u8>);

fn stateless_checks(signed: &SignedTransaction, chain_id: &str, bytes: usize) -> Result<(), TxCheckError> {
    if signed.tx.chain_id != chain_id {
        return Err(TxCheckError::WrongChain { expected: chain_id.to_owned(), found: signed.tx.chain_id.clone() });
    }
    if signed.tx.instructions.is_empty() {
        return Err(TxCheckError::Empty);
    }
    if bytes > limits::TX_BYTES_MAX {
        return Err(TxCheckError::TooLarge { bytes, max: limits::TX_BYTES_MAX });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::AccountInstruction;
    use crate::did::Did;
    use proptest::prelude::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    fn transfer(nonce: u64) -> Transaction {
        Transaction {
            chain_id: "civitas-test".into(),
            signer: key(1).public_key(),
            nonce,
            valid_until_height: 100,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                to: Did::from_initial_key(&key(2).public_key()),
                amount: 5,
            })],
        }
    }

    #[test]
    fn golden_transaction_hash() {
        // Pins the transaction format: a change here is a deliberate, versioned decision.
        let signed = transfer(3).sign(&key(1));
        let v = VerifiedTransaction::check(signed, "civitas-test").expect("valid");
        assert_eq!(v.hash().to_hex(), "bab940ffd94c00b348d4259837399ca0c10e13d5f7de02769832658e0a3aca30");
    }

    #[test]
    fn stateless_failures_are_named() {
        let check = |signed: SignedTransaction, code: &str| {
            let err = VerifiedTransaction::check(signed, "civitas-test").unwrap_err();
            assert_eq!(err.code(), code, "{err}");
        };
        check(transfer(0).sign(&key(1)).with_chain("other"), "wrong_chain");
        check(transfer(0).sign(&key(9)), "bad_signature");
        let mut empty = transfer(0);
        empty.instructions.clear();
        check(empty.sign(&key(1)), "empty_transaction");
    }

    #[test]
    fn batch_check_isolates_the_bad_signature() {
        let txs = vec![transfer(0).sign(&key(1)), transfer(1).sign(&key(9)), transfer(2).sign(&key(1))];
        let out = VerifiedTransaction::check_many(txs, "civitas-test");
        assert!(out[0].is_ok() && out[2].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err(), &TxCheckError::BadSignature);
    }

    impl SignedTransaction {
        fn with_chain(mut self, chain: &str) -> Self {
            self.tx.chain_id = chain.into();
            self
        }
    }

    pub(crate) fn arb_instruction() -> impl Strategy<Value = Instruction> {
        Instruction::arbitrary()
    }

    pub(crate) fn arb_signed() -> impl Strategy<Value = SignedTransaction> {
        (
            "[a-z0-9-]{0,64}",
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(arb_instruction(), 0..=limits::TX_INSTRUCTIONS_MAX),
            any::<[u8; 32]>(),
        )
            .prop_map(|(chain_id, k, nonce, valid_until_height, instructions, s)| {
                let mut sig = [0u8; 64];
                sig[32..].copy_from_slice(&s);
                SignedTransaction {
                    tx: Transaction { chain_id, signer: PublicKey(k), nonce, valid_until_height, instructions },
                    signature: Signature(sig),
                }
            })
    }

    #[test]
    fn module_tag_ranges_ascend_without_overlap() {
        // Decoding picks the first module whose range holds the tag: an overlap would decode a
        // later module's instruction as an earlier one's.
        let mut next_free = 0u8;
        for (module, base, names) in Instruction::MODULES {
            assert!(*base >= next_free, "module {module} starts at tag {base}, inside the previous module's range");
            assert!(!names.is_empty(), "module {module} has no instructions");
            next_free = base + u8::try_from(names.len()).expect("fewer than 256 instructions");
        }
        let all: Vec<&str> = Instruction::names().collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(all.len(), unique.len(), "instruction names are unique across modules");
    }

    proptest! {
        #[test]
        fn every_instruction_name_is_listed(i in arb_instruction()) {
            prop_assert!(Instruction::names().any(|n| n == i.name()));
        }

        #[test]
        fn signed_transaction_round_trips(tx in arb_signed()) {
            prop_assert_eq!(SignedTransaction::decode(&tx.encode()), Ok(tx));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = SignedTransaction::decode(&bytes);
        }

        #[test]
        fn any_truncation_is_an_error(tx in arb_signed(), cut in any::<prop::sample::Index>()) {
            let bytes = tx.encode();
            let cut = cut.index(bytes.len());
            prop_assert!(SignedTransaction::decode(&bytes[..cut]).is_err());
        }
    }
}
