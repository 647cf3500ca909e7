//! The embedded regtest chain.
//!
//! Blocks are validated and connected by Bitcoin Core's consensus engine (libbitcoinkernel,
//! through the `bitcoinkernel` crate): a block Core rejects never becomes part of the chain.
//! Around the kernel this crate keeps a UTXO view, a mempool with Core's acceptance rules, a
//! miner, reorgs on demand and a bitcoind-compatible JSON-RPC server.
//!
//! In process, use [`RegtestChain::open`]; over HTTP, [`rpc::serve`].

mod chain;
mod error;
mod fee_estimate;
mod kernel;
mod locktime;
mod mempool;
mod miner;
mod persist;
mod policy;
mod reorg;
mod script_check;
mod utxo;
mod view;

pub mod rpc;

pub use chain::{
    ChainTip, HeaderInfo, MempoolEntryInfo, MempoolInfo, RegtestChain, TxInfo, TxOutInfo,
};
pub use error::{Error, MempoolReject};
pub use fee_estimate::FeeEstimate;
pub use mempool::{Accepted, MempoolEntry};
pub use utxo::Utxo;
pub use view::BlockMeta;
