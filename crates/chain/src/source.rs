//! The traits through which the rest of the node sees the chain.
//!
//! They are **async and object-safe**: every method returns a [`ChainFuture`], a boxed
//! `Send` future, so the node can hold an `Arc<dyn ChainSource>` and call it from any tokio
//! task without `spawn_blocking`. Implementations: [`crate::RpcClient`] (bitcoind or
//! `shandian chain` over JSON-RPC) and, with the `embedded` feature, the in-process adapter over
//! `shandian-regtest`.
//!
//! "Not found" is a value (`Ok(None)`), not an error: a block above the tip, an unknown
//! transaction or a spent output are ordinary answers. Errors are for failures.

use core::future::Future;
use core::pin::Pin;

use bitcoin::block::Header;
use bitcoin::{Block, BlockHash, OutPoint, Transaction, TxOut, Txid};
use shandian_types::{BlockHeight, FeeratePerKw};

use crate::Error;

/// The future every chain call returns: boxed so the traits stay usable as `dyn`.
pub type ChainFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A block named by height and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// The block's height (genesis is 0).
    pub height: BlockHeight,
    /// The block's hash.
    pub hash: BlockHash,
}

/// A header with where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// The 80-byte header.
    pub header: Header,
    /// Its height.
    pub height: BlockHeight,
    /// Whether it is on the backend's best chain right now (false for a stale fork).
    pub in_best_chain: bool,
}

/// A transaction the backend knows, and whether it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxLookup {
    /// The transaction.
    pub tx: Transaction,
    /// The best-chain block holding it; `None` while it is only in the mempool.
    pub confirmed_in: Option<BlockRef>,
}

/// An unspent transaction output (Core's `gettxout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnspentOutput {
    /// The output.
    pub txout: TxOut,
    /// Confirmations (0 for an output of a mempool transaction).
    pub confirmations: u32,
    /// Whether it is a coinbase output (unspendable until 100 confirmations).
    pub coinbase: bool,
}

/// Reads the chain: its tip, headers, blocks and transactions.
pub trait ChainSource: Send + Sync {
    /// The best block.
    fn tip(&self) -> ChainFuture<'_, BlockRef>;

    /// The hash of the best-chain block at `height`; `None` above the tip.
    fn block_hash(&self, height: BlockHeight) -> ChainFuture<'_, Option<BlockHash>>;

    /// A header by hash, on or off the best chain; `None` if unknown.
    fn header(&self, hash: BlockHash) -> ChainFuture<'_, Option<HeaderInfo>>;

    /// A full block by hash; `None` if unknown (or pruned).
    fn block(&self, hash: BlockHash) -> ChainFuture<'_, Option<Block>>;

    /// A transaction by id, from the mempool or (where the backend indexes it) the chain;
    /// `None` if the backend does not know it. Without `-txindex`, Bitcoin Core only finds
    /// mempool transactions: use the block follower's watch list for confirmations.
    fn transaction(&self, txid: Txid) -> ChainFuture<'_, Option<TxLookup>>;

    /// An unspent output, counting the mempool's spends and outputs when `include_mempool`;
    /// `None` if it does not exist or is spent.
    fn unspent_output(
        &self,
        outpoint: OutPoint,
        include_mempool: bool,
    ) -> ChainFuture<'_, Option<UnspentOutput>>;

    /// The ids of the transactions in the mempool.
    fn mempool_txids(&self) -> ChainFuture<'_, Vec<Txid>>;
}

/// Hands transactions to the network.
pub trait Broadcaster: Send + Sync {
    /// Submits `tx` to the mempool. Errors: [`Error::TxRejected`] (with the backend's
    /// reason), [`Error::TxInputsMissingOrSpent`] / [`Error::TxConflict`] (a double spend: see
    /// [`Error::is_double_spend`]), [`Error::TxAlreadyInMempool`] / [`Error::TxAlreadyInChain`] (goal already met:
    /// see [`Error::is_already_known`]), [`Error::Connection`] (retry later).
    fn broadcast<'a>(&'a self, tx: &'a Transaction) -> ChainFuture<'a, Txid>;
}

/// Estimates feerates.
pub trait FeeEstimator: Send + Sync {
    /// The feerate that should confirm within `target_blocks` blocks, never below
    /// [`FeeratePerKw::MIN_RELAY`] (253 sat/kw) nor the backend's mempool minimum. When the
    /// backend has no estimate (e.g. a fresh regtest chain) this is the implementation's
    /// configured fallback.
    fn estimate_feerate(&self, target_blocks: u16) -> ChainFuture<'_, FeeratePerKw>;
}

/// Converts a Bitcoin Core feerate in BTC/kvB to sat/kw, rounding up, applying the
/// 253 sat/kw floor. `None` for a negative or non-finite value.
pub fn feerate_from_btc_per_kvb(btc_per_kvb: f64) -> Option<FeeratePerKw> {
    if !btc_per_kvb.is_finite() || btc_per_kvb < 0.0 {
        return None;
    }
    // 1 kvB = 4 kw, so sat/kvB / 4 = sat/kw.
    let sat_per_kw = (btc_per_kvb * 100_000_000.0 / 4.0).ceil();
    let clamped = if sat_per_kw >= f64::from(u32::MAX) { u32::MAX } else { sat_per_kw as u32 };
    Some(FeeratePerKw(clamped.max(FeeratePerKw::MIN_RELAY.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btc_per_kvb_conversion_floors_at_253() {
        // 0.00001 BTC/kvB = 1 sat/vB = 250 sat/kw: below the floor.
        assert_eq!(feerate_from_btc_per_kvb(0.00001), Some(FeeratePerKw(253)));
        // 0.0002 BTC/kvB = 20 sat/vB = 5000 sat/kw.
        assert_eq!(feerate_from_btc_per_kvb(0.0002), Some(FeeratePerKw(5000)));
        // Rounds up: 0.00001013 BTC/kvB = 1013 sat/kvB = 253.25 sat/kw -> 254.
        assert_eq!(feerate_from_btc_per_kvb(0.00001013), Some(FeeratePerKw(254)));
        assert_eq!(feerate_from_btc_per_kvb(-1.0), None);
        assert_eq!(feerate_from_btc_per_kvb(f64::NAN), None);
        assert_eq!(feerate_from_btc_per_kvb(1e30), Some(FeeratePerKw(u32::MAX)));
    }
}
