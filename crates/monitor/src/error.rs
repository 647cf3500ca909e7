//! The monitor's error type.

/// Why the monitor could not classify a spend or build a claim.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The channel record is not of a funded channel (nothing on chain to watch).
    #[error("the channel was never funded")]
    NotFunded,
    /// The transaction does not spend the channel's funding output.
    #[error("transaction {0} does not spend the funding output")]
    NotAFundingSpend(bitcoin::Txid),
    /// Rebuilding our commitment or a script failed (keys, amounts).
    #[error("cannot rebuild the channel's transactions: {0}")]
    Transaction(#[from] shandian_tx::Error),
    /// The channel state machine refused (e.g. its signer does not match the record).
    #[error("channel state: {0}")]
    Channel(#[from] shandian_channel::Error),
    /// The transaction is not a second-stage HTLC transaction of this close.
    #[error("transaction {0} is not an HTLC transaction of our commitment")]
    NotOurHtlcTx(bitcoin::Txid),
}
