//! BOLT 7 gossip queries: `query_short_channel_ids`, `reply_short_channel_ids_end`,
//! `query_channel_range`, `reply_channel_range`, `gossip_timestamp_filter`.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::constants::ChainHash;
use shandian_types::ShortChannelId;

/// One element of an `encoded_` array.
pub trait EncodedElement: Sized {
    /// Reads one element.
    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Appends one element.
    fn write(&self, out: &mut Vec<u8>);
}

impl EncodedElement for ShortChannelId {
    fn read(reader: &mut Reader<'_>) -> Result<ShortChannelId, DecodeError> {
        reader.read_scid()
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u64(self.0);
    }
}

/// A `query_flag` (BOLT 7): which messages the querier wants for one short channel id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct QueryFlags(pub u64);

impl QueryFlags {
    /// Bit 0: wants the `channel_announcement`.
    pub const CHANNEL_ANNOUNCEMENT: u64 = 1 << 0;
    /// Bit 1: wants the `channel_update` for node 1.
    pub const CHANNEL_UPDATE_1: u64 = 1 << 1;
    /// Bit 2: wants the `channel_update` for node 2.
    pub const CHANNEL_UPDATE_2: u64 = 1 << 2;
    /// Bit 3: wants the `node_announcement` for node 1.
    pub const NODE_ANNOUNCEMENT_1: u64 = 1 << 3;
    /// Bit 4: wants the `node_announcement` for node 2.
    pub const NODE_ANNOUNCEMENT_2: u64 = 1 << 4;
}

impl EncodedElement for QueryFlags {
    fn read(reader: &mut Reader<'_>) -> Result<QueryFlags, DecodeError> {
        // BOLT 7: each query flag is a minimally-encoded bigsize.
        Ok(QueryFlags(reader.read_bigsize()?))
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.put_bigsize(self.0);
    }
}

/// `channel_update_timestamps`: the timestamps of both directions' latest updates (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChannelUpdateTimestamps {
    /// For `node_id_1`'s update.
    pub timestamp_node_id_1: u32,
    /// For `node_id_2`'s update.
    pub timestamp_node_id_2: u32,
}

impl EncodedElement for ChannelUpdateTimestamps {
    fn read(reader: &mut Reader<'_>) -> Result<ChannelUpdateTimestamps, DecodeError> {
        Ok(ChannelUpdateTimestamps {
            timestamp_node_id_1: reader.read_u32()?,
            timestamp_node_id_2: reader.read_u32()?,
        })
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.timestamp_node_id_1);
        out.put_u32(self.timestamp_node_id_2);
    }
}

/// `channel_update_checksums`: CRC32C of both directions' latest updates (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ChannelUpdateChecksums {
    /// For `node_id_1`'s update.
    pub checksum_node_id_1: u32,
    /// For `node_id_2`'s update.
    pub checksum_node_id_2: u32,
}

impl EncodedElement for ChannelUpdateChecksums {
    fn read(reader: &mut Reader<'_>) -> Result<ChannelUpdateChecksums, DecodeError> {
        Ok(ChannelUpdateChecksums {
            checksum_node_id_1: reader.read_u32()?,
            checksum_node_id_2: reader.read_u32()?,
        })
    }
    fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.checksum_node_id_1);
        out.put_u32(self.checksum_node_id_2);
    }
}

fn read_all<T: EncodedElement>(reader: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    let mut items = Vec::new();
    while !reader.is_empty() {
        items.push(T::read(reader)?);
    }
    Ok(items)
}

/// An `encoded_` array: an encoding byte, then the elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedList<T> {
    /// Encoding 0: the elements, uncompressed.
    Uncompressed(Vec<T>),
    /// Another encoding (1 was zlib, which BOLT 7 now says MUST NOT be used): kept as
    /// received so the caller can warn or close (BOLT 7: "MAY send a `warning`").
    Unsupported {
        /// The encoding byte.
        encoding_type: u8,
        /// The encoded bytes.
        data: Vec<u8>,
    },
}

impl<T> EncodedList<T> {
    /// The elements, if the encoding is the supported one.
    pub fn uncompressed(&self) -> Option<&[T]> {
        match self {
            EncodedList::Uncompressed(items) => Some(items),
            EncodedList::Unsupported { .. } => None,
        }
    }
}

impl<T: EncodedElement> EncodedList<T> {
    /// Decodes an array. An empty input (no encoding byte) is read as an empty array.
    pub fn decode(bytes: &[u8]) -> Result<EncodedList<T>, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.is_empty() {
            return Ok(EncodedList::Uncompressed(Vec::new()));
        }
        match reader.read_u8()? {
            // BOLT 7: the array must decode into a whole number of elements.
            0 => read_all(&mut reader)
                .map(EncodedList::Uncompressed)
                .map_err(|_| DecodeError::InvalidField("encoded array")),
            encoding_type => {
                Ok(EncodedList::Unsupported { encoding_type, data: reader.read_rest().to_vec() })
            }
        }
    }

    /// Appends the encoding byte and the elements.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            EncodedList::Uncompressed(items) => {
                out.push(0);
                items.iter().for_each(|item| item.write(out));
            }
            EncodedList::Unsupported { encoding_type, data } => {
                out.push(*encoding_type);
                out.extend_from_slice(data);
            }
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// `query_short_channel_ids` (type 261).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryShortChannelIds {
    /// The chain.
    pub chain_hash: ChainHash,
    /// The channels asked about.
    pub short_channel_ids: EncodedList<ShortChannelId>,
    /// TLV 1 `query_flags`: one per short channel id (checked by the gossip handler).
    pub query_flags: Option<EncodedList<QueryFlags>>,
}

const QUERY_FLAGS: u64 = 1;

impl WireMessage for QueryShortChannelIds {
    const TYPE: u16 = 261;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<QueryShortChannelIds, DecodeError> {
        let chain_hash = reader.read_chain_hash()?;
        let short_channel_ids = EncodedList::decode(reader.read_u16_prefixed()?)?;
        let tlvs = read_extension(reader, &[])?;
        let query_flags =
            decode_record(&tlvs, QUERY_FLAGS, |r| EncodedList::decode(r.read_rest()))?;
        Ok(QueryShortChannelIds { chain_hash, short_channel_ids, query_flags })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.put_u16_prefixed_lossy(&self.short_channel_ids.to_bytes());
        if let Some(flags) = &self.query_flags {
            put_record_with(out, QUERY_FLAGS, |v| flags.encode(v));
        }
    }
}

/// `reply_short_channel_ids_end` (type 262).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyShortChannelIdsEnd {
    /// The chain.
    pub chain_hash: ChainHash,
    /// 0 if the replier does not keep up-to-date information for this chain.
    pub full_information: u8,
}

impl WireMessage for ReplyShortChannelIdsEnd {
    const TYPE: u16 = 262;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ReplyShortChannelIdsEnd, DecodeError> {
        let message = ReplyShortChannelIdsEnd {
            chain_hash: reader.read_chain_hash()?,
            full_information: reader.read_u8()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.push(self.full_information);
    }
}

/// `query_channel_range` (type 263).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryChannelRange {
    /// The chain.
    pub chain_hash: ChainHash,
    /// The first block asked about.
    pub first_blocknum: u32,
    /// How many blocks (BOLT 7: MUST be at least 1; checked by the gossip handler).
    pub number_of_blocks: u32,
    /// TLV 1 `query_option`: bit 0 wants timestamps, bit 1 wants checksums.
    pub query_option: Option<u64>,
}

impl QueryChannelRange {
    /// `query_option` bit 0.
    pub const WANT_TIMESTAMPS: u64 = 1;
    /// `query_option` bit 1.
    pub const WANT_CHECKSUMS: u64 = 2;
}

const QUERY_OPTION: u64 = 1;

impl WireMessage for QueryChannelRange {
    const TYPE: u16 = 263;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<QueryChannelRange, DecodeError> {
        let chain_hash = reader.read_chain_hash()?;
        let first_blocknum = reader.read_u32()?;
        let number_of_blocks = reader.read_u32()?;
        let tlvs = read_extension(reader, &[])?;
        // BOLT 7: `query_option_flags` is a minimally-encoded bigsize.
        let query_option = decode_record(&tlvs, QUERY_OPTION, |r| r.read_bigsize())?;
        Ok(QueryChannelRange { chain_hash, first_blocknum, number_of_blocks, query_option })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.put_u32(self.first_blocknum);
        out.put_u32(self.number_of_blocks);
        if let Some(option) = self.query_option {
            put_record_with(out, QUERY_OPTION, |v| v.put_bigsize(option));
        }
    }
}

/// `reply_channel_range` (type 264).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyChannelRange {
    /// The chain.
    pub chain_hash: ChainHash,
    /// The first block this reply covers.
    pub first_blocknum: u32,
    /// How many blocks it covers.
    pub number_of_blocks: u32,
    /// 1 if this is the last reply.
    pub sync_complete: u8,
    /// The channels in the range.
    pub short_channel_ids: EncodedList<ShortChannelId>,
    /// TLV 1 `timestamps_tlv`: one entry per short channel id.
    pub timestamps: Option<EncodedList<ChannelUpdateTimestamps>>,
    /// TLV 3 `checksums_tlv`: one entry per short channel id.
    pub checksums: Option<Vec<ChannelUpdateChecksums>>,
}

const TIMESTAMPS: u64 = 1;
const CHECKSUMS: u64 = 3;

impl WireMessage for ReplyChannelRange {
    const TYPE: u16 = 264;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ReplyChannelRange, DecodeError> {
        let chain_hash = reader.read_chain_hash()?;
        let first_blocknum = reader.read_u32()?;
        let number_of_blocks = reader.read_u32()?;
        let sync_complete = reader.read_u8()?;
        let short_channel_ids = EncodedList::decode(reader.read_u16_prefixed()?)?;
        let tlvs = read_extension(reader, &[])?;
        let timestamps = decode_record(&tlvs, TIMESTAMPS, |r| EncodedList::decode(r.read_rest()))?;
        let checksums = decode_record(&tlvs, CHECKSUMS, read_all)?;
        Ok(ReplyChannelRange {
            chain_hash,
            first_blocknum,
            number_of_blocks,
            sync_complete,
            short_channel_ids,
            timestamps,
            checksums,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.put_u32(self.first_blocknum);
        out.put_u32(self.number_of_blocks);
        out.push(self.sync_complete);
        out.put_u16_prefixed_lossy(&self.short_channel_ids.to_bytes());
        if let Some(timestamps) = &self.timestamps {
            put_record(out, TIMESTAMPS, &timestamps.to_bytes());
        }
        if let Some(checksums) = &self.checksums {
            put_record_with(out, CHECKSUMS, |v| checksums.iter().for_each(|c| c.write(v)));
        }
    }
}

/// `gossip_timestamp_filter` (type 265): which gossip the sender wants relayed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipTimestampFilter {
    /// The chain.
    pub chain_hash: ChainHash,
    /// Earliest timestamp wanted.
    pub first_timestamp: u32,
    /// Width of the window, in seconds.
    pub timestamp_range: u32,
}

impl WireMessage for GossipTimestampFilter {
    const TYPE: u16 = 265;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<GossipTimestampFilter, DecodeError> {
        let message = GossipTimestampFilter {
            chain_hash: reader.read_chain_hash()?,
            first_timestamp: reader.read_u32()?,
            timestamp_range: reader.read_u32()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.put_u32(self.first_timestamp);
        out.put_u32(self.timestamp_range);
    }
}
