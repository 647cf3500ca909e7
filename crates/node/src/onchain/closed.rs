//! The hand-over from the channel manager to the monitor: a channel that closed other than
//! cooperatively, recorded in the same store transaction as the close.

use std::time::{SystemTime, UNIX_EPOCH};

use shandian_channel::CloseReason;
use shandian_types::ChannelId;

use crate::store::{StoreError, Writer};

/// A channel closed other than cooperatively, for the monitor to watch and sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedChannel {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its signer's key index (the monitor re-derives the signer from the node seed).
    pub key_index: u32,
    /// The last `ChannelRecord::encode()` bytes whose phase was funded.
    pub funded_record: Vec<u8>,
    /// Why it closed, as text.
    pub reason: String,
}

impl ClosedChannel {
    /// A closed channel with `reason` written out.
    pub fn new(
        channel_id: ChannelId,
        key_index: u32,
        funded_record: Vec<u8>,
        reason: &CloseReason,
    ) -> ClosedChannel {
        ClosedChannel { channel_id, key_index, funded_record, reason: format!("{reason:?}") }
    }
}

/// Records `closed` for the monitor inside the caller's store transaction (the batch that
/// persists the close), so a crash right after the close still sweeps it on restart. Then,
/// after the commit, hand it to [`super::MonitorHandle::watch`]. Recording it twice keeps the
/// first record.
pub fn record_closed_channel(
    writer: &Writer<'_>,
    closed: &ClosedChannel,
) -> Result<(), StoreError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    writer.record_closed_channel(
        &closed.channel_id,
        closed.key_index,
        &closed.funded_record,
        &closed.reason,
        now,
    )
}
