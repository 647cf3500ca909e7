//! A restarted node whose chain backend cannot place a channel's funding transaction at
//! start (still starting, a call timing out under load) still gets the channel back: it
//! looks the funding up again until found, learns its short channel id, and exchanges
//! `channel_update`s, so HTLCs flow again (no new block is needed for that).

// Shared with other tests; this one uses part of it.
#[allow(dead_code)]
mod channels_harness {
    pub mod handler;
    pub mod memory_chain;
    pub mod node;
    #[path = "../common/regtest_chain.rs"]
    pub mod regtest_chain;
}

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, Txid};
use channels_harness::handler::preimage;
use channels_harness::memory_chain::MemoryChain;
use channels_harness::node::TestNode;
use channels_harness::regtest_chain::node_config;
use shandian_chain::{ChainEvent, FundingTx};
use shandian_node::channels::{ChainCall, ChainOpError, ChannelChain};
use shandian_node::onchain::SpendLookup;
use shandian_types::{BlockHeight, FeeratePerKw, Msat};
use tokio::sync::mpsc;

/// The memory chain, except that the first `misses` position lookups find nothing.
struct Forgetful {
    inner: Arc<MemoryChain>,
    misses: AtomicU32,
}

impl ChannelChain for Forgetful {
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
        self.inner.find_spend(outpoint, from)
    }
    fn feerate(&self) -> ChainCall<'_, FeeratePerKw> {
        self.inner.feerate()
    }
    fn shutdown_script(&self) -> ChainCall<'_, Result<ScriptBuf, ChainOpError>> {
        self.inner.shutdown_script()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funding_not_found_at_restart_is_found_later_and_the_channel_works() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = TestNode::start_with_chain(&a_dir, node_config(&a_dir), chain.clone()).await;
    let b = TestNode::start_with_chain(&b_dir, node_config(&b_dir), chain.clone()).await;
    a.connect(&b).await;
    let opened = a
        .channels
        .open_channel(b.id(), Amount::from_sat(1_000_000), Msat::ZERO, false)
        .await
        .expect("opens");
    for _ in 0..3 {
        chain.mine();
    }
    let id = opened.channel_id;
    for node in [&a, &b] {
        node.wait_channel(&id, "normal", |c| c.state == "normal").await;
        node.wait_usable_with_policy(id).await;
    }
    let scid = b.channel(&id).await.unwrap().short_channel_id;

    // B restarts on the same port; its backend misses the first three lookups.
    let listen = b.node.listen_addr();
    b.stop().await;
    let mut config = node_config(&b_dir);
    config.listen = listen;
    let forgetful = Arc::new(Forgetful { inner: chain.clone(), misses: AtomicU32::new(3) });
    let b = TestNode::start_with_chain(&b_dir, config, forgetful).await;
    b.wait_channel(&id, "the short channel id", |c| c.short_channel_id == scid).await;
    b.wait_usable_with_policy(id).await;
    a.wait_usable_with_policy(id).await;
    let p = preimage(1);
    b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    a.offer(id, Msat(5_000_000), p.hash()).await;
    a.wait_seen("fulfilled after the restart", |s| s.fulfilled.len() == 1).await;
    a.stop().await;
    b.stop().await;
}
