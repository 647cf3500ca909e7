//! The actor's inputs, and the [`MessageHandler`] the node calls from its connection tasks:
//! it only enqueues, so it returns at once.

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, ScriptBuf};
use shandian_chain::{ChainEvent, FundingTx};
use shandian_types::{ChannelId, FeeratePerKw, Msat};
use shandian_wire::{Message, OpenChannel};
use tokio::sync::{mpsc, oneshot};

use super::{
    ChainOpError, ChannelInfo, ChannelsError, ClosingInfo, OpenedChannel, RelayFeesChange,
};
use crate::store::StoreError;
use crate::switch::{ChannelOps, RelayPolicy};
use crate::{MessageHandler, PeerInfo};

/// A job run inside a batch; an error means the batch's state cannot be made durable: the
/// batch does not commit and the node stops.
pub(crate) type Job = Box<dyn FnOnce(&mut dyn ChannelOps) -> Result<(), StoreError> + Send>;

/// A channel we open, with what the chain told the caller's task.
pub(crate) struct OpenRequest {
    pub(crate) peer: PublicKey,
    pub(crate) amount: Amount,
    pub(crate) push: Msat,
    pub(crate) public: bool,
    pub(crate) feerate: FeeratePerKw,
    pub(crate) shutdown_script: ScriptBuf,
    pub(crate) reply: oneshot::Sender<Result<OpenedChannel, ChannelsError>>,
}

/// One input of the actor.
pub(crate) enum Input {
    /// A peer finished `init` on this connection.
    Connected(PeerInfo, u64),
    /// A peer's connection ended.
    Disconnected(PublicKey),
    /// A message from a peer.
    Message(PublicKey, Message),
    /// News from the chain follower.
    Chain(ChainEvent),
    /// Run this inside the batch.
    Execute(Job),
    /// Open a channel.
    Open(Box<OpenRequest>),
    /// A peer's `open_channel`, with a fresh wallet script for our closing output.
    Accept { peer: PublicKey, open: Box<OpenChannel>, shutdown_script: ScriptBuf },
    /// A peer's `open_channel` we could not get a closing script for.
    AcceptFailed { peer: PublicKey, temporary_channel_id: ChannelId },
    /// The wallet built (or failed to build) the funding transaction of a channel we open.
    FundingTx { temporary_channel_id: ChannelId, result: Result<FundingTx, ChainOpError> },
    /// Where a restored channel's funding transaction confirmed.
    FundingPosition {
        channel_id: ChannelId,
        tx: Box<bitcoin::Transaction>,
        height: u32,
        tx_index: u32,
    },
    /// A restored channel's funding output was found spent (while the node was down).
    FundingSpent(ChannelId),
    /// Close a channel.
    Close {
        channel_id: ChannelId,
        force: bool,
        reply: oneshot::Sender<Result<ClosingInfo, ChannelsError>>,
    },
    /// The monitor recorded how HTLCs we offered ended on chain: hand the outcomes not yet
    /// reported to the payment logic (also sent once at start, for those left by a crash).
    OnchainHtlcs,
    /// List the channels.
    List(oneshot::Sender<Vec<ChannelInfo>>),
    /// Set a channel's own forwarding fees and tell the peer.
    SetRelayFees {
        channel_id: ChannelId,
        change: RelayFeesChange,
        reply: oneshot::Sender<Result<RelayPolicy, ChannelsError>>,
    },
    /// Our HTLC offers on a channel that the restart forgot (see `restore::Loaded`).
    Forgotten(ChannelId, Vec<u64>),
    /// Stop after this batch.
    Stop,
}

/// The node's [`MessageHandler`]: forwards everything into the actor's queue.
pub(crate) struct Inbox {
    inputs: mpsc::UnboundedSender<Input>,
}

impl Inbox {
    pub(crate) fn new(inputs: mpsc::UnboundedSender<Input>) -> Inbox {
        Inbox { inputs }
    }
}

impl MessageHandler for Inbox {
    fn peer_connected_on(&self, peer: &PeerInfo, connection: u64) {
        let _ = self.inputs.send(Input::Connected(peer.clone(), connection));
    }

    fn handle_message(&self, from: PublicKey, message: Message) {
        if let Message::Warning(w) = &message {
            tracing::warn!(peer = %from, channel = %w.channel_id,
                "peer sent warning: {}", shandian_wire::bolt1::printable_data(&w.data));
        }
        let _ = self.inputs.send(Input::Message(from, message));
    }

    fn peer_disconnected(&self, peer: PublicKey) {
        let _ = self.inputs.send(Input::Disconnected(peer));
    }
}
