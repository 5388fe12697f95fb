//! Blocks, their headers, and the receipts that record each transaction's outcome.

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::crypto::{Hash, PublicKey};
use crate::limits;
use crate::merkle;
use crate::tx::SignedTransaction;

/// The parent hash of the genesis block.
pub const GENESIS_PARENT: Hash = Hash([0; 32]);

const HEADER_VERSION: u16 = 1;

/// What validators sign: a block's place in the chain and commitments to its contents and to
/// the state after executing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Height; genesis is 0.
    pub height: u64,
    /// Hash of the previous block's header ([`GENESIS_PARENT`] for genesis).
    pub parent_hash: Hash,
    /// The block's time, set by its proposer, strictly after its parent's. The only clock
    /// execution sees.
    pub timestamp_ms: u64,
    /// The validator that proposed it.
    pub proposer: PublicKey,
    /// How many transactions it holds.
    pub tx_count: u32,
    /// Merkle root over the transactions' hashes.
    pub tx_root: Hash,
    /// Merkle root over the receipts, in transaction order.
    pub results_root: Hash,
    /// Root of the authenticated state after this block.
    pub state_root: Hash,
}

impl BlockHeader {
    /// The block's hash: SHA-256 of the encoded header.
    pub fn hash(&self) -> Hash {
        Hash::digest(&self.encode())
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&HEADER_VERSION.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
        self.parent_hash.encode_to(out);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        self.proposer.encode_to(out);
        out.extend_from_slice(&self.tx_count.to_be_bytes());
        self.tx_root.encode_to(out);
        self.results_root.encode_to(out);
        self.state_root.encode_to(out);
    }
}

impl Decode for BlockHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.u16("header version")? != HEADER_VERSION {
            return Err(DecodeError::Invalid { what: "header version", why: "unsupported" });
        }
        Ok(BlockHeader {
            height: r.u64("height")?,
            parent_hash: Hash::decode_from(r)?,
            timestamp_ms: r.u64("timestamp")?,
            proposer: PublicKey::decode_from(r)?,
            tx_count: r.u32("tx count")?,
            tx_root: Hash::decode_from(r)?,
            results_root: Hash::decode_from(r)?,
            state_root: Hash::decode_from(r)?,
        })
    }
}

/// What finalizes a block that consensus finalized only through a descendant. simplex can
/// notarize a block whose own view then gathers too few finalize votes; the next leader builds
/// on it, and a descendant's finalization finalizes every block it extends. Such a block is
/// stored, and served to peers and light clients, with this record where its own certificate
/// would be: the headers from its child to that descendant, and the descendant's certificate.
/// The record begins with a tag that tells it from a certificate ([`FinalizedThrough::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedThrough {
    /// The headers after the block, in height order: its child first, the finalized
    /// descendant last.
    pub headers: Vec<BlockHeader>,
    /// The finalized descendant's certificate.
    pub certificate: Vec<u8>,
}

const FINALIZED_THROUGH_TAG: &[u8] = b"civitas:finalized-through:1";

impl FinalizedThrough {
    /// The record's bytes, tag first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = FINALIZED_THROUGH_TAG.to_vec();
        put_seq(&mut out, &self.headers);
        put_bytes(&mut out, &self.certificate);
        out
    }

    /// The record in `bytes`; `None` if they do not begin with its tag (they are a block's own
    /// certificate), an error if they do and the rest does not decode.
    pub fn parse(bytes: &[u8]) -> Option<Result<FinalizedThrough, DecodeError>> {
        let rest = bytes.strip_prefix(FINALIZED_THROUGH_TAG)?;
        let mut r = Reader::new(rest);
        let decoded = (|| {
            let headers = r.seq(limits::FINALIZED_THROUGH_HEADERS_MAX, "headers", BlockHeader::decode_from)?;
            if headers.is_empty() {
                return Err(DecodeError::Invalid { what: "headers", why: "none: the record names no descendant" });
            }
            let certificate = r.bytes(limits::CERTIFICATE_BYTES_MAX, "certificate")?.to_vec();
            r.finish()?;
            Ok(FinalizedThrough { headers, certificate })
        })();
        Some(decoded)
    }

    /// What finalizes the block whose hash is `block_hash`, given what is stored or served as
    /// its certificate: that certificate and the block itself, or, for a record, the record's
    /// certificate, the descendant it finalizes and how many blocks down that is. `Err` names
    /// why a record is unusable (it does not decode, or does not descend from the block).
    pub fn resolve(certificate: &[u8], block_hash: &Hash) -> Result<(Vec<u8>, Hash, u64), String> {
        let Some(record) = FinalizedThrough::parse(certificate) else {
            return Ok((certificate.to_vec(), *block_hash, 0));
        };
        let record = record.map_err(|e| e.to_string())?;
        let descendant =
            record.descendant_of(block_hash).ok_or("the record's headers do not descend from the block")?;
        Ok((record.certificate, descendant, record.headers.len() as u64))
    }

    /// The hash of the descendant whose certificate the record carries, if its headers
    /// descend from the block whose hash is `block_hash`, each the child of the one before;
    /// `None` if they do not.
    pub fn descendant_of(&self, block_hash: &Hash) -> Option<Hash> {
        let mut parent = *block_hash;
        for header in &self.headers {
            if header.parent_hash != parent {
                return None;
            }
            parent = header.hash();
        }
        Some(parent)
    }
}

/// A header and the transactions it commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in execution order.
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    /// The Merkle root over `hashes` of transactions.
    pub fn tx_root(hashes: &[Hash]) -> Hash {
        let leaves: Vec<Hash> = hashes.iter().map(|h| merkle::leaf(&h.0)).collect();
        merkle::root(&leaves)
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        put_seq(out, &self.transactions);
    }
}

impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::decode_from(r)?;
        let transactions = r.seq(limits::BLOCK_TXS_MAX, "transactions", SignedTransaction::decode_from)?;
        if transactions.len() != header.tx_count as usize {
            return Err(DecodeError::Invalid { what: "block", why: "tx count differs from header" });
        }
        Ok(Block { header, transactions })
    }
}

/// How a transaction in a block ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutcome {
    /// All its instructions took effect.
    Success,
    /// It changed nothing (beyond consuming its nonce, when it reached execution).
    Failed {
        /// A stable, machine-readable code.
        code: String,
        /// A message for people.
        message: String,
    },
}

/// The recorded outcome of one transaction in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxReceipt {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// What happened.
    pub outcome: TxOutcome,
}

impl TxReceipt {
    /// The Merkle root over `receipts`.
    pub fn results_root(receipts: &[TxReceipt]) -> Hash {
        let leaves: Vec<Hash> = receipts.iter().map(|r| merkle::leaf(&r.encode())).collect();
        merkle::root(&leaves)
    }
}

impl Encode for TxReceipt {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tx_hash.encode_to(out);
        match &self.outcome {
            TxOutcome::Success => out.push(0),
            TxOutcome::Failed { code, message } => {
                out.push(1);
                put_bytes(out, code.as_bytes());
                put_bytes(out, message.as_bytes());
            }
        }
    }
}

impl Decode for TxReceipt {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tx_hash = Hash::decode_from(r)?;
        let outcome = match r.u8("outcome")? {
            0 => TxOutcome::Success,
            1 => TxOutcome::Failed {
                code: r.string(64, "error code")?,
                message: r.string(limits::RECEIPT_MESSAGE_BYTES_MAX, "error message")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "outcome", tag }),
        };
        Ok(TxReceipt { tx_hash, outcome })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::tests::arb_signed;
    use proptest::prelude::*;

    fn header(height: u64) -> BlockHeader {
        BlockHeader {
            height,
            parent_hash: Hash([1; 32]),
            timestamp_ms: 1_700_000_000_000,
            proposer: PublicKey([2; 32]),
            tx_count: 0,
            tx_root: Block::tx_root(&[]),
            results_root: TxReceipt::results_root(&[]),
            state_root: Hash([3; 32]),
        }
    }

    #[test]
    fn golden_header_hash() {
        assert_eq!(header(7).hash().to_hex(), "94bdab19c0965776970e9b6585096bf336893f258f00bfe3f3f52abe570168f9");
    }

    #[test]
    fn a_block_finalized_through_a_descendant_names_the_descendant_by_its_chain() {
        let block = header(5);
        let mut child = header(6);
        child.parent_hash = block.hash();
        let mut grandchild = header(7);
        grandchild.parent_hash = child.hash();
        let record = FinalizedThrough { headers: vec![child.clone(), grandchild.clone()], certificate: vec![9; 40] };
        let bytes = record.encode();
        assert_eq!(FinalizedThrough::parse(&bytes).expect("tagged").expect("decodes"), record);
        assert_eq!(record.descendant_of(&block.hash()), Some(grandchild.hash()));
        // Not the block's descendants, or a link missing: no descendant.
        assert_eq!(record.descendant_of(&header(4).hash()), None);
        let gap = FinalizedThrough { headers: vec![grandchild], certificate: vec![9; 40] };
        assert_eq!(gap.descendant_of(&block.hash()), None);
        // A block's own certificate is not a record; a tagged record that is cut short, empty
        // or followed by more bytes is malformed.
        assert!(FinalizedThrough::parse(&[0x63; 80]).is_none());
        assert!(matches!(FinalizedThrough::parse(&bytes[..bytes.len() - 1]), Some(Err(_))));
        assert!(matches!(FinalizedThrough::parse(&[bytes.clone(), vec![0]].concat()), Some(Err(_))));
        let empty = FinalizedThrough { headers: vec![], certificate: vec![] };
        assert!(matches!(FinalizedThrough::parse(&empty.encode()), Some(Err(_))));
    }

    #[test]
    fn tx_count_must_match_header() {
        let mut block = Block { header: header(1), transactions: vec![] };
        block.header.tx_count = 1;
        assert!(matches!(Block::decode(&block.encode()), Err(DecodeError::Invalid { .. })));
    }

    fn arb_receipt() -> impl Strategy<Value = TxReceipt> {
        (any::<[u8; 32]>(), prop::option::of(("[a-z_]{1,64}", ".{0,60}"))).prop_map(|(h, f)| TxReceipt {
            tx_hash: Hash(h),
            outcome: match f {
                None => TxOutcome::Success,
                Some((code, message)) => TxOutcome::Failed { code, message },
            },
        })
    }

    proptest! {
        #[test]
        fn block_round_trips(h in any::<u64>(), ts in any::<u64>(), txs in prop::collection::vec(arb_signed(), 0..4)) {
            let mut hd = header(h);
            hd.timestamp_ms = ts;
            hd.tx_count = txs.len() as u32;
            let block = Block { header: hd, transactions: txs };
            prop_assert_eq!(Block::decode(&block.encode()), Ok(block));
        }

        #[test]
        fn receipt_round_trips(r in arb_receipt()) {
            prop_assert_eq!(TxReceipt::decode(&r.encode()), Ok(r));
        }

        #[test]
        fn block_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = Block::decode(&bytes);
        }
    }
}
