//! The one error type of this crate.

use thiserror::Error;

/// Everything that can go wrong while deriving keys or building and signing transactions.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A key tweak produced an invalid key (probability ~2^-128; a peer cannot force it
    /// without breaking SHA-256).
    #[error("key derivation produced an invalid key")]
    KeyDerivation,
    /// A 32-byte value is not a valid secp256k1 secret key.
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// A shachain index above 2^48 - 1.
    #[error("shachain index {0} is above 2^48 - 1")]
    ShachainIndexOutOfRange(u64),
    /// BOLT 3: secrets arrive in descending order starting at 2^48 - 1.
    #[error("shachain secret {got} received, expected index {expected}")]
    ShachainOutOfOrder {
        /// The index the store expected next.
        expected: u64,
        /// The index that was offered.
        got: u64,
    },
    /// BOLT 3: the new secret does not derive a secret received earlier.
    #[error("shachain secret for index {0} does not derive earlier secrets")]
    ShachainMismatch(u64),
    /// The secret for this index has not been received (or cannot be derived).
    #[error("shachain secret for index {0} is not known")]
    ShachainUnknown(u64),
    /// A commitment number above 2^48 - 1.
    #[error("commitment number {0} is above 2^48 - 1")]
    CommitmentNumberOutOfRange(u64),
    /// An amount computation overflowed.
    #[error("amount overflow")]
    AmountOverflow,
    /// The balances and HTLCs of a commitment do not add up to the funding amount.
    #[error("balances and HTLCs do not add up to the funding amount")]
    BalanceMismatch,
    /// The funder's balance cannot pay for the anchor outputs.
    #[error("the funder cannot afford the anchor outputs")]
    FunderCannotAffordAnchors,
    /// An output index the transaction does not have.
    #[error("output {0} not found")]
    OutputNotFound(u32),
    /// An input index the transaction does not have.
    #[error("input {0} not found")]
    InputNotFound(usize),
    /// The number of HTLC signatures does not match the number of untrimmed HTLCs.
    #[error("expected {expected} HTLC signatures, got {got}")]
    HtlcSignatureCount {
        /// The number of untrimmed HTLC outputs.
        expected: usize,
        /// The number of signatures given.
        got: usize,
    },
    /// A counterparty signature does not verify (the index says which, `None` for the
    /// commitment or closing signature itself).
    #[error("invalid counterparty signature (HTLC index {0:?})")]
    InvalidSignature(Option<usize>),
    /// A sighash could not be computed (input index or amount mismatch).
    #[error("sighash computation failed")]
    Sighash,
    /// The fee exceeds the value being spent.
    #[error("fee exceeds the value of the inputs")]
    FeeExceedsValue,
    /// A sweep was asked for with no inputs.
    #[error("nothing to sweep")]
    NoInputs,
    /// The output would be below the dust limit.
    #[error("output below the dust limit")]
    Dust,
    /// A closing transaction with no output left.
    #[error("closing transaction has no outputs")]
    NoOutputs,
    /// The signer refuses to sign a holder commitment whose secret it already released.
    #[error("holder commitment {0} was revoked; refusing to sign it")]
    CommitmentRevoked(u64),
    /// The signer releases per-commitment secrets strictly in order.
    #[error("refusing to release secret {got}: next revocable commitment is {expected}")]
    RevocationOutOfOrder {
        /// The next commitment number that may be revoked.
        expected: u64,
        /// The commitment number asked for.
        got: u64,
    },
    /// The node seed cannot produce BIP 32 keys (invalid master key).
    #[error("BIP 32 derivation failed")]
    Bip32,
    /// A transaction names keys that are not this signer's.
    #[error("the transaction's keys do not belong to this signer")]
    KeyMismatch,
    /// A preimage is required for this spend but was not provided.
    #[error("missing payment preimage")]
    MissingPreimage,
}
