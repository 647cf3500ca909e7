//! The node's side of the chain: [`ChainBackend`] (the block follower, the on-chain wallet,
//! broadcasting and fees, over the embedded regtest chain or bitcoind's JSON-RPC).
//!
//! One task owns the block follower. It polls the backend (the embedded chain also wakes it
//! on every new block), applies each round of events to the wallet first and then sends them,
//! in order, to every subscriber; on each block it rebroadcasts our unconfirmed transactions.
//! Watches go through the same task, so none falls between two blocks: a watch registered
//! after its block went by is answered from a memory of recent blocks.
//!
//! [`MonitorHandle`] enforces closed channels on chain: the channel manager records each
//! non-cooperative close with [`record_closed_channel`] (in the close's store transaction)
//! and hands it to [`MonitorHandle::watch`]; the monitor sweeps what is ours back to the
//! wallet (`shandian-monitor` builds the claims) and resumes from the store after a restart.
//! It also records how the HTLCs we offered ended there — fulfilled when the counterparty's
//! spend reveals the preimage, failed when our HTLC-timeout or the close itself is deep
//! enough — and wakes the channel manager ([`MonitorHandle::on_htlc_outcomes`]), which hands
//! each outcome to the payment logic exactly once.
//!
//! A preimage of an HTLC the counterparty offered us that the node learns only after the
//! close (a forward fulfilled downstream late) still claims that HTLC (BOLT 5): the channel
//! manager hands it to [`MonitorHandle::provide_preimage`] after the batch that stored it
//! (as a fulfilled forward or a paid invoice) committed; the monitor also loads, for every
//! closed channel it starts watching (after a restart too), the preimages the store knows for
//! it (fulfilled forwards whose incoming HTLC is on it, invoices it paid). A
//! channel with such an HTLC on chain stays watched until the HTLC expired.

mod actor;
mod backend;
mod closed;
mod error;
mod monitor;
mod recent;
mod watcher;

use std::sync::Arc;

pub use backend::{ChainBackend, SpendLookup, FALLBACK_FEERATE, MAX_RESCAN_BLOCKS, WALLET_FILE};
pub use closed::{record_closed_channel, ClosedChannel};
pub use error::OnchainError;
pub use monitor::{ClaimInfo, MonitorHandle, MonitorStatus, RESOLVE_DEPTH};
pub use shandian_chain::{BlockRef, ChainEvent, FundingTx, RpcAuth, WalletBalance};

/// Where the node reads the chain.
#[derive(Clone)]
pub enum ChainConfig {
    /// The in-process regtest chain (the demo, tests).
    Embedded(Arc<shandian_regtest::RegtestChain>),
    /// A bitcoind (or `shandian chain`) JSON-RPC endpoint: `--bitcoind-rpc`.
    BitcoindRpc {
        /// `http://host:port`.
        url: String,
        /// User and password, or a cookie file.
        auth: RpcAuth,
    },
}

impl std::fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainConfig::Embedded(_) => f.write_str("Embedded"),
            ChainConfig::BitcoindRpc { url, .. } => write!(f, "BitcoindRpc({url})"),
        }
    }
}
