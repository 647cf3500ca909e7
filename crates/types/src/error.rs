use thiserror::Error;

/// Why a string could not be parsed into one of this crate's types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The text was not hexadecimal, or had the wrong number of digits.
    #[error("expected {expected_bytes} bytes of hex")]
    Hex {
        /// How many bytes the hex string should encode.
        expected_bytes: usize,
    },
    /// A number was malformed or out of range.
    #[error("invalid number: {0}")]
    Number(String),
    /// A short channel id was not `BLOCKxTXxOUTPUT` with each part in range.
    #[error("short channel id must be BLOCKxTXxOUTPUT (block < 2^24, tx < 2^24, output < 2^16)")]
    ShortChannelId,
    /// 33 bytes that are not a valid compressed secp256k1 point.
    #[error("not a valid compressed public key")]
    PublicKey,
}

/// Decodes exactly `N` bytes from a hex string.
pub(crate) fn hex_to_array<const N: usize>(s: &str) -> Result<[u8; N], ParseError> {
    use bitcoin::hex::FromHex;
    <[u8; N]>::from_hex(s).map_err(|_| ParseError::Hex { expected_bytes: N })
}
