//! Catch-up: a validator that missed finalized blocks (cut off, or down for a while) fetches
//! them from its peers, checks each one's finalization certificate against the committee,
//! re-executes it, and hands it to the committer like any other finalized block.
//!
//! Wire format on the sync channel (canonical codec): a request is `0, height u64`; a response
//! is `1, height u64, tip u64` (the responder's latest finalized height) then `0` (not held)
//! or `1, block, certificate` as length-prefixed bytes. Tips are reported to the node
//! ([`Application::saw_height`]) for its status, never trusted: only certified blocks move it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use civitas_node::Executed;
use civitas_node::consensus::Application;
use civitas_types::codec::{Decode as _, DecodeError, Reader, put_bytes};
use civitas_types::{Block, limits};
use commonware_codec::Decode as _;
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::{ed25519, sha256::Digest};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::Clock;
use commonware_utils::channel::mpsc;

use crate::digest_of;

/// Largest certificate accepted from a peer: a certificate, or a record of finality through
/// a descendant (its headers, then a certificate).
const CERTIFICATE_BYTES_MAX: usize = 2 * limits::CERTIFICATE_BYTES_MAX;

/// Most responses held while waiting to be used.
const RESPONSES_MAX: usize = 64;

/// What the committer is handed: a digest simplex finalized, or a block fetched and checked.
pub(crate) enum ToCommit {
    /// simplex finalized this digest, with this certificate.
    Finalized(Digest, Vec<u8>),
    /// A peer's finalized block, its certificate checked and its execution verified.
    Fetched(Box<Executed>, Vec<u8>),
}

/// Whether this validator knows it is behind, and a wake-up for the fetcher.
#[derive(Default)]
pub(crate) struct Behind {
    flag: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Behind {
    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

/// An encoded block and its certificate, as a peer sent them.
type Held = (Vec<u8>, Vec<u8>);

/// Blocks peers sent in answer to our requests, by height, and the highest height a peer
/// said it does not hold (so we know we asked someone, and are as far as they are).
#[derive(Default)]
pub(crate) struct Responses {
    blocks: Mutex<BTreeMap<u64, Held>>,
    arrived: tokio::sync::Notify,
    not_held: std::sync::atomic::AtomicU64,
}

/// A message on the sync channel (public for the fuzz targets, through [`crate::fuzzing`]).
pub enum Message {
    /// A request for the block at this height.
    Request(u64),
    /// The height asked for, the responder's tip, and the block if held (its encoding and its
    /// finalization certificate, both unchecked).
    Response(u64, u64, Option<Held>),
}

/// The canonical bytes of `message`.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    match message {
        Message::Request(h) => {
            out.push(0);
            out.extend_from_slice(&h.to_be_bytes());
        }
        Message::Response(h, tip, held) => {
            out.push(1);
            out.extend_from_slice(&h.to_be_bytes());
            out.extend_from_slice(&tip.to_be_bytes());
            match held {
                None => out.push(0),
                Some((block, certificate)) => {
                    out.push(1);
                    put_bytes(&mut out, block);
                    put_bytes(&mut out, certificate);
                }
            }
        }
    }
    out
}

/// A message from a peer, bounded before allocation; the block and certificate it may carry
/// are checked later, by `catch_up`.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader::new(bytes);
    let message = match r.u8("sync message")? {
        0 => Message::Request(r.u64("height")?),
        1 => {
            let height = r.u64("height")?;
            let tip = r.u64("tip")?;
            let held = match r.u8("held")? {
                0 => None,
                1 => Some((
                    r.bytes(limits::BLOCK_BYTES_MAX, "block")?.to_vec(),
                    r.bytes(CERTIFICATE_BYTES_MAX, "certificate")?.to_vec(),
                )),
                tag => return Err(DecodeError::UnknownTag { what: "held", tag }),
            };
            Message::Response(height, tip, held)
        }
        tag => return Err(DecodeError::UnknownTag { what: "sync message", tag }),
    };
    r.finish()?;
    Ok(message)
}

/// Answers peers' requests from our store and collects the answers to ours.
pub(crate) async fn serve<A, S, R>(app: Arc<A>, mut sender: S, mut receiver: R, responses: Arc<Responses>)
where
    A: Application,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    while let Ok((from, bytes)) = receiver.recv().await {
        match decode(bytes.as_ref()) {
            Ok(Message::Request(height)) => {
                let held = match app.committed_block(height) {
                    Ok(held) => {
                        held.map(|(block, certificate)| (civitas_types::codec::Encode::encode(&block), certificate))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reading a block for a peer failed");
                        None
                    }
                };
                let tip = app.latest().height;
                let mut answer = encode(&Message::Response(height, tip, held));
                if answer.len() > crate::network::P2P_MESSAGE_BYTES_MAX as usize {
                    tracing::error!(height, "block too large to send to a peer");
                    answer = encode(&Message::Response(height, tip, None));
                }
                Sender::send(&mut sender, Recipients::One(from), answer, false);
            }
            Ok(Message::Response(height, tip, Some(held))) => {
                app.saw_height(tip);
                let mut blocks = responses.blocks.lock().expect("not poisoned: holders do not panic");
                if blocks.len() >= RESPONSES_MAX {
                    blocks.pop_first();
                }
                blocks.insert(height, held);
                drop(blocks);
                responses.arrived.notify_waiters();
            }
            Ok(Message::Response(height, tip, None)) => {
                app.saw_height(tip);
                responses.not_held.fetch_max(height, Ordering::Relaxed);
            }
            Err(e) => tracing::warn!(?from, error = %e, "malformed sync message dropped"),
        }
    }
}

/// Checks that `certificate` finalizes `block` under the validator set that finalizes the
/// block after our latest: the set in our latest committed state (catch-up fetches blocks in
/// order, so each is checked against its own epoch's set). A block finalized through a
/// descendant is checked by its record: the headers descend from it to the block the record's
/// certificate finalizes (no set changes between: a pending block never ends an epoch).
fn certified<A: Application, R: rand::CryptoRng>(rng: &mut R, app: &A, block: &Block, certificate: &[u8]) -> bool {
    let Ok((certificate, finalized, _)) = civitas_types::FinalizedThrough::resolve(certificate, &block.header.hash())
    else {
        return false;
    };
    let set = match app.validators() {
        Ok(set) => set,
        Err(e) => {
            tracing::error!(error = %e, "reading the validator set failed");
            return false;
        }
    };
    let Ok(participants) = crate::participants(&set) else { return false };
    let committee = participants.len();
    let verifier = Scheme::verifier(crate::NAMESPACE, participants);
    let Ok(finalization) = Finalization::<Scheme, Digest>::decode_cfg(certificate, &committee) else {
        return false;
    };
    finalization.proposal.payload == digest_of(finalized) && finalization.verify(rng, &verifier, &Sequential)
}

/// While behind, fetches the next block from peers, checks it, and hands it to the committer.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn catch_up<A, E, S>(
    mut context: E,
    app: Arc<A>,
    mut sender: S,
    responses: Arc<Responses>,
    behind: Arc<Behind>,
    to_commit: mpsc::Sender<ToCommit>,
) where
    A: Application,
    E: Clock + rand::CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
{
    loop {
        if !behind.is_set() {
            let woken = behind.wake.notified();
            let tick = context.sleep(Duration::from_millis(200));
            crate::first_of(woken, tick).await;
            continue;
        }
        app.set_catching_up(true);
        let next = app.latest().height + 1;
        Sender::send(&mut sender, Recipients::All, encode(&Message::Request(next)), false);
        let start = context.current();
        let mut answer = None;
        while answer.is_none() && crate::elapsed(&context, start) < Duration::from_millis(500) {
            answer = responses.blocks.lock().expect("not poisoned: holders do not panic").remove(&next);
            if answer.is_none() {
                let arrived = responses.arrived.notified();
                let tick = context.sleep(Duration::from_millis(10));
                crate::first_of(arrived, tick).await;
            }
        }
        let Some((block_bytes, certificate)) = answer else {
            // A peer said it does not hold the next block: we are as far as it is. Without any
            // answer (peers not connected yet) we stay behind and ask again, unless there is no
            // one to ask.
            let alone = app.validators().is_ok_and(|set| set.validators.len() <= 1);
            if alone || responses.not_held.load(Ordering::Relaxed) >= next {
                behind.flag.store(false, Ordering::Relaxed);
                app.set_catching_up(false);
            }
            continue;
        };
        let Ok(block) = Block::decode(&block_bytes) else {
            tracing::warn!(height = next, "a peer sent a block that does not decode");
            continue;
        };
        if block.header.height != next || !certified(&mut context, app.as_ref(), &block, &certificate) {
            tracing::warn!(height = next, "a peer sent a block without a valid finalization certificate");
            continue;
        }
        match app.verify(block) {
            Ok(executed) => {
                if to_commit.send(ToCommit::Fetched(Box::new(executed), certificate)).await.is_err() {
                    return;
                }
                let start = context.current();
                while app.latest().height < next && crate::elapsed(&context, start) < Duration::from_secs(1) {
                    context.sleep(Duration::from_millis(2)).await;
                }
            }
            Err(e) => tracing::error!(height = next, error = %e, "a certified block does not execute to its header"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(a: &Message, b: &Message) -> bool {
        match (a, b) {
            (Message::Request(x), Message::Request(y)) => x == y,
            (Message::Response(x, s, p), Message::Response(y, t, q)) => x == y && s == t && p == q,
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn sync_messages_round_trip(
            height in any::<u64>(),
            tip in any::<u64>(),
            held in prop::option::of((prop::collection::vec(any::<u8>(), 0..64), prop::collection::vec(any::<u8>(), 0..64))),
            request in any::<bool>(),
        ) {
            let m = if request { Message::Request(height) } else { Message::Response(height, tip, held) };
            let back = decode(&encode(&m)).expect("decodes");
            prop_assert!(same(&m, &back));
        }

        #[test]
        fn sync_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn oversized_blocks_are_refused_before_allocation() {
        let mut bytes = vec![1];
        bytes.extend_from_slice(&7u64.to_be_bytes());
        bytes.extend_from_slice(&9u64.to_be_bytes());
        bytes.push(1);
        civitas_types::codec::put_len(&mut bytes, limits::BLOCK_BYTES_MAX + 1);
        assert!(matches!(decode(&bytes), Err(DecodeError::TooLong { what: "block", .. })));
    }
}
