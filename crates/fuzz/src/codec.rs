//! Targets over the canonical binary codec: transactions, blocks, the API's batch and raw block
//! bodies, and the p2p relay and sync messages.

use civitas_client::wire::{decode_batch, decode_raw_block, encode_batch, encode_raw_block};
use civitas_consensus::fuzzing::{
    SyncMessage, decode_relay_message, decode_sync_message, encode_relay_message, encode_sync_message,
};
use civitas_types::codec::{Decode, Encode};
use civitas_types::{Block, BlockHeader, SignedTransaction, TransactionJson, TxReceipt, VerifiedTransaction};

use crate::fixtures::{CHAIN_ID, validator_keys};

/// Most transactions of one input whose signatures are checked, as a batch and one by one.
/// Each check is a signature verification, and an invalid signature in a batch costs the batch
/// and then each of its signatures again: at the input's every transaction, the batch target
/// ran at about 400 inputs a second under AFL. Three cover what a batch adds over one
/// transaction (valid and invalid signatures side by side, in either order); the transactions
/// past them run the same code.
const CHECKED_TXS_MAX: usize = 3;

/// Asserts that `value`, decoded from `bytes`, encodes back to exactly `bytes`: the codec
/// promises one encoding per value, and signatures and hashes rest on it.
fn assert_canonical<T: Encode + std::fmt::Debug>(what: &str, value: &T, bytes: &[u8]) {
    assert!(value.encode() == bytes, "{what} decoded from {} bytes re-encodes differently: {value:?}", bytes.len());
}

/// Checks the first [`CHECKED_TXS_MAX`] of `txs` as the node admits a batch (signatures
/// verified together), and that each transaction the batch accepted also verifies alone:
/// validators must not disagree on a signature. (A batch that fails is checked one signature
/// at a time by the same function as a single transaction, so its refusals need no second
/// check.)
fn check_like_the_node(mut txs: Vec<SignedTransaction>) {
    txs.truncate(CHECKED_TXS_MAX);
    let batch = VerifiedTransaction::check_many(txs.clone(), CHAIN_ID);
    for (tx, together) in txs.into_iter().zip(&batch) {
        if together.is_ok() {
            let alone = VerifiedTransaction::check(tx, CHAIN_ID);
            assert_eq!(&alone, together, "batch and single verification disagree");
        }
    }
}

/// `SignedTransaction`'s binary decoding (`POST /v1/transactions` as octet-stream, blocks,
/// relay): canonical, its JSON form parses back to it, and it checks without panicking.
pub fn transaction(data: &[u8]) {
    let Ok(signed) = SignedTransaction::decode(data) else { return };
    assert_canonical("transaction", &signed, data);
    let json = serde_json::to_vec(&TransactionJson::from_signed(&signed))
        .unwrap_or_else(|e| panic!("a decoded transaction's JSON form does not serialize: {e}"));
    let back: TransactionJson = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("a decoded transaction's JSON form does not parse back: {e}"));
    assert_eq!(back.to_signed().as_ref(), Ok(&signed), "the JSON form gives back another transaction");
    let _ = VerifiedTransaction::check(signed, CHAIN_ID);
}

/// `Block` decoding (peers' proposals, catch-up), and the raw block body a full node fetches
/// (`GET /v1/blocks/{height}/raw`) with its certificate checked against the fixed validators;
/// the same bytes also as a header and as a receipt (proof documents carry both).
pub fn block(data: &[u8]) {
    if let Ok(block) = Block::decode(data) {
        assert_canonical("block", &block, data);
        let hashes: Vec<_> = block.transactions.iter().map(|tx| civitas_types::Hash::digest(&tx.encode())).collect();
        let _ = (Block::tx_root(&hashes), block.header.hash());
    }
    if let Ok(header) = BlockHeader::decode(data) {
        assert_canonical("block header", &header, data);
    }
    if let Ok(receipt) = TxReceipt::decode(data) {
        assert_canonical("receipt", &receipt, data);
    }
    if let Ok((block, certificate)) = decode_raw_block(data) {
        assert!(encode_raw_block(&block, &certificate) == data, "a raw block body re-encodes differently");
        let _ = civitas_client::light::verify_finalization(&certificate, validator_keys(), &block.header.hash());
    }
}

/// The batch body of `POST /v1/transactions/batch` (`wire::decode_batch`), then the node's
/// checks of the transactions that decode.
pub fn tx_batch(data: &[u8]) {
    let Ok(results) = decode_batch(data) else { return };
    let frames = results.len();
    let txs: Vec<SignedTransaction> = results.into_iter().filter_map(Result::ok).collect();
    if txs.len() == frames {
        assert!(encode_batch(&txs) == data, "a batch whose transactions all decode re-encodes differently");
    }
    check_like_the_node(txs);
}

/// The p2p relay channel's messages (batches of transactions from other validators) and the
/// sync channel's requests and answers, with a block an answer carries decoded and its
/// certificate checked as catch-up does.
pub fn p2p_relay(data: &[u8]) {
    if let Ok(txs) = decode_relay_message(data) {
        assert!(encode_relay_message(&txs) == data, "a relay message re-encodes differently");
        check_like_the_node(txs);
    }
    if let Ok(message) = decode_sync_message(data) {
        assert!(encode_sync_message(&message) == data, "a sync message re-encodes differently");
        if let SyncMessage::Response(_, _, Some((block, certificate))) = message
            && let Ok(block) = Block::decode(&block)
        {
            let _ = civitas_client::light::verify_finalization(&certificate, validator_keys(), &block.header.hash());
        }
    }
}
