//! BOLT 4 hop payloads: the TLV `payload` each hop finds in its layer of the onion, typed by
//! hop kind (forwarding or final), with the reader's validation rules.
//!
//! Route blinding records (`encrypted_recipient_data`, `current_path_key`,
//! `total_amount_msat`) are not supported yet: being even, they are rejected as unknown.

use crate::error::{Error, PayloadProblem};
use crate::failure::FailureMessage;
use shandian_types::{
    BlockHeight, CltvExpiry, CltvExpiryDelta, Msat, PaymentPreimage, PaymentSecret, ShortChannelId,
};
use shandian_wire::{read_truncated, DecodeError, TlvRecord, TlvStream, WriteExt};

/// `amt_to_forward` (tu64).
pub const AMT_TO_FORWARD: u64 = 2;
/// `outgoing_cltv_value` (tu32).
pub const OUTGOING_CLTV_VALUE: u64 = 4;
/// `short_channel_id`.
pub const SHORT_CHANNEL_ID: u64 = 6;
/// `payment_data`: `payment_secret` and `total_msat` (tu64).
pub const PAYMENT_DATA: u64 = 8;
/// `payment_metadata`.
pub const PAYMENT_METADATA: u64 = 16;
/// The keysend (spontaneous payment) preimage, a de-facto standard record.
pub const KEYSEND_PREIMAGE: u64 = 5_482_373_484;

/// The even types this crate understands; any other even type fails the payload.
const KNOWN_TYPES: [u64; 6] = [
    AMT_TO_FORWARD,
    OUTGOING_CLTV_VALUE,
    SHORT_CHANNEL_ID,
    PAYMENT_DATA,
    PAYMENT_METADATA,
    KEYSEND_PREIMAGE,
];

/// The payload of a hop that forwards the HTLC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPayload {
    /// Amount of the outgoing HTLC.
    pub amt_to_forward: Msat,
    /// `cltv_expiry` of the outgoing HTLC.
    pub outgoing_cltv_value: CltvExpiry,
    /// The outgoing channel.
    pub short_channel_id: ShortChannelId,
}

/// `payment_data`: the invoice's payment secret and the total of all parts of the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentData {
    /// The `payment_secret` from the invoice.
    pub payment_secret: PaymentSecret,
    /// The total amount of the (possibly multi-part) payment.
    pub total_msat: Msat,
}

/// The payload of the final node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalPayload {
    /// Amount this HTLC must deliver.
    pub amt_to_forward: Msat,
    /// The expiry this HTLC must have at least.
    pub outgoing_cltv_value: CltvExpiry,
    /// Payment secret and total, when the invoice had a payment secret.
    pub payment_data: Option<PaymentData>,
    /// `payment_metadata` from the invoice, returned verbatim.
    pub payment_metadata: Option<Vec<u8>>,
    /// The preimage of a spontaneous (keysend) payment.
    pub keysend_preimage: Option<PaymentPreimage>,
    /// Odd records this crate does not interpret (custom records), by type, in stream order.
    pub custom_records: Vec<(u64, Vec<u8>)>,
}

/// A hop payload of either kind, as the origin writes it into an onion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopPayload {
    /// An intermediate hop.
    Forward(ForwardPayload),
    /// The final node.
    Final(FinalPayload),
}

impl HopPayload {
    /// The TLV stream, without the length prefix (the form [`crate::build_onion`] takes).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            HopPayload::Forward(payload) => payload.encode(),
            HopPayload::Final(payload) => payload.encode(),
        }
    }
}

impl ForwardPayload {
    /// The TLV stream of this payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut records = amount_and_expiry(self.amt_to_forward, self.outgoing_cltv_value);
        records.push((SHORT_CHANNEL_ID, self.short_channel_id.0.to_be_bytes().to_vec()));
        encode_records(records)
    }

    /// Reads an intermediate hop's payload (the peeled packet had a non-zero next HMAC).
    ///
    /// BOLT 4: `amt_to_forward`, `outgoing_cltv_value` and `short_channel_id` MUST be present;
    /// the writer MUST NOT include `payment_data`, so neither that nor the other records meant
    /// for the final node are accepted. Errors map to `invalid_onion_payload`.
    pub fn decode(bytes: &[u8]) -> Result<ForwardPayload, Error> {
        let records = Records::decode(bytes)?;
        for tlv_type in [PAYMENT_DATA, PAYMENT_METADATA, KEYSEND_PREIMAGE] {
            records.forbid(tlv_type)?;
        }
        let (amt_to_forward, outgoing_cltv_value) = records.amount_and_expiry()?;
        let (value, offset) = records.require(SHORT_CHANNEL_ID)?;
        let short_channel_id = <[u8; 8]>::try_from(value)
            .map(|bytes| ShortChannelId(u64::from_be_bytes(bytes)))
            .map_err(|_| malformed(SHORT_CHANNEL_ID, offset))?;
        Ok(ForwardPayload { amt_to_forward, outgoing_cltv_value, short_channel_id })
    }
}

/// The forwarding parameters of an outgoing channel, as its `channel_update` announces them
/// (BOLT 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardingPolicy {
    /// Fixed fee per forwarded HTLC.
    pub fee_base_msat: u32,
    /// Proportional fee, in millionths of the forwarded amount.
    pub fee_proportional_millionths: u32,
    /// Blocks this node keeps between the incoming and the outgoing HTLC's expiry.
    pub cltv_expiry_delta: CltvExpiryDelta,
    /// The smallest HTLC the channel accepts.
    pub htlc_minimum_msat: Msat,
}

impl ForwardingPolicy {
    /// The fee for forwarding `amount` (BOLT 7: `fee_base_msat + amount_to_forward *
    /// fee_proportional_millionths / 1000000`), saturating rather than overflowing.
    pub fn fee(&self, amount: Msat) -> Msat {
        let base = Msat(u64::from(self.fee_base_msat));
        let proportional = amount.proportional_millionths(self.fee_proportional_millionths);
        base.checked_add(proportional).unwrap_or(Msat::MAX)
    }
}

impl ForwardPayload {
    /// Checks an incoming HTLC against this payload and the outgoing channel's policy, as BOLT 4
    /// requires of a forwarding node, reporting the first failure in the spec's list order.
    /// `channel_update` is the outgoing channel's latest `channel_update` to include (BOLT 4
    /// allows it to be empty). Checks that need the node's state (unknown channel, capacity,
    /// expiry too soon or too far) are the node's.
    pub fn check_htlc(
        &self,
        incoming_amount: Msat,
        incoming_cltv_expiry: CltvExpiry,
        policy: &ForwardingPolicy,
        channel_update: &[u8],
    ) -> Result<(), FailureMessage> {
        let channel_update = channel_update.to_vec();
        // BOLT 4: if the HTLC amount is less than the currently specified minimum amount,
        // report the amount of the outgoing HTLC: `amount_below_minimum`.
        if self.amt_to_forward < policy.htlc_minimum_msat {
            return Err(FailureMessage::AmountBelowMinimum {
                htlc_msat: self.amt_to_forward,
                channel_update,
            });
        }
        // BOLT 4: MUST return an error if incoming `amount_msat` - `fee` < `amt_to_forward`;
        // report the amount of the incoming HTLC: `fee_insufficient`.
        let needed = self.amt_to_forward.checked_add(policy.fee(self.amt_to_forward));
        if needed.is_none_or(|needed| incoming_amount < needed) {
            return Err(FailureMessage::FeeInsufficient {
                htlc_msat: incoming_amount,
                channel_update,
            });
        }
        // BOLT 4: MUST return an error if `cltv_expiry` - `cltv_expiry_delta` <
        // `outgoing_cltv_value`: `incorrect_cltv_expiry`.
        let latest = incoming_cltv_expiry.checked_sub(policy.cltv_expiry_delta);
        if latest.is_none_or(|latest| latest < self.outgoing_cltv_value) {
            return Err(FailureMessage::IncorrectCltvExpiry {
                cltv_expiry: incoming_cltv_expiry,
                channel_update,
            });
        }
        Ok(())
    }
}

impl FinalPayload {
    /// A final payload with just the amount and expiry.
    pub fn new(amt_to_forward: Msat, outgoing_cltv_value: CltvExpiry) -> FinalPayload {
        FinalPayload {
            amt_to_forward,
            outgoing_cltv_value,
            payment_data: None,
            payment_metadata: None,
            keysend_preimage: None,
            custom_records: Vec::new(),
        }
    }

    /// The TLV stream of this payload. Custom records with a known type are skipped (the
    /// typed fields own those types).
    pub fn encode(&self) -> Vec<u8> {
        let mut records = amount_and_expiry(self.amt_to_forward, self.outgoing_cltv_value);
        if let Some(data) = &self.payment_data {
            let mut value = data.payment_secret.0.to_vec();
            value.put_truncated(data.total_msat.0);
            records.push((PAYMENT_DATA, value));
        }
        if let Some(metadata) = &self.payment_metadata {
            records.push((PAYMENT_METADATA, metadata.clone()));
        }
        if let Some(preimage) = &self.keysend_preimage {
            records.push((KEYSEND_PREIMAGE, preimage.0.to_vec()));
        }
        let typed = records.iter().map(|(t, _)| *t).collect::<Vec<_>>();
        let custom = self.custom_records.iter().filter(|(t, _)| !typed.contains(t));
        records.extend(custom.cloned());
        encode_records(records)
    }

    /// Reads the final node's payload (the peeled packet had an all-zero next HMAC).
    ///
    /// BOLT 4: `amt_to_forward` and `outgoing_cltv_value` MUST be present; the writer MUST NOT
    /// include `short_channel_id`. Errors map to `invalid_onion_payload`.
    pub fn decode(bytes: &[u8]) -> Result<FinalPayload, Error> {
        let records = Records::decode(bytes)?;
        records.forbid(SHORT_CHANNEL_ID)?;
        let (amt_to_forward, outgoing_cltv_value) = records.amount_and_expiry()?;
        let payment_data = match records.get(PAYMENT_DATA) {
            None => None,
            Some((value, offset)) => {
                Some(payment_data(value).ok_or(malformed(PAYMENT_DATA, offset))?)
            }
        };
        let payment_metadata = records.get(PAYMENT_METADATA).map(|(value, _)| value.to_vec());
        let keysend_preimage = match records.get(KEYSEND_PREIMAGE) {
            None => None,
            Some((value, offset)) => Some(
                <[u8; 32]>::try_from(value)
                    .map(PaymentPreimage)
                    .map_err(|_| malformed(KEYSEND_PREIMAGE, offset))?,
            ),
        };
        let custom_records = records
            .stream
            .unknown_odd(&KNOWN_TYPES)
            .map(|record| (record.tlv_type, record.value.to_vec()))
            .collect();
        Ok(FinalPayload {
            amt_to_forward,
            outgoing_cltv_value,
            payment_data,
            payment_metadata,
            keysend_preimage,
            custom_records,
        })
    }

    /// The payment's total: `payment_data.total_msat`, or `amt_to_forward` when absent
    /// (BOLT 4: "MUST treat `total_msat` as if it were equal to `amt_to_forward` if it is not
    /// present").
    pub fn total_msat(&self) -> Msat {
        self.payment_data.map_or(self.amt_to_forward, |data| data.total_msat)
    }

    /// Checks the incoming HTLC against this payload as BOLT 4 requires of the final node,
    /// reporting the first failure in the order the spec lists them. Checks that need the
    /// node's invoices (payment hash known, payment secret, amount expected) are the node's.
    pub fn check_htlc(
        &self,
        htlc_amount: Msat,
        htlc_cltv_expiry: CltvExpiry,
        current_height: BlockHeight,
        min_final_cltv_expiry_delta: CltvExpiryDelta,
    ) -> Result<(), FailureMessage> {
        // BOLT 4: if the `cltv_expiry` value is unreasonably near the present, MUST return
        // `incorrect_or_unknown_payment_details`.
        let earliest = current_height.checked_add_delta(min_final_cltv_expiry_delta);
        if earliest.is_none_or(|earliest| htlc_cltv_expiry < earliest) {
            return Err(FailureMessage::IncorrectOrUnknownPaymentDetails {
                htlc_msat: htlc_amount,
                height: current_height,
            });
        }
        // BOLT 4: if the HTLC's `cltv_expiry` is below `outgoing_cltv_value`, MUST return
        // `final_incorrect_cltv_expiry`.
        if htlc_cltv_expiry < self.outgoing_cltv_value {
            return Err(FailureMessage::FinalIncorrectCltvExpiry { cltv_expiry: htlc_cltv_expiry });
        }
        // BOLT 4: if `amount_msat` is below `amt_to_forward`, MUST return
        // `final_incorrect_htlc_amount`.
        if htlc_amount < self.amt_to_forward {
            return Err(FailureMessage::FinalIncorrectHtlcAmount {
                incoming_htlc_amt: htlc_amount,
            });
        }
        Ok(())
    }
}

/// `amt_to_forward` and `outgoing_cltv_value` as TLV records.
fn amount_and_expiry(amount: Msat, expiry: CltvExpiry) -> Vec<(u64, Vec<u8>)> {
    let mut amount_value = Vec::with_capacity(8);
    amount_value.put_truncated(amount.0);
    let mut expiry_value = Vec::with_capacity(4);
    expiry_value.put_truncated(u64::from(expiry.0));
    vec![(AMT_TO_FORWARD, amount_value), (OUTGOING_CLTV_VALUE, expiry_value)]
}

/// Encodes records whose types are distinct by construction.
fn encode_records(mut records: Vec<(u64, Vec<u8>)>) -> Vec<u8> {
    // Types are distinct: the typed fields own theirs and custom records with those types are
    // filtered out. `unknown_odd` yields each type once, as the stream was strictly increasing.
    records.sort_by_key(|(t, _)| *t);
    records.dedup_by_key(|(t, _)| *t);
    TlvStream::encode(&mut records).unwrap_or_default()
}

/// `payment_secret` (32 bytes) then `total_msat` (tu64).
fn payment_data(value: &[u8]) -> Option<PaymentData> {
    let secret = value.get(..32)?;
    let total = read_truncated(value.get(32..)?, 8).ok()?;
    Some(PaymentData {
        payment_secret: PaymentSecret(secret.try_into().ok()?),
        total_msat: Msat(total),
    })
}

fn malformed(tlv_type: u64, offset: u16) -> Error {
    Error::InvalidPayload { tlv_type, offset, problem: PayloadProblem::MalformedValue }
}

/// A decoded payload stream with each record's byte offset, for `invalid_onion_payload`.
struct Records<'a> {
    stream: TlvStream<'a>,
    offsets: Vec<u16>,
}

impl<'a> Records<'a> {
    fn decode(bytes: &'a [u8]) -> Result<Records<'a>, Error> {
        let stream = TlvStream::decode(bytes, &KNOWN_TYPES).map_err(|e| stream_error(bytes, &e))?;
        let mut offsets = Vec::with_capacity(stream.records().len());
        let mut offset = 0usize;
        for record in stream.records() {
            offsets.push(clamp_offset(offset));
            offset =
                offset.saturating_add(TlvStream::record_len(record.tlv_type, record.value.len()));
        }
        Ok(Records { stream, offsets })
    }

    /// The value of `tlv_type` and the offset of its record.
    fn get(&self, tlv_type: u64) -> Option<(&'a [u8], u16)> {
        let records: &[TlvRecord<'a>] = self.stream.records();
        let index = records.iter().position(|r| r.tlv_type == tlv_type)?;
        let value = records.get(index)?.value;
        Some((value, self.offsets.get(index).copied().unwrap_or_default()))
    }

    fn require(&self, tlv_type: u64) -> Result<(&'a [u8], u16), Error> {
        // The record is absent, so no offset names it; BOLT 4 lets the node report the type.
        self.get(tlv_type).ok_or(Error::InvalidPayload {
            tlv_type,
            offset: 0,
            problem: PayloadProblem::Missing,
        })
    }

    fn forbid(&self, tlv_type: u64) -> Result<(), Error> {
        match self.get(tlv_type) {
            None => Ok(()),
            Some((_, offset)) => {
                Err(Error::InvalidPayload { tlv_type, offset, problem: PayloadProblem::NotAllowed })
            }
        }
    }

    /// BOLT 4: MUST return an error if `amt_to_forward` or `outgoing_cltv_value` are not
    /// present.
    fn amount_and_expiry(&self) -> Result<(Msat, CltvExpiry), Error> {
        let (value, offset) = self.require(AMT_TO_FORWARD)?;
        let amount = read_truncated(value, 8).map_err(|_| malformed(AMT_TO_FORWARD, offset))?;
        let (value, offset) = self.require(OUTGOING_CLTV_VALUE)?;
        let expiry = read_truncated(value, 4)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(malformed(OUTGOING_CLTV_VALUE, offset))?;
        Ok((Msat(amount), CltvExpiry(expiry)))
    }
}

fn clamp_offset(offset: usize) -> u16 {
    u16::try_from(offset).unwrap_or(u16::MAX)
}

/// Maps a TLV stream error to `invalid_onion_payload` with the offending type. For an unknown
/// even type the record is located by decoding again with that type allowed.
fn stream_error(bytes: &[u8], error: &DecodeError) -> Error {
    let (tlv_type, problem) = match error {
        DecodeError::UnknownEvenTlv(t) => (*t, PayloadProblem::UnknownEvenType),
        DecodeError::TlvNotIncreasing { next, .. } => (*next, PayloadProblem::MalformedStream),
        DecodeError::TlvLengthExceeds { tlv_type, .. } => {
            (*tlv_type, PayloadProblem::MalformedStream)
        }
        _ => (0, PayloadProblem::MalformedStream),
    };
    let mut offset = 0;
    if problem == PayloadProblem::UnknownEvenType {
        let mut known = KNOWN_TYPES.to_vec();
        known.push(tlv_type);
        if let Ok(stream) = TlvStream::decode(bytes, &known) {
            let mut position = 0usize;
            for record in stream.records() {
                if record.tlv_type == tlv_type {
                    offset = clamp_offset(position);
                    break;
                }
                position = position
                    .saturating_add(TlvStream::record_len(record.tlv_type, record.value.len()));
            }
        }
    }
    Error::InvalidPayload { tlv_type, offset, problem }
}
