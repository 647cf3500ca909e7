//! The start-up check for funding outputs spent while the node was down, on the in-memory
//! chain: a channel whose funding is located only after the start (the backend could not
//! place it at first) is checked once located, and closed; and a spend confirmed while the
//! check is under way reaches the manager both in its block and from the check, and the
//! channel closes once.

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
use std::time::Duration;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, Txid};
use channels_harness::memory_chain::MemoryChain;
use channels_harness::node::TestNode;
use channels_harness::regtest_chain::{node_config, WAIT};
use shandian_chain::{ChainEvent, FundingTx};
use shandian_node::channels::{ChainCall, ChainOpError, ChannelChain};
use shandian_node::onchain::SpendLookup;
use shandian_node::store::Store;
use shandian_types::{BlockHeight, ChannelId, FeeratePerKw, Msat};
use tokio::sync::{mpsc, Semaphore};

/// The memory chain, except that the first `misses` position lookups find nothing, and
/// spend lookups wait for a permit of `gate`.
struct Slow {
    inner: Arc<MemoryChain>,
    misses: AtomicU32,
    gate: Semaphore,
    /// Spend lookups started, and answered "spent".
    asked: AtomicU32,
    spent: AtomicU32,
}

impl Slow {
    fn new(inner: Arc<MemoryChain>, misses: u32, permits: usize) -> Arc<Slow> {
        Arc::new(Slow {
            inner,
            misses: AtomicU32::new(misses),
            gate: Semaphore::new(permits),
            asked: AtomicU32::new(0),
            spent: AtomicU32::new(0),
        })
    }
}

impl ChannelChain for Slow {
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
            self.gate.acquire().await.expect("gate open").forget();
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

/// A and B on `chain` with a ready channel A opened.
async fn ready_pair(
    dir: &std::path::Path,
    chain: &Arc<MemoryChain>,
) -> (TestNode, TestNode, ChannelId) {
    let (a_dir, b_dir) = (dir.join("a"), dir.join("b"));
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
    (a, b, id)
}

/// A force-closes and its commitment is mined.
async fn force_close(a: &TestNode, chain: &MemoryChain, id: ChannelId) {
    let closing = a.channels.close_channel(id, true).await.expect("force closes");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !chain.in_mempool(&closing.closing_txid) {
        assert!(tokio::time::Instant::now() < deadline, "the commitment was never broadcast");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    chain.mine();
    assert!(chain.confirmed(&closing.closing_txid));
}

/// B closed the channel because its funding was spent, and recorded it for the monitor
/// once.
fn assert_closed_once(b: &TestNode, id: ChannelId) {
    let store = Store::open(&b.dir).unwrap();
    assert!(store.load_channels().unwrap().is_empty());
    assert_eq!(store.archived_channels().unwrap().len(), 1);
    let closed = store.closed_channels().unwrap();
    let [closed] = &closed[..] else { panic!("recorded once: {closed:?}") };
    assert_eq!(closed.channel_id, id);
    assert!(closed.reason.contains("FundingSpent"), "{}", closed.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funding_located_late_is_checked_then_and_its_spend_closes_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a, b, id) = ready_pair(dir.path(), &chain).await;
    let b_dir = b.dir.clone();
    b.stop().await;
    force_close(&a, &chain, id).await;
    chain.mine();

    // B's backend cannot place the funding at first: the check comes once it is located.
    let slow = Slow::new(chain.clone(), 3, 1_000);
    let b = TestNode::start_with_chain(&b_dir, node_config(&b_dir), slow.clone()).await;
    b.wait_channel(&id, "closed by the old spend", |c| c.state == "closed").await;
    assert_eq!(slow.spent.load(Ordering::SeqCst), 1);
    assert_closed_once(&b, id);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spend_confirmed_during_the_check_closes_the_channel_once() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a, b, id) = ready_pair(dir.path(), &chain).await;
    let b_dir = b.dir.clone();
    b.stop().await;

    // B restarts with the funding unspent; its check waits at the gate.
    let slow = Slow::new(chain.clone(), 0, 0);
    let b = TestNode::start_with_chain(&b_dir, node_config(&b_dir), slow.clone()).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while slow.asked.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the start-up check never asked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.wait_channel(&id, "restored", |c| c.state == "normal").await;
    // The spend confirms now: B's manager sees it in its block...
    force_close(&a, &chain, id).await;
    b.wait_channel(&id, "closed by the spend", |c| c.state == "closed").await;
    // ... and then the check finds it too: nothing more happens.
    slow.gate.add_permits(1_000);
    let deadline = tokio::time::Instant::now() + WAIT;
    while slow.spent.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the check never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.wait_channel(&id, "still closed", |c| c.state == "closed").await;
    assert_closed_once(&b, id);
    a.stop().await;
    b.stop().await;
}
