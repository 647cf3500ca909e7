//! The monitor on the embedded chain: a channel funded by the node's wallet, force-closed;
//! the commitment confirms, the node restarts, and after `to_self_delay` blocks the
//! `to_local` sweep confirms and the wallet holds it. What is lost is exactly fees (and the
//! amount pushed to the peer at open).

#[path = "../../channel/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, Network, ScriptBuf, WScriptHash};
use common::{Pair, Side, NODE_SEED};
use shandian_channel::NewHtlc;
use shandian_channel::{Channel, ChannelRecord, CloseReason, Command};
use shandian_node::onchain::{
    record_closed_channel, ChainBackend, ChainConfig, ClosedChannel, MonitorHandle, MonitorStatus,
};
use shandian_node::store::{ClaimStatus, OnchainOutcome, Store};
use shandian_regtest::RegtestChain;
use shandian_types::{BlockHeight, CltvExpiry, Msat, PaymentPreimage};
use shandian_wire::{OnionPacket, ONION_PACKET_LEN};
use tokio::sync::watch;

const PUSH_MSAT: u64 = 2_000_000_000; // 2,000,000 sat to the peer at open

fn foreign_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([7; 32]))
}

struct Node {
    chain: ChainBackend,
    monitor: MonitorHandle,
    stop: watch::Sender<bool>,
}

async fn start(chain: &Arc<RegtestChain>, dir: &Path) -> Node {
    let (stop, shutdown) = watch::channel(false);
    let config = ChainConfig::Embedded(Arc::clone(chain));
    let backend = ChainBackend::start(config, dir, &NODE_SEED, Network::Regtest, shutdown.clone())
        .await
        .unwrap();
    let monitor = MonitorHandle::start(backend.clone(), dir, NODE_SEED, shutdown).await.unwrap();
    Node { chain: backend, monitor, stop }
}

async fn mine(node: &Node, n: u32, script: &ScriptBuf) -> BlockHeight {
    let chain = node.chain.regtest().unwrap().clone();
    let script = script.clone();
    tokio::task::spawn_blocking(move || chain.mine(n, &script).unwrap()).await.unwrap();
    let tip = BlockHeight(node.chain.regtest().unwrap().tip().height);
    tokio::time::timeout(Duration::from_secs(30), node.chain.wait_for_height(tip))
        .await
        .unwrap()
        .unwrap();
    tip
}

/// Waits until the monitor's status satisfies `ok`.
async fn status_until(node: &Node, ok: impl Fn(&MonitorStatus) -> bool) -> MonitorStatus {
    for _ in 0..300 {
        if let Some(status) = node.monitor.status().await.into_iter().find(|s| ok(s)) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("monitor never got there: {:?}", node.monitor.status().await);
}

/// A node on a fresh embedded chain whose wallet holds two mature coinbases.
async fn funded_node(dir: &Path) -> (Arc<RegtestChain>, PathBuf, Node) {
    let chain = RegtestChain::open(dir.join("chain")).unwrap();
    let node_dir = dir.join("node");
    let node = start(&chain, &node_dir).await;
    let address = node.chain.new_address().await.unwrap();
    mine(&node, 101, &address.script_pubkey()).await;
    (chain, node_dir, node)
}

/// Opens a channel a → b (a funds it from `node`'s wallet, pushing to b) and confirms it;
/// the funding fee.
async fn open_channel(node: &Node) -> (Pair, Amount) {
    let (mut pair, script_pubkey, amount) = Pair::negotiate(false, Msat(PUSH_MSAT), |_, _| {});
    let funding = node.chain.fund(script_pubkey, amount).await.unwrap();
    pair.fund(funding.tx.clone());
    node.chain.broadcast(funding.tx.clone()).await.unwrap();
    mine(node, 3, &foreign_script()).await;
    let (_, height, index) = node.chain.transaction_position(funding.txid()).await.unwrap();
    pair.confirm_at(height.0, index, 3);
    assert!(matches!(pair.a.channel(), Channel::Normal(_)));
    (pair, funding.fee)
}

/// An HTLC of `amount_msat` for preimage `[tag; 32]`, expiring at `expiry`.
fn htlc(amount_msat: u64, tag: u8, expiry: u32) -> NewHtlc {
    NewHtlc {
        amount: Msat(amount_msat),
        payment_hash: PaymentPreimage([tag; 32]).hash(),
        cltv_expiry: CltvExpiry(expiry),
        onion: OnionPacket::new([0; ONION_PACKET_LEN]),
        blinding_point: None,
    }
}

/// `from_a`'s side offers `htlc` and both sides commit to it.
fn offer_and_commit(pair: &mut Pair, from_a: bool, htlc: NewHtlc) {
    pair.command(from_a, Command::AddHtlc(htlc)).unwrap();
    pair.command(from_a, Command::Commit).unwrap();
    pair.run();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_close_sweeps_to_local_after_the_delay_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, node_dir, node) = funded_node(dir.path()).await;
    let before = node.chain.balance().await.total();

    let (pair, funding_fee) = open_channel(&node).await;
    let (a, funding_tx) = (&pair.a, &pair.funding_tx);

    // Force close: our latest commitment goes out; the close is recorded for the monitor in
    // the store transaction that would persist it, then handed over.
    let funded = a.channel().funded().unwrap();
    let (commitment, _) = funded.holder_commitment_txs().unwrap();
    let closed = hand_over(&node, &node_dir, &pair.a, CloseReason::LocalForceClose);
    node.chain.broadcast(commitment.clone()).await.unwrap();
    let confirmed = mine(&node, 1, &foreign_script()).await;

    let status = status_until(&node, |s| !s.claims.is_empty()).await;
    assert_eq!(status.close.as_deref(), Some("HolderLatest { commitment_number: 0 }"));
    let [claim] = &status.claims[..] else { panic!("one claim: {status:?}") };
    assert_eq!(claim.kind, "DelayedToLocal");
    // config(2) (b's) imposes 144 blocks on a.
    assert_eq!(claim.valid_at, confirmed.0 + 144);
    assert!(!claim.broadcast);

    // Restart: the monitor resumes from the store.
    node.stop.send_replace(true);
    drop(node);
    let node = start(&chain, &node_dir).await;
    let status = status_until(&node, |s| s.channel_id == closed.channel_id).await;
    assert_eq!(status.claims.len(), 1);

    // One block before the delay is over the claim is held back; then it goes out.
    mine(&node, 142, &foreign_script()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = &node.monitor.status().await[0].claims[0];
    assert!(!held.broadcast && held.status == ClaimStatus::Pending, "{held:?}");
    mine(&node, 1, &foreign_script()).await;
    status_until(&node, |s| s.claims[0].broadcast).await;
    let swept_at = mine(&node, 1, &foreign_script()).await;
    let status = status_until(&node, |s| s.claims[0].status == ClaimStatus::Confirmed).await;
    assert_eq!(swept_at.0, confirmed.0 + 144);
    mine(&node, 5, &foreign_script()).await;
    status_until(&node, |s| s.resolved).await;
    let store = Store::open(&node_dir).unwrap();
    assert!(store.unresolved_closed_channels().unwrap().is_empty());

    // Every satoshi accounted for: the wallet lost the push, the funding fee, the
    // commitment fee and the sweep fee, nothing else.
    let funding_vout = funded.setup().funding.outpoint.vout as usize;
    let commitment_fee =
        funding_tx.output[funding_vout].value - commitment.output.iter().map(|o| o.value).sum();
    let to_local =
        commitment.output.iter().find(|o| o.script_pubkey.is_p2wsh()).map(|o| o.value).unwrap();
    let sweep_fee = to_local - status.claims[0].amount;
    let push = Amount::from_sat(PUSH_MSAT / 1000);
    let after = node.chain.balance().await;
    assert_eq!(after.unconfirmed, Amount::ZERO);
    assert_eq!(after.total(), before - push - funding_fee - commitment_fee - sweep_fee);
    assert!(sweep_fee > Amount::ZERO && sweep_fee < Amount::from_sat(2_000), "{sweep_fee}");
}

/// Records `a`'s channel as closed for the monitor, as the channel manager does.
fn hand_over(node: &Node, dir: &Path, a: &Side, reason: CloseReason) -> ClosedChannel {
    let funded = a.channel().funded().unwrap();
    let closed = ClosedChannel::new(
        funded.setup().channel_id,
        1,
        ChannelRecord::new(a.channel()).encode(),
        &reason,
    );
    let mut store = Store::open(dir).unwrap();
    store.write(|w| record_closed_channel(w, &closed)).unwrap();
    node.monitor.watch(closed.clone());
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_commitment_on_chain_is_punished_and_the_wallet_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (_chain, node_dir, node) = funded_node(dir.path()).await;
    let before = node.chain.balance().await.total();
    let (mut pair, funding_fee) = open_channel(&node).await;

    // b keeps its first commitment (2,000,000 sat to itself), then the state moves on: a
    // offers an HTLC and b revokes that commitment.
    let (revoked, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    offer_and_commit(&mut pair, true, htlc(10_000_000, 3, 1_000));
    let closed = hand_over(&node, &node_dir, &pair.a, CloseReason::FundingSpent);

    // b cheats: Core's rules accept the old commitment (its signatures are valid).
    node.chain.broadcast(revoked.clone()).await.unwrap();
    mine(&node, 1, &foreign_script()).await;
    let status =
        status_until(&node, |s| s.claims.iter().all(|c| c.broadcast) && !s.claims.is_empty()).await;
    assert_eq!(status.close.as_deref(), Some("RevokedCounterparty { commitment_number: 0 }"));
    let mut kinds: Vec<&str> = status.claims.iter().map(|c| c.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["JusticeToLocal", "ToRemote"]);
    mine(&node, 1, &foreign_script()).await;
    status_until(&node, |s| s.claims.iter().all(|c| c.status == ClaimStatus::Confirmed)).await;
    mine(&node, 5, &foreign_script()).await;
    let status = status_until(&node, |s| s.resolved).await;
    // a's HTLC was not taken with its preimage: failed for the payments once all is final.
    let outcomes = Store::open(&node_dir).unwrap().onchain_htlcs(&closed.channel_id).unwrap();
    let outcomes: Vec<_> = outcomes.iter().map(|h| (h.htlc_id, h.outcome)).collect();
    assert_eq!(outcomes, vec![(0, OnchainOutcome::Failed)]);

    // The honest side takes everything: the channel's whole value (b's balance included)
    // comes back, minus the revoked commitment's fee and the claims' fees.
    let claimed: Amount = status.claims.iter().map(|c| c.amount).sum();
    let vout = pair.a.channel().funded().unwrap().setup().funding.outpoint.vout as usize;
    let channel_value = pair.funding_tx.output[vout].value;
    let commitment_fee = channel_value - revoked.output.iter().map(|o| o.value).sum();
    let claim_fees = channel_value - commitment_fee - claimed;
    assert!(claim_fees < Amount::from_sat(4_000), "{claim_fees}");
    let after = node.chain.balance().await;
    assert_eq!(after.total(), before - funding_fee - commitment_fee - claim_fees);
    assert_eq!(after.total(), before - funding_fee - channel_value + claimed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offered_htlc_comes_back_by_timeout_and_its_output_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let (_chain, node_dir, node) = funded_node(dir.path()).await;
    let before = node.chain.balance().await.total();
    let (mut pair, funding_fee) = open_channel(&node).await;

    // a offers b a 500,000 sat HTLC expiring 20 blocks from now; both sides commit to it.
    let expiry = node.chain.best_block().await.height.0 + 20;
    offer_and_commit(&mut pair, true, htlc(500_000_000, 4, expiry));
    let (commitment, htlc_txs) =
        pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    assert_eq!(htlc_txs.len(), 1);
    let closed = hand_over(&node, &node_dir, &pair.a, CloseReason::LocalForceClose);
    node.chain.broadcast(commitment.clone()).await.unwrap();
    let confirmed = mine(&node, 1, &foreign_script()).await;
    let status = status_until(&node, |s| s.claims.len() == 2).await;
    let timeout = status.claims.iter().find(|c| c.kind == "HtlcTimeout").unwrap();
    assert_eq!(timeout.valid_at, expiry + 1);

    // At the expiry the HTLC-timeout goes out and confirms; its output is swept 144 blocks on.
    let tip = node.chain.best_block().await.height.0;
    mine(&node, expiry - tip, &foreign_script()).await;
    status_until(&node, |s| s.claims.iter().any(|c| c.kind == "HtlcTimeout" && c.broadcast)).await;
    let htlc_confirmed = mine(&node, 1, &foreign_script()).await;
    // The HTLC failed for the payments once its HTLC-timeout is 6 deep, not before.
    let outcomes = || {
        let all = Store::open(&node_dir).unwrap().onchain_htlcs(&closed.channel_id).unwrap();
        all.iter().map(|h| (h.htlc_id, h.outcome)).collect::<Vec<_>>()
    };
    mine(&node, 4, &foreign_script()).await;
    assert_eq!(outcomes(), vec![]);
    mine(&node, 1, &foreign_script()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while outcomes().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the timeout was never recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outcomes(), vec![(0, OnchainOutcome::Failed)]);
    let status = status_until(&node, |s| s.claims.iter().any(|c| c.kind == "SecondStage")).await;
    let second = status.claims.iter().find(|c| c.kind == "SecondStage").unwrap();
    assert_eq!(second.valid_at, htlc_confirmed.0 + 144);
    // to_local (valid at confirmed + 144) and the second stage both come in.
    let tip = node.chain.best_block().await.height.0;
    mine(&node, htlc_confirmed.0 + 144 - tip, &foreign_script()).await;
    assert!(node.chain.best_block().await.height.0 >= confirmed.0 + 144);
    status_until(&node, |s| s.claims.iter().all(|c| c.broadcast)).await;
    mine(&node, 1, &foreign_script()).await;
    status_until(&node, |s| {
        s.claims.iter().all(|c| c.status == ClaimStatus::Confirmed) && s.claims.len() == 3
    })
    .await;
    mine(&node, 5, &foreign_script()).await;
    let status = status_until(&node, |s| s.resolved).await;

    // Lost: the push, the funding fee, the commitment fee, the HTLC-timeout's own fee and
    // the two sweeps' fees.
    let vout = pair.a.channel().funded().unwrap().setup().funding.outpoint.vout as usize;
    let commitment_fee =
        pair.funding_tx.output[vout].value - commitment.output.iter().map(|o| o.value).sum();
    let htlc_output = commitment.output.iter().find(|o| o.value == Amount::from_sat(500_000));
    let htlc_tx_fee = htlc_output.unwrap().value - htlc_txs[0].output[0].value;
    let claimed = |kind: &str| status.claims.iter().find(|c| c.kind == kind).unwrap().amount;
    let to_local_value = commitment
        .output
        .iter()
        .find(|o| o.script_pubkey.is_p2wsh() && o.value > Amount::from_sat(500_000))
        .unwrap()
        .value;
    let sweep_fees = (to_local_value - claimed("DelayedToLocal"))
        + (htlc_txs[0].output[0].value - claimed("SecondStage"));
    let push = Amount::from_sat(PUSH_MSAT / 1000);
    let after = node.chain.balance().await.total();
    assert_eq!(after, before - push - funding_fee - commitment_fee - htlc_tx_fee - sweep_fees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_htlc_transaction_that_wins_the_race_is_punished_too() {
    let dir = tempfile::tempdir().unwrap();
    let (_chain, node_dir, node) = funded_node(dir.path()).await;
    let before = node.chain.balance().await.total();
    let (mut pair, funding_fee) = open_channel(&node).await;

    // b offers a an HTLC that can time out at once, both commit; b keeps that state.
    let expiry = node.chain.best_block().await.height.0;
    offer_and_commit(&mut pair, false, htlc(300_000_000, 5, expiry));
    let (revoked, htlc_txs) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let [timeout] = &htlc_txs[..] else { panic!("b's HTLC-timeout") };
    // The state moves on: b's commitment above is revoked.
    offer_and_commit(&mut pair, true, htlc(10_000_000, 6, 1_000));
    hand_over(&node, &node_dir, &pair.a, CloseReason::FundingSpent);

    // b cheats with the commitment and its HTLC-timeout in the same block: a's justice on
    // the HTLC output is too late, so a takes the HTLC-timeout's output instead (b's own
    // path to it waits to_self_delay blocks).
    node.chain.broadcast(revoked.clone()).await.unwrap();
    node.chain.broadcast(timeout.clone()).await.unwrap();
    mine(&node, 1, &foreign_script()).await;
    let status = status_until(&node, |s| {
        s.claims.iter().any(|c| c.kind == "JusticeSecondStage" && c.broadcast)
    })
    .await;
    let lost = status.claims.iter().find(|c| c.kind == "JusticeHtlc").unwrap();
    assert_eq!(lost.status, ClaimStatus::Lost);
    mine(&node, 1, &foreign_script()).await;
    mine(&node, 5, &foreign_script()).await;
    let status = status_until(&node, |s| s.resolved).await;
    let confirmed: Vec<_> =
        status.claims.iter().filter(|c| c.status == ClaimStatus::Confirmed).collect();
    let mut kinds: Vec<&str> = confirmed.iter().map(|c| c.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["JusticeSecondStage", "JusticeToLocal", "ToRemote"]);

    // Everything in the channel came back but fees (the commitment's, the HTLC-timeout's
    // and the three claims').
    let claimed: Amount = confirmed.iter().map(|c| c.amount).sum();
    let vout = pair.a.channel().funded().unwrap().setup().funding.outpoint.vout as usize;
    let channel_value = pair.funding_tx.output[vout].value;
    let after = node.chain.balance().await.total();
    assert_eq!(after, before - funding_fee - channel_value + claimed);
    assert!(channel_value - claimed < Amount::from_sat(12_000), "{}", channel_value - claimed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_force_close_confirmed_while_the_node_was_down_for_days_is_still_swept() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, node_dir, node) = funded_node(dir.path()).await;
    let (pair, _) = open_channel(&node).await;
    let (commitment, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    hand_over(&node, &node_dir, &pair.a, CloseReason::LocalForceClose);
    node.chain.broadcast(commitment.clone()).await.unwrap();

    // The node goes down; the commitment confirms and 300 more blocks pass (beyond what the
    // backend remembers of recent blocks, and beyond the CSV delay).
    node.stop.send_replace(true);
    drop(node);
    let confirmed = chain.tip().height + 1;
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(301, &foreign_script()).unwrap()).await.unwrap();
    let node = start(&chain, &node_dir).await;
    let status =
        status_until(&node, |s| s.claims.iter().any(|c| c.kind == "DelayedToLocal" && c.broadcast))
            .await;
    assert_eq!(status.claims[0].valid_at, confirmed + 144);

    // Down again before the sweep is mined, long enough that its block is forgotten too: on
    // restart the claim is found confirmed, and the channel resolves.
    node.stop.send_replace(true);
    drop(node);
    let swept_at = chain.tip().height + 1;
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(300, &foreign_script()).unwrap()).await.unwrap();
    let node = start(&chain, &node_dir).await;
    let status =
        status_until(&node, |s| s.claims.iter().all(|c| c.status == ClaimStatus::Confirmed)).await;
    assert!(!status.resolved);
    let stored = Store::open(&node_dir).unwrap().claims(&status.channel_id).unwrap();
    assert_eq!(stored[0].confirmed_height, Some(swept_at));
    mine(&node, 1, &foreign_script()).await;
    status_until(&node, |s| s.resolved).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_recorded_but_never_handed_over_is_picked_up_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_chain, node_dir, node) = funded_node(dir.path()).await;
    let (pair, _) = open_channel(&node).await;
    let a = &pair.a;
    let funded = a.channel().funded().unwrap();
    let (commitment, _) = funded.holder_commitment_txs().unwrap();
    let closed = ClosedChannel::new(
        funded.setup().channel_id,
        1,
        ChannelRecord::new(a.channel()).encode(),
        &CloseReason::LocalForceClose,
    );
    // Only the store write: no MonitorHandle::watch.
    Store::open(&node_dir).unwrap().write(|w| record_closed_channel(w, &closed)).unwrap();
    node.chain.broadcast(commitment).await.unwrap();
    mine(&node, 1, &foreign_script()).await;
    let status = status_until(&node, |s| !s.claims.is_empty()).await;
    assert_eq!(status.channel_id, closed.channel_id);
    assert_eq!(status.claims[0].kind, "DelayedToLocal");
}
