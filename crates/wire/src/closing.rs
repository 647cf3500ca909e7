//! BOLT 2 channel close (legacy negotiation): `shutdown`, `closing_signed`.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::{Amount, ScriptBuf};
use shandian_types::ChannelId;

/// `shutdown` (type 38): start closing, paying our share to `scriptpubkey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// The channel.
    pub channel_id: ChannelId,
    /// Where the sender's closing output goes (its form is checked by the channel, BOLT 2).
    pub scriptpubkey: ScriptBuf,
}

impl WireMessage for Shutdown {
    const TYPE: u16 = 38;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<Shutdown, DecodeError> {
        let message =
            Shutdown { channel_id: reader.read_channel_id()?, scriptpubkey: reader.read_script()? };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_script(&self.scriptpubkey);
    }
}

/// TLV 1 `fee_range` of `closing_signed`: the fees the sender would accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRange {
    /// The lowest acceptable fee.
    pub min_fee_satoshis: Amount,
    /// The highest acceptable fee.
    pub max_fee_satoshis: Amount,
}

const FEE_RANGE: u64 = 1;

/// `closing_signed` (type 39): a proposed closing fee and the signature for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingSigned {
    /// The channel.
    pub channel_id: ChannelId,
    /// The proposed fee.
    pub fee_satoshis: Amount,
    /// Signature for the closing transaction with that fee.
    pub signature: Signature,
    /// TLV 1 `fee_range`.
    pub fee_range: Option<FeeRange>,
}

impl WireMessage for ClosingSigned {
    const TYPE: u16 = 39;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ClosingSigned, DecodeError> {
        let channel_id = reader.read_channel_id()?;
        let fee_satoshis = reader.read_sat()?;
        let signature = reader.read_signature()?;
        let tlvs = read_extension(reader, &[])?;
        let fee_range = decode_record(&tlvs, FEE_RANGE, |r| {
            Ok(FeeRange { min_fee_satoshis: r.read_sat()?, max_fee_satoshis: r.read_sat()? })
        })?;
        Ok(ClosingSigned { channel_id, fee_satoshis, signature, fee_range })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_u64(self.fee_satoshis.to_sat());
        out.put_signature(&self.signature);
        if let Some(range) = &self.fee_range {
            put_record_with(out, FEE_RANGE, |v| {
                v.put_u64(range.min_fee_satoshis.to_sat());
                v.put_u64(range.max_fee_satoshis.to_sat());
            });
        }
    }
}
