//! A validator among several, as one process: commonware's authenticated p2p (`lookup`: a
//! fixed committee at known addresses, encrypted and authenticated by the validators' keys)
//! on the tokio runtime, with the journal kept across restarts.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use civitas_node::consensus::Application;
use civitas_types::{PublicKey, SecretKey};
use commonware_codec::DecodeExt as _;
use commonware_consensus::types::Epoch;
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Quota, Runner as _, Supervisor as _};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::ordered::{Map, Set};
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
    /// The committee: every validator's key and p2p address, this one's included.
    pub committee: Vec<(PublicKey, SocketAddr)>,
}

fn key_of(k: &PublicKey) -> Result<ed25519::PublicKey, ConsensusError> {
    ed25519::PublicKey::decode(k.0.to_vec()).map_err(|e| ConsensusError::Key(e.to_string()))
}

/// Runs this validator's simplex engine and p2p network over `app` until `service` completes
/// (the API runs inside it), or a commit fails.
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
    let mut addresses = Vec::with_capacity(cfg.committee.len());
    for (k, addr) in &cfg.committee {
        addresses.push((key_of(k)?, Address::from(*addr)));
    }
    let peers: Map<ed25519::PublicKey, Address> =
        Map::try_from(addresses).map_err(|_| ConsensusError::Key("duplicate validator keys".into()))?;
    let participants: Set<ed25519::PublicKey> = peers.keys().clone();
    if !participants.iter().any(|p| *p == key.public_key()) {
        return Err(ConsensusError::Key("this validator's key is not in the committee".into()));
    }
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    // Inbound mailboxes hold one quota burst per peer of the set: size both to the committee.
    let peers_per_set = NonZeroUsize::new(cfg.committee.len()).unwrap_or(NonZeroUsize::MIN);
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
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
        oracle.track(0, peers);
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
            app,
            key,
            participants,
            Epoch::zero(),
            &cfg.engine,
            channels,
            oracle,
        )?;
        crate::serve_until(service(), committer).await
    })
}
