//! The channel manager on the embedded regtest chain, through the node's chain backend and
//! wallet: a wallet-funded channel confirms and becomes ready on both sides, HTLCs move,
//! the fundee restarts and the channel comes back, a cooperative close returns the funds
//! to both wallets, and after a force close the monitors sweep both sides' outputs.

mod channels_harness;

use std::sync::Arc;

use bitcoin::Amount;
use channels_harness::*;
use shandian_node::channels::OpenedChannel;
use shandian_node::store::Store;
use shandian_regtest::RegtestChain;
use shandian_types::Msat;

/// A funds its wallet, connects to B and opens a confirmed, ready channel with it.
async fn open_ready(chain: &Arc<RegtestChain>, a: &RegtestNode, b: &RegtestNode) -> OpenedChannel {
    fund_wallet(chain, a, &[b]).await;
    a.connect(b).await;
    let before = a.chain.balance().await.total();
    let opened = a.channels.open_channel(b.id(), FUNDING, Msat::ZERO, false).await.expect("opens");
    assert_eq!(a.chain.confirmations(&opened.funding_txid).await, Some(0), "broadcast");
    mine(chain, &[a, b], 3, &foreign_script()).await;
    let spent = before - a.chain.balance().await.total();
    assert!(
        spent > FUNDING && spent < FUNDING + Amount::from_sat(10_000),
        "funding + fee: {spent}"
    );
    let id = opened.channel_id;
    for node in [a, b] {
        let info = node.wait_channel(&id, "normal", |c| c.state == "normal").await;
        assert!(info.short_channel_id.is_some());
        assert_eq!(info.funding_txid, Some(opened.funding_txid.to_string()));
        node.wait_usable_with_policy(id).await;
    }
    opened
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_funded_channel_pays_restarts_and_closes_cooperatively() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = RegtestNode::start(&chain, &a_dir).await;
    let b = RegtestNode::start(&chain, &b_dir).await;
    let id = open_ready(&chain, &a, &b).await.channel_id;

    for n in 1..=3 {
        let p = preimage(n);
        b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
        a.offer(id, Msat(100_000_000), p.hash()).await;
    }
    a.wait_seen("3 fulfilled", |s| s.fulfilled.len() == 3).await;
    b.wait_channel(&id, "settled", |c| c.local_msat == 300_000_000).await;

    // Restart B on the same port: A redials it and the channel is re-established.
    let listen = b.node.node.listen_addr();
    b.stop().await;
    let mut config = node_config(&b_dir);
    config.listen = listen;
    let b = RegtestNode::start_with(&chain, &b_dir, config).await;
    b.wait_channel(&id, "restored", |c| c.state == "normal" && c.local_msat == 300_000_000).await;
    b.wait_usable_with_policy(id).await;
    a.wait_usable_with_policy(id).await;

    // Cooperative close: B's 300,000 sat come back to its wallet whole (the funder pays the
    // fee), A's remainder to A's.
    let (a_before, b_before) = (a.chain.balance().await.total(), b.chain.balance().await.total());
    let closing = a.channels.close_channel(id, false).await.expect("closes");
    mine(&chain, &[&a, &b], 1, &foreign_script()).await;
    assert_eq!(a.chain.confirmations(&closing.closing_txid).await, Some(1));
    for node in [&a, &b] {
        node.wait_channel(&id, "closed", |c| c.state == "closed").await;
    }
    assert_eq!(b.chain.balance().await.total() - b_before, Amount::from_sat(300_000));
    let a_gain = a.chain.balance().await.total() - a_before;
    assert!(a_gain > Amount::from_sat(690_000) && a_gain < Amount::from_sat(700_000), "{a_gain}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_close_confirms_and_the_monitor_sweeps_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let a = RegtestNode::start(&chain, &dir.path().join("a")).await;
    let b = RegtestNode::start(&chain, &dir.path().join("b")).await;
    let id = open_ready(&chain, &a, &b).await.channel_id;
    let p = preimage(9);
    b.seen.0.lock().unwrap().preimages.insert(p.hash(), p);
    a.offer(id, Msat(50_000_000), p.hash()).await;
    a.wait_seen("fulfilled", |s| s.fulfilled.len() == 1).await;
    b.wait_channel(&id, "settled", |c| c.local_msat == 50_000_000).await;

    let (a_before, b_before) = (a.chain.balance().await.total(), b.chain.balance().await.total());
    let closing = a.channels.close_channel(id, true).await.expect("force closes");
    a.wait_channel(&id, "closed", |c| c.state == "closed").await;
    mine(&chain, &[&a, &b], 1, &foreign_script()).await;
    assert_eq!(a.chain.confirmations(&closing.closing_txid).await, Some(1), "commitment mined");
    b.wait_channel(&id, "closed by the spend", |c| c.state == "closed").await;
    for node in [&a, &b] {
        let store = Store::open(&node.dir).unwrap();
        assert!(store.load_channels().unwrap().is_empty());
        assert_eq!(store.archived_channels().unwrap().len(), 1);
    }

    // The monitors: B takes its to_remote at once, A its to_local after B's to_self_delay.
    let a_claim = wait_claim(&a, "DelayedToLocal").await;
    let b_claim = wait_claim(&b, "ToRemote").await;
    let tip = chain.tip().height;
    mine(&chain, &[&a, &b], a_claim.valid_at.saturating_sub(tip) + 2, &foreign_script()).await;
    for (node, claim) in [(&a, &a_claim), (&b, &b_claim)] {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !node.monitor.status().await.iter().flat_map(|s| &s.claims).any(|c| {
            c.txid == claim.txid && c.status == shandian_node::store::ClaimStatus::Confirmed
        }) {
            assert!(tokio::time::Instant::now() < deadline, "claim {} never confirmed", claim.kind);
            mine(&chain, &[&a, &b], 1, &foreign_script()).await;
        }
    }
    // What each wallet got back: B its 50,000 sat less the sweep fee, A the rest of the
    // channel less the commitment and sweep fees.
    assert_eq!(b.chain.balance().await.total() - b_before, b_claim.amount);
    assert!(b_claim.amount > Amount::from_sat(49_000) && b_claim.amount < Amount::from_sat(50_000));
    assert_eq!(a.chain.balance().await.total() - a_before, a_claim.amount);
    assert!(a_claim.amount > Amount::from_sat(940_000), "{a_claim:?}");
    a.stop().await;
    b.stop().await;
}

/// Waits until the node's monitor has a claim of `kind`.
async fn wait_claim(node: &RegtestNode, kind: &str) -> shandian_node::onchain::ClaimInfo {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = node.monitor.status().await;
        if let Some(claim) = status.iter().flat_map(|s| &s.claims).find(|c| c.kind == kind) {
            return claim.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no {kind} claim: {status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
