//! What the caller persists: a versioned snapshot of the channel.

use crate::channel::Channel;
use crate::codec::{decode_channel, encode_channel, Dec, Enc};
use crate::error::Error;

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

    /// The bytes to store: the version, then the phase and its state. Contains the channel's
    /// secret keys: store it as the node stores its other secrets.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc(Vec::new());
        e.0.extend_from_slice(&RECORD_VERSION.to_be_bytes());
        encode_channel(&mut e, &self.channel);
        e.0
    }

    /// Reads stored bytes back. Unknown versions and corrupt bytes are errors, never panics.
    pub fn decode(bytes: &[u8]) -> Result<ChannelRecord, Error> {
        let (version, body) = bytes.split_first_chunk::<2>().ok_or(Error::CorruptRecord)?;
        let version = u16::from_be_bytes(*version);
        if version != RECORD_VERSION {
            return Err(Error::UnknownRecordVersion(version));
        }
        let mut d = Dec::new(body);
        let channel = decode_channel(&mut d)?;
        d.finish()?;
        Ok(ChannelRecord { version, channel })
    }
}
