//! Two test nodes on the in-memory chain with a ready channel between them, for tests that
//! then restart one of them.

use std::path::Path;
use std::sync::Arc;

use bitcoin::Amount;
use shandian_types::{ChannelId, Msat};

use super::memory_chain::MemoryChain;
use super::node::TestNode;
use super::regtest_chain::node_config;

/// A and B (in `dir`/a and `dir`/b) on `chain`, connected, with a channel A opened: its
/// funding is confirmed, both sides see it normal and usable with the other's policy.
pub async fn ready_pair(dir: &Path, chain: &Arc<MemoryChain>) -> (TestNode, TestNode, ChannelId) {
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
