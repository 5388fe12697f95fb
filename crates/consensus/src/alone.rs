//! The network of a committee of one: there is no other validator to send to or hear from.
//!
//! simplex takes its channels through commonware's p2p traits; these implement them honestly
//! for a single validator (every send reaches nobody, nothing is ever received). The
//! multi-validator network replaces them with commonware's authenticated p2p.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::SystemTime;

use commonware_actor::{Feedback, Unreliable};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Blocker, CheckedSender, LimitedSender, Message, Receiver, Recipients};
use commonware_runtime::IoBufs;
use commonware_utils::channel::ring;
use commonware_utils::ordered::Set;

/// A sender with no one to send to.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoPeerSender;

/// The checked form of [`NoPeerSender`]: an empty recipient list.
#[derive(Debug)]
pub(crate) struct NoRecipients;

impl LimitedSender for NoPeerSender {
    type PublicKey = PublicKey;
    type Checked<'a> = NoRecipients;

    fn check(&mut self, _recipients: Recipients<PublicKey>) -> Result<NoRecipients, SystemTime> {
        Ok(NoRecipients)
    }
}

impl CheckedSender for NoRecipients {
    type PublicKey = PublicKey;

    fn recipients(&self) -> Vec<PublicKey> {
        Vec::new()
    }

    fn send(self, _message: impl Into<IoBufs> + Send, _priority: bool) -> Unreliable<Feedback> {
        Unreliable::new(Feedback::Ok)
    }
}

/// A receiver that never receives: no one else is in the committee.
#[derive(Debug, Default)]
pub(crate) struct NoPeerReceiver;

/// Never produced: [`NoPeerReceiver`] waits forever.
#[derive(Debug, thiserror::Error)]
#[error("no peers")]
pub(crate) struct NoPeers;

impl Receiver for NoPeerReceiver {
    type Error = NoPeers;
    type PublicKey = PublicKey;

    async fn recv(&mut self) -> Result<Message<PublicKey>, NoPeers> {
        std::future::pending().await
    }

    fn capacity(&self) -> NonZeroUsize {
        NonZeroUsize::MIN
    }
}

/// A blocker with no one to block; its subscription stays open with an empty set.
#[derive(Debug, Clone)]
pub(crate) struct NoPeerBlocker {
    // Held so the subscription's channel stays open for as long as the engine runs.
    _sender: Arc<ring::Sender<Set<PublicKey>>>,
    receiver: Arc<std::sync::Mutex<Option<ring::Receiver<Set<PublicKey>>>>>,
}

impl NoPeerBlocker {
    pub(crate) fn new() -> NoPeerBlocker {
        let (sender, receiver) = ring::channel(NonZeroUsize::MIN);
        NoPeerBlocker { _sender: Arc::new(sender), receiver: Arc::new(std::sync::Mutex::new(Some(receiver))) }
    }
}

impl Blocker for NoPeerBlocker {
    type PublicKey = PublicKey;

    fn block(&mut self, _peer: PublicKey) -> Feedback {
        Feedback::Ok
    }

    fn blocked(&mut self) -> ring::Receiver<Set<PublicKey>> {
        let taken = self.receiver.lock().expect("not poisoned: holders do not panic").take();
        match taken {
            Some(r) => r,
            // A second subscriber gets its own channel, kept open the same way.
            None => {
                let (sender, receiver) = ring::channel(NonZeroUsize::MIN);
                std::mem::forget(sender);
                receiver
            }
        }
    }
}
