//! The embedded regtest chain.
//!
//! Blocks are validated and connected by Bitcoin Core's consensus engine (libbitcoinkernel,
//! through the `bitcoinkernel` crate): a block Core rejects never becomes part of the chain.
//! Around the kernel this crate keeps a UTXO view, a mempool with Core's acceptance rules, a
//! miner, reorgs on demand and a bitcoind-compatible JSON-RPC server.
//!
//! In process, use [`RegtestChain::open`]; over HTTP, [`rpc::serve`].
//!
//! Limitations of libbitcoinkernel 0.3 and how they are handled:
//! - no `invalidateblock`: the active chain up to the fork point is replayed into a fresh
//!   chainstate directory (`kernel-<n+1>`, named by the `CURRENT` file), see `reorg`;
//!   invalidated blocks are forgotten rather than kept as known-invalid;
//! - no UTXO lookups: we keep our own UTXO view, rebuilt from Core's block files at start-up
//!   and updated on every connect and disconnect (undo data is ours in memory);
//! - no reject-reason strings for blocks: a refused block reports Core's validation result
//!   class (e.g. `Consensus`);
//! - only consensus script flags: mempool scripts are verified with every consensus flag
//!   (P2SH, DERSIG, NULLDUMMY, CLTV, CSV, WITNESS, TAPROOT), not Core's policy-only flags.
//!
//! The mempool rejects conflicting spends (no BIP 125 replacement).

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
