//! Errors of the embedded chain and the reasons a transaction is refused by the mempool.

use bitcoin::{Amount, BlockHash, Txid};

/// Why the mempool refused a transaction. `reason()` is Bitcoin Core's reject-reason string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolReject {
    /// The transaction has no inputs.
    #[error("bad-txns-vin-empty")]
    NoInputs,
    /// The transaction has no outputs.
    #[error("bad-txns-vout-empty")]
    NoOutputs,
    /// An output pays more than 21 million BTC.
    #[error("bad-txns-vout-toolarge")]
    OutputTooLarge,
    /// The outputs together pay more than 21 million BTC.
    #[error("bad-txns-txouttotal-toolarge")]
    OutputTotalTooLarge,
    /// The same outpoint is spent twice.
    #[error("bad-txns-inputs-duplicate")]
    DuplicateInputs,
    /// Coinbase transactions only enter the chain through blocks.
    #[error("coinbase")]
    Coinbase,
    /// Transaction version outside 1..=3 (policy).
    #[error("version")]
    NonStandardVersion,
    /// Weight above 400,000 (policy).
    #[error("tx-size")]
    TooLarge,
    /// Non-witness size below 65 bytes (policy).
    #[error("tx-size-small")]
    TooSmall,
    /// An output is below the dust threshold (3 sat/vB dust relay fee).
    #[error("dust")]
    Dust,
    /// nLockTime does not allow the transaction into the next block (BIP 113).
    #[error("non-final")]
    NonFinal,
    /// A relative lock time (BIP 68) is not yet satisfied.
    #[error("non-BIP68-final")]
    NonBip68Final,
    /// The same transaction is already in the mempool.
    #[error("txn-already-in-mempool")]
    AlreadyInMempool,
    /// An input is already spent by a mempool transaction (no BIP 125 replacement).
    #[error("txn-mempool-conflict")]
    Conflict {
        /// The mempool transaction that spends the same input.
        conflicting: Txid,
    },
    /// An input does not exist or is already spent.
    #[error("bad-txns-inputs-missingorspent")]
    MissingInputs,
    /// The transaction's outputs are already in the UTXO set: it is confirmed.
    #[error("Transaction outputs already in utxo set")]
    AlreadyInChain,
    /// A coinbase output is spent before 100 confirmations.
    #[error("bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {depth}")]
    PrematureCoinbaseSpend {
        /// Depth of the coinbase at the next block.
        depth: u32,
    },
    /// Input values overflow or exceed 21 million BTC.
    #[error("bad-txns-inputvalues-outofrange")]
    InputValuesOutOfRange,
    /// Inputs are worth less than outputs.
    #[error("bad-txns-in-belowout, value in ({value_in}) < value out ({value_out})")]
    InBelowOut {
        /// Sum of inputs.
        value_in: Amount,
        /// Sum of outputs.
        value_out: Amount,
    },
    /// More than 25 unconfirmed transactions in a chain (Core's default ancestor limit).
    #[error("too-long-mempool-chain, too many unconfirmed ancestors [limit: 25]")]
    TooLongMempoolChain,
    /// An unspendable output burns more than the caller's `maxburnamount`.
    #[error("Unspendable output exceeds maximum configured by user (maxburnamount)")]
    MaxBurnExceeded,
    /// The fee is below 1 sat/vB.
    #[error("min relay fee not met, {fee} < {required}")]
    MinRelayFee {
        /// Fee paid, in satoshis.
        fee: u64,
        /// Fee required, in satoshis.
        required: u64,
    },
    /// The fee rate is above the caller's `maxfeerate`.
    #[error("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)")]
    MaxFeeExceeded,
    /// Bitcoin Core's script interpreter refused an input.
    #[error("mandatory-script-verify-flag-failed (script verification failed for input {input})")]
    ScriptVerify {
        /// Index of the failing input.
        input: usize,
    },
}

impl MempoolReject {
    /// The short reject reason as Bitcoin Core's `testmempoolaccept` reports it.
    pub fn reject_reason(&self) -> String {
        match self {
            MempoolReject::MissingInputs => "missing-inputs".to_owned(),
            MempoolReject::ScriptVerify { .. } => "mandatory-script-verify-flag-failed".to_owned(),
            MempoolReject::InBelowOut { .. } => "bad-txns-in-belowout".to_owned(),
            MempoolReject::PrematureCoinbaseSpend { .. } => {
                "bad-txns-premature-spend-of-coinbase".to_owned()
            }
            MempoolReject::MinRelayFee { .. } => "min relay fee not met".to_owned(),
            MempoolReject::MaxFeeExceeded => "max-fee-exceeded".to_owned(),
            MempoolReject::TooLongMempoolChain => "too-long-mempool-chain".to_owned(),
            other => other.to_string(),
        }
    }

    /// The JSON-RPC error code `sendrawtransaction` returns for this rejection.
    pub fn rpc_code(&self) -> i32 {
        match self {
            MempoolReject::MissingInputs
            | MempoolReject::MaxFeeExceeded
            | MempoolReject::MaxBurnExceeded => -25,
            MempoolReject::AlreadyInChain => -27,
            _ => -26,
        }
    }
}

/// Errors of the embedded chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file in the data directory could not be read or written.
    #[error("data directory I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The data directory path is not valid UTF-8 (the kernel takes string paths).
    #[error("data directory path is not valid UTF-8")]
    NonUtf8Path,
    /// libbitcoinkernel reported an error.
    #[error("bitcoinkernel: {0}")]
    Kernel(#[from] bitcoinkernel::KernelError),
    /// Bitcoin Core's validation rejected a block.
    #[error("block {hash} rejected by Bitcoin Core: {reason}")]
    BlockRejected {
        /// The rejected block.
        hash: BlockHash,
        /// Core's validation result, e.g. `Consensus`.
        reason: String,
    },
    /// The block was already known.
    #[error("duplicate")]
    DuplicateBlock,
    /// The block was valid but did not become the tip (it is not on the most-work chain).
    #[error("block {0} was accepted but is not on the active chain")]
    NotOnActiveChain(BlockHash),
    /// Data read from the kernel or the data directory failed to decode.
    #[error("decoding: {0}")]
    Decode(#[from] bitcoin::consensus::encode::Error),
    /// No block with this hash in the active chain.
    #[error("Block not found")]
    BlockNotFound(BlockHash),
    /// No block at this height.
    #[error("Block height out of range")]
    HeightOutOfRange(u32),
    /// The genesis block cannot be invalidated.
    #[error("the genesis block cannot be invalidated")]
    InvalidateGenesis,
    /// The transaction is not in the mempool.
    #[error("Transaction {0} not in mempool.")]
    NotInMempool(Txid),
    /// Our UTXO view disagrees with a block the kernel accepted: a bug, reported, never hidden.
    #[error("UTXO view inconsistent with the kernel at height {height}")]
    InconsistentView {
        /// Height of the offending block.
        height: u32,
    },
    /// No nonce solved the regtest proof of work (practically impossible: half of all hashes do).
    #[error("no nonce satisfies the proof of work")]
    PowExhausted,
    /// A block without transactions has no merkle root.
    #[error("block has no transactions")]
    EmptyBlock,
    /// The chain's state lock was poisoned by a panic in another thread.
    #[error("chain state lock poisoned")]
    Poisoned,
    /// The JSON-RPC server could not bind or serve.
    #[error("rpc server: {0}")]
    Server(std::io::Error),
}
