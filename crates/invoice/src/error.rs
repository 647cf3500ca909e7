//! Why an invoice could not be decoded, verified or built.

use thiserror::Error;

/// Every way a BOLT 11 invoice can be rejected, by the decoder or by the builder.
///
/// Each variant's `Display` is one line meant for a user (`shandian decodeinvoice` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The string has no `1` separating the human-readable part from the data.
    #[error("not a bech32 string: missing the '1' separator")]
    MissingSeparator,
    /// Upper and lower case letters are mixed (BIP 173 forbids it).
    #[error("not a bech32 string: mixes upper and lower case")]
    MixedCase,
    /// A character outside the bech32 alphabet.
    #[error("not a bech32 string: invalid character {0:?}")]
    InvalidChar(char),
    /// The human-readable part is empty, too long or not ASCII.
    #[error("not a bech32 string: invalid human-readable part")]
    InvalidHrp,
    /// The bech32 checksum does not match (BOLT 11: MUST fail the payment).
    #[error("bech32 checksum is invalid")]
    InvalidChecksum,
    /// The prefix is not `ln` followed by a known currency (`bc`, `tb`, `tbs`, `bcrt`).
    #[error("unknown invoice prefix {0:?} (expected lnbc, lntb, lntbs or lnbcrt)")]
    UnknownPrefix(String),
    /// The amount is not a positive decimal number without leading zeros.
    #[error("invalid amount in the human-readable part")]
    InvalidAmount,
    /// The amount is followed by something other than `m`, `u`, `n` or `p`.
    #[error("invalid amount multiplier {0:?} (expected m, u, n or p)")]
    InvalidMultiplier(char),
    /// A `p` amount whose last digit is not 0 would be a fraction of a millisatoshi.
    #[error("amount has sub-millisatoshi precision")]
    SubMillisatoshiAmount,
    /// The amount does not fit in 64 bits of millisatoshis.
    #[error("amount is too large")]
    AmountOverflow,
    /// The data part is shorter than a timestamp plus a signature.
    #[error("invoice is too short to hold a timestamp and a signature")]
    TooShort,
    /// A tagged field's `data_length` runs past the signature.
    #[error("tagged field '{0}' is truncated")]
    TruncatedField(char),
    /// The recovery id is not in 0..=3.
    #[error("signature recovery id {0} is not 0, 1, 2 or 3")]
    InvalidRecoveryId(u8),
    /// The 64 signature bytes are not a valid (r, s) pair.
    #[error("signature is malformed")]
    MalformedSignature,
    /// Public-key recovery failed: no key produced this signature.
    #[error("signature is not recoverable")]
    SignatureNotRecoverable,
    /// With an `n` field, the signature must be low-S (BOLT 11).
    #[error("signature is not low-S (non-canonical) and the invoice has an 'n' field")]
    HighS,
    /// The signature does not verify against the `n` field's key.
    #[error("signature does not match the payee key in the 'n' field")]
    SignatureMismatch,
    /// No valid `p` field.
    #[error("invoice has no payment hash ('p' field)")]
    MissingPaymentHash,
    /// No valid `s` field (BOLT 11: MUST fail the payment).
    #[error("invoice has no payment secret ('s' field)")]
    MissingPaymentSecret,
    /// Neither `d` nor `h` (BOLT 11: MUST fail the payment).
    #[error("invoice has neither a description ('d') nor a description hash ('h')")]
    MissingDescription,
    /// Both `d` and `h` (BOLT 11: MUST fail the payment).
    #[error("invoice has both a description ('d') and a description hash ('h')")]
    DescriptionAndHash,
    /// A field that must appear exactly once appears more often.
    #[error("invoice has more than one '{0}' field")]
    DuplicateField(char),
    /// The `d` field is not UTF-8.
    #[error("description ('d' field) is not valid UTF-8")]
    InvalidDescription,
    /// An `x`, `c` or `9` field starts with a zero word (BOLT 11: SHOULD treat as invalid).
    #[error("field '{0}' is not minimally encoded")]
    NonMinimalField(char),
    /// An `x` or `c` value is too large for its type.
    #[error("field '{0}' holds a value that is too large")]
    ValueOverflow(char),
    /// An `r` field is not a whole number of hops or names an invalid node key.
    #[error("route hint ('r' field) is malformed")]
    InvalidRouteHint,
    /// An `f` field of a known version holds a hash or program of the wrong length.
    #[error("fallback address ('f' field) is malformed")]
    InvalidFallback,
    /// An unknown even feature bit is set (BOLT 11: MUST fail the payment).
    #[error("invoice requires unknown feature bit {0}")]
    UnknownRequiredFeature(usize),
    /// A feature is set without a feature it depends on (BOLT 9).
    #[error("feature bit {feature} is set without the feature it depends on (bit {requires})")]
    MissingFeatureDependency {
        /// The feature that is set.
        feature: usize,
        /// The (even) bit of the feature it needs.
        requires: usize,
    },
    /// Builder: an amount of zero cannot be encoded (amounts are positive; omit it instead).
    #[error("invoice amount must be positive")]
    ZeroAmount,
    /// Builder: no timestamp was given.
    #[error("invoice has no timestamp")]
    MissingTimestamp,
    /// Builder: the timestamp does not fit in 35 bits.
    #[error("timestamp does not fit in 35 bits")]
    TimestampOutOfRange,
    /// Builder: a field's data is longer than 1023 five-bit words (639 bytes).
    #[error("field '{0}' is longer than 1023 words")]
    FieldTooLong(char),
    /// Builder: the `n` field names a key other than the signing key.
    #[error("payee key in the 'n' field is not the signing key")]
    PayeeMismatch,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line() {
        let all = [
            Error::MissingSeparator,
            Error::MixedCase,
            Error::InvalidChar('b'),
            Error::InvalidHrp,
            Error::InvalidChecksum,
            Error::UnknownPrefix("lnxy".into()),
            Error::InvalidAmount,
            Error::InvalidMultiplier('x'),
            Error::SubMillisatoshiAmount,
            Error::AmountOverflow,
            Error::TooShort,
            Error::TruncatedField('d'),
            Error::InvalidRecoveryId(4),
            Error::MalformedSignature,
            Error::SignatureNotRecoverable,
            Error::HighS,
            Error::SignatureMismatch,
            Error::MissingPaymentHash,
            Error::MissingPaymentSecret,
            Error::MissingDescription,
            Error::DescriptionAndHash,
            Error::DuplicateField('p'),
            Error::InvalidDescription,
            Error::NonMinimalField('x'),
            Error::ValueOverflow('c'),
            Error::InvalidRouteHint,
            Error::InvalidFallback,
            Error::UnknownRequiredFeature(100),
            Error::MissingFeatureDependency { feature: 17, requires: 14 },
            Error::ZeroAmount,
            Error::MissingTimestamp,
            Error::TimestampOutOfRange,
            Error::FieldTooLong('d'),
            Error::PayeeMismatch,
        ];
        let mut messages: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert!(messages.iter().all(|m| !m.is_empty() && !m.contains('\n')));
        messages.sort();
        messages.dedup();
        assert_eq!(messages.len(), all.len(), "every reason reads differently");
    }
}
