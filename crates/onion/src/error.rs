use crate::failure::FailureMessage;
use thiserror::Error;

/// Everything that can go wrong building, peeling or reading an onion or a failure packet.
///
/// Errors a hop meets while processing an incoming onion map to the BOLT 4 failure it must send
/// back: see [`Error::failure_message`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// An onion packet must be exactly 1,366 bytes.
    #[error("onion packet is {length} bytes, not 1366")]
    PacketLength {
        /// The length received.
        length: usize,
    },
    /// A route needs at least one hop.
    #[error("route has no hops")]
    NoHops,
    /// BOLT 4 reserves payload lengths 0 and 1; every hop payload must be at least 2 bytes.
    #[error("payload of hop {hop} is shorter than 2 bytes")]
    PayloadTooShort {
        /// Index of the hop in the route.
        hop: usize,
    },
    /// A payment route must have forwarding payloads for every hop but the last, and a final
    /// payload for the last.
    #[error("hop {hop} has the wrong kind of payload for its place in the route")]
    PayloadKindMismatch {
        /// Index of the hop in the route.
        hop: usize,
    },
    /// The hop payloads do not fit the 1,300-byte `hop_payloads` field.
    #[error("route needs {needed} bytes of hop payloads, only {available} fit")]
    RouteTooLong {
        /// Bytes the payloads, their lengths and HMACs take.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A blinding factor was not a valid scalar (probability about 2^-128).
    #[error("blinding factor is not a valid secp256k1 scalar")]
    BlindingOverflow,
    /// BOLT 4: a version other than 0 MUST be rejected (`invalid_onion_version`).
    #[error("unknown onion version {version}")]
    UnknownVersion {
        /// The version received.
        version: u8,
        /// SHA-256 of the whole packet, for the failure message.
        sha256_of_onion: [u8; 32],
    },
    /// BOLT 4: an invalid ephemeral public key MUST be rejected (`invalid_onion_key`).
    #[error("onion ephemeral key is not a valid point")]
    InvalidKey {
        /// SHA-256 of the whole packet, for the failure message.
        sha256_of_onion: [u8; 32],
    },
    /// BOLT 4: an HMAC mismatch MUST be rejected (`invalid_onion_hmac`).
    #[error("onion HMAC does not match")]
    InvalidHmac {
        /// SHA-256 of the whole packet, for the failure message.
        sha256_of_onion: [u8; 32],
    },
    /// The peeled `payload_length` was malformed, below 2, or the payload and next HMAC did
    /// not fit the 1,300 bytes (BOLT 4 "Onion Decryption").
    #[error("hop payload framing is malformed")]
    MalformedHopFraming,
    /// The hop payload is not a valid TLV stream, has an unknown even record, lacks a required
    /// record, carries one it must not, or a record's value is malformed
    /// (`invalid_onion_payload`, BOLT 4).
    #[error("invalid hop payload: {problem} (TLV type {tlv_type} at offset {offset})")]
    InvalidPayload {
        /// The TLV type at fault.
        tlv_type: u64,
        /// Byte offset of that record in the payload (0 when it cannot be located).
        offset: u16,
        /// What was wrong.
        problem: PayloadProblem,
    },
    /// A failure message longer than its `u16` length field can express.
    #[error("failure message of {length} bytes is too long")]
    FailureMessageTooLong {
        /// Its length.
        length: usize,
    },
    /// A failure packet shorter than an HMAC and two length fields.
    #[error("failure packet of {length} bytes is too short")]
    FailurePacketTooShort {
        /// Its length.
        length: usize,
    },
    /// No hop's `um` key authenticates the failure packet: it was corrupted on the way back (or
    /// does not belong to this payment), so no hop can be blamed precisely.
    #[error("failure packet is not authenticated by any hop of the route")]
    FailureNotAttributable,
    /// A hop authenticated the failure packet, but its `failure_len` runs past the packet.
    #[error("failure packet from hop {hop} has a malformed length")]
    MalformedFailurePacket {
        /// Index of the hop that sent it.
        hop: usize,
    },
    /// A failure message shorter than its 2-byte code.
    #[error("failure message has no failure code")]
    FailureMessageEmpty,
    /// A failure message whose data does not match its code's layout.
    #[error("failure message with code {code:#06x} has malformed data")]
    MalformedFailureData {
        /// The failure code.
        code: u16,
    },
}

/// Why a hop payload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PayloadProblem {
    /// Not a valid TLV stream (BOLT 1 framing or ordering).
    #[error("malformed TLV stream")]
    MalformedStream,
    /// An even TLV type this node does not understand (BOLT 1: "it's OK to be odd").
    #[error("unknown even TLV type")]
    UnknownEvenType,
    /// A record BOLT 4 requires for this kind of hop is missing.
    #[error("required record missing")]
    Missing,
    /// A record BOLT 4 forbids for this kind of hop is present.
    #[error("record not allowed for this hop")]
    NotAllowed,
    /// A known record whose value has the wrong length or encoding.
    #[error("malformed record value")]
    MalformedValue,
}

impl Error {
    /// The BOLT 4 failure a processing hop sends back for this error, or `None` for errors that
    /// only the origin meets (building an onion, reading a returned failure).
    pub fn failure_message(&self) -> Option<FailureMessage> {
        match self {
            Error::UnknownVersion { sha256_of_onion, .. } => {
                Some(FailureMessage::InvalidOnionVersion { sha256_of_onion: *sha256_of_onion })
            }
            Error::InvalidKey { sha256_of_onion } => {
                Some(FailureMessage::InvalidOnionKey { sha256_of_onion: *sha256_of_onion })
            }
            Error::InvalidHmac { sha256_of_onion } => {
                Some(FailureMessage::InvalidOnionHmac { sha256_of_onion: *sha256_of_onion })
            }
            // The HMAC was valid, so the origin wrote this framing: the payload is at fault.
            Error::MalformedHopFraming => {
                Some(FailureMessage::InvalidOnionPayload { tlv_type: 0, offset: 0 })
            }
            Error::InvalidPayload { tlv_type, offset, .. } => {
                Some(FailureMessage::InvalidOnionPayload { tlv_type: *tlv_type, offset: *offset })
            }
            // Blinding overflow at a hop: the packet cannot be forwarded; a node-level fault.
            Error::BlindingOverflow => Some(FailureMessage::TemporaryNodeFailure),
            Error::PacketLength { .. }
            | Error::NoHops
            | Error::PayloadKindMismatch { .. }
            | Error::PayloadTooShort { .. }
            | Error::RouteTooLong { .. }
            | Error::FailureMessageTooLong { .. }
            | Error::FailurePacketTooShort { .. }
            | Error::FailureNotAttributable
            | Error::MalformedFailurePacket { .. }
            | Error::FailureMessageEmpty
            | Error::MalformedFailureData { .. } => None,
        }
    }
}
