//! What the caller persists: a versioned snapshot of the channel, without private keys.

use crate::channel::Channel;
use crate::codec::{decode_channel, encode_channel, Dec, Enc};
use crate::error::Error;
use crate::keys::ChannelSigner;
use shandian_tx::InMemorySigner;

/// The record format version; bump on any change to what a record holds, and keep readers
/// for older versions (DESIGN.md principle 8). Version 3 stores each HTLC once (see the
/// codec); version 2 is still read. Version 1 (private keys inside) never shipped and is
/// refused.
pub const RECORD_VERSION: u16 = 3;

/// The oldest version still read.
const OLDEST_READABLE_VERSION: u16 = 2;

/// A snapshot of the channel to store durably. Restoring it with [`ChannelRecord::decode`]
/// and [`ChannelRecord::restore`] yields a channel that continues (after
/// `channel_reestablish`) or closes safely.
#[derive(Debug, Clone)]
pub struct ChannelRecord {
    /// The version it was read in ([`RECORD_VERSION`] for a new snapshot).
    pub version: u16,
    /// The channel state.
    pub channel: Channel,
}

/// What a stored record says about its signer, readable without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The key index to re-derive the signer from (`None`: the channel holds no keys any
    /// more, e.g. closed; decode it without a signer).
    pub key_index: Option<u32>,
    /// How many of our commitments are revoked (for [`shandian_tx::InMemorySigner::with_revoked_count`]).
    pub revoked_count: u64,
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

    /// The bytes to store: the version, the header, then the phase and its state. Holds
    /// no private keys, only the signer's key index.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc(Vec::new());
        e.0.extend_from_slice(&RECORD_VERSION.to_be_bytes());
        let header = self.header_of();
        e.u8(u8::from(header.key_index.is_some()));
        e.u32(header.key_index.unwrap_or(0));
        e.u64(header.revoked_count);
        encode_channel(&mut e, &self.channel);
        e.0
    }

    fn header_of(&self) -> RecordHeader {
        match self.channel.funded() {
            Some(f) => RecordHeader {
                key_index: Some(f.setup.signer.key_index()),
                revoked_count: f.log.holder_commitment.number,
            },
            None => RecordHeader { key_index: None, revoked_count: 0 },
        }
    }

    /// Reads the header of stored bytes: which signer [`ChannelRecord::decode`] needs.
    pub fn header(bytes: &[u8]) -> Result<RecordHeader, Error> {
        let (_, mut d) = ChannelRecord::body(bytes, None)?;
        ChannelRecord::read_header(&mut d)
    }

    fn body(bytes: &[u8], signer: Option<ChannelSigner>) -> Result<(u16, Dec<'_>), Error> {
        let (version, body) = bytes.split_first_chunk::<2>().ok_or(Error::CorruptRecord)?;
        let version = u16::from_be_bytes(*version);
        if !(OLDEST_READABLE_VERSION..=RECORD_VERSION).contains(&version) {
            return Err(Error::UnknownRecordVersion(version));
        }
        Ok((version, Dec::new(body, signer, version)))
    }

    fn read_header(d: &mut Dec<'_>) -> Result<RecordHeader, Error> {
        let has_key = d.u8()?;
        let index = d.u32()?;
        let revoked_count = d.u64()?;
        let key_index = match has_key {
            0 => None,
            1 => Some(index),
            _ => return Err(Error::CorruptRecord),
        };
        Ok(RecordHeader { key_index, revoked_count })
    }

    /// Reads stored bytes back with the signer re-derived from the node seed for
    /// [`RecordHeader::key_index`] (`None` when the header has none). The signer must have
    /// the stored key index and public keys ([`Error::SignerMismatch`]); a fresh signer is
    /// brought up to the stored revocation count, one that revoked more is refused
    /// ([`Error::SignerAhead`]: the record is stale). Unknown versions and corrupt bytes are
    /// errors, never panics.
    pub fn decode(bytes: &[u8], signer: Option<ChannelSigner>) -> Result<ChannelRecord, Error> {
        let (version, mut d) = ChannelRecord::body(bytes, signer)?;
        let header = ChannelRecord::read_header(&mut d)?;
        let channel = decode_channel(&mut d)?;
        d.finish()?;
        let record = ChannelRecord { version, channel };
        if record.header_of() != header {
            return Err(Error::CorruptRecord);
        }
        Ok(record)
    }

    /// [`ChannelRecord::decode`] as a restarting node does it: the signer re-derived from the
    /// node `seed` at the header's key index and brought to its revocation count. A key index
    /// no key derives from (BIP 32 refuses indexes >= 2^31) is [`Error::Signer`].
    pub fn decode_with_seed(bytes: &[u8], seed: &[u8; 32]) -> Result<ChannelRecord, Error> {
        let header = ChannelRecord::header(bytes)?;
        let signer = match header.key_index {
            Some(index) => {
                let inner = InMemorySigner::from_node_seed(seed, index)
                    .map_err(Error::Signer)?
                    .with_revoked_count(header.revoked_count);
                Some(ChannelSigner::new(index, inner))
            }
            None => None,
        };
        ChannelRecord::decode(bytes, signer)
    }
}
