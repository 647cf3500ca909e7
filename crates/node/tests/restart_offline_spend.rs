//! A channel whose funding output was spent while our node was down is noticed when it
//! starts again (BOLT 5: the spend closes the channel, and its outputs are ours to claim):
//! Bob stops, and meanwhile
//! - Alice force-closes: Bob's channel closes at his restart and his monitor sweeps his
//!   to_remote output to his wallet;
//! - Charlie force-closes Bob–Charlie and takes Bob's HTLC with the preimage: Bob restarted
//!   learns the preimage from the chain and fulfils Alice upstream;
//! - Alice, restored from an old backup, broadcasts a revoked commitment: Bob restarted
//!   punishes her and takes the whole channel;
//! - Alice force-closes and the chain goes on deeper than the backend scans back: the
//!   channel still closes at Bob's restart (the log says the spend is out of reach).
//!
//! Over real TCP on the embedded regtest chain, each node with its channel manager, payments
//! and monitor.

mod onchain_net;
mod payments_harness;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Amount;
use onchain_net::*;
use payments_harness::*;
use shandian_node::onchain::{ClaimInfo, MAX_RESCAN_BLOCKS};
use shandian_node::store::{ClaimStatus, PaymentStatus, Store};
use shandian_regtest::RegtestChain;
use shandian_types::{ChannelId, Msat};

/// Blocks mined while Bob is down: more than the backend replays at start.
const DOWN_BLOCKS: u32 = 10;

/// Alice (funded) and Bob, connected, with a ready Alice–Bob channel.
async fn alice_and_bob(dir: &Path) -> (Arc<RegtestChain>, TestNode, TestNode, ChannelId) {
    let chain = RegtestChain::open(dir.join("chain")).unwrap();
    let alice = TestNode::start(&chain, &dir.join("alice")).await;
    let bob = TestNode::start(&chain, &dir.join("bob")).await;
    fund_wallet(&chain, &alice, &[&bob]).await;
    alice.connect(&bob).await;
    let ab = open(&chain, &[&alice, &bob], &alice, &bob, Msat::ZERO).await.channel_id;
    (chain, alice, bob, ab)
}

/// `from` pays a fresh invoice of `to` for `amount`, directly.
async fn pay(from: &TestNode, to: &TestNode, amount: Msat) {
    let invoice = to.payments.create_invoice(Some(amount), "x".into(), None).await.unwrap();
    from.payments.pay(&invoice.bolt11, None, PAY_TIMEOUT).await.expect("pays");
}

/// Waits until both sides' commitments give Bob `bob_msat` and carry no HTLC.
async fn wait_settled(alice: &TestNode, bob: &TestNode, channel: ChannelId, bob_msat: u64) {
    let id = channel.to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let a = alice.channels.list_channels().await;
        let b = bob.channels.list_channels().await;
        let a = a.iter().find(|c| c.channel_id == id);
        let b = b.iter().find(|c| c.channel_id == id);
        let settled = a.is_some_and(|a| a.remote_msat == bob_msat && a.htlcs == 0)
            && b.is_some_and(|b| b.local_msat == bob_msat && b.htlcs == 0);
        if settled {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never settled: {a:?} {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `node`'s monitor has seen the funding spend of `channel`, and checks that
/// the channel manager archived the channel; returns how it closed.
async fn wait_for_archived_close(node: &TestNode, channel: ChannelId) -> String {
    let close = wait_for_close(node, channel).await;
    let store = Store::open(&node.dir).unwrap();
    assert!(store.load_channels().unwrap().iter().all(|c| c.channel_id != channel));
    let archived = store.archived_channels().unwrap();
    assert!(archived.iter().any(|a| a.channel.channel_id == channel));
    close
}

/// Mines one block at a time (at most `blocks`) until `node`'s claims of each of `kinds` on
/// `channel` are confirmed; returns them.
async fn mine_until_confirmed(
    chain: &Arc<RegtestChain>,
    all: &[&TestNode],
    node: &TestNode,
    channel: ChannelId,
    kinds: &[&str],
    blocks: u32,
) -> Vec<ClaimInfo> {
    for _ in 0..=blocks {
        let status = node.monitor.status().await;
        let claims: Vec<ClaimInfo> = status
            .into_iter()
            .filter(|s| s.channel_id == channel)
            .flat_map(|s| s.claims)
            .filter(|c| kinds.contains(&c.kind.as_str()))
            .collect();
        let all_there = kinds.iter().all(|k| claims.iter().any(|c| c.kind == *k));
        if all_there && claims.iter().all(|c| c.status == ClaimStatus::Confirmed) {
            return claims;
        }
        // A claim the next block can hold is broadcast first.
        let tip = chain.tip().height;
        if !claims.iter().any(|c| c.valid_at <= tip + 1 && !c.broadcast) {
            mine(chain, all, 1, &foreign_script()).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{kinds:?} on {channel} never confirmed: {:?}", node.monitor.status().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_force_closes_while_bob_is_down_and_bob_sweeps_his_side_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, alice, bob, ab) = alice_and_bob(dir.path()).await;
    pay(&alice, &bob, Msat(300_000_000)).await;
    wait_settled(&alice, &bob, ab, 300_000_000).await;

    let before = bob.chain.balance().await.total();
    let bob_dir = bob.dir.clone();
    bob.stop().await;
    alice.channels.close_channel(ab, true).await.expect("force close");
    mine(&chain, &[&alice], DOWN_BLOCKS, &foreign_script()).await;

    let bob = TestNode::start(&chain, &bob_dir).await;
    let close = wait_for_archived_close(&bob, ab).await;
    assert!(close.starts_with("Counterparty"), "{close}");
    let all = [&alice, &bob];
    let claims = mine_until_confirmed(&chain, &all, &bob, ab, &["ToRemote"], 10).await;
    let [to_remote] = &claims[..] else { panic!("one to_remote claim: {claims:?}") };
    // Bob's 300,000 sat, less the sweep's fee, are in his wallet.
    assert!(to_remote.amount > Amount::from_sat(299_000), "{to_remote:?}");
    assert!(to_remote.amount < Amount::from_sat(300_000), "{to_remote:?}");
    wait_balance(&bob, before + to_remote.amount).await;
    // Nothing else of Bob's to claim, and the channel is gone from his list.
    bob.wait_summary(ab, "the channel gone", |s| s.is_none_or(|s| !s.usable)).await;
    alice.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charlie_takes_the_htlc_while_bob_is_down_and_bob_fulfils_alice_after_restart() {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    // Charlie fulfils, but Bob never hears it.
    charlie_fulfils_unheard(&net).await;
    let bc = net.bc.channel_id;
    let Net { chain, alice, bob, charlie, _dir, .. } = net;
    let bob_dir = bob.dir.clone();
    bob.stop().await;
    // While Bob is down, Charlie force-closes and takes the HTLC by HTLC-success.
    charlie.channels.close_channel(bc, true).await.expect("force close");
    mine_until_charlie_claims(&chain, &alice, &charlie).await;
    mine(&chain, &[&alice, &charlie], DOWN_BLOCKS, &foreign_script()).await;

    // Bob restarted notices the close, learns the preimage from Charlie's claim and
    // fulfils Alice once they are connected again (he listens on a new port).
    let bob = TestNode::start(&chain, &bob_dir).await;
    wait_for_archived_close(&bob, bc).await;
    bob_fulfils_alice_from_the_chain(&alice, &bob, bc, hash, paying).await;
    let payments = alice.payments.list_payments().await.unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Succeeded);
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}

/// Copies a stopped node's data directory (its backup).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_commitment_broadcast_while_bob_is_down_is_punished_after_his_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, alice, bob, ab) = alice_and_bob(dir.path()).await;
    pay(&alice, &bob, Msat(100_000_000)).await;
    wait_settled(&alice, &bob, ab, 100_000_000).await;
    // Alice's backup of this state, taken while she is stopped.
    let alice_dir = alice.dir.clone();
    alice.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let backup = dir.path().join("alice-backup");
    copy_dir(&alice_dir, &backup);
    let alice = TestNode::start(&chain, &alice_dir).await;
    alice.wait_usable(ab).await;
    bob.wait_usable(ab).await;
    // The state moves on: the backup's commitment is revoked.
    pay(&alice, &bob, Msat(100_000_000)).await;
    wait_settled(&alice, &bob, ab, 200_000_000).await;

    let before = bob.chain.balance().await.total();
    let bob_dir = bob.dir.clone();
    bob.stop().await;
    alice.stop().await;
    // Alice restored from the old backup force-closes: her revoked commitment confirms
    // while Bob is down.
    let old_alice = TestNode::start(&chain, &backup).await;
    let closing = old_alice.channels.close_channel(ab, true).await.expect("force close");
    mine(&chain, &[&old_alice], DOWN_BLOCKS, &foreign_script()).await;
    assert_eq!(
        old_alice.chain.confirmations(&closing.closing_txid).await,
        Some(DOWN_BLOCKS),
        "the revoked commitment confirmed"
    );

    let bob = TestNode::start(&chain, &bob_dir).await;
    let close = wait_for_archived_close(&bob, ab).await;
    assert!(close.starts_with("RevokedCounterparty"), "{close}");
    let all = [&old_alice, &bob];
    let kinds = ["JusticeToLocal", "ToRemote"];
    let claims = mine_until_confirmed(&chain, &all, &bob, ab, &kinds, 10).await;
    // Bob takes the whole channel: his 100,000 sat on that commitment and Alice's 900,000,
    // less the commitment's and the claims' fees.
    let taken: Amount = claims.iter().map(|c| c.amount).sum();
    assert!(taken > Amount::from_sat(990_000) && taken < FUNDING, "{claims:?}");
    wait_balance(&bob, before + taken).await;
    old_alice.stop().await;
    bob.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_deeper_than_the_scan_window_still_closes_the_channel_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, alice, bob, ab) = alice_and_bob(dir.path()).await;
    let bob_dir = bob.dir.clone();
    bob.stop().await;
    alice.channels.close_channel(ab, true).await.expect("force close");
    mine(&chain, &[&alice], MAX_RESCAN_BLOCKS + 10, &foreign_script()).await;

    // Bob's backend says the funding output is spent, but the spend is deeper than any scan
    // reaches: the channel closes all the same (the log says the spend is out of reach), and
    // the monitor watches it without knowing how it closed.
    let bob = TestNode::start(&chain, &bob_dir).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let store = Store::open(&bob.dir).unwrap();
        let closed = store.closed_channels().unwrap();
        if closed.iter().any(|c| c.channel_id == ab && c.reason.contains("FundingSpent")) {
            assert!(store.load_channels().unwrap().is_empty());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the channel never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = bob.monitor.status().await;
        if let Some(watched) = status.iter().find(|s| s.channel_id == ab) {
            assert_eq!(watched.close, None, "{watched:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the monitor never got the channel");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bob.wait_summary(ab, "the channel unusable", |s| s.is_none_or(|s| !s.usable)).await;
    alice.stop().await;
    bob.stop().await;
}
