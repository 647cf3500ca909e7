//! BOLT 2 HTLC updates: `update_add_htlc`, `update_fulfill_htlc`, `update_fail_htlc`,
//! `update_fail_malformed_htlc`.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::secp256k1::PublicKey;
use core::fmt;
use shandian_types::{ChannelId, CltvExpiry, Msat, PaymentHash, PaymentPreimage};
use std::sync::Arc;

/// The length of a BOLT 4 onion routing packet.
pub const ONION_PACKET_LEN: usize = 1366;

/// The fixed-size `onion_routing_packet` of `update_add_htlc` (BOLT 4 format; parsed by the
/// onion crate). Immutable and shared: the same packet sits in the update log, up to three
/// commitments and every snapshot of a channel, so a clone is a reference count, not a
/// 1,366-byte copy (and equal clones compare by pointer first).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OnionPacket(Arc<[u8; ONION_PACKET_LEN]>);

impl OnionPacket {
    /// Wraps the packet bytes.
    pub fn new(bytes: [u8; ONION_PACKET_LEN]) -> OnionPacket {
        OnionPacket(Arc::new(bytes))
    }

    /// The packet bytes.
    pub fn as_bytes(&self) -> &[u8; ONION_PACKET_LEN] {
        &self.0
    }
}

impl fmt::Debug for OnionPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0.get(..4).unwrap_or_default();
        write!(f, "OnionPacket({head:02x?}..)")
    }
}

/// `update_add_htlc` (type 128).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateAddHtlc {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC id: BOLT 2 says it starts at 0 and increases by 1 per offered HTLC.
    pub id: u64,
    /// The amount offered.
    pub amount_msat: Msat,
    /// The payment hash the preimage must match.
    pub payment_hash: PaymentHash,
    /// The absolute block height at which the HTLC times out.
    pub cltv_expiry: CltvExpiry,
    /// The onion for the next hop.
    pub onion_routing_packet: OnionPacket,
    /// TLV 0 `blinded_path`: the `path_key` when this HTLC is inside a blinded route.
    pub blinding_point: Option<PublicKey>,
}

const BLINDED_PATH: u64 = 0;

impl WireMessage for UpdateAddHtlc {
    const TYPE: u16 = 128;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<UpdateAddHtlc, DecodeError> {
        let channel_id = reader.read_channel_id()?;
        let id = reader.read_u64()?;
        let amount_msat = reader.read_msat()?;
        let payment_hash = reader.read_payment_hash()?;
        let cltv_expiry = CltvExpiry(reader.read_u32()?);
        let onion_routing_packet = OnionPacket::new(reader.read_array()?);
        let tlvs = read_extension(reader, &[BLINDED_PATH])?;
        let blinding_point = decode_record(&tlvs, BLINDED_PATH, |r| r.read_point())?;
        Ok(UpdateAddHtlc {
            channel_id,
            id,
            amount_msat,
            payment_hash,
            cltv_expiry,
            onion_routing_packet,
            blinding_point,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.id);
        out.put_u64(self.amount_msat.0);
        out.extend_from_slice(self.payment_hash.as_bytes());
        out.put_u32(self.cltv_expiry.0);
        out.extend_from_slice(self.onion_routing_packet.as_bytes());
        if let Some(point) = &self.blinding_point {
            put_record_with(out, BLINDED_PATH, |v| v.put_point(point));
        }
    }
}

/// Number of hops attribution data covers (BOLT 4).
pub const ATTRIBUTION_HOPS: usize = 20;
/// Number of truncated HMACs in attribution data (BOLT 4: 20+19+...+1).
pub const ATTRIBUTION_HMACS: usize = 210;

/// TLV 1 `attribution_data` of `update_fulfill_htlc` and `update_fail_htlc` (BOLT 4
/// attributable failures): per-hop hold times and truncated HMACs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttributionData {
    /// Hold time reported by each hop, in units of 100 ms.
    pub htlc_hold_times: [u32; ATTRIBUTION_HOPS],
    /// The first 4 bytes of each HMAC.
    pub truncated_hmacs: Box<[[u8; 4]; ATTRIBUTION_HMACS]>,
}

const ATTRIBUTION_DATA: u64 = 1;

impl AttributionData {
    fn read(reader: &mut Reader<'_>) -> Result<AttributionData, DecodeError> {
        let mut htlc_hold_times = [0u32; ATTRIBUTION_HOPS];
        for time in htlc_hold_times.iter_mut() {
            *time = reader.read_u32()?;
        }
        let mut truncated_hmacs = Box::new([[0u8; 4]; ATTRIBUTION_HMACS]);
        for hmac in truncated_hmacs.iter_mut() {
            *hmac = reader.read_array()?;
        }
        Ok(AttributionData { htlc_hold_times, truncated_hmacs })
    }

    fn write(&self, out: &mut Vec<u8>) {
        self.htlc_hold_times.iter().for_each(|t| out.put_u32(*t));
        self.truncated_hmacs.iter().for_each(|h| out.extend_from_slice(h));
    }

    fn decode_tlv(reader: &mut Reader<'_>) -> Result<Option<AttributionData>, DecodeError> {
        let tlvs = read_extension(reader, &[])?;
        decode_record(&tlvs, ATTRIBUTION_DATA, AttributionData::read)
    }

    fn encode_tlv(data: &Option<AttributionData>, out: &mut Vec<u8>) {
        if let Some(data) = data {
            put_record_with(out, ATTRIBUTION_DATA, |v| data.write(v));
        }
    }
}

/// `update_fulfill_htlc` (type 130): the HTLC is settled with its preimage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFulfillHtlc {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC id.
    pub id: u64,
    /// The preimage of the HTLC's payment hash.
    pub payment_preimage: PaymentPreimage,
    /// TLV 1 `attribution_data`.
    pub attribution_data: Option<AttributionData>,
}

impl WireMessage for UpdateFulfillHtlc {
    const TYPE: u16 = 130;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<UpdateFulfillHtlc, DecodeError> {
        Ok(UpdateFulfillHtlc {
            channel_id: reader.read_channel_id()?,
            id: reader.read_u64()?,
            payment_preimage: PaymentPreimage(reader.read_array()?),
            attribution_data: AttributionData::decode_tlv(reader)?,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.id);
        out.extend_from_slice(self.payment_preimage.as_bytes());
        AttributionData::encode_tlv(&self.attribution_data, out);
    }
}

/// `update_fail_htlc` (type 131): the HTLC failed; `reason` is the encrypted BOLT 4 failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailHtlc {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC id.
    pub id: u64,
    /// The onion-encrypted failure message.
    pub reason: Vec<u8>,
    /// TLV 1 `attribution_data`.
    pub attribution_data: Option<AttributionData>,
}

impl WireMessage for UpdateFailHtlc {
    const TYPE: u16 = 131;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<UpdateFailHtlc, DecodeError> {
        Ok(UpdateFailHtlc {
            channel_id: reader.read_channel_id()?,
            id: reader.read_u64()?,
            reason: reader.read_u16_prefixed()?.to_vec(),
            attribution_data: AttributionData::decode_tlv(reader)?,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.id);
        out.put_u16_prefixed_lossy(&self.reason);
        AttributionData::encode_tlv(&self.attribution_data, out);
    }
}

/// `update_fail_malformed_htlc` (type 135): the next hop could not parse the onion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailMalformedHtlc {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC id.
    pub id: u64,
    /// SHA256 of the onion the sender received.
    pub sha256_of_onion: [u8; 32],
    /// The BOLT 4 failure code; BOLT 2 requires the `BADONION` bit (0x8000) to be set, which
    /// the channel checks.
    pub failure_code: u16,
}

impl WireMessage for UpdateFailMalformedHtlc {
    const TYPE: u16 = 135;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<UpdateFailMalformedHtlc, DecodeError> {
        let message = UpdateFailMalformedHtlc {
            channel_id: reader.read_channel_id()?,
            id: reader.read_u64()?,
            sha256_of_onion: reader.read_array()?,
            failure_code: reader.read_u16()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.id);
        out.extend_from_slice(&self.sha256_of_onion);
        out.put_u16(self.failure_code);
    }
}
