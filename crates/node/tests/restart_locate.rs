//! A restarted node whose chain backend cannot place a channel's funding transaction at
//! start (still starting, a call timing out under load) still gets the channel back: it
//! looks the funding up again until found, learns its short channel id, and exchanges
//! `channel_update`s, so HTLCs flow again (no new block is needed for that).

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

use std::sync::Arc;

use channels_harness::flaky_chain::FlakyChain;
use channels_harness::handler::preimage;
use channels_harness::memory_chain::MemoryChain;
use channels_harness::memory_pair::ready_pair;
use channels_harness::node::TestNode;
use channels_harness::regtest_chain::node_config;
use shandian_types::Msat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funding_not_found_at_restart_is_found_later_and_the_channel_works() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a, b, id) = ready_pair(dir.path(), &chain).await;
    let scid = b.channel(&id).await.unwrap().short_channel_id;

    // B restarts on the same port; its backend misses the first three lookups.
    let listen = b.node.listen_addr();
    let b_dir = b.dir.clone();
    b.stop().await;
    let mut config = node_config(&b_dir);
    config.listen = listen;
    let forgetful = FlakyChain::new(chain.clone(), 3);
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
