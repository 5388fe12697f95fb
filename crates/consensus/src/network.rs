//! A validator among several, as one process: commonware's authenticated p2p (`lookup`: the
//! validator set's members at the addresses recorded in state, encrypted and authenticated by
//! their keys) on the tokio runtime, with the journal kept across restarts.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use civitas_node::consensus::Application;
use civitas_types::SecretKey;
use civitas_types::validators::{VALIDATORS_MAX, ValidatorSet};
use commonware_cryptography::{ChaCha20Poly1305, ed25519};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Quota, Runner as _, Supervisor as _};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::ordered::Map;
use commonware_utils::{NZU32, NZUsize};

use crate::{Channels, ConsensusError, EngineConfig, start_validator};

/// Domain separation for the p2p handshake.
const P2P_NAMESPACE: &[u8] = b"civitas/p2p/v1";

/// Largest p2p message. The p2p layer's buffers scale with it, so it is far below the block
/// decode limit: validators on a network cap their blocks at [`NETWORK_BLOCK_BYTES_MAX`].
pub const P2P_MESSAGE_BYTES_MAX: u32 = 4 * 1024 * 1024;

/// Most transaction bytes in one block when validators relay blocks to each other (a block's
/// encoding adds under a kilobyte, a sync answer its certificate).
pub const NETWORK_BLOCK_BYTES_MAX: usize = 3 * 1024 * 1024;

/// One validator process.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The engine; its journal is kept across restarts.
    pub engine: EngineConfig,
    /// The p2p address this validator listens on.
    pub listen: SocketAddr,
}

/// The lookup network's peer sets: each epoch's validators at their addresses from state, up
/// to `capacity` peers a set (tracking more would panic the p2p layer).
struct LookupPeers {
    oracle: lookup::Oracle<ed25519::PublicKey>,
    capacity: usize,
}

impl crate::PeerSets for LookupPeers {
    fn track(&mut self, set: &ValidatorSet) {
        if set.validators.len() + 1 > self.capacity {
            tracing::error!(
                epoch = set.epoch,
                validators = set.validators.len(),
                capacity = self.capacity,
                "the validator set outgrew this process's p2p capacity; restart the node to resize it"
            );
            return;
        }
        let mut addresses = Vec::with_capacity(set.validators.len());
        for v in &set.validators {
            match (crate::consensus_key(&v.key), v.address.parse::<SocketAddr>()) {
                (Ok(key), Ok(address)) => addresses.push((key, Address::from(address))),
                _ => {
                    tracing::error!(validator = %v.key.to_hex(), address = %v.address, "a validator of the set has no usable key or address")
                }
            }
        }
        match Map::try_from(addresses) {
            Ok(peers) => {
                tracing::info!(epoch = set.epoch, peers = set.validators.len(), "tracking the validator set's peers");
                self.oracle.track(set.epoch, peers);
            }
            Err(_) => tracing::error!(epoch = set.epoch, "the validator set lists a key twice"),
        }
    }
}

/// Runs this validator over `app` until `service` completes (the API runs inside it), or a
/// commit fails: the p2p network, and simplex for each epoch whose validator set holds this
/// validator's key (the set and its addresses come from the committed state; outside it the
/// node catches up from the set's validators and waits to be added).
pub fn run_validator<A, F, Fut>(
    app: Arc<A>,
    validator: &SecretKey,
    cfg: ValidatorConfig,
    service: F,
) -> Result<(), ConsensusError>
where
    A: Application,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let key = crate::signing_key(validator)?;
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    // Inbound mailboxes hold quota bursts for every peer of the tracked sets, so their size
    // (and the queueing under load) grows with the largest set allowed: room for the set to
    // double before the node must restart to resize (measured: sized to 64, four validators
    // lose a sixth of their throughput and half-load latency rises by half).
    let set_len = app.validators().map_err(ConsensusError::Commit)?.validators.len();
    let capacity = (2 * (set_len + 1)).clamp(8, VALIDATORS_MAX);
    let peers_per_set = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
    let p2p = lookup::Config::local(
        handshake,
        P2P_NAMESPACE,
        cfg.listen,
        peers_per_set,
        P2P_MESSAGE_BYTES_MAX,
        NZUsize!(1_024),
    );
    let runtime_cfg = commonware_runtime::tokio::Config::new()
        .with_storage_directory(cfg.engine.journal_dir.clone())
        .with_worker_threads(cfg.engine.worker_threads);
    commonware_runtime::tokio::Runner::new(runtime_cfg).start(|context| async move {
        let (mut network, oracle) = lookup::Network::new(context.child("p2p"), p2p);
        // Per peer and channel: a validator sends a handful of messages per view.
        let quota = Quota::per_second(NZU32!(500));
        let channels = Channels {
            votes: network.register(0, quota),
            certificates: network.register(1, quota),
            resolver: network.register(2, quota),
            blocks: network.register(3, quota),
            sync: network.register(4, quota),
            // Relay messages are batched every 10 ms; bursts under load need more.
            relay: network.register(5, Quota::per_second(NZU32!(1_000))),
        };
        network.start();
        let committer = start_validator(
            context.child("validator"),
            app.clone(),
            key,
            &cfg.engine,
            channels,
            oracle.clone(),
            LookupPeers { oracle, capacity },
        )?;
        crate::serve_until(service(), committer, app.as_ref()).await
    })
}
