//! The channel manager: every channel of the node, run in one actor that works in batches.
//!
//! Inputs — peer messages and connection changes (through the [`MessageHandler`] the node
//! calls), chain events (from [`ChannelChain::subscribe`]), commands ([`ChannelsHandle`]) and
//! the monitor's news of HTLCs that ended on chain — wait in one queue. The actor, on its own thread, takes **every** waiting input, runs them
//! through the channels and the payment logic's [`HtlcHandler`], signs one
//! `commitment_signed` per channel that changed (so N HTLCs share one signature), and writes
//! every channel record and every record of the handler in **one** store transaction (one
//! fsync). Only after it commits does anything leave: messages, broadcasts, replies
//! (DESIGN.md §4). A failed commit is fatal: the manager stops and shuts the node down.
//!
//! Start sequence (the daemon's):
//! ```text
//! let (manager, peer_handler) = ChannelManager::new();
//! let node = Node::start_with_handler(config, peer_handler).await?;
//! let channels = manager
//!     .start(ChannelsStart::new(node.clone(), chain, store, seed, htlc_handler).with_monitor(monitor))
//!     .await?;
//! ```

mod actor;
mod backend;
mod chain;
mod commands;
mod error;
mod events;
mod inbox;
mod keys;
mod ops;
mod policy;
mod restore;
mod routing;
mod state;
mod summary;

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, Txid};
use shandian_types::{ChannelId, CltvExpiryDelta, Msat};
use tokio::sync::{mpsc, oneshot, watch};

pub use chain::{ChainCall, ChannelChain};
pub use error::{ChainOpError, ChannelsError};
pub use keys::KEY_INDEX_FILE;
pub use summary::{ChannelInfo, FeesInfo};

use crate::onchain::MonitorHandle;
use crate::store::{Store, StoreError};
use crate::switch::{ChannelOps, HtlcHandler, RelayPolicy};
use crate::{MessageHandler, NodeHandle};
use inbox::Input;

/// A channel whose funding transaction was broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedChannel {
    /// The permanent channel id.
    pub channel_id: ChannelId,
    /// The funding transaction.
    pub funding_txid: Txid,
    /// The funding output's index.
    pub funding_output: u16,
}

/// A close in progress: the transaction that closes the channel was broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingInfo {
    /// The channel.
    pub channel_id: ChannelId,
    /// The mutual closing transaction, or our commitment for a force close.
    pub closing_txid: Txid,
}

/// New forwarding fees for one channel (`setchannelfee`); what is `None` stays as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayFeesChange {
    /// `fee_base_msat`.
    pub base_fee: Option<u32>,
    /// `fee_proportional_millionths`.
    pub proportional_millionths: Option<u32>,
    /// `cltv_expiry_delta`.
    pub cltv_expiry_delta: Option<CltvExpiryDelta>,
}

/// Everything [`ChannelManager::start`] needs.
pub struct ChannelsStart {
    node: NodeHandle,
    chain: Arc<dyn ChannelChain>,
    store: Store,
    seed: [u8; 32],
    handler: Box<dyn HtlcHandler>,
    monitor: Option<MonitorHandle>,
}

impl ChannelsStart {
    /// `node`: the running node (its config gives the data directory, network and channel
    /// limits); `chain`: the chain backend; `store`: the node's database; `seed`: the node
    /// seed channel keys derive from; `handler`: the payment logic.
    pub fn new(
        node: NodeHandle,
        chain: Arc<dyn ChannelChain>,
        store: Store,
        seed: [u8; 32],
        handler: Box<dyn HtlcHandler>,
    ) -> ChannelsStart {
        ChannelsStart { node, chain, store, seed, handler, monitor: None }
    }

    /// Hands channels that close other than cooperatively to `monitor` (they are always
    /// recorded for it in the batch that closes them, so a monitor started later resumes
    /// them from the store).
    pub fn with_monitor(mut self, monitor: MonitorHandle) -> ChannelsStart {
        self.monitor = Some(monitor);
        self
    }
}

/// The channel manager before it runs: create it first, give its [`MessageHandler`] to the
/// node, then [`ChannelManager::start`] it with the running node.
pub struct ChannelManager {
    inputs: mpsc::UnboundedSender<Input>,
    queue: mpsc::UnboundedReceiver<Input>,
}

impl ChannelManager {
    /// A manager and the handler the node delivers peer messages to. Messages that arrive
    /// before [`ChannelManager::start`] wait in the queue.
    pub fn new() -> (ChannelManager, Arc<dyn MessageHandler>) {
        let (inputs, queue) = mpsc::unbounded_channel();
        let handler = Arc::new(inbox::Inbox::new(inputs.clone()));
        (ChannelManager { inputs, queue }, handler)
    }

    /// Loads every channel from the store, reconnects to their peers, and starts the actor
    /// thread. Must be called inside a tokio runtime.
    pub async fn start(self, start: ChannelsStart) -> Result<ChannelsHandle, ChannelsError> {
        actor::start(self.inputs, self.queue, start).await
    }
}

/// Talks to the running channel manager. Cheap to clone.
#[derive(Clone)]
pub struct ChannelsHandle {
    inputs: mpsc::UnboundedSender<Input>,
    chain: Arc<dyn ChannelChain>,
    node: NodeHandle,
    stopped: watch::Receiver<bool>,
}

impl ChannelsHandle {
    /// Runs `f` inside the actor's next batch; returns its result after the batch commits.
    pub async fn execute<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ChannelOps) -> R + Send + 'static,
    ) -> Result<R, ChannelsError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(move |ops: &mut dyn ChannelOps| {
            let result = f(ops);
            ops.after_commit(Box::new(move || {
                let _ = reply.send(result);
            }));
            Ok(())
        });
        self.send(Input::Execute(job))?;
        answer.await.map_err(|_| ChannelsError::Stopped)
    }

    /// Like [`ChannelsHandle::execute`], but a store error from `f` (a record that must land
    /// with the channel changes `f` made) fails the whole batch: nothing of it commits or
    /// leaves the node, and the node stops ([`ChannelsError::Stopped`]).
    pub async fn execute_durable<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ChannelOps) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, ChannelsError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(move |ops: &mut dyn ChannelOps| {
            let result = f(ops)?;
            ops.after_commit(Box::new(move || {
                let _ = reply.send(result);
            }));
            Ok(())
        });
        self.send(Input::Execute(job))?;
        answer.await.map_err(|_| ChannelsError::Stopped)
    }

    /// Opens a channel of `amount` with a connected `peer`, pushing `push` to it; returns
    /// once the funding transaction is broadcast.
    pub async fn open_channel(
        &self,
        peer: PublicKey,
        amount: Amount,
        push: Msat,
        public: bool,
    ) -> Result<OpenedChannel, ChannelsError> {
        commands::open_channel(self, peer, amount, push, public).await
    }

    /// Every channel the manager holds (closed ones until the next restart).
    pub async fn list_channels(&self) -> Vec<ChannelInfo> {
        let (reply, answer) = oneshot::channel();
        if self.send(Input::List(reply)).is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Sets a channel's own forwarding fees (kept across restarts) and sends the peer a new
    /// `channel_update`; returns the policy now in force for forwards out over it.
    pub async fn set_relay_fees(
        &self,
        channel_id: ChannelId,
        change: RelayFeesChange,
    ) -> Result<RelayPolicy, ChannelsError> {
        let (reply, answer) = oneshot::channel();
        self.send(Input::SetRelayFees { channel_id, change, reply })?;
        answer.await.map_err(|_| ChannelsError::Stopped)?
    }

    /// Closes a channel: cooperatively (returns once the closing transaction is agreed and
    /// broadcast), or with `force`, by broadcasting our latest commitment.
    pub async fn close_channel(
        &self,
        channel_id: ChannelId,
        force: bool,
    ) -> Result<ClosingInfo, ChannelsError> {
        let (reply, answer) = oneshot::channel();
        self.send(Input::Close { channel_id, force, reply })?;
        answer.await.map_err(|_| ChannelsError::Stopped)?
    }

    /// Stops the actor after its current batch and waits until it has stopped.
    pub async fn stop(&self) {
        let _ = self.inputs.send(Input::Stop);
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|s| *s).await;
    }

    /// Whether the actor has stopped (asked to, or after a failed store write).
    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    fn send(&self, input: Input) -> Result<(), ChannelsError> {
        if self.is_stopped() {
            return Err(ChannelsError::Stopped);
        }
        self.inputs.send(input).map_err(|_| ChannelsError::Stopped)
    }
}
