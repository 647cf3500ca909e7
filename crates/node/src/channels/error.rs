//! Why a channel operation failed.

use bitcoin::secp256k1::PublicKey;
use shandian_types::ChannelId;

/// A chain backend failure, as the backend reports it.
pub type ChainOpError = Box<dyn std::error::Error + Send + Sync>;

/// Why a [`super::ChannelsHandle`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelsError {
    /// The peer is not connected (channels are opened with connected peers).
    #[error("peer {0} is not connected")]
    PeerNotConnected(PublicKey),
    /// The amount is outside what we open.
    #[error("channel amount {amount} is out of range ({min}..={max})")]
    AmountOutOfRange {
        /// Asked.
        amount: bitcoin::Amount,
        /// Smallest allowed.
        min: bitcoin::Amount,
        /// Largest allowed.
        max: bitcoin::Amount,
    },
    /// The push amount exceeds the channel amount.
    #[error("push {push} exceeds the channel amount")]
    PushTooLarge {
        /// Asked.
        push: shandian_types::Msat,
    },
    /// The wallet could not fund the channel.
    #[error("cannot fund the channel: {0}")]
    Funding(#[source] ChainOpError),
    /// The chain backend failed (fee estimate, shutdown script, broadcast).
    #[error("chain backend: {0}")]
    Chain(#[source] ChainOpError),
    /// No such channel.
    #[error("unknown channel {0}")]
    UnknownChannel(ChannelId),
    /// The channel state machine refused the request.
    #[error("channel refused: {0}")]
    Refused(#[from] shandian_channel::Error),
    /// The channel closed (or was forgotten) before the operation completed.
    #[error("channel {channel_id} closed: {reason:?}")]
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
        /// Why.
        reason: shandian_channel::CloseReason,
    },
    /// The channel is already closing.
    #[error("channel {0} is already closing")]
    AlreadyClosing(ChannelId),
    /// The store could not be read at start.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A stored channel record does not decode.
    #[error("stored channel {channel_id} does not decode: {source}")]
    CorruptRecord {
        /// The channel.
        channel_id: ChannelId,
        /// Why.
        source: shandian_channel::Error,
    },
    /// The key index file could not be read or written.
    #[error("channel key index file: {0}")]
    KeyIndex(#[source] std::io::Error),
    /// The actor thread could not be started.
    #[error("cannot start the channel manager thread: {0}")]
    Thread(#[source] std::io::Error),
    /// Every channel key index is used.
    #[error("no channel key index left")]
    KeyIndexExhausted,
    /// The manager is not running (stopped, or stopped after a failed store write).
    #[error("the channel manager is not running")]
    Stopped,
}
