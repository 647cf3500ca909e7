//! The start-up check for funding outputs spent while the node was down, on the in-memory
//! chain: a channel whose funding is located only after the start (the backend could not
//! place it at first) is checked once located, and closed; and a spend confirmed while the
//! check is under way reaches the manager both in its block and from the check, and the
//! channel closes once.

// Shared with other tests; this one uses part of it.
#[allow(dead_code)]
mod channels_harness {
    pub mod flaky_chain;
    pub mod handler;
    pub mod memory_chain;
    pub mod memory_pair;
    pub mod node;
    #[path = "../common/regtest_chain.rs"]
    pub mod regtest_chain;
}

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use channels_harness::flaky_chain::FlakyChain;
use channels_harness::memory_chain::MemoryChain;
use channels_harness::memory_pair::ready_pair;
use channels_harness::node::TestNode;
use channels_harness::regtest_chain::{node_config, WAIT};
use shandian_node::store::Store;
use shandian_types::ChannelId;

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
    let slow = FlakyChain::gated(chain.clone(), 3, 1_000);
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
    let slow = FlakyChain::gated(chain.clone(), 0, 0);
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
    slow.open_gate(1_000);
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
