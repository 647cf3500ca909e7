//! What the manager knows about each channel besides the state machine itself: its peer,
//! where its funding transaction confirmed, both directions' relay policies, and what the
//! store holds for it.

use std::collections::HashMap;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Transaction, Txid};
use shandian_channel::Channel;
use shandian_types::{ChannelId, ShortChannelId};
use tokio::sync::oneshot;

use super::{ChannelsError, ClosingInfo, OpenedChannel};
use crate::store::RelayFees;
use crate::switch::RelayPolicy;

/// Where the funding transaction confirmed.
#[derive(Debug, Clone)]
pub(crate) struct Confirmation {
    pub(crate) tx: Transaction,
    pub(crate) height: u32,
    pub(crate) tx_index: u32,
}

/// One channel and the manager's bookkeeping.
pub(crate) struct Entry {
    /// `None` only while an input is being applied.
    pub(crate) channel: Option<Channel>,
    pub(crate) peer: PublicKey,
    /// Opened with `announce_channel`.
    pub(crate) public: bool,
    /// The funding transaction id, once known.
    pub(crate) funding_txid: Option<Txid>,
    pub(crate) funding_output: u16,
    pub(crate) confirmation: Option<Confirmation>,
    /// The peer's relay policy from its `channel_update`, and that update's timestamp.
    pub(crate) remote_policy: Option<RelayPolicy>,
    pub(crate) remote_update_timestamp: Option<u32>,
    /// The timestamp of the last `channel_update` we sent (BOLT 7: each must be newer).
    pub(crate) local_update_timestamp: u32,
    /// The peer's `channel_reestablish` arrived since the last (re)connection.
    pub(crate) reestablished: bool,
    /// The sequence of the last record written to the store (0: never written).
    pub(crate) update_seq: u64,
    /// The last record of a funded phase we wrote: what the monitor needs after a close.
    pub(crate) funded_record: Option<Vec<u8>>,
    /// Our closing transaction once broadcast.
    pub(crate) closing_txid: Option<Txid>,
    /// The key index its signer was derived from.
    pub(crate) key_index: u32,
    /// Fees set for this channel alone (`setchannelfee`), in place of the configured ones.
    pub(crate) relay_fees: Option<RelayFees>,
}

impl Entry {
    pub(crate) fn new(channel: Channel, peer: PublicKey, public: bool, key_index: u32) -> Entry {
        Entry {
            channel: Some(channel),
            peer,
            public,
            funding_txid: None,
            funding_output: 0,
            confirmation: None,
            remote_policy: None,
            remote_update_timestamp: None,
            local_update_timestamp: 0,
            reestablished: false,
            update_seq: 0,
            funded_record: None,
            closing_txid: None,
            key_index,
            relay_fees: None,
        }
    }

    /// The channel (always present between inputs).
    pub(crate) fn channel(&self) -> Option<&Channel> {
        self.channel.as_ref()
    }

    /// The short channel id, once the funding transaction confirmed.
    pub(crate) fn short_channel_id(&self) -> Option<ShortChannelId> {
        let c = self.confirmation.as_ref()?;
        ShortChannelId::new(c.height, c.tx_index, self.funding_output)
    }
}

/// Callers waiting for a channel to reach a point.
#[derive(Default)]
pub(crate) struct Waiters {
    /// `open_channel` callers, answered once the funding transaction is broadcast.
    pub(crate) opens: HashMap<ChannelId, oneshot::Sender<Result<OpenedChannel, ChannelsError>>>,
    /// `close_channel` callers, answered once the closing transaction is broadcast.
    pub(crate) closes: HashMap<ChannelId, Vec<oneshot::Sender<Result<ClosingInfo, ChannelsError>>>>,
}
