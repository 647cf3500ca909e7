//! The crate's one error type.

use bitcoin::{BlockHash, Txid};
use shandian_types::BlockHeight;

use crate::rpc::RpcError;

/// Everything that can go wrong talking to the chain, following it, or running the wallet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain backend could not be reached or the connection broke (HTTP, socket, timeout).
    /// Retrying later may succeed.
    #[error("chain backend unreachable: {0}")]
    Connection(#[source] reqwest::Error),
    /// The backend answered with an HTTP status and a body that is not a JSON-RPC reply.
    #[error("chain backend answered HTTP {status} without a JSON-RPC reply")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
    },
    /// The backend refused our credentials (HTTP 401/403).
    #[error("chain backend rejected the credentials (HTTP {status})")]
    Unauthorized {
        /// The HTTP status code.
        status: u16,
    },
    /// The cookie file could not be read.
    #[error("cannot read RPC cookie file {path}: {source}")]
    CookieRead {
        /// The cookie file's path.
        path: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The cookie file has no `user:password` line.
    #[error("RPC cookie file {0} has no user:password line")]
    CookieFormat(String),
    /// The RPC URL is not a usable `http://host:port[/path]` URL.
    #[error("invalid RPC URL {0:?}")]
    InvalidUrl(String),
    /// The backend answered with a JSON-RPC error we do not map to a finer variant.
    #[error("RPC error: {0}")]
    Rpc(#[from] RpcError),
    /// The backend's answer was not the JSON, hex or consensus encoding we expected.
    #[error("malformed answer to {method}: {reason}")]
    Malformed {
        /// The RPC method (or adapter call) whose answer was malformed.
        method: &'static str,
        /// What was wrong with it.
        reason: MalformedReason,
    },
    /// The transaction spends an output that does not exist or is already spent (Core code
    /// -25, `bad-txns-inputs-missingorspent`): a double spend, or its parent is unknown.
    #[error("transaction {txid} spends missing or spent inputs: {reason}")]
    TxInputsMissingOrSpent {
        /// The rejected transaction.
        txid: Txid,
        /// The backend's reason.
        reason: String,
    },
    /// The transaction conflicts with one in the mempool (`txn-mempool-conflict`), and
    /// replacement was not possible.
    #[error("transaction {txid} conflicts with the mempool: {reason}")]
    TxConflict {
        /// The rejected transaction.
        txid: Txid,
        /// The backend's reason.
        reason: String,
    },
    /// The transaction was rejected by policy or consensus (Core code -26), e.g. an immature
    /// coinbase spend, a non-final locktime, a too-low fee or a script failure.
    #[error("transaction {txid} rejected: {reason}")]
    TxRejected {
        /// The rejected transaction.
        txid: Txid,
        /// The backend's reason, e.g. `bad-txns-premature-spend-of-coinbase`.
        reason: String,
    },
    /// The transaction is already in the mempool; the broadcast goal is met.
    #[error("transaction {0} is already in the mempool")]
    TxAlreadyInMempool(Txid),
    /// The transaction is already confirmed (Core code -27); the broadcast goal is met.
    #[error("transaction {0} is already in the chain")]
    TxAlreadyInChain(Txid),
    /// The follower was asked to connect a block that does not build on its best block.
    #[error("block {hash} at {height:?} does not connect to {expected_prev}")]
    DoesNotConnect {
        /// The block that was offered.
        hash: BlockHash,
        /// Its height.
        height: BlockHeight,
        /// The best block the follower had.
        expected_prev: BlockHash,
    },
    /// A reorg went deeper than the blocks the follower remembers.
    #[error("reorg deeper than the {0} blocks the follower remembers")]
    ReorgTooDeep(usize),
    /// A block the chain source named a moment ago has vanished (it answered `None`).
    #[error("block {0} vanished from the chain source")]
    BlockMissing(BlockHash),
    /// The chain source has no block at a height at or below its own tip: it changed under us.
    #[error("chain source has no block at height {0:?}")]
    HeightMissing(BlockHeight),
    /// The wallet's SQLite database failed.
    #[error("wallet database: {0}")]
    Database(#[from] bdk_wallet::rusqlite::Error),
    /// The wallet database could not be created (descriptor problem).
    #[error("wallet creation: {0}")]
    WalletCreate(Box<bdk_wallet::CreateWithPersistError<bdk_wallet::rusqlite::Error>>),
    /// The wallet database could not be loaded, or holds another wallet or network.
    #[error("wallet load: {0}")]
    WalletLoad(Box<bdk_wallet::LoadWithPersistError<bdk_wallet::rusqlite::Error>>),
    /// The seed could not be turned into a master key.
    #[error("wallet seed: {0}")]
    Seed(#[from] bitcoin::bip32::Error),
    /// The wallet cannot afford the payment plus fees.
    #[error("insufficient funds: need {needed} sat, have {available} sat")]
    InsufficientFunds {
        /// Satoshis needed including fees.
        needed: u64,
        /// Satoshis available to spend.
        available: u64,
    },
    /// Building the transaction failed for another reason (dust output, bad feerate, ...).
    #[error("cannot build transaction: {0}")]
    TxBuild(#[source] Box<bdk_wallet::error::CreateTxError>),
    /// Signing or finalizing left inputs unsigned (the wallet lacks a key it should have).
    #[error("transaction left incompletely signed")]
    Unsigned,
    /// The signed PSBT could not be turned into a transaction.
    #[error("cannot extract signed transaction: {0}")]
    Extract(#[source] Box<bitcoin::psbt::ExtractTxError>),
    /// A block could not be applied to the wallet (it does not connect to the wallet's chain).
    #[error("wallet cannot apply block {hash} at {height:?}")]
    WalletCannotConnect {
        /// The block.
        hash: BlockHash,
        /// Its height.
        height: BlockHeight,
    },
    /// The address is for another network than the wallet's.
    #[error("address is for another network")]
    WrongNetwork,
    /// The embedded chain failed (feature `embedded`).
    #[cfg(feature = "embedded")]
    #[error("embedded chain: {0}")]
    Embedded(Box<shandian_regtest::Error>),
    /// A blocking task running an embedded-chain call panicked or was cancelled.
    #[error("embedded chain task failed")]
    EmbeddedTaskFailed,
    /// The funding output script was not found in the transaction built for it.
    #[error("funding output missing from the built transaction")]
    FundingOutputMissing,
}

impl From<bdk_wallet::CreateWithPersistError<bdk_wallet::rusqlite::Error>> for Error {
    fn from(e: bdk_wallet::CreateWithPersistError<bdk_wallet::rusqlite::Error>) -> Self {
        Error::WalletCreate(Box::new(e))
    }
}

impl From<bdk_wallet::LoadWithPersistError<bdk_wallet::rusqlite::Error>> for Error {
    fn from(e: bdk_wallet::LoadWithPersistError<bdk_wallet::rusqlite::Error>) -> Self {
        Error::WalletLoad(Box::new(e))
    }
}

impl From<bitcoin::psbt::ExtractTxError> for Error {
    fn from(e: bitcoin::psbt::ExtractTxError) -> Self {
        Error::Extract(Box::new(e))
    }
}

/// Why an answer was malformed.
#[derive(Debug, thiserror::Error)]
pub enum MalformedReason {
    /// Not the JSON shape expected.
    #[error("unexpected JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not valid hex.
    #[error("bad hex: {0}")]
    Hex(#[from] bitcoin::hex::HexToBytesError),
    /// Not a valid consensus encoding.
    #[error("bad encoding: {0}")]
    Encoding(#[from] bitcoin::consensus::encode::Error),
    /// Not a valid hash.
    #[error("bad hash: {0}")]
    Hash(#[from] bitcoin::hex::HexToArrayError),
    /// An amount out of range.
    #[error("bad amount: {0}")]
    Amount(#[from] bitcoin::amount::ParseAmountError),
    /// A number out of range for its type.
    #[error("number out of range")]
    OutOfRange,
    /// The reply carried neither a result nor an error.
    #[error("reply without result")]
    NoResult,
}

impl Error {
    /// True when a broadcast failed only because the transaction is already known (in the
    /// mempool or the chain): the caller's goal is met.
    pub fn is_already_known(&self) -> bool {
        matches!(self, Error::TxAlreadyInMempool(_) | Error::TxAlreadyInChain(_))
    }

    /// True when a broadcast failed because an input is already spent (in the chain or by a
    /// mempool transaction) or missing.
    pub fn is_double_spend(&self) -> bool {
        matches!(self, Error::TxInputsMissingOrSpent { .. } | Error::TxConflict { .. })
    }

    /// True for failures that may go away on retry (the backend was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Connection(_) | Error::HttpStatus { .. })
            || matches!(self, Error::Rpc(e) if e.code == RpcError::IN_WARMUP)
    }

    pub(crate) fn malformed(method: &'static str, reason: impl Into<MalformedReason>) -> Error {
        Error::Malformed { method, reason: reason.into() }
    }
}
