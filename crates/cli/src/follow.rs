//! A full node: follows the chain from validators' APIs without voting. Each block is fetched
//! with its finalization certificate, the certificate is checked against the validator set
//! (a quorum must have signed this block's hash), the block is re-executed and must give the
//! roots in its header, then it is committed like on a validator. Transactions submitted to a
//! full node are checked, held in its mempool, and forwarded to a validator.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use civitas_client::{Client, light};
use civitas_node::Node;
use civitas_node::consensus::Application as _;

/// How long to wait at the tip before asking again.
const TIP_POLL: Duration = Duration::from_millis(100);
/// How long to wait after a peer failed before asking the next.
const PEER_RETRY: Duration = Duration::from_millis(500);
/// Most bytes of transactions forwarded in one request.
const FORWARD_BYTES_MAX: usize = 1024 * 1024;

/// Why a peer's block was not applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("it is for height {found}, not {wanted}")]
    WrongHeight { found: u64, wanted: u64 },
    #[error("its certificate does not finalize it: {0}")]
    Certificate(#[from] light::LightError),
    #[error("it does not execute to its header: {0}")]
    Execution(#[from] civitas_node::BlockError),
    /// The node could not read its validator set.
    #[error("reading the validator set: {0}")]
    Node(civitas_node::NodeError),
}

/// Checks a peer's block for `height` and its certificate (against the validator set in the
/// node's latest state: the one that finalizes the next block), and executes it; the caller
/// commits.
pub(crate) fn check(
    node: &Node,
    height: u64,
    block: civitas_types::Block,
    certificate: &[u8],
) -> Result<civitas_node::Executed, Refused> {
    if block.header.height != height {
        return Err(Refused::WrongHeight { found: block.header.height, wanted: height });
    }
    let validators = node.validators().map_err(Refused::Node)?.keys();
    light::verify_finalization(certificate, &validators, &block.header.hash())?;
    Ok(node.verify(block)?)
}

/// Follows the chain from `peers` until `stop` is set; returns early only if a commit fails
/// (the store is then unusable and the node must stop). The node says it is catching up until
/// a peer has no block after its latest.
pub(crate) fn follow(node: &Node, peers: &[Client], stop: &AtomicBool) -> anyhow::Result<()> {
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let peer = &peers[turn % peers.len()];
        let next = node.latest().height + 1;
        match peer.raw_block(next) {
            Ok(Some((block, certificate))) => match check(node, next, block, &certificate) {
                Ok(executed) => {
                    node.finalized(&executed, &certificate)?;
                    tracing::debug!(height = next, "applied a finalized block");
                }
                Err(e) => {
                    tracing::warn!(peer = %peer.base_url(), height = next, error = %e, "refused a peer's block");
                    turn += 1;
                    std::thread::sleep(PEER_RETRY);
                }
            },
            Ok(None) => {
                // At this peer's tip: caught up; ask the next one after a pause.
                node.set_catching_up(false);
                turn += 1;
                std::thread::sleep(TIP_POLL);
            }
            Err(e) => {
                tracing::warn!(peer = %peer.base_url(), error = %e, "peer unreachable");
                turn += 1;
                std::thread::sleep(PEER_RETRY);
            }
        }
    }
    Ok(())
}

/// Forwards transactions clients submitted here to a validator until `stop` is set. A
/// validator that cannot be reached is skipped for the next; the transactions stay pending
/// here either way, and are dropped from the mempool when a block holding them is applied.
pub(crate) fn forward(node: &Node, peers: &[Client], stop: &AtomicBool) {
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let txs = node.outbound(FORWARD_BYTES_MAX);
        if txs.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        for chunk in txs.chunks(civitas_client::wire::BATCH_TXS_MAX) {
            let mut sent = false;
            for _ in 0..peers.len() {
                let peer = &peers[turn % peers.len()];
                match peer.submit_batch(chunk) {
                    Ok(_) => {
                        sent = true;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(peer = %peer.base_url(), error = %e, "forwarding to a validator failed");
                        turn += 1;
                    }
                }
            }
            if !sent {
                tracing::error!(txs = chunk.len(), "no validator reachable; transactions not forwarded");
            }
        }
    }
}

/// Runs the follower and forwarder threads until `stop` is set.
pub(crate) fn spawn(
    node: Arc<Node>,
    peers: Vec<Client>,
    stop: Arc<AtomicBool>,
) -> (std::thread::JoinHandle<anyhow::Result<()>>, std::thread::JoinHandle<()>) {
    let (n, p, s) = (node.clone(), peers.clone(), stop.clone());
    let follower = std::thread::spawn(move || {
        let result = follow(&n, &p, &s);
        if let Err(e) = &result {
            tracing::error!(error = %e, "the follower stopped; stopping the node");
            s.store(true, Ordering::Relaxed);
        }
        result
    });
    let forwarder = std::thread::spawn(move || forward(&node, &peers, &stop));
    (follower, forwarder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_client::light::testing;
    use civitas_node::NodeConfig;
    use civitas_node::genesis::{Genesis, GenesisAccountJson, GenesisValidator};
    use civitas_types::AccountInstruction;
    use civitas_types::{Did, Hash, Instruction, SecretKey, Transaction};

    fn genesis(validators: &[SecretKey], alice: &SecretKey) -> Genesis {
        Genesis {
            chain_id: "civitas-follow".into(),
            genesis_time_ms: 1_000,
            validators: validators
                .iter()
                .enumerate()
                .map(|(i, k)| GenesisValidator::new(format!("department-{i}"), &k.public_key(), None))
                .collect(),
            accounts: vec![GenesisAccountJson::new("alice", &alice.public_key(), 100)],
            council: None,
        }
    }

    #[test]
    fn a_full_node_applies_only_certified_blocks_that_execute_to_their_header() {
        let validators = testing::validators(4);
        let alice = SecretKey::from_seed([7; 32]);
        let g = genesis(&validators, &alice);
        let (vdir, fdir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let validator = Node::open(vdir.path(), g.clone(), validators[0].clone(), NodeConfig::default()).expect("open");
        let full = Node::open_full(fdir.path(), g, NodeConfig::default()).expect("open");
        assert!(matches!(full.propose(2_000), Err(civitas_node::NodeError::NotAValidator)));
        let tx = Transaction {
            chain_id: "civitas-follow".into(),
            signer: alice.public_key(),
            nonce: 0,
            valid_until_height: 10,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                to: Did::from_initial_key(&alice.public_key()),
                amount: 1,
            })],
        }
        .sign(&alice);
        validator.submit(vec![tx]).into_iter().for_each(|r| {
            r.expect("admitted");
        });
        let block = validator.propose(2_000).expect("propose").block;
        let quorum = testing::certificate(&validators, &[0, 1, 2], &block.header.hash()).expect("certificate");

        // Wrong height, a certificate for another block, and a block whose header lies about its
        // state root (certified, as a Byzantine quorum could not, but checked all the same).
        assert!(matches!(check(&full, 2, block.clone(), &quorum), Err(Refused::WrongHeight { .. })));
        let other = testing::certificate(&validators, &[0, 1, 2], &Hash([1; 32])).expect("certificate");
        assert!(matches!(check(&full, 1, block.clone(), &other), Err(Refused::Certificate(_))));
        assert!(matches!(check(&full, 1, block.clone(), b"garbage"), Err(Refused::Certificate(_))));
        let strangers = testing::validators(8)[4..].to_vec();
        let forged = testing::certificate(&strangers, &[0, 1, 2], &block.header.hash()).expect("certificate");
        assert!(matches!(check(&full, 1, block.clone(), &forged), Err(Refused::Certificate(_))));
        let mut lying = block.clone();
        lying.header.state_root = Hash([0xba; 32]);
        let lying_cert = testing::certificate(&validators, &[0, 1, 2], &lying.header.hash()).expect("certificate");
        assert!(matches!(check(&full, 1, lying, &lying_cert), Err(Refused::Execution(_))));
        assert_eq!(full.latest().height, 0, "nothing refused was applied");

        let executed = check(&full, 1, block.clone(), &quorum).expect("a certified block applies");
        full.finalized(&executed, &quorum).expect("commit");
        assert_eq!(full.latest().block_hash, block.header.hash());
        assert_eq!(full.certificate(1).expect("read"), Some(quorum));
    }
}
