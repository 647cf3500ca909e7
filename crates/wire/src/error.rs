use thiserror::Error;

/// Why bytes from a peer could not be decoded.
///
/// Decoding is total: every input yields a value or one of these, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("input ended early: needed {needed} more bytes")]
    ShortRead {
        /// How many bytes were still needed.
        needed: usize,
    },
    /// A BigSize was not in its shortest form (BOLT 1: "MUST fail to parse ... not minimally encoded").
    #[error("BigSize is not minimally encoded")]
    NonCanonicalBigSize,
    /// A truncated integer (tu16/tu32/tu64) had a leading zero byte or was too long.
    #[error("truncated integer is not minimally encoded")]
    NonMinimalTruncatedInt,
    /// TLV types must strictly increase (BOLT 1).
    #[error("TLV type {next} does not follow {previous} in strictly increasing order")]
    TlvNotIncreasing {
        /// The previous record's type.
        previous: u64,
        /// The offending record's type.
        next: u64,
    },
    /// A TLV record's length runs past the end of the stream.
    #[error("TLV record {tlv_type} claims {length} bytes but only {available} remain")]
    TlvLengthExceeds {
        /// The record's type.
        tlv_type: u64,
        /// Its claimed length.
        length: u64,
        /// Bytes left in the stream.
        available: usize,
    },
    /// An even TLV type we do not understand (BOLT 1: "it's OK to be odd").
    #[error("unknown even TLV type {0}")]
    UnknownEvenTlv(u64),
    /// A known TLV record whose value has the wrong length or content.
    #[error("TLV record {tlv_type} is malformed")]
    InvalidTlvValue {
        /// The record's type.
        tlv_type: u64,
    },
    /// An even message type we do not understand; the peer must be disconnected (BOLT 1).
    #[error("unknown even message type {0}")]
    UnknownEvenMessage(u16),
    /// A `point` that is not a valid compressed secp256k1 public key.
    #[error("invalid point")]
    InvalidPoint,
    /// A `signature` whose `r` or `s` is not below the curve order.
    #[error("invalid signature")]
    InvalidSignature,
    /// A field held a value the spec forbids.
    #[error("invalid {0}")]
    InvalidField(&'static str),
}
