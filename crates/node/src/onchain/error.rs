//! The on-chain module's error type.

use std::path::PathBuf;

/// Why a chain or wallet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OnchainError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The chain backend or the wallet failed.
    #[error(transparent)]
    Chain(#[from] shandian_chain::Error),
    /// The wallet cannot pay this much (amounts in satoshis).
    #[error("insufficient funds: {needed} sat needed, {available} sat available")]
    InsufficientFunds {
        /// What the transaction needs, fee included.
        needed: u64,
        /// What the wallet can spend.
        available: u64,
    },
    /// The backend refused the transaction for good (not a transient failure).
    #[error("transaction {txid} rejected: {source}")]
    Rejected {
        /// The transaction.
        txid: bitcoin::Txid,
        /// The backend's reason.
        source: shandian_chain::Error,
    },
    /// The address is not valid for the node's network.
    #[error("address is for another network")]
    WrongNetwork,
    /// The chain task has stopped (the node is shutting down).
    #[error("the chain backend has stopped")]
    Stopped,
    /// A closed channel's record does not decode with its re-derived signer.
    #[error("closed channel record: {0}")]
    Record(#[from] shandian_channel::Error),
    /// The channel signer could not be derived.
    #[error("channel signer: {0}")]
    Signer(#[from] shandian_tx::Error),
    /// The monitor could not classify a spend or build a claim.
    #[error(transparent)]
    Monitor(#[from] shandian_monitor::Error),
    /// The store failed (monitor records).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl OnchainError {
    /// Maps a wallet error, pulling out the cases callers act on.
    pub(crate) fn from_wallet(error: shandian_chain::Error) -> OnchainError {
        match error {
            shandian_chain::Error::InsufficientFunds { needed, available } => {
                OnchainError::InsufficientFunds { needed, available }
            }
            shandian_chain::Error::WrongNetwork => OnchainError::WrongNetwork,
            other => OnchainError::Chain(other),
        }
    }
}
