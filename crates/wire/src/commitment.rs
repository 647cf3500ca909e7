//! BOLT 2 commitment updates: `commitment_signed`, `revoke_and_ack`, `update_fee`.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::Txid;
use shandian_types::{ChannelId, FeeratePerKw};

/// `commitment_signed` (type 132): signatures for the peer's next commitment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSigned {
    /// The channel.
    pub channel_id: ChannelId,
    /// Signature for the commitment transaction.
    pub signature: Signature,
    /// One signature per HTLC output, in output order (BOLT 2/3).
    pub htlc_signatures: Vec<Signature>,
    /// TLV 1 `funding_txid` (splicing): which funding transaction these signatures are for.
    pub funding_txid: Option<Txid>,
}

const FUNDING_TXID: u64 = 1;

impl WireMessage for CommitmentSigned {
    const TYPE: u16 = 132;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<CommitmentSigned, DecodeError> {
        let channel_id = reader.read_channel_id()?;
        let signature = reader.read_signature()?;
        let num_htlcs = reader.read_u16()?;
        // Capacity is bounded by what the input can hold (64 bytes per signature), so a lying
        // count cannot make us allocate more than the message size.
        let bound = reader.remaining().len() / 64;
        let mut htlc_signatures = Vec::with_capacity(usize::from(num_htlcs).min(bound));
        for _ in 0..num_htlcs {
            htlc_signatures.push(reader.read_signature()?);
        }
        let tlvs = read_extension(reader, &[])?;
        let funding_txid = decode_record(&tlvs, FUNDING_TXID, |r| r.read_txid())?;
        Ok(CommitmentSigned { channel_id, signature, htlc_signatures, funding_txid })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_signature(&self.signature);
        // More than 65535 signatures cannot fit a message; write a consistent prefix.
        let count = self.htlc_signatures.len().min(usize::from(u16::MAX));
        out.put_u16(count as u16);
        self.htlc_signatures.iter().take(count).for_each(|s| out.put_signature(s));
        if let Some(txid) = &self.funding_txid {
            put_record_with(out, FUNDING_TXID, |v| v.put_txid(txid));
        }
    }
}

/// `revoke_and_ack` (type 133): revokes the previous commitment and gives the next point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeAndAck {
    /// The channel.
    pub channel_id: ChannelId,
    /// The secret of the commitment being revoked (checked against its point by the channel).
    pub per_commitment_secret: [u8; 32],
    /// The per-commitment point for the commitment after next.
    pub next_per_commitment_point: PublicKey,
}

impl WireMessage for RevokeAndAck {
    const TYPE: u16 = 133;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<RevokeAndAck, DecodeError> {
        let message = RevokeAndAck {
            channel_id: reader.read_channel_id()?,
            per_commitment_secret: reader.read_array()?,
            next_per_commitment_point: reader.read_point()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.extend_from_slice(&self.per_commitment_secret);
        out.put_point(&self.next_per_commitment_point);
    }
}

/// `update_fee` (type 134): the opener changes the commitment feerate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFee {
    /// The channel.
    pub channel_id: ChannelId,
    /// The new feerate.
    pub feerate_per_kw: FeeratePerKw,
}

impl WireMessage for UpdateFee {
    const TYPE: u16 = 134;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<UpdateFee, DecodeError> {
        let message = UpdateFee {
            channel_id: reader.read_channel_id()?,
            feerate_per_kw: FeeratePerKw(reader.read_u32()?),
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u32(self.feerate_per_kw.0);
    }
}
