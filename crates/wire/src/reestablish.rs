//! BOLT 2 `channel_reestablish`: resynchronising a channel after reconnection.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;
use shandian_types::ChannelId;

/// A funding transaction id with `retransmit_flags` (the splicing TLVs `next_funding` and
/// `my_current_funding_locked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingTxidFlags {
    /// The funding transaction.
    pub txid: Txid,
    /// Bit 0 asks the peer to retransmit its signatures / `splice_locked`.
    pub retransmit_flags: u8,
}

impl FundingTxidFlags {
    fn read(reader: &mut Reader<'_>) -> Result<FundingTxidFlags, DecodeError> {
        Ok(FundingTxidFlags { txid: reader.read_txid()?, retransmit_flags: reader.read_u8()? })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put_txid(&self.txid);
        out.push(self.retransmit_flags);
    }
}

const NEXT_FUNDING: u64 = 1;
const MY_CURRENT_FUNDING_LOCKED: u64 = 5;

/// `channel_reestablish` (type 136).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReestablish {
    /// The channel.
    pub channel_id: ChannelId,
    /// The commitment number of the next `commitment_signed` the sender expects to receive
    /// (BOLT 2 `next_commitment_number`).
    pub next_commitment_number: u64,
    /// The commitment number of the next `revoke_and_ack` the sender expects to receive
    /// (BOLT 2 `next_revocation_number`).
    pub next_revocation_number: u64,
    /// The last per-commitment secret received from the peer, or all zeros if none
    /// (`option_data_loss_protect`).
    pub your_last_per_commitment_secret: [u8; 32],
    /// The sender's current per-commitment point.
    pub my_current_per_commitment_point: PublicKey,
    /// TLV 1 `next_funding` (splicing / dual funding).
    pub next_funding: Option<FundingTxidFlags>,
    /// TLV 5 `my_current_funding_locked` (splicing).
    pub my_current_funding_locked: Option<FundingTxidFlags>,
}

impl WireMessage for ChannelReestablish {
    const TYPE: u16 = 136;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ChannelReestablish, DecodeError> {
        let channel_id = reader.read_channel_id()?;
        let next_commitment_number = reader.read_u64()?;
        let next_revocation_number = reader.read_u64()?;
        let your_last_per_commitment_secret = reader.read_array()?;
        let my_current_per_commitment_point = reader.read_point()?;
        let tlvs = read_extension(reader, &[])?;
        Ok(ChannelReestablish {
            channel_id,
            next_commitment_number,
            next_revocation_number,
            your_last_per_commitment_secret,
            my_current_per_commitment_point,
            next_funding: decode_record(&tlvs, NEXT_FUNDING, FundingTxidFlags::read)?,
            my_current_funding_locked: decode_record(
                &tlvs,
                MY_CURRENT_FUNDING_LOCKED,
                FundingTxidFlags::read,
            )?,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.next_commitment_number);
        out.put_u64(self.next_revocation_number);
        out.extend_from_slice(&self.your_last_per_commitment_secret);
        out.put_point(&self.my_current_per_commitment_point);
        if let Some(funding) = &self.next_funding {
            put_record_with(out, NEXT_FUNDING, |v| funding.write(v));
        }
        if let Some(funding) = &self.my_current_funding_locked {
            put_record_with(out, MY_CURRENT_FUNDING_LOCKED, |v| funding.write(v));
        }
    }
}
