//! A batch whose records cannot be stored must not commit: an HTLC offered in it must never
//! leave without the payment attempt that tracks it (DESIGN.md §4, persist before you
//! speak). `execute_durable` fails the whole batch on a store error and stops the manager;
//! the channel state from before the batch is what a restart finds.

// Shared with other tests; this one uses little of it.
#[allow(dead_code)]
mod channels_harness {
    pub mod handler;
    pub mod memory_chain;
    pub mod node;
    #[path = "../common/regtest_chain.rs"]
    pub mod regtest_chain;
}

use std::sync::Arc;

use channels_harness::memory_chain::MemoryChain;
use channels_harness::node::TestNode;
use channels_harness::regtest_chain::node_config;
use shandian_node::channels::ChannelsError;
use shandian_node::store::StoreError;
use shandian_types::PaymentHash;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_error_in_a_durable_batch_stops_the_manager_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = TestNode::start_with_chain(dir.path(), node_config(dir.path()), chain.clone()).await;
    // A plain job's result comes back after the commit.
    assert_eq!(a.channels.execute(|ops| ops.channels().len()).await.unwrap(), 0);
    let answer = a
        .channels
        .execute_durable(|ops| {
            // A store error inside the batch (no such payment): the batch must not commit.
            ops.store().fail_payment(&PaymentHash([7; 32]), "x", ops.now())?;
            Ok::<(), StoreError>(())
        })
        .await;
    assert!(matches!(answer, Err(ChannelsError::Stopped)), "{answer:?}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !a.channels.is_stopped() {
        assert!(tokio::time::Instant::now() < deadline, "the manager kept running");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(a.channels.execute(|_| ()).await.is_err(), "no batch runs after the failure");
    a.node.shutdown().await;
}
