//! A simple fee estimator for `estimatesmartfee`: fee rates of the mempool and of the last
//! blocks, a higher percentile for a nearer confirmation target, never below 1 sat/vB.

use crate::mempool::Mempool;
use crate::policy::MIN_RELAY_FEE_PER_KVB;
use crate::view::ChainView;

/// How many recent blocks feed the estimate.
const HISTORY_BLOCKS: u32 = 10;

/// A fee estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeEstimate {
    /// Fee rate in sat per 1000 vB.
    pub feerate_per_kvb: u64,
    /// The confirmation target the estimate is for.
    pub blocks: u16,
}

pub(crate) fn estimate(view: &ChainView, mempool: &Mempool, target: u16) -> FeeEstimate {
    let blocks = target.clamp(1, 1008);
    let mut rates: Vec<u64> =
        mempool.entries_in_order().iter().map(|e| e.feerate_per_kvb()).collect();
    let tip = view.height();
    for h in tip.saturating_sub(HISTORY_BLOCKS - 1)..=tip {
        if let Some(meta) = view.meta(h) {
            rates.extend_from_slice(&meta.feerates);
        }
    }
    rates.sort_unstable();
    let percentile = match blocks {
        1..=2 => 90,
        3..=6 => 75,
        7..=24 => 50,
        _ => 25,
    };
    let index = rates.len().saturating_sub(1).saturating_mul(percentile) / 100;
    let picked = rates.get(index).copied().unwrap_or(MIN_RELAY_FEE_PER_KVB);
    FeeEstimate { feerate_per_kvb: picked.max(MIN_RELAY_FEE_PER_KVB), blocks }
}
