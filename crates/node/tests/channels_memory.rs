//! The channel manager between two nodes over real TCP, on an in-memory chain (fast; the
//! wallet and the real chain are covered by `channels.rs`): opening, readiness and the
//! channel_update exchange, batched HTLCs, reconnection, restart, and both kinds of close.

// Shared with other tests; each uses part of it.
#[allow(dead_code)]
mod channels_harness {
    pub mod handler;
    pub mod memory_chain;
    pub mod node;
    #[path = "../common/regtest_chain.rs"]
    pub mod regtest_chain;
}

use std::sync::Arc;

use bitcoin::Amount;
use channels_harness::handler::preimage;
use channels_harness::memory_chain::MemoryChain;
use channels_harness::node::{new_htlc, TestNode};
use channels_harness::regtest_chain::node_config;
use shandian_node::channels::{ChannelsError, OpenedChannel, RelayFeesChange};
use shandian_node::store::Store;
use shandian_types::{ChannelId, CltvExpiry, CltvExpiryDelta, Msat};

const FUNDING: Amount = Amount::from_sat(1_000_000);

async fn start(chain: &Arc<MemoryChain>, dir: &std::path::Path) -> TestNode {
    TestNode::start_with_chain(dir, node_config(dir), chain.clone()).await
}

/// A opens a channel with B, the funding confirms, both sides are ready and have each
/// other's channel_update.
async fn open_ready(chain: &MemoryChain, a: &TestNode, b: &TestNode, push: Msat) -> OpenedChannel {
    open_ready_with(chain, a, b, push, false).await
}

/// [`open_ready`], choosing whether the channel is announced.
async fn open_ready_with(
    chain: &MemoryChain,
    a: &TestNode,
    b: &TestNode,
    push: Msat,
    public: bool,
) -> OpenedChannel {
    a.connect(b).await;
    let opened = a.channels.open_channel(b.id(), FUNDING, push, public).await.expect("opens");
    assert!(chain.in_mempool(&opened.funding_txid), "funding broadcast before the answer");
    for _ in 0..3 {
        chain.mine();
    }
    let id = opened.channel_id;
    for node in [a, b] {
        let info = node.wait_channel(&id, "normal", |c| c.state == "normal").await;
        assert_eq!(info.capacity_sat, FUNDING.to_sat());
        assert!(info.short_channel_id.is_some());
        node.wait_usable_with_policy(id).await;
    }
    opened
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_pay_batched_and_close_cooperatively() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = start(&chain, &dir.path().join("a")).await;
    let b = start(&chain, &dir.path().join("b")).await;

    let err = a.channels.open_channel(b.id(), FUNDING, Msat::ZERO, false).await.unwrap_err();
    assert!(matches!(err, ChannelsError::PeerNotConnected(p) if p == b.id()), "{err}");
    let err = a.channels.open_channel(b.id(), Amount::from_sat(1000), Msat::ZERO, true).await;
    assert!(matches!(err, Err(ChannelsError::AmountOutOfRange { .. })));

    let id = open_ready(&chain, &a, &b, Msat::ZERO).await.channel_id;
    let view = a.channels.execute(move |ops| ops.channel(&id)).await.unwrap().unwrap();
    assert_eq!(view.remote_policy.unwrap().base_fee, Msat(1000), "B's configured fee");
    assert_eq!(view.local_policy.htlc_maximum, Msat(FUNDING.to_sat() * 1000));
    assert!(!view.public);
    assert!(view.outbound > Msat(900_000_000) && view.inbound == Msat::ZERO, "{view:?}");
    let by_scid = a
        .channels
        .execute(move |ops| ops.channel_by_scid(view.short_channel_id.unwrap()))
        .await
        .unwrap();
    assert_eq!(by_scid.map(|s| s.channel_id), Some(id));

    // 20 HTLCs offered in one batch share their commitments: B fulfils them all.
    let count = 20u8;
    for n in 1..=count {
        let p = preimage(n);
        b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    }
    let seq_before = a.update_seq(&id);
    let amount = Msat(10_000_000);
    a.channels
        .execute(move |ops| {
            let expiry = CltvExpiry(ops.best_block().0 + 100);
            for n in 1..=count {
                ops.add_htlc(&id, new_htlc(amount, preimage(n).hash(), expiry)).expect("offered");
            }
        })
        .await
        .unwrap();
    a.wait_seen("20 fulfilled", |s| s.fulfilled.len() == usize::from(count)).await;
    let writes = a.update_seq(&id) - seq_before;
    assert!(writes < 10, "20 HTLCs took {writes} channel writes: not batched");
    let paid = amount.0 * u64::from(count);
    let info = b.wait_channel(&id, "settled", |c| c.local_msat == paid).await;
    assert_eq!(b.seen.0.lock().unwrap().incoming.len(), usize::from(count));
    // Balances before the commitment fee, which the funder pays out of its output.
    assert_eq!(info.local_msat + info.remote_msat, info.capacity_sat * 1000);

    // An HTLC B cannot settle is failed back to A.
    a.offer(id, Msat(3_000_000), preimage(99).hash()).await;
    a.wait_seen("failed back", |s| s.failed.len() == 1).await;

    let closing = a.channels.close_channel(id, false).await.expect("closes");
    assert_eq!(closing.channel_id, id);
    assert!(chain.in_mempool(&closing.closing_txid));
    for node in [&a, &b] {
        let info = node.wait_channel(&id, "closed", |c| c.state == "closed").await;
        assert_eq!(info.closing_txid, Some(closing.closing_txid.to_string()));
    }
    let err = a.channels.close_channel(id, false).await.unwrap_err();
    assert!(matches!(err, ChannelsError::UnknownChannel(_)), "{err}");
    chain.mine();
    // Archived on both sides: nothing to restore.
    for node in [&a, &b] {
        let store = Store::open(&node.dir).unwrap();
        assert!(store.load_channels().unwrap().is_empty());
        assert_eq!(store.archived_channels().unwrap().len(), 1);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_and_restart_keep_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = start(&chain, &a_dir).await;
    let b = start(&chain, &b_dir).await;
    let id = open_ready_with(&chain, &a, &b, Msat(100_000_000), true).await.channel_id;
    // The peer we dialled is remembered with its address as soon as the channel exists.
    let peers = Store::open(&a_dir).unwrap().peers().unwrap();
    let expected = b.node.listen_addr().to_string();
    assert!(peers.iter().any(|p| p.address.as_deref() == Some(expected.as_str())), "{peers:?}");
    let p = preimage(1);
    b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    a.offer(id, Msat(5_000_000), p.hash()).await;
    a.wait_seen("first fulfilled", |s| s.fulfilled.len() == 1).await;

    // Reconnection: both sides re-establish and HTLCs flow again, both ways.
    a.node.disconnect(b.id()).unwrap();
    a.connect(&b).await;
    a.wait_usable_with_policy(id).await;
    b.wait_usable_with_policy(id).await;
    let p2 = preimage(2);
    a.seen.0.lock().unwrap().preimages.insert(p2.hash(), p2);
    b.offer(id, Msat(6_000_000), p2.hash()).await;
    b.wait_seen("B's payment fulfilled", |s| s.fulfilled.len() == 1).await;

    // Restart A (the one that dialled): it restores the channel, redials B from the stored
    // address, and the channel comes back through channel_reestablish.
    let settled = |c: &shandian_node::channels::ChannelInfo| {
        (c.local_msat, c.remote_msat) == (901_000_000, 99_000_000)
    };
    let before = a.wait_channel(&id, "settled", settled).await;
    a.stop().await;
    let a = start(&chain, &a_dir).await;
    let after = a.wait_channel(&id, "restored", |c| c.state == "normal").await;
    assert_eq!((after.local_msat, after.remote_msat), (before.local_msat, before.remote_msat));
    assert!(!before.private && !after.private, "announced before and after the restart");
    a.wait_usable_with_policy(id).await;
    assert_eq!(a.channel(&id).await.unwrap().short_channel_id, before.short_channel_id);
    let p3 = preimage(3);
    b.seen.0.lock().unwrap().preimages.insert(p3.hash(), p3);
    a.offer(id, Msat(7_000_000), p3.hash()).await;
    a.wait_seen("fulfilled after restart", |s| s.fulfilled.len() == 1).await;

    // Restart B with an HTLC it received but could not settle yet: after the restart its
    // handler is handed the HTLC again and settles it.
    let p4 = preimage(4);
    a.offer(id, Msat(8_000_000), p4.hash()).await;
    b.wait_seen("htlc arrived", |s| s.incoming.iter().any(|i| i.2 == Msat(8_000_000))).await;
    // B failed it (no preimage); A sees the failure.
    a.wait_seen("failed", |s| s.failed.len() == 1).await;
    b.stop().await;
    let b = TestNode::start_with_chain(
        &b_dir,
        {
            let mut c = node_config(&b_dir);
            c.listen = b.node.listen_addr();
            c
        },
        chain.clone(),
    )
    .await;
    b.wait_channel(&id, "restored", |c| c.state == "normal").await;
    b.wait_usable_with_policy(id).await;
    a.wait_usable_with_policy(id).await;
    let p5 = preimage(5);
    b.seen.0.lock().unwrap().preimages.insert(p5.hash(), p5);
    a.offer(id, Msat(9_000_000), p5.hash()).await;
    a.wait_seen("fulfilled after B restarted", |s| s.fulfilled.len() == 2).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_close_broadcasts_the_commitment_and_the_peer_sees_the_spend() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = start(&chain, &dir.path().join("a")).await;
    let b = start(&chain, &dir.path().join("b")).await;
    let id = open_ready(&chain, &a, &b, Msat::ZERO).await.channel_id;
    let p = preimage(9);
    b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    a.offer(id, Msat(50_000_000), p.hash()).await;
    a.wait_seen("fulfilled", |s| s.fulfilled.len() == 1).await;

    let closing = a.channels.close_channel(id, true).await.expect("force closes");
    a.wait_channel(&id, "closed", |c| c.state == "closed").await;
    assert!(chain.in_mempool(&closing.closing_txid));
    let usable = a.channels.execute(move |ops| ops.channel(&id)).await.unwrap();
    assert!(usable.is_none(), "a closed channel is not offered to the payment logic");
    chain.mine();
    assert!(chain.confirmed(&closing.closing_txid));
    b.wait_channel(&id, "closed by the spend", |c| c.state == "closed").await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_opens_respect_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = start(&chain, &dir.path().join("a")).await;
    let b_dir = dir.path().join("b");
    let mut config = node_config(&b_dir);
    config.channels.max_channel_size = Amount::from_sat(500_000);
    let b = TestNode::start_with_chain(&b_dir, config, chain.clone()).await;
    a.connect(&b).await;
    // A allows 1M sat; B refuses more than 500k: A's open fails with B's reason.
    let err = a.channels.open_channel(b.id(), FUNDING, Msat::ZERO, true).await.unwrap_err();
    assert!(matches!(err, ChannelsError::ChannelClosed { .. }), "{err}");
    let ok = a.channels.open_channel(b.id(), Amount::from_sat(400_000), Msat::ZERO, true).await;
    let id: ChannelId = ok.expect("within B's limits").channel_id;
    // The refused channel was never funded: forgotten on both sides.
    assert_eq!(a.channels.list_channels().await.len(), 1);
    assert_eq!(b.channels.list_channels().await.len(), 1);
    for _ in 0..3 {
        chain.mine();
    }
    let info = b.wait_channel(&id, "normal", |c| c.state == "normal").await;
    assert!(!info.private, "announce flag carried to the acceptor");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_payments_both_ways_all_settle() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = start(&chain, &dir.path().join("a")).await;
    let b = start(&chain, &dir.path().join("b")).await;
    let id = open_ready(&chain, &a, &b, Msat(500_000_000)).await.channel_id;
    let per_side = 100u64;
    // Above the dust limit: each HTLC is an output of both commitments.
    let amount = Msat(3_000_000);
    // Preimages: A's payments are 1..=100 (B knows them), B's 101..=200 (A knows them).
    let preimage_of = |n: u64| {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        shandian_types::PaymentPreimage(bytes)
    };
    for n in 1..=per_side * 2 {
        let p = preimage_of(n);
        let knower = if n <= per_side { &b } else { &a };
        knower.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    }
    let mut sends = Vec::new();
    for n in 1..=per_side * 2 {
        let channels = if n <= per_side { a.channels.clone() } else { b.channels.clone() };
        let hash = preimage_of(n).hash();
        sends.push(tokio::spawn(async move {
            channels
                .execute(move |ops| {
                    let expiry = CltvExpiry(ops.best_block().0 + 100);
                    ops.add_htlc(&id, new_htlc(amount, hash, expiry))
                })
                .await
        }));
    }
    for send in sends {
        send.await.unwrap().unwrap().expect("offered");
    }
    a.wait_seen("A's all fulfilled", |s| s.fulfilled.len() == per_side as usize).await;
    b.wait_seen("B's all fulfilled", |s| s.fulfilled.len() == per_side as usize).await;
    // Both ways the same amount: the balances end where they started.
    for node in [&a, &b] {
        node.wait_channel(&id, "settled", |c| {
            (c.local_msat, c.remote_msat) == (500_000_000, 500_000_000)
        })
        .await;
    }
    let seen = a.seen.0.lock().unwrap();
    assert!(seen.failed.is_empty() && seen.dropped.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_stops_the_manager_and_the_node_without_speaking() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let a = start(&chain, &dir.path().join("a")).await;
    let b_dir = dir.path().join("b");
    let b = start(&chain, &b_dir).await;
    let id = open_ready(&chain, &a, &b, Msat::ZERO).await.channel_id;
    let seq = b.update_seq(&id);
    b.seen.0.lock().unwrap().fail_store = true;
    let p = preimage(1);
    b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    a.offer(id, Msat(5_000_000), p.hash()).await;
    // B's batch that locks the HTLC in fails: B stops, and its node with it.
    let deadline = tokio::time::Instant::now() + channels_harness::regtest_chain::WAIT;
    while !b.channels.is_stopped() {
        assert!(tokio::time::Instant::now() < deadline, "manager kept running");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let err = b.channels.execute(|ops| ops.best_block()).await.unwrap_err();
    assert!(matches!(err, ChannelsError::Stopped));
    // The node went down with it, and nothing of that batch was said: no fulfilment.
    while !b.node.peers().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "node kept its peers");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(a.seen.0.lock().unwrap().fulfilled.is_empty());
    assert!(b.update_seq(&id) >= seq);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_s_own_fees_reach_the_peer_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::default());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = start(&chain, &a_dir).await;
    let b = start(&chain, &b_dir).await;
    let id = open_ready(&chain, &a, &b, Msat::ZERO).await.channel_id;
    let configured = node_config(&a_dir).channels.relay;
    let policy_of = |node: &TestNode| {
        let channels = node.channels.clone();
        async move { channels.execute(move |ops| ops.channel(&id)).await.unwrap().unwrap() }
    };
    assert_eq!(policy_of(&b).await.remote_policy.unwrap().base_fee, configured.base_fee);

    // Only the base fee and the delta change; the proportional fee stays as configured.
    let change = RelayFeesChange {
        base_fee: Some(4321),
        proportional_millionths: None,
        cltv_expiry_delta: Some(CltvExpiryDelta(99)),
    };
    let policy = a.channels.set_relay_fees(id, change).await.unwrap();
    assert_eq!(policy.base_fee, Msat(4321));
    assert_eq!(policy.proportional_millionths, configured.proportional_millionths);
    assert_eq!(policy.cltv_expiry_delta, CltvExpiryDelta(99));
    assert_eq!(policy_of(&a).await.local_policy, policy);
    let fees = a.channel(&id).await.unwrap().fees.unwrap();
    assert_eq!((fees.base_msat, fees.cltv_expiry_delta), (4321, 99));
    // B takes the newer channel_update as the policy of A's direction.
    let deadline = tokio::time::Instant::now() + channels_harness::regtest_chain::WAIT;
    while policy_of(&b).await.remote_policy != Some(policy) {
        assert!(tokio::time::Instant::now() < deadline, "B never saw A's new fees");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // B's own direction is untouched.
    assert_eq!(policy_of(&b).await.local_policy.base_fee, configured.base_fee);

    let unknown = a.channels.set_relay_fees(ChannelId([9; 32]), change).await.unwrap_err();
    assert!(matches!(unknown, ChannelsError::UnknownChannel(_)), "{unknown}");

    // The fees are A's across a restart, and B is told them again.
    a.stop().await;
    let a = start(&chain, &a_dir).await;
    a.wait_usable_with_policy(id).await;
    assert_eq!(policy_of(&a).await.local_policy, policy);
    assert_eq!(policy_of(&b).await.remote_policy, Some(policy));
    a.stop().await;
    b.stop().await;
}
