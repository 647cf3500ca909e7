//! The memory chain behind a backend that misbehaves the way a real one can at start: the
//! first few funding position lookups find nothing (the backend is still starting, or a call
//! timed out), and spend lookups may wait at a gate the test opens. It counts the spend
//! lookups asked and answered "spent".

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, Txid};
use shandian_chain::{ChainEvent, FundingTx};
use shandian_node::channels::{ChainCall, ChainOpError, ChannelChain};
use shandian_node::onchain::SpendLookup;
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::{mpsc, Semaphore};

use super::memory_chain::MemoryChain;

/// See the module docs.
pub struct FlakyChain {
    inner: Arc<MemoryChain>,
    /// Position lookups still to miss.
    misses: AtomicU32,
    /// Spend lookups wait here when set; each takes one permit for good.
    gate: Option<Semaphore>,
    /// Spend lookups started.
    pub asked: AtomicU32,
    /// Spend lookups answered "spent".
    pub spent: AtomicU32,
}

impl FlakyChain {
    /// `inner`, except that the first `misses` position lookups find nothing.
    pub fn new(inner: Arc<MemoryChain>, misses: u32) -> Arc<FlakyChain> {
        Arc::new(FlakyChain::build(inner, misses, None))
    }

    /// Like [`FlakyChain::new`], and spend lookups wait for a permit of a gate holding
    /// `permits`.
    pub fn gated(inner: Arc<MemoryChain>, misses: u32, permits: usize) -> Arc<FlakyChain> {
        Arc::new(FlakyChain::build(inner, misses, Some(Semaphore::new(permits))))
    }

    fn build(inner: Arc<MemoryChain>, misses: u32, gate: Option<Semaphore>) -> FlakyChain {
        let (asked, spent) = (AtomicU32::new(0), AtomicU32::new(0));
        FlakyChain { inner, misses: AtomicU32::new(misses), gate, asked, spent }
    }

    /// Lets `permits` more spend lookups through the gate.
    pub fn open_gate(&self, permits: usize) {
        self.gate.as_ref().expect("a gated chain").add_permits(permits);
    }
}

impl ChannelChain for FlakyChain {
    fn subscribe(&self) -> mpsc::UnboundedReceiver<ChainEvent> {
        self.inner.subscribe()
    }
    fn best_height(&self) -> ChainCall<'_, BlockHeight> {
        self.inner.best_height()
    }
    fn fund(
        &self,
        script: ScriptBuf,
        amount: Amount,
    ) -> ChainCall<'_, Result<FundingTx, ChainOpError>> {
        self.inner.fund(script, amount)
    }
    fn abandon(&self, txid: Txid) -> ChainCall<'_, ()> {
        self.inner.abandon(txid)
    }
    fn broadcast(&self, tx: Transaction) -> ChainCall<'_, Result<(), ChainOpError>> {
        self.inner.broadcast(tx)
    }
    fn watch_tx(&self, txid: Txid) -> ChainCall<'_, ()> {
        self.inner.watch_tx(txid)
    }
    fn watch_output(&self, outpoint: OutPoint) -> ChainCall<'_, ()> {
        self.inner.watch_output(outpoint)
    }
    fn transaction_position(
        &self,
        txid: Txid,
    ) -> ChainCall<'_, Option<(Transaction, BlockHeight, u32)>> {
        let miss =
            self.misses.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| m.checked_sub(1));
        if miss.is_ok() {
            return Box::pin(async { None });
        }
        self.inner.transaction_position(txid)
    }
    fn find_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> ChainCall<'_, Result<SpendLookup, ChainOpError>> {
        Box::pin(async move {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.acquire().await.expect("gate open").forget();
            }
            let found = self.inner.find_spend(outpoint, from).await;
            if matches!(found, Ok(SpendLookup::Spent { .. })) {
                self.spent.fetch_add(1, Ordering::SeqCst);
            }
            found
        })
    }
    fn feerate(&self) -> ChainCall<'_, FeeratePerKw> {
        self.inner.feerate()
    }
    fn shutdown_script(&self) -> ChainCall<'_, Result<ScriptBuf, ChainOpError>> {
        self.inner.shutdown_script()
    }
}
