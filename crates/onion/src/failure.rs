//! BOLT 4 "Failure Messages": the `failuremsg` a failing node sends back inside a failure
//! packet, as a typed enum with its wire encoding.

use crate::error::Error;
use shandian_types::{BlockHeight, CltvExpiry, Msat};
use shandian_wire::{Reader, WriteExt};

/// A 2-byte failure code. Its top bits are flags (BOLT 4): BADONION, PERM, NODE, UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureCode(pub u16);

impl FailureCode {
    /// Unparsable onion encrypted by the sending peer.
    pub const BADONION: u16 = 0x8000;
    /// Permanent failure (otherwise transient).
    pub const PERM: u16 = 0x4000;
    /// Node failure (otherwise channel).
    pub const NODE: u16 = 0x2000;
    /// A channel forwarding parameter was violated.
    pub const UPDATE: u16 = 0x1000;

    /// `temporary_node_failure`
    pub const TEMPORARY_NODE_FAILURE: FailureCode = FailureCode(Self::NODE | 2);
    /// `permanent_node_failure`
    pub const PERMANENT_NODE_FAILURE: FailureCode = FailureCode(Self::PERM | Self::NODE | 2);
    /// `required_node_feature_missing`
    pub const REQUIRED_NODE_FEATURE_MISSING: FailureCode = FailureCode(Self::PERM | Self::NODE | 3);
    /// `invalid_onion_version`
    pub const INVALID_ONION_VERSION: FailureCode = FailureCode(Self::BADONION | Self::PERM | 4);
    /// `invalid_onion_hmac`
    pub const INVALID_ONION_HMAC: FailureCode = FailureCode(Self::BADONION | Self::PERM | 5);
    /// `invalid_onion_key`
    pub const INVALID_ONION_KEY: FailureCode = FailureCode(Self::BADONION | Self::PERM | 6);
    /// `temporary_channel_failure`
    pub const TEMPORARY_CHANNEL_FAILURE: FailureCode = FailureCode(Self::UPDATE | 7);
    /// `permanent_channel_failure`
    pub const PERMANENT_CHANNEL_FAILURE: FailureCode = FailureCode(Self::PERM | 8);
    /// `required_channel_feature_missing`
    pub const REQUIRED_CHANNEL_FEATURE_MISSING: FailureCode = FailureCode(Self::PERM | 9);
    /// `unknown_next_peer`
    pub const UNKNOWN_NEXT_PEER: FailureCode = FailureCode(Self::PERM | 10);
    /// `amount_below_minimum`
    pub const AMOUNT_BELOW_MINIMUM: FailureCode = FailureCode(Self::UPDATE | 11);
    /// `fee_insufficient`
    pub const FEE_INSUFFICIENT: FailureCode = FailureCode(Self::UPDATE | 12);
    /// `incorrect_cltv_expiry`
    pub const INCORRECT_CLTV_EXPIRY: FailureCode = FailureCode(Self::UPDATE | 13);
    /// `expiry_too_soon`
    pub const EXPIRY_TOO_SOON: FailureCode = FailureCode(Self::UPDATE | 14);
    /// `incorrect_or_unknown_payment_details`
    pub const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: FailureCode = FailureCode(Self::PERM | 15);
    /// `final_incorrect_cltv_expiry`
    pub const FINAL_INCORRECT_CLTV_EXPIRY: FailureCode = FailureCode(18);
    /// `final_incorrect_htlc_amount`
    pub const FINAL_INCORRECT_HTLC_AMOUNT: FailureCode = FailureCode(19);
    /// `channel_disabled`
    pub const CHANNEL_DISABLED: FailureCode = FailureCode(Self::UPDATE | 20);
    /// `expiry_too_far`
    pub const EXPIRY_TOO_FAR: FailureCode = FailureCode(21);
    /// `invalid_onion_payload`
    pub const INVALID_ONION_PAYLOAD: FailureCode = FailureCode(Self::PERM | 22);
    /// `mpp_timeout`
    pub const MPP_TIMEOUT: FailureCode = FailureCode(23);
    /// `invalid_onion_blinding`
    pub const INVALID_ONION_BLINDING: FailureCode = FailureCode(Self::BADONION | Self::PERM | 24);

    /// Whether the BADONION flag is set: such failures travel back as
    /// `update_fail_malformed_htlc`.
    pub fn is_bad_onion(self) -> bool {
        self.0 & Self::BADONION != 0
    }

    /// Whether the PERM flag is set (otherwise the failure is transient).
    pub fn is_permanent(self) -> bool {
        self.0 & Self::PERM != 0
    }

    /// Whether the NODE flag is set (otherwise the failure concerns a channel).
    pub fn is_node(self) -> bool {
        self.0 & Self::NODE != 0
    }

    /// Whether the UPDATE flag is set (a channel's forwarding parameters were violated).
    pub fn is_update(self) -> bool {
        self.0 & Self::UPDATE != 0
    }
}

/// A failure message (BOLT 4 "Failure Messages"): one variant per defined code, with its data.
///
/// `channel_update` fields hold the raw `channel_update` message as sent (possibly empty: BOLT 4
/// no longer requires it); parse it with `shandian-wire` if needed, and never apply it to the
/// network graph (BOLT 4 forbids exposing it to third parties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureMessage {
    /// General temporary failure of the processing node.
    TemporaryNodeFailure,
    /// General permanent failure of the processing node.
    PermanentNodeFailure,
    /// The processing node requires a feature that was not in this onion.
    RequiredNodeFeatureMissing,
    /// The onion's version byte was not understood.
    InvalidOnionVersion {
        /// SHA-256 of the onion packet.
        sha256_of_onion: [u8; 32],
    },
    /// The onion's HMAC was incorrect.
    InvalidOnionHmac {
        /// SHA-256 of the onion packet.
        sha256_of_onion: [u8; 32],
    },
    /// The onion's ephemeral key was unparsable.
    InvalidOnionKey {
        /// SHA-256 of the onion packet.
        sha256_of_onion: [u8; 32],
    },
    /// The outgoing channel cannot handle this HTLC now, but may later.
    TemporaryChannelFailure {
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// The outgoing channel cannot handle any HTLC.
    PermanentChannelFailure,
    /// The outgoing channel requires features not present in the onion.
    RequiredChannelFeatureMissing,
    /// The onion's `short_channel_id` leads nowhere from the processing node.
    UnknownNextPeer,
    /// The HTLC is below the outgoing channel's `htlc_minimum_msat`.
    AmountBelowMinimum {
        /// The amount of the outgoing HTLC.
        htlc_msat: Msat,
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// The HTLC pays too little fee for the outgoing channel.
    FeeInsufficient {
        /// The amount of the incoming HTLC.
        htlc_msat: Msat,
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// `cltv_expiry - cltv_expiry_delta < outgoing_cltv_value` on the outgoing channel.
    IncorrectCltvExpiry {
        /// The HTLC's `cltv_expiry`.
        cltv_expiry: CltvExpiry,
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// The CLTV expiry is too close to the current block height.
    ExpiryTooSoon {
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// Unknown payment hash, wrong payment secret, amount too low, or expiry too soon at the
    /// final node.
    IncorrectOrUnknownPaymentDetails {
        /// The HTLC amount.
        htlc_msat: Msat,
        /// The final node's best block height.
        height: BlockHeight,
    },
    /// The final HTLC's CLTV expiry is below the onion's `outgoing_cltv_value`.
    FinalIncorrectCltvExpiry {
        /// The HTLC's `cltv_expiry`.
        cltv_expiry: CltvExpiry,
    },
    /// The final HTLC's amount is below the onion's `amt_to_forward`.
    FinalIncorrectHtlcAmount {
        /// The HTLC's amount.
        incoming_htlc_amt: Msat,
    },
    /// The outgoing channel is disabled.
    ChannelDisabled {
        /// Flags; none are defined, so normally 0.
        disabled_flags: u16,
        /// The outgoing channel's `channel_update` (may be empty).
        channel_update: Vec<u8>,
    },
    /// The CLTV expiry is too far in the future.
    ExpiryTooFar,
    /// The hop payload was not understood or is incomplete.
    InvalidOnionPayload {
        /// The TLV type at fault (0 when not narrowed down).
        tlv_type: u64,
        /// Its byte offset in the decrypted payload.
        offset: u16,
    },
    /// A multi-part payment was not completed in time.
    MppTimeout,
    /// An error occurred within a blinded path.
    InvalidOnionBlinding {
        /// SHA-256 of the onion packet.
        sha256_of_onion: [u8; 32],
    },
    /// A code this node does not know; the flags still tell how to react.
    Unknown {
        /// The code.
        code: FailureCode,
        /// Everything after the code.
        data: Vec<u8>,
    },
}

impl FailureMessage {
    /// The message's failure code.
    pub fn code(&self) -> FailureCode {
        use FailureMessage as F;
        match self {
            F::TemporaryNodeFailure => FailureCode::TEMPORARY_NODE_FAILURE,
            F::PermanentNodeFailure => FailureCode::PERMANENT_NODE_FAILURE,
            F::RequiredNodeFeatureMissing => FailureCode::REQUIRED_NODE_FEATURE_MISSING,
            F::InvalidOnionVersion { .. } => FailureCode::INVALID_ONION_VERSION,
            F::InvalidOnionHmac { .. } => FailureCode::INVALID_ONION_HMAC,
            F::InvalidOnionKey { .. } => FailureCode::INVALID_ONION_KEY,
            F::TemporaryChannelFailure { .. } => FailureCode::TEMPORARY_CHANNEL_FAILURE,
            F::PermanentChannelFailure => FailureCode::PERMANENT_CHANNEL_FAILURE,
            F::RequiredChannelFeatureMissing => FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING,
            F::UnknownNextPeer => FailureCode::UNKNOWN_NEXT_PEER,
            F::AmountBelowMinimum { .. } => FailureCode::AMOUNT_BELOW_MINIMUM,
            F::FeeInsufficient { .. } => FailureCode::FEE_INSUFFICIENT,
            F::IncorrectCltvExpiry { .. } => FailureCode::INCORRECT_CLTV_EXPIRY,
            F::ExpiryTooSoon { .. } => FailureCode::EXPIRY_TOO_SOON,
            F::IncorrectOrUnknownPaymentDetails { .. } => {
                FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS
            }
            F::FinalIncorrectCltvExpiry { .. } => FailureCode::FINAL_INCORRECT_CLTV_EXPIRY,
            F::FinalIncorrectHtlcAmount { .. } => FailureCode::FINAL_INCORRECT_HTLC_AMOUNT,
            F::ChannelDisabled { .. } => FailureCode::CHANNEL_DISABLED,
            F::ExpiryTooFar => FailureCode::EXPIRY_TOO_FAR,
            F::InvalidOnionPayload { .. } => FailureCode::INVALID_ONION_PAYLOAD,
            F::MppTimeout => FailureCode::MPP_TIMEOUT,
            F::InvalidOnionBlinding { .. } => FailureCode::INVALID_ONION_BLINDING,
            F::Unknown { code, .. } => *code,
        }
    }

    /// The wire form: the 2-byte code, then the code's data. Fails only if a `channel_update`
    /// exceeds 65,535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        use FailureMessage as F;
        let mut out = Vec::with_capacity(64);
        out.put_u16(self.code().0);
        let too_long =
            |e: shandian_wire::LengthOverflow| Error::FailureMessageTooLong { length: e.0 };
        match self {
            F::TemporaryNodeFailure
            | F::PermanentNodeFailure
            | F::RequiredNodeFeatureMissing
            | F::PermanentChannelFailure
            | F::RequiredChannelFeatureMissing
            | F::UnknownNextPeer
            | F::ExpiryTooFar
            | F::MppTimeout => {}
            F::InvalidOnionVersion { sha256_of_onion }
            | F::InvalidOnionHmac { sha256_of_onion }
            | F::InvalidOnionKey { sha256_of_onion }
            | F::InvalidOnionBlinding { sha256_of_onion } => out.extend_from_slice(sha256_of_onion),
            F::TemporaryChannelFailure { channel_update } | F::ExpiryTooSoon { channel_update } => {
                out.put_u16_prefixed(channel_update).map_err(too_long)?
            }
            F::AmountBelowMinimum { htlc_msat, channel_update }
            | F::FeeInsufficient { htlc_msat, channel_update } => {
                out.put_u64(htlc_msat.0);
                out.put_u16_prefixed(channel_update).map_err(too_long)?;
            }
            F::IncorrectCltvExpiry { cltv_expiry, channel_update } => {
                out.put_u32(cltv_expiry.0);
                out.put_u16_prefixed(channel_update).map_err(too_long)?;
            }
            F::IncorrectOrUnknownPaymentDetails { htlc_msat, height } => {
                out.put_u64(htlc_msat.0);
                out.put_u32(height.0);
            }
            F::FinalIncorrectCltvExpiry { cltv_expiry } => out.put_u32(cltv_expiry.0),
            F::FinalIncorrectHtlcAmount { incoming_htlc_amt } => out.put_u64(incoming_htlc_amt.0),
            F::ChannelDisabled { disabled_flags, channel_update } => {
                out.put_u16(*disabled_flags);
                out.put_u16_prefixed(channel_update).map_err(too_long)?;
            }
            F::InvalidOnionPayload { tlv_type, offset } => {
                out.put_bigsize(*tlv_type);
                out.put_u16(*offset);
            }
            F::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(out)
    }

    /// Parses a `failuremsg`. Bytes after the code's data (an optional TLV stream) are ignored,
    /// as BOLT 4 requires of the origin ("MUST ignore any extra bytes in `failuremsg`").
    pub fn decode(bytes: &[u8]) -> Result<FailureMessage, Error> {
        let mut reader = Reader::new(bytes);
        let code = FailureCode(reader.read_u16().map_err(|_| Error::FailureMessageEmpty)?);
        decode_data(code, &mut reader).ok_or(Error::MalformedFailureData { code: code.0 })
    }
}

/// The data of `code`, or `None` if it is truncated or malformed.
fn decode_data(code: FailureCode, r: &mut Reader<'_>) -> Option<FailureMessage> {
    use FailureMessage as F;
    let update = |r: &mut Reader<'_>| r.read_u16_prefixed().ok().map(<[u8]>::to_vec);
    let message = match code {
        FailureCode::TEMPORARY_NODE_FAILURE => F::TemporaryNodeFailure,
        FailureCode::PERMANENT_NODE_FAILURE => F::PermanentNodeFailure,
        FailureCode::REQUIRED_NODE_FEATURE_MISSING => F::RequiredNodeFeatureMissing,
        FailureCode::INVALID_ONION_VERSION => {
            F::InvalidOnionVersion { sha256_of_onion: r.read_array().ok()? }
        }
        FailureCode::INVALID_ONION_HMAC => {
            F::InvalidOnionHmac { sha256_of_onion: r.read_array().ok()? }
        }
        FailureCode::INVALID_ONION_KEY => {
            F::InvalidOnionKey { sha256_of_onion: r.read_array().ok()? }
        }
        FailureCode::TEMPORARY_CHANNEL_FAILURE => {
            F::TemporaryChannelFailure { channel_update: update(r)? }
        }
        FailureCode::PERMANENT_CHANNEL_FAILURE => F::PermanentChannelFailure,
        FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING => F::RequiredChannelFeatureMissing,
        FailureCode::UNKNOWN_NEXT_PEER => F::UnknownNextPeer,
        FailureCode::AMOUNT_BELOW_MINIMUM => F::AmountBelowMinimum {
            htlc_msat: Msat(r.read_u64().ok()?),
            channel_update: update(r)?,
        },
        FailureCode::FEE_INSUFFICIENT => {
            F::FeeInsufficient { htlc_msat: Msat(r.read_u64().ok()?), channel_update: update(r)? }
        }
        FailureCode::INCORRECT_CLTV_EXPIRY => F::IncorrectCltvExpiry {
            cltv_expiry: CltvExpiry(r.read_u32().ok()?),
            channel_update: update(r)?,
        },
        FailureCode::EXPIRY_TOO_SOON => F::ExpiryTooSoon { channel_update: update(r)? },
        FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS => F::IncorrectOrUnknownPaymentDetails {
            htlc_msat: Msat(r.read_u64().ok()?),
            height: BlockHeight(r.read_u32().ok()?),
        },
        FailureCode::FINAL_INCORRECT_CLTV_EXPIRY => {
            F::FinalIncorrectCltvExpiry { cltv_expiry: CltvExpiry(r.read_u32().ok()?) }
        }
        FailureCode::FINAL_INCORRECT_HTLC_AMOUNT => {
            F::FinalIncorrectHtlcAmount { incoming_htlc_amt: Msat(r.read_u64().ok()?) }
        }
        FailureCode::CHANNEL_DISABLED => {
            F::ChannelDisabled { disabled_flags: r.read_u16().ok()?, channel_update: update(r)? }
        }
        FailureCode::EXPIRY_TOO_FAR => F::ExpiryTooFar,
        FailureCode::INVALID_ONION_PAYLOAD => {
            F::InvalidOnionPayload { tlv_type: r.read_bigsize().ok()?, offset: r.read_u16().ok()? }
        }
        FailureCode::MPP_TIMEOUT => F::MppTimeout,
        FailureCode::INVALID_ONION_BLINDING => {
            F::InvalidOnionBlinding { sha256_of_onion: r.read_array().ok()? }
        }
        code => F::Unknown { code, data: r.read_rest().to_vec() },
    };
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<FailureMessage> {
        use FailureMessage as F;
        let update = vec![1, 2, 3];
        vec![
            F::TemporaryNodeFailure,
            F::PermanentNodeFailure,
            F::RequiredNodeFeatureMissing,
            F::InvalidOnionVersion { sha256_of_onion: [1; 32] },
            F::InvalidOnionHmac { sha256_of_onion: [2; 32] },
            F::InvalidOnionKey { sha256_of_onion: [3; 32] },
            F::TemporaryChannelFailure { channel_update: update.clone() },
            F::PermanentChannelFailure,
            F::RequiredChannelFeatureMissing,
            F::UnknownNextPeer,
            F::AmountBelowMinimum { htlc_msat: Msat(5), channel_update: update.clone() },
            F::FeeInsufficient { htlc_msat: Msat(6), channel_update: vec![] },
            F::IncorrectCltvExpiry { cltv_expiry: CltvExpiry(7), channel_update: update.clone() },
            F::ExpiryTooSoon { channel_update: update.clone() },
            F::IncorrectOrUnknownPaymentDetails { htlc_msat: Msat(100), height: BlockHeight(8) },
            F::FinalIncorrectCltvExpiry { cltv_expiry: CltvExpiry(9) },
            F::FinalIncorrectHtlcAmount { incoming_htlc_amt: Msat(10) },
            F::ChannelDisabled { disabled_flags: 0, channel_update: update },
            F::ExpiryTooFar,
            F::InvalidOnionPayload { tlv_type: 5_482_373_484, offset: 40 },
            F::MppTimeout,
            F::InvalidOnionBlinding { sha256_of_onion: [4; 32] },
            F::Unknown { code: FailureCode(0x2063), data: vec![9, 9] },
        ]
    }

    #[test]
    fn codes_carry_the_bolt4_values_and_flags() {
        assert_eq!(FailureCode::TEMPORARY_NODE_FAILURE.0, 0x2002);
        assert_eq!(FailureCode::PERMANENT_NODE_FAILURE.0, 0x6002);
        assert_eq!(FailureCode::REQUIRED_NODE_FEATURE_MISSING.0, 0x6003);
        assert_eq!(FailureCode::INVALID_ONION_VERSION.0, 0xc004);
        assert_eq!(FailureCode::INVALID_ONION_HMAC.0, 0xc005);
        assert_eq!(FailureCode::INVALID_ONION_KEY.0, 0xc006);
        assert_eq!(FailureCode::TEMPORARY_CHANNEL_FAILURE.0, 0x1007);
        assert_eq!(FailureCode::PERMANENT_CHANNEL_FAILURE.0, 0x4008);
        assert_eq!(FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING.0, 0x4009);
        assert_eq!(FailureCode::UNKNOWN_NEXT_PEER.0, 0x400a);
        assert_eq!(FailureCode::AMOUNT_BELOW_MINIMUM.0, 0x100b);
        assert_eq!(FailureCode::FEE_INSUFFICIENT.0, 0x100c);
        assert_eq!(FailureCode::INCORRECT_CLTV_EXPIRY.0, 0x100d);
        assert_eq!(FailureCode::EXPIRY_TOO_SOON.0, 0x100e);
        assert_eq!(FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.0, 0x400f);
        assert_eq!(FailureCode::FINAL_INCORRECT_CLTV_EXPIRY.0, 18);
        assert_eq!(FailureCode::FINAL_INCORRECT_HTLC_AMOUNT.0, 19);
        assert_eq!(FailureCode::CHANNEL_DISABLED.0, 0x1014);
        assert_eq!(FailureCode::EXPIRY_TOO_FAR.0, 21);
        assert_eq!(FailureCode::INVALID_ONION_PAYLOAD.0, 0x4016);
        assert_eq!(FailureCode::MPP_TIMEOUT.0, 23);
        assert_eq!(FailureCode::INVALID_ONION_BLINDING.0, 0xc018);
        let hmac = FailureCode::INVALID_ONION_HMAC;
        assert!(hmac.is_bad_onion() && hmac.is_permanent() && !hmac.is_node() && !hmac.is_update());
        let node = FailureCode::TEMPORARY_NODE_FAILURE;
        assert!(node.is_node() && !node.is_permanent() && !node.is_bad_onion());
        assert!(FailureCode::CHANNEL_DISABLED.is_update());
    }

    #[test]
    fn every_variant_round_trips() {
        for message in every_variant() {
            let bytes = message.encode().unwrap();
            assert_eq!(FailureMessage::decode(&bytes), Ok(message.clone()));
            // Extra bytes (e.g. a TLV stream) are ignored.
            let mut extended = bytes.clone();
            extended.extend_from_slice(&[0xfd, 0x84, 0xd1, 0]);
            if !matches!(message, FailureMessage::Unknown { .. }) {
                assert_eq!(FailureMessage::decode(&extended), Ok(message.clone()));
            }
            // Any truncation of a message with data is an error, never a panic.
            if bytes.len() > 2 && !matches!(message, FailureMessage::Unknown { .. }) {
                let cut = &bytes[..bytes.len() - 1];
                assert_eq!(
                    FailureMessage::decode(cut),
                    Err(Error::MalformedFailureData { code: message.code().0 })
                );
            }
        }
        assert_eq!(FailureMessage::decode(&[0x20]), Err(Error::FailureMessageEmpty));
    }

    #[test]
    fn incorrect_or_unknown_payment_details_layout() {
        let message = FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat: Msat(100),
            height: BlockHeight(800_000),
        };
        assert_eq!(
            message.encode().unwrap(),
            [0x40, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0x64, 0x00, 0x0c, 0x35, 0x00]
        );
    }
}
