//! BOLT 7 announcements: `announcement_signatures`, `channel_announcement`,
//! `node_announcement`, `channel_update`, and the bytes each signature covers.
//!
//! The three signed gossip messages keep any bytes after their known fields in `excess_data`
//! (BOLT 7: the signature covers "any future fields appended to the end"), so they re-encode
//! exactly. To verify a message as received, hash the received bytes with
//! [`signed_part`] rather than re-encoding: a feature vector sent with leading zero bytes (which
//! BOLT 9 says SHOULD NOT happen) re-encodes shorter.

use crate::address::NetAddress;
use crate::error::DecodeError;
use crate::extension::read_extension;
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::constants::ChainHash;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use shandian_types::{ChannelId, CltvExpiryDelta, Features, Msat, NodeId, ShortChannelId};

/// The double-SHA256 of `signed_part`, as a message to verify a gossip signature against
/// (BOLT 7: "the signature of the double-SHA256 of the entire remaining packet").
pub fn signature_hash(signed_part: &[u8]) -> bitcoin::secp256k1::Message {
    let hash = sha256d::Hash::hash(signed_part);
    bitcoin::secp256k1::Message::from_digest(hash.to_byte_array())
}

/// The bytes a gossip signature covers, taken from a whole received message (2-byte type and
/// payload): everything after the signature(s). Fails if `message` is not a signed gossip
/// message or is too short to hold its signatures.
pub fn signed_part(message: &[u8]) -> Result<&[u8], DecodeError> {
    let mut reader = Reader::new(message);
    let skip = match reader.read_u16()? {
        // BOLT 7: channel_announcement's hash begins after its 4 signatures.
        ChannelAnnouncement::TYPE => 4 * 64,
        NodeAnnouncement::TYPE | ChannelUpdate::TYPE => 64,
        _ => return Err(DecodeError::InvalidField("message type is not signed gossip")),
    };
    reader.read_bytes(skip)?;
    Ok(reader.remaining())
}

/// `announcement_signatures` (type 259): our half of the signatures for announcing a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementSignatures {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its short channel id.
    pub short_channel_id: ShortChannelId,
    /// Signature by the sender's node key.
    pub node_signature: Signature,
    /// Signature by the sender's funding key.
    pub bitcoin_signature: Signature,
}

impl WireMessage for AnnouncementSignatures {
    const TYPE: u16 = 259;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<AnnouncementSignatures, DecodeError> {
        let message = AnnouncementSignatures {
            channel_id: reader.read_channel_id()?,
            short_channel_id: reader.read_scid()?,
            node_signature: reader.read_signature()?,
            bitcoin_signature: reader.read_signature()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.short_channel_id.0);
        out.put_signature(&self.node_signature);
        out.put_signature(&self.bitcoin_signature);
    }
}

/// `channel_announcement` (type 256): proof that two nodes own a funding output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAnnouncement {
    /// Signature by `node_id_1`.
    pub node_signature_1: Signature,
    /// Signature by `node_id_2`.
    pub node_signature_2: Signature,
    /// Signature by `bitcoin_key_1`.
    pub bitcoin_signature_1: Signature,
    /// Signature by `bitcoin_key_2`.
    pub bitcoin_signature_2: Signature,
    /// The channel's features.
    pub features: Features,
    /// The chain.
    pub chain_hash: ChainHash,
    /// Where the funding output is.
    pub short_channel_id: ShortChannelId,
    /// The lexicographically lesser node id.
    pub node_id_1: NodeId,
    /// The other node id.
    pub node_id_2: NodeId,
    /// `node_id_1`'s funding key.
    pub bitcoin_key_1: PublicKey,
    /// `node_id_2`'s funding key.
    pub bitcoin_key_2: PublicKey,
    /// Bytes after the known fields, covered by the signatures.
    pub excess_data: Vec<u8>,
}

impl ChannelAnnouncement {
    /// The bytes the four signatures cover: everything after them.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16_prefixed_lossy(&self.features.to_be_bytes());
        out.put_chain_hash(&self.chain_hash);
        out.put_u64(self.short_channel_id.0);
        out.extend_from_slice(self.node_id_1.as_bytes());
        out.extend_from_slice(self.node_id_2.as_bytes());
        out.put_point(&self.bitcoin_key_1);
        out.put_point(&self.bitcoin_key_2);
        out.extend_from_slice(&self.excess_data);
        out
    }
}

impl WireMessage for ChannelAnnouncement {
    const TYPE: u16 = 256;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ChannelAnnouncement, DecodeError> {
        Ok(ChannelAnnouncement {
            node_signature_1: reader.read_signature()?,
            node_signature_2: reader.read_signature()?,
            bitcoin_signature_1: reader.read_signature()?,
            bitcoin_signature_2: reader.read_signature()?,
            features: Features::from_be_bytes(reader.read_u16_prefixed()?),
            chain_hash: reader.read_chain_hash()?,
            short_channel_id: reader.read_scid()?,
            node_id_1: reader.read_node_id()?,
            node_id_2: reader.read_node_id()?,
            bitcoin_key_1: reader.read_point()?,
            bitcoin_key_2: reader.read_point()?,
            excess_data: reader.read_rest().to_vec(),
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.node_signature_1);
        out.put_signature(&self.node_signature_2);
        out.put_signature(&self.bitcoin_signature_1);
        out.put_signature(&self.bitcoin_signature_2);
        out.extend_from_slice(&self.signed_bytes());
    }
}

/// `node_announcement` (type 257): a node's features, alias, color and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAnnouncement {
    /// Signature by `node_id` over [`NodeAnnouncement::signed_bytes`].
    pub signature: Signature,
    /// The node's features.
    pub features: Features,
    /// Orders announcements from the same node: a newer one has a greater timestamp.
    pub timestamp: u32,
    /// The node.
    pub node_id: NodeId,
    /// Display color (red, green, blue).
    pub rgb_color: [u8; 3],
    /// Display name: UTF-8 padded with zero bytes (BOLT 7), not validated here.
    pub alias: [u8; 32],
    /// Address descriptors; an [`NetAddress::Unknown`] can only be last.
    pub addresses: Vec<NetAddress>,
    /// Bytes after the known fields, covered by the signature.
    pub excess_data: Vec<u8>,
}

impl NodeAnnouncement {
    /// The bytes the signature covers: everything after it.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16_prefixed_lossy(&self.features.to_be_bytes());
        out.put_u32(self.timestamp);
        out.extend_from_slice(self.node_id.as_bytes());
        out.extend_from_slice(&self.rgb_color);
        out.extend_from_slice(&self.alias);
        let mut addresses = Vec::new();
        self.addresses.iter().for_each(|a| a.write(&mut addresses));
        out.put_u16_prefixed_lossy(&addresses);
        out.extend_from_slice(&self.excess_data);
        out
    }
}

impl WireMessage for NodeAnnouncement {
    const TYPE: u16 = 257;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<NodeAnnouncement, DecodeError> {
        Ok(NodeAnnouncement {
            signature: reader.read_signature()?,
            features: Features::from_be_bytes(reader.read_u16_prefixed()?),
            timestamp: reader.read_u32()?,
            node_id: reader.read_node_id()?,
            rgb_color: reader.read_array()?,
            alias: reader.read_array()?,
            addresses: NetAddress::read_list(reader.read_u16_prefixed()?)?,
            excess_data: reader.read_rest().to_vec(),
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.signature);
        out.extend_from_slice(&self.signed_bytes());
    }
}

/// `channel_update` (type 258): one direction's routing policy for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelUpdate {
    /// Signature by the originating node over [`ChannelUpdate::signed_bytes`].
    pub signature: Signature,
    /// The chain.
    pub chain_hash: ChainHash,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// Orders updates for the same direction.
    pub timestamp: u32,
    /// Bit 0 `must_be_one`, bit 1 `dont_forward`.
    pub message_flags: u8,
    /// Bit 0 `direction`, bit 1 `disable`.
    pub channel_flags: u8,
    /// CLTV delta the origin requires for forwarding.
    pub cltv_expiry_delta: CltvExpiryDelta,
    /// The smallest HTLC the origin forwards.
    pub htlc_minimum_msat: Msat,
    /// Base forwarding fee.
    pub fee_base_msat: u32,
    /// Proportional forwarding fee.
    pub fee_proportional_millionths: u32,
    /// The largest HTLC the origin forwards.
    pub htlc_maximum_msat: Msat,
    /// Bytes after the known fields, covered by the signature.
    pub excess_data: Vec<u8>,
}

impl ChannelUpdate {
    /// `message_flags` bit 1: the update must not be relayed (private channel).
    pub fn dont_forward(&self) -> bool {
        self.message_flags & 0b10 != 0
    }

    /// `channel_flags` bit 0: 0 if sent by `node_id_1`, 1 if by `node_id_2`.
    pub fn direction(&self) -> u8 {
        self.channel_flags & 1
    }

    /// `channel_flags` bit 1: the channel is disabled in this direction.
    pub fn is_disabled(&self) -> bool {
        self.channel_flags & 0b10 != 0
    }

    /// The bytes the signature covers: everything after it.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_chain_hash(&self.chain_hash);
        out.put_u64(self.short_channel_id.0);
        out.put_u32(self.timestamp);
        self.write_policy(&mut out);
        out
    }

    /// BOLT 7 checksum for `gossip_queries_ex`: CRC32C of the update without its `signature`
    /// and `timestamp`.
    pub fn checksum(&self) -> u32 {
        let mut bytes = Vec::new();
        bytes.put_chain_hash(&self.chain_hash);
        bytes.put_u64(self.short_channel_id.0);
        self.write_policy(&mut bytes);
        crc32c(&bytes)
    }

    fn write_policy(&self, out: &mut Vec<u8>) {
        out.push(self.message_flags);
        out.push(self.channel_flags);
        out.put_u16(self.cltv_expiry_delta.0);
        out.put_u64(self.htlc_minimum_msat.0);
        out.put_u32(self.fee_base_msat);
        out.put_u32(self.fee_proportional_millionths);
        out.put_u64(self.htlc_maximum_msat.0);
        out.extend_from_slice(&self.excess_data);
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), RFC 3720 appendix B.4.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

impl WireMessage for ChannelUpdate {
    const TYPE: u16 = 258;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ChannelUpdate, DecodeError> {
        Ok(ChannelUpdate {
            signature: reader.read_signature()?,
            chain_hash: reader.read_chain_hash()?,
            short_channel_id: reader.read_scid()?,
            timestamp: reader.read_u32()?,
            message_flags: reader.read_u8()?,
            channel_flags: reader.read_u8()?,
            cltv_expiry_delta: CltvExpiryDelta(reader.read_u16()?),
            htlc_minimum_msat: reader.read_msat()?,
            fee_base_msat: reader.read_u32()?,
            fee_proportional_millionths: reader.read_u32()?,
            htlc_maximum_msat: reader.read_msat()?,
            excess_data: reader.read_rest().to_vec(),
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_signature(&self.signature);
        out.extend_from_slice(&self.signed_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard CRC-32C check value for "123456789" (RFC 3720 / iSCSI).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn signed_part_skips_signatures() {
        let mut message = vec![0x01, 0x02]; // channel_update
        message.extend_from_slice(&[7; 64]);
        message.extend_from_slice(&[1, 2, 3]);
        assert_eq!(signed_part(&message), Ok(&[1u8, 2, 3][..]));
        message[1] = 0x00; // channel_announcement: needs 256 signature bytes
        assert!(matches!(signed_part(&message), Err(DecodeError::ShortRead { .. })));
        assert!(signed_part(&[0, 16, 0, 0]).is_err());
    }
}
