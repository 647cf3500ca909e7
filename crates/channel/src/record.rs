//! What the caller persists: a versioned snapshot of the channel.

use crate::channel::Channel;

/// The record format version; bump on any change to what a record holds, and keep readers
/// for older versions (DESIGN.md principle 8).
pub const RECORD_VERSION: u16 = 1;

/// A snapshot of the channel to store durably. Restoring it with [`ChannelRecord::restore`]
/// yields a channel that continues (after `channel_reestablish`) or closes safely.
#[derive(Debug, Clone)]
pub struct ChannelRecord {
    /// [`RECORD_VERSION`] when written.
    pub version: u16,
    /// The channel state.
    pub channel: Channel,
}

impl ChannelRecord {
    /// Snapshots `channel`.
    pub fn new(channel: &Channel) -> ChannelRecord {
        ChannelRecord { version: RECORD_VERSION, channel: channel.clone() }
    }

    /// The channel as stored, marked disconnected (a restart always begins disconnected).
    pub fn restore(self) -> Channel {
        self.channel.disconnected().0
    }
}
