//! Transaction relay: what a client submits to one validator reaches the others, so that
//! whoever leads the next view can propose it, and a transaction sent to a validator that is
//! down or slow to lead still gets in.
//!
//! Each validator sends the transactions its clients submitted, batched every
//! [`RELAY_INTERVAL`], to every other validator (the committee is a full mesh, so nothing is
//! relayed twice). A receiver checks them like a client's submission; the mempool drops
//! duplicates by hash and by (signer, nonce), and committed ones are refused by the tx index, so
//! a transaction submitted to several validators is still committed once.
//!
//! Wire format on the relay channel (canonical codec): a count, then each signed transaction as
//! length-prefixed bytes.

use std::sync::Arc;
use std::time::Duration;

use civitas_node::consensus::Application;
use civitas_types::codec::{Decode as _, DecodeError, Encode as _, Reader, put_bytes, put_len};
use civitas_types::{SignedTransaction, limits};
use commonware_cryptography::ed25519;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Clock;

/// How often queued transactions are sent.
pub(crate) const RELAY_INTERVAL: Duration = Duration::from_millis(10);

/// Most bytes of transactions in one relay message (below every p2p message limit).
pub(crate) const RELAY_MESSAGE_BYTES_MAX: usize = 512 * 1024;

/// Most transactions in one relay message.
pub(crate) const RELAY_MESSAGE_TXS_MAX: usize = 10_000;

/// A relay message carrying `txs` (public for the fuzz targets, through [`crate::fuzzing`]).
pub fn encode(txs: &[SignedTransaction]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, txs.len());
    for tx in txs {
        put_bytes(&mut out, &tx.encode());
    }
    out
}

/// The transactions of a relay message from a peer, bounded before allocation (public for the
/// fuzz targets, through [`crate::fuzzing`]).
pub fn decode(bytes: &[u8]) -> Result<Vec<SignedTransaction>, DecodeError> {
    if bytes.len() > RELAY_MESSAGE_BYTES_MAX + 4 * RELAY_MESSAGE_TXS_MAX + 4 {
        return Err(DecodeError::TooLong { what: "relay message", len: bytes.len(), max: RELAY_MESSAGE_BYTES_MAX });
    }
    let mut r = Reader::new(bytes);
    let count = r.len(RELAY_MESSAGE_TXS_MAX, "relayed transactions")?;
    let mut txs = Vec::with_capacity(count);
    for _ in 0..count {
        txs.push(SignedTransaction::decode(r.bytes(limits::TX_BYTES_MAX, "relayed transaction")?)?);
    }
    r.finish()?;
    Ok(txs)
}

/// Every [`RELAY_INTERVAL`], sends what clients submitted here to the other validators.
pub(crate) async fn send<A, E, S>(context: E, app: Arc<A>, mut sender: S)
where
    A: Application,
    E: Clock,
    S: Sender<PublicKey = ed25519::PublicKey>,
{
    loop {
        context.sleep(RELAY_INTERVAL).await;
        loop {
            let txs = app.outbound(RELAY_MESSAGE_BYTES_MAX);
            if txs.is_empty() {
                break;
            }
            for chunk in txs.chunks(RELAY_MESSAGE_TXS_MAX) {
                let message = encode(chunk);
                if Sender::send(&mut sender, Recipients::All, message, false).is_empty() {
                    // Rate-limited or backpressured: the transactions still wait here for this
                    // validator's own turn to propose.
                    tracing::debug!(txs = chunk.len(), "relay message not sent");
                }
            }
        }
    }
}

/// Admits the transactions other validators relay. Runs on a thread of its own where the
/// runtime has threads: admission verifies signatures.
pub(crate) async fn receive<A, R>(app: Arc<A>, mut receiver: R)
where
    A: Application,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    while let Ok((from, bytes)) = receiver.recv().await {
        match decode(bytes.as_ref()) {
            Ok(txs) => app.inbound(txs),
            Err(e) => tracing::warn!(?from, error = %e, "malformed relay message dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::AccountInstruction;
    use civitas_types::{Did, Instruction, SecretKey, Transaction};
    use proptest::prelude::*;

    fn tx(nonce: u64) -> SignedTransaction {
        let key = SecretKey::from_seed([4; 32]);
        Transaction {
            chain_id: "c".into(),
            signer: key.public_key(),
            nonce,
            valid_until_height: 9,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                to: Did::from_initial_key(&key.public_key()),
                amount: 1,
            })],
        }
        .sign(&key)
    }

    proptest! {
        #[test]
        fn relay_messages_round_trip(nonces in prop::collection::vec(any::<u64>(), 0..20)) {
            let txs: Vec<SignedTransaction> = nonces.into_iter().map(tx).collect();
            prop_assert_eq!(decode(&encode(&txs)).expect("decodes"), txs);
        }

        #[test]
        fn relay_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn oversized_relay_messages_are_refused_before_allocation() {
        let mut bytes = Vec::new();
        put_len(&mut bytes, RELAY_MESSAGE_TXS_MAX + 1);
        assert!(matches!(decode(&bytes), Err(DecodeError::TooLong { .. })));
        let mut bytes = Vec::new();
        put_len(&mut bytes, 1);
        put_len(&mut bytes, limits::TX_BYTES_MAX + 1);
        assert!(matches!(decode(&bytes), Err(DecodeError::TooLong { .. })));
        assert!(decode(&[0xff; 4096]).is_err());
    }
}
