//! What a proof document can claim, one file per module: each claim kind is its JSON form
//! (what the API writes into a proof document), the check of its Merkle evidence against a
//! finalized header, and the fact it establishes, with that fact's description for people and
//! programs (`civitas verify`). [`verify_proof`](crate::light::verify_proof) checks the header's
//! finality and hands the claim to its kind.
//!
//! The kinds are composed in the one list below: a module that proves a record adds its file
//! and one line.

use civitas_types::BlockHeader;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::light::{ProofError, field_hex, verify_state};

pub mod account;
pub mod audit;
pub mod catalog;
pub mod credential;
pub mod device;
pub mod did;
pub mod fund;
pub mod invoice;
pub mod log;
pub mod rental;
pub mod stats;
pub mod transaction;

/// What a proof's claim is checked against: the finalized block's header.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The header the certificate finalizes.
    pub header: &'a BlockHeader,
    /// The chain it is on (checked against the genesis): what devices' signatures name.
    pub chain_id: &'a str,
}

impl Evidence<'_> {
    /// Checks that `item` is the state key `expected` (else [`ProofError::WrongKey`] naming
    /// `subject`) and that its value, or its absence, is proven against the state root;
    /// returns the value.
    pub fn item(
        &self,
        name: &'static str,
        item: &crate::wire::StateItemJson,
        expected: &[u8],
        subject: impl FnOnce() -> String,
    ) -> Result<Option<Vec<u8>>, ProofError> {
        if field_hex(name, &item.state_key)? != expected {
            return Err(ProofError::WrongKey(subject()));
        }
        let value = item.value.as_deref().map(|v| field_hex(name, v)).transpose()?;
        self.state(name, &item.state_proof, expected, value.as_deref())?;
        Ok(value)
    }

    /// Checks a page of a numbered list `name` (a count at `count_key`, entries at `entry_key` of
    /// their positions): the count, at most `page_max` entries from `from` within it, each
    /// present; gives the list's length and the entries' values. Shared by the modules whose
    /// lists are provable pages (devices, funds, rentals).
    pub fn list(
        &self,
        name: &str,
        (count, count_key): (&crate::wire::StateItemJson, Vec<u8>),
        entries: &[crate::wire::StateItemJson],
        (from, page_max): (u64, u64),
        entry_key: impl Fn(u64) -> Vec<u8>,
    ) -> Result<(u64, Vec<Vec<u8>>), ProofError> {
        let total = match self.item("count", count, &count_key, || name.to_owned())? {
            None => 0,
            Some(b) => u64::from_be_bytes(
                b.as_slice().try_into().map_err(|_| ProofError::Field("count", "not 8 bytes".into()))?,
            ),
        };
        let n = entries.len() as u64;
        if n > page_max || (n > 0 && from.checked_add(n).is_none_or(|end| end > total)) {
            return Err(ProofError::Field("entries", format!("at most {page_max}, within the list's {total}")));
        }
        let mut values = Vec::with_capacity(entries.len());
        for (position, item) in (from..).zip(entries) {
            let value = self
                .item("entry", item, &entry_key(position), || format!("{name} entry {position}"))?
                .ok_or(ProofError::Field("entries", format!("entry {position} is missing")))?;
            values.push(value);
        }
        Ok((total, values))
    }

    /// Checks the state proof (hex) that `key` holds `value` (or nothing) in the state root.
    pub fn state(&self, name: &'static str, proof: &str, key: &[u8], value: Option<&[u8]>) -> Result<(), ProofError> {
        Ok(verify_state(&field_hex(name, proof)?, &self.header.state_root, key, value)?)
    }
}

/// A kind of claim: its evidence checks out against the header, and establishes its fact.
pub trait Claim {
    /// The fact it establishes.
    type Fact;
    /// Checks the evidence.
    fn check(&self, at: &Evidence<'_>) -> Result<Self::Fact, ProofError>;
}

/// A fact, described: as JSON (with its `kind`) and as a sentence.
pub trait Describe {
    /// The JSON description and the sentence, for a fact proven in block `height`.
    fn describe(&self, height: u64) -> (serde_json::Value, String);
}

/// Declares [`ClaimJson`] and [`Fact`] from the list of claim kinds.
macro_rules! claims {
    ($($(#[$doc:meta])* $variant:ident($claim:ty => $fact:ty),)*) => {
        /// What a proof document claims, tagged by `kind`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum ClaimJson {
            $($(#[$doc])* $variant($claim),)*
        }

        /// A fact a verified proof document establishes.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Fact {
            $($(#[$doc])* $variant($fact),)*
        }

        impl ClaimJson {
            /// Checks the claim's evidence against the finalized header.
            pub fn check(&self, at: &Evidence<'_>) -> Result<Fact, ProofError> {
                match self {
                    $(ClaimJson::$variant(c) => c.check(at).map(Fact::$variant),)*
                }
            }
        }

        impl Fact {
            /// The fact as JSON (with its `kind`) and as a sentence, proven in block `height`.
            pub fn describe(&self, height: u64) -> (serde_json::Value, String) {
                match self {
                    $(Fact::$variant(f) => f.describe(height),)*
                }
            }
        }
    };
}

// The claim kinds: the one registration list of proofs.
claims! {
    /// An account's record (or its absence) in the state after the block.
    Account(account::AccountClaim => account::AccountFact),
    /// A DID's state after the block: its account, document and metadata.
    Did(did::DidClaim => did::DidFact),
    /// An audit trail entry in the state after the block.
    AuditEntry(audit::AuditEntryClaim => audit::AuditEntryFact),
    /// An invoice in the state after the block.
    Invoice(invoice::InvoiceClaim => invoice::InvoiceFact),
    /// Invoice totals of the chain, a merchant, or a merchant over days.
    InvoiceTotals(invoice::InvoiceTotalsClaim => invoice::InvoiceTotalsFact),
    /// A credential's status in its issuer's status list.
    CredentialStatus(credential::CredentialStatusClaim => credential::CredentialStatusFact),
    /// A device's passport and the revocation status of its attestation chain.
    Device(device::DeviceClaim => device::DeviceFact),
    /// Whether one attestation certificate (PAA, PAI or DAC) is revoked.
    Revocation(device::RevocationClaim => device::RevocationFact),
    /// What a controller may do on a device at the block's time.
    DeviceGrant(device::DeviceGrantClaim => device::DeviceGrantFact),
    /// A page of one of the devices module's lists.
    DeviceList(device::DeviceListClaim => device::DeviceListFact),
    /// A device event's receipt: signed by the device, in an anchored batch.
    EventReceipt(log::EventReceiptClaim => log::EventReceiptFact),
    /// A device's log head.
    LogHead(log::LogHeadClaim => log::LogHeadFact),
    /// An anchored batch of device events.
    LogAnchor(log::LogAnchorClaim => log::LogAnchorFact),
    /// A project, contract or payroll record of project funds.
    FundRecord(fund::FundRecordClaim => fund::FundRecordFact),
    /// A page of one of the funds module's lists (a worker's wages, a contract's payments…).
    FundList(fund::FundListClaim => fund::FundListFact),
    /// A listing, property, lease or lease version record of rentals.
    RentalRecord(rental::RentalRecordClaim => rental::RentalRecordFact),
    /// A page of one of the rentals module's lists (a property's history, a lease's payments…).
    RentalList(rental::RentalListClaim => rental::RentalListFact),
    /// A dataset or access request record of the data catalog.
    CatalogRecord(catalog::CatalogRecordClaim => catalog::CatalogRecordFact),
    /// A page of one of the catalog's lists (every dataset, a dataset's uses, who used an
    /// owner's datasets…).
    CatalogList(catalog::CatalogListClaim => catalog::CatalogListFact),
    /// A statistics round's record: what it measures, its reports and its published total.
    StatsRound(stats::StatsRoundClaim => stats::StatsRoundFact),
    /// A transaction's inclusion in the block, with its receipt.
    Transaction(transaction::TransactionClaim => transaction::TransactionFact),
}
