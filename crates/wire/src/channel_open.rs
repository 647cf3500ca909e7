//! BOLT 2 channel establishment (v1): `open_channel`, `accept_channel`, `funding_created`,
//! `funding_signed`, `channel_ready`.

use crate::error::DecodeError;
use crate::extension::{decode_record, put_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{Amount, ScriptBuf, Txid};
use shandian_types::{ChannelId, Features, FeeratePerKw, Msat, ShortChannelId};

/// The keys and limits both `open_channel` and `accept_channel` carry, in wire order after
/// the message-specific amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelKeys {
    /// The 2-of-2 funding key.
    pub funding_pubkey: PublicKey,
    /// Base point for revocation keys.
    pub revocation_basepoint: PublicKey,
    /// Base point for the `to_remote` key.
    pub payment_basepoint: PublicKey,
    /// Base point for delayed `to_local` keys.
    pub delayed_payment_basepoint: PublicKey,
    /// Base point for HTLC keys.
    pub htlc_basepoint: PublicKey,
    /// The per-commitment point for the first commitment transaction.
    pub first_per_commitment_point: PublicKey,
}

impl ChannelKeys {
    fn read(reader: &mut Reader<'_>) -> Result<ChannelKeys, DecodeError> {
        Ok(ChannelKeys {
            funding_pubkey: reader.read_point()?,
            revocation_basepoint: reader.read_point()?,
            payment_basepoint: reader.read_point()?,
            delayed_payment_basepoint: reader.read_point()?,
            htlc_basepoint: reader.read_point()?,
            first_per_commitment_point: reader.read_point()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put_point(&self.funding_pubkey);
        out.put_point(&self.revocation_basepoint);
        out.put_point(&self.payment_basepoint);
        out.put_point(&self.delayed_payment_basepoint);
        out.put_point(&self.htlc_basepoint);
        out.put_point(&self.first_per_commitment_point);
    }
}

/// The TLVs shared by `open_channel` and `accept_channel`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpeningTlvs {
    /// TLV 0 `upfront_shutdown_script`; an empty script means "no commitment" (BOLT 2).
    pub upfront_shutdown_script: Option<ScriptBuf>,
    /// TLV 1 `channel_type`: the feature bits naming the channel type.
    pub channel_type: Option<Features>,
}

const UPFRONT_SHUTDOWN_SCRIPT: u64 = 0;
const CHANNEL_TYPE: u64 = 1;

impl OpeningTlvs {
    fn read(reader: &mut Reader<'_>) -> Result<OpeningTlvs, DecodeError> {
        let tlvs = read_extension(reader, &[UPFRONT_SHUTDOWN_SCRIPT])?;
        Ok(OpeningTlvs {
            upfront_shutdown_script: decode_record(&tlvs, UPFRONT_SHUTDOWN_SCRIPT, |r| {
                Ok(ScriptBuf::from_bytes(r.read_rest().to_vec()))
            })?,
            channel_type: decode_record(&tlvs, CHANNEL_TYPE, |r| {
                Ok(Features::from_be_bytes(r.read_rest()))
            })?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        if let Some(script) = &self.upfront_shutdown_script {
            put_record(out, UPFRONT_SHUTDOWN_SCRIPT, script.as_bytes());
        }
        if let Some(channel_type) = &self.channel_type {
            put_record(out, CHANNEL_TYPE, &channel_type.to_be_bytes());
        }
    }
}

/// `open_channel` (type 32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChannel {
    /// The chain the channel lives on.
    pub chain_hash: ChainHash,
    /// The id used until the funding transaction is known.
    pub temporary_channel_id: ChannelId,
    /// The channel's capacity.
    pub funding_satoshis: Amount,
    /// The amount initially given to the acceptor.
    pub push_msat: Msat,
    /// Outputs below this are not created on the opener's commitment.
    pub dust_limit_satoshis: Amount,
    /// Cap on the total value of outstanding HTLCs offered to the opener.
    pub max_htlc_value_in_flight_msat: Msat,
    /// The reserve the acceptor must keep.
    pub channel_reserve_satoshis: Amount,
    /// The smallest HTLC the opener accepts.
    pub htlc_minimum_msat: Msat,
    /// Initial commitment feerate.
    pub feerate_per_kw: FeeratePerKw,
    /// CSV delay (blocks) the acceptor's `to_local` outputs must wait.
    pub to_self_delay: u16,
    /// Cap on the number of HTLCs offered to the opener.
    pub max_accepted_htlcs: u16,
    /// The opener's keys.
    pub keys: ChannelKeys,
    /// Bit 0 is `announce_channel`.
    pub channel_flags: u8,
    /// The extension TLVs.
    pub tlvs: OpeningTlvs,
}

impl OpenChannel {
    /// BOLT 2: bit 0 of `channel_flags` asks for the channel to be announced.
    pub fn announce_channel(&self) -> bool {
        self.channel_flags & 1 == 1
    }
}

impl WireMessage for OpenChannel {
    const TYPE: u16 = 32;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<OpenChannel, DecodeError> {
        Ok(OpenChannel {
            chain_hash: reader.read_chain_hash()?,
            temporary_channel_id: reader.read_channel_id()?,
            funding_satoshis: reader.read_sat()?,
            push_msat: reader.read_msat()?,
            dust_limit_satoshis: reader.read_sat()?,
            max_htlc_value_in_flight_msat: reader.read_msat()?,
            channel_reserve_satoshis: reader.read_sat()?,
            htlc_minimum_msat: reader.read_msat()?,
            feerate_per_kw: FeeratePerKw(reader.read_u32()?),
            to_self_delay: reader.read_u16()?,
            max_accepted_htlcs: reader.read_u16()?,
            keys: ChannelKeys::read(reader)?,
            channel_flags: reader.read_u8()?,
            tlvs: OpeningTlvs::read(reader)?,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_chain_hash(&self.chain_hash);
        out.extend_from_slice(self.temporary_channel_id.as_bytes());
        out.put_u64(self.funding_satoshis.to_sat());
        out.put_u64(self.push_msat.0);
        out.put_u64(self.dust_limit_satoshis.to_sat());
        out.put_u64(self.max_htlc_value_in_flight_msat.0);
        out.put_u64(self.channel_reserve_satoshis.to_sat());
        out.put_u64(self.htlc_minimum_msat.0);
        out.put_u32(self.feerate_per_kw.0);
        out.put_u16(self.to_self_delay);
        out.put_u16(self.max_accepted_htlcs);
        self.keys.write(out);
        out.push(self.channel_flags);
        self.tlvs.write(out);
    }
}

/// `accept_channel` (type 33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptChannel {
    /// Echoes `open_channel`'s temporary id.
    pub temporary_channel_id: ChannelId,
    /// Outputs below this are not created on the acceptor's commitment.
    pub dust_limit_satoshis: Amount,
    /// Cap on the total value of outstanding HTLCs offered to the acceptor.
    pub max_htlc_value_in_flight_msat: Msat,
    /// The reserve the opener must keep.
    pub channel_reserve_satoshis: Amount,
    /// The smallest HTLC the acceptor accepts.
    pub htlc_minimum_msat: Msat,
    /// Confirmations the acceptor waits for before `channel_ready`.
    pub minimum_depth: u32,
    /// CSV delay (blocks) the opener's `to_local` outputs must wait.
    pub to_self_delay: u16,
    /// Cap on the number of HTLCs offered to the acceptor.
    pub max_accepted_htlcs: u16,
    /// The acceptor's keys.
    pub keys: ChannelKeys,
    /// The extension TLVs.
    pub tlvs: OpeningTlvs,
}

impl WireMessage for AcceptChannel {
    const TYPE: u16 = 33;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<AcceptChannel, DecodeError> {
        Ok(AcceptChannel {
            temporary_channel_id: reader.read_channel_id()?,
            dust_limit_satoshis: reader.read_sat()?,
            max_htlc_value_in_flight_msat: reader.read_msat()?,
            channel_reserve_satoshis: reader.read_sat()?,
            htlc_minimum_msat: reader.read_msat()?,
            minimum_depth: reader.read_u32()?,
            to_self_delay: reader.read_u16()?,
            max_accepted_htlcs: reader.read_u16()?,
            keys: ChannelKeys::read(reader)?,
            tlvs: OpeningTlvs::read(reader)?,
        })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.temporary_channel_id.as_bytes());
        out.put_u64(self.dust_limit_satoshis.to_sat());
        out.put_u64(self.max_htlc_value_in_flight_msat.0);
        out.put_u64(self.channel_reserve_satoshis.to_sat());
        out.put_u64(self.htlc_minimum_msat.0);
        out.put_u32(self.minimum_depth);
        out.put_u16(self.to_self_delay);
        out.put_u16(self.max_accepted_htlcs);
        self.keys.write(out);
        self.tlvs.write(out);
    }
}

/// `funding_created` (type 34): the opener's funding outpoint and its signature for the
/// acceptor's first commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingCreated {
    /// The temporary id from `open_channel`.
    pub temporary_channel_id: ChannelId,
    /// The funding transaction id.
    pub funding_txid: Txid,
    /// The funding output index.
    pub funding_output_index: u16,
    /// Signature for the acceptor's first commitment transaction.
    pub signature: Signature,
}

impl WireMessage for FundingCreated {
    const TYPE: u16 = 34;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<FundingCreated, DecodeError> {
        let message = FundingCreated {
            temporary_channel_id: reader.read_channel_id()?,
            funding_txid: reader.read_txid()?,
            funding_output_index: reader.read_u16()?,
            signature: reader.read_signature()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.temporary_channel_id.as_bytes());
        out.put_txid(&self.funding_txid);
        out.put_u16(self.funding_output_index);
        out.put_signature(&self.signature);
    }
}

/// `funding_signed` (type 35): the acceptor's signature for the opener's first commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingSigned {
    /// The real channel id, derived from the funding outpoint.
    pub channel_id: ChannelId,
    /// Signature for the opener's first commitment transaction.
    pub signature: Signature,
}

impl WireMessage for FundingSigned {
    const TYPE: u16 = 35;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<FundingSigned, DecodeError> {
        let message = FundingSigned {
            channel_id: reader.read_channel_id()?,
            signature: reader.read_signature()?,
        };
        read_extension(reader, &[])?;
        Ok(message)
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_signature(&self.signature);
    }
}

/// `channel_ready` (type 36): the funding transaction is deep enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReady {
    /// The channel.
    pub channel_id: ChannelId,
    /// The per-commitment point for the second commitment transaction.
    pub second_per_commitment_point: PublicKey,
    /// TLV 1 `short_channel_id`: an alias to use in route hints (`option_scid_alias`).
    pub short_channel_id_alias: Option<ShortChannelId>,
}

const SCID_ALIAS: u64 = 1;

impl WireMessage for ChannelReady {
    const TYPE: u16 = 36;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ChannelReady, DecodeError> {
        let channel_id = reader.read_channel_id()?;
        let second_per_commitment_point = reader.read_point()?;
        let tlvs = read_extension(reader, &[])?;
        let short_channel_id_alias = decode_record(&tlvs, SCID_ALIAS, |r| r.read_scid())?;
        Ok(ChannelReady { channel_id, second_per_commitment_point, short_channel_id_alias })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.channel_id.as_bytes());
        out.put_point(&self.second_per_commitment_point);
        if let Some(alias) = self.short_channel_id_alias {
            put_record_with(out, SCID_ALIAS, |v| v.put_u64(alias.0));
        }
    }
}
