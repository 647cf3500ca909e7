//! Preimages learned late still claim on chain (BOLT 5: "if it has the preimage for an HTLC
//! output it was offered, MUST spend it"). Alice pays Charlie through Bob; Charlie holds the
//! HTLC at a gate, so Bob learns the preimage only when the test lets him:
//! - after Alice force-closed Alice–Bob with the HTLC on her commitment (Charlie's fulfil
//!   reaches Bob only when they reconnect): Bob's monitor takes the HTLC from her commitment
//!   with the preimage, also when Bob restarted in between;
//! - while Alice is offline: Bob's channel keeps the preimage, fails the channel at the
//!   fulfillment deadline (BOLT 2) and claims by HTLC-success; and when Bob restarted after
//!   learning it and Alice force-closes, he takes the HTLC from her commitment with it;
//!   also when she force-closes while he is down (his restart notices the spent funding).
//!
//! Over real TCP on the embedded regtest chain, each node with its channel manager, payments
//! and monitor.

mod onchain_net;
mod payments_harness;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Amount;
use onchain_net::*;
use payments_harness::*;
use shandian_node::onchain::ClaimInfo;
use shandian_node::store::{ClaimStatus, ForwardStatus, PaymentStatus, Store};
use shandian_regtest::RegtestChain;
use shandian_types::{ChannelId, Msat};

/// The HTLC Alice offers Bob: Charlie's 20,000 sat plus Bob's fee (a few sat).
const AMOUNT: Msat = Msat(20_000_000);

/// `node`'s claims of `kind` on `channel`.
async fn claims(node: &TestNode, channel: ChannelId, kind: &str) -> Vec<ClaimInfo> {
    let status = node.monitor.status().await;
    let watched = status.into_iter().filter(|s| s.channel_id == channel);
    watched.flat_map(|s| s.claims).filter(|c| c.kind == kind).collect()
}

/// Mines one block at a time (at most `blocks`) until `node` has a confirmed claim of
/// `kind` on `channel`, and returns it. While a claim the next block can hold waits for its
/// broadcast, no block is mined (a slow machine must not run the chain past it).
async fn mine_until_claimed(
    mine: impl AsyncFn(u32),
    node: &TestNode,
    channel: ChannelId,
    kind: &str,
    blocks: u32,
) -> ClaimInfo {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut mined = 0;
    loop {
        let found = claims(node, channel, kind).await;
        if let Some(claim) = found.iter().find(|c| c.status == ClaimStatus::Confirmed) {
            return claim.clone();
        }
        let tip = node.chain.best_block().await.height.0;
        let unsent = found.iter().any(|c| {
            c.status == ClaimStatus::Pending && !c.broadcast && c.valid_at <= tip.saturating_add(1)
        });
        if !unsent {
            assert!(mined < blocks, "no confirmed {kind} claim after {blocks} blocks: {found:?}");
            mine(1).await;
            mined += 1;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {kind} claim broadcast: {found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `node` sees `channel` unusable (its peer gone).
async fn wait_unusable(node: &TestNode, channel: ChannelId) {
    node.wait_summary(channel, "the channel to become unusable", |s| s.is_none_or(|s| !s.usable))
        .await;
}

/// Waits until Bob's forward is fulfilled downstream (he learned the preimage).
/// Waits until Bob's forward is fulfilled and Charlie's commitment no longer holds the HTLC
/// (their commitment dance done): blocks mined before that pass Charlie's fulfilment
/// deadline with the HTLC still in his commitment, and he rightly fails the channel.
async fn wait_forward_fulfilled(bob: &TestNode, charlie: &TestNode) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let forwards = bob.payments.list_forwards().await.unwrap();
        if forwards.first().is_some_and(|f| f.status == ForwardStatus::Fulfilled) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Charlie's fulfil never reached Bob");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while charlie.channels.list_channels().await.iter().any(|c| c.htlcs > 0) {
        assert!(tokio::time::Instant::now() < deadline, "Charlie's fulfil never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Drops Bob's (swallowed) connection to Charlie and dials him again through the relay,
/// now passing everything: Charlie retransmits his fulfil after `channel_reestablish`.
async fn reconnect_bob_to_charlie(bob: &TestNode, net: &Net) {
    let _ = bob.node.disconnect(net.charlie.id());
    // Gone first: dialling while the old connection is still listed would keep it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while bob.node.peers().iter().any(|p| p.node_id == net.charlie.id()) {
        assert!(tokio::time::Instant::now() < deadline, "Bob never dropped Charlie");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net.relay.blackhole.store(false, Ordering::SeqCst);
    tokio::time::timeout(WAIT, bob.node.connect_now(net.charlie.id(), net.relay.addr))
        .await
        .expect("connects in time")
        .expect("connects");
    wait_forward_fulfilled(bob, &net.charlie).await;
}

/// The HTLC's value in sat, and a claim of it worth it: all of it but the claim's fee.
fn assert_claims_the_htlc(claim: &ClaimInfo, max_fee: u64) {
    let htlc = AMOUNT.0 / 1000;
    let amount = claim.amount.to_sat();
    assert!(amount < htlc && amount + max_fee >= htlc, "{claim:?}");
}

/// Mining with `all`, Bob takes the HTLC from Alice's commitment with the preimage: the
/// claim, less its fee, reaches his wallet, which held `before`.
async fn bob_claims_with_the_preimage(
    chain: &Arc<RegtestChain>,
    all: &[&TestNode],
    bob: &TestNode,
    ab: ChannelId,
    before: Amount,
) {
    let mine_all = async |n| mine(chain, all, n, &foreign_script()).await;
    let claim = mine_until_claimed(mine_all, bob, ab, "CounterpartyHtlcPreimage", 20).await;
    assert_claims_the_htlc(&claim, 1_000);
    wait_balance(bob, before + claim.amount).await;
}

/// Alice learns the preimage from Bob's claim: her stored payment succeeds (blocks are
/// mined with `all` meanwhile).
async fn wait_alice_paid(chain: &Arc<RegtestChain>, all: &[&TestNode], alice: &TestNode) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let payments = alice.payments.list_payments().await.unwrap();
        if payments.first().is_some_and(|p| p.status == PaymentStatus::Succeeded) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Alice's payment never succeeded");
        mine(chain, all, 1, &foreign_script()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Alice (stopped, her node's data in `alice_dir`) is away while Bob learned the preimage.
struct AliceAway {
    chain: Arc<RegtestChain>,
    alice_dir: PathBuf,
    bob: TestNode,
    charlie: TestNode,
    ab: ChannelId,
    _dir: tempfile::TempDir,
}

/// Alice pays Charlie through Bob, then goes offline (her payment with her); Charlie
/// fulfils, and Bob, who cannot pass the fulfil to Alice, keeps the preimage in his channel.
async fn bob_learns_the_preimage_while_alice_is_away() -> AliceAway {
    let net = net().await;
    let (_, paying) = pay_until_held(&net, AMOUNT).await;
    let ab = net.ab.channel_id;
    let Net { chain, alice, bob, charlie, gate, _dir, .. } = net;
    paying.abort();
    let alice_dir = alice.dir.clone();
    alice.stop().await;
    wait_unusable(&bob, ab).await;
    gate.release(&charlie).await;
    wait_forward_fulfilled(&bob, &charlie).await;
    AliceAway { chain, alice_dir, bob, charlie, ab, _dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_closes_before_charlie_reveals_and_bob_claims_the_htlc_with_the_late_preimage() {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, AMOUNT).await;
    let ab = net.ab.channel_id;
    let before = net.bob.chain.balance().await.total();
    charlie_fulfils_unheard(&net).await;
    // Alice force-closes with the HTLC on her commitment, before Bob knows the preimage.
    net.alice.channels.close_channel(ab, true).await.expect("force close");
    net.mine(1).await;
    wait_for_close(&net.bob, ab).await;
    // Deeper than the monitor's final depth: the channel stays watched for the HTLC.
    net.mine(8).await;
    assert!(claims(&net.bob, ab, "CounterpartyHtlcPreimage").await.is_empty());

    // Bob and Charlie reconnect: Charlie retransmits his fulfil, Bob learns the preimage
    // downstream, after the close upstream.
    reconnect_bob_to_charlie(&net.bob, &net).await;
    // Bob paid Charlie 20,000 sat off-chain and took Alice's HTLC on chain: the forwarded
    // amount (minus the claim's fee) is in his wallet.
    bob_claims_with_the_preimage(&net.chain, &net.all(), &net.bob, ab, before).await;

    // Alice's monitor reads the preimage from Bob's claim: her payment succeeds.
    mine_until_done(&net, &paying, 20).await;
    let paid = paying.await.unwrap().expect("Alice's payment succeeds");
    assert_eq!(paid.preimage.hash(), hash);
    let forwards = net.bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Fulfilled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_restarts_between_the_close_and_the_late_preimage_and_still_claims() {
    let net = net().await;
    let (_, paying) = pay_until_held(&net, AMOUNT).await;
    let ab = net.ab.channel_id;
    charlie_fulfils_unheard(&net).await;
    net.alice.channels.close_channel(ab, true).await.expect("force close");
    net.mine(1).await;
    wait_for_close(&net.bob, ab).await;
    net.mine(8).await;
    // Bob restarts: the closed channel is no longer the channel manager's, only the
    // monitor's. Then he reconnects to Charlie, who retransmits his fulfil.
    let Net { chain, alice, bob, charlie, relay, _dir, .. } = net;
    let before = bob.chain.balance().await.total();
    let dir = bob.dir.clone();
    bob.stop().await;
    relay.blackhole.store(false, Ordering::SeqCst);
    let bob = TestNode::start(&chain, &dir).await;
    let all = [&alice, &bob, &charlie];
    tokio::time::timeout(WAIT, bob.node.connect_now(charlie.id(), relay.addr))
        .await
        .expect("connects in time")
        .expect("connects");
    wait_forward_fulfilled(&bob, &charlie).await;
    let mine_all = async |n| mine(&chain, &all, n, &foreign_script()).await;
    let claim = mine_until_claimed(mine_all, &bob, ab, "CounterpartyHtlcPreimage", 20).await;
    assert_claims_the_htlc(&claim, 1_000);
    wait_balance(&bob, before + claim.amount).await;
    paying.abort();
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_offline_bob_fails_the_channel_at_the_fulfillment_deadline_and_claims_by_htlc_success(
) {
    let net = net().await;
    let (_, paying) = pay_until_held(&net, AMOUNT).await;
    let ab = net.ab.channel_id;
    let start = net.chain.tip().height;
    let Net { chain, alice, bob, charlie, gate, _dir, .. } = net;
    // Alice goes away for good (her payment with her).
    paying.abort();
    alice.stop().await;
    wait_unusable(&bob, ab).await;
    let before = bob.chain.balance().await.total();

    // Charlie fulfils: Bob cannot pass the fulfil to Alice, his channel keeps the preimage.
    gate.release(&charlie).await;
    wait_forward_fulfilled(&bob, &charlie).await;
    let all = [&bob, &charlie];
    let mine_all = async |n| mine(&chain, &all, n, &foreign_script()).await;
    // Nothing happens until the fulfillment deadline (18 blocks before the HTLC's expiry,
    // at least Charlie's 40 + Bob's 40 blocks away): then Bob fails the channel.
    mine_all(40).await;
    wait_for_no_close(&bob, ab).await;
    let claim = mine_until_claimed(mine_all, &bob, ab, "HtlcSuccess", 60).await;
    let closed_at = chain.tip().height;
    assert!(closed_at > start + 40, "closed at {closed_at}, the payment started at {start}");
    // The pre-signed HTLC-success pays its fee from the HTLC (at the commitment's feerate).
    assert_claims_the_htlc(&claim, 5_000);
    // Its output is Bob's after Alice's 144-block delay: swept to his wallet.
    mine_all(140).await;
    let second = mine_until_claimed(mine_all, &bob, ab, "SecondStage", 30).await;
    assert!(second.amount < claim.amount && second.amount + Amount::from_sat(1_000) > claim.amount);
    wait_balance(&bob, before + second.amount).await;
    for node in [bob, charlie] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_restarts_after_learning_the_preimage_while_alice_is_offline_and_claims_when_she_closes(
) {
    // Alice is offline when Bob learns the preimage.
    let AliceAway { chain, alice_dir, bob, charlie, ab, _dir } =
        bob_learns_the_preimage_while_alice_is_away().await;
    // Bob restarts with the preimage only in his channel's record (the HTLC is not
    // fulfilled); then Alice comes back and force-closes (they stay apart: Bob listens on a
    // new port, and never dialled Alice).
    let bob_dir = bob.dir.clone();
    let before = bob.chain.balance().await.total();
    bob.stop().await;
    let bob = TestNode::start(&chain, &bob_dir).await;
    let alice = TestNode::start(&chain, &alice_dir).await;
    alice.channels.close_channel(ab, true).await.expect("force close");
    let all = [&alice, &bob, &charlie];
    bob_claims_with_the_preimage(&chain, &all, &bob, ab, before).await;
    wait_alice_paid(&chain, &all, &alice).await;
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_closes_while_bob_is_down_after_he_learned_the_preimage_and_he_claims_after_restart()
{
    let AliceAway { chain, alice_dir, bob, charlie, ab, _dir } =
        bob_learns_the_preimage_while_alice_is_away().await;
    // Bob stops with the preimage only in his channel's record; Alice comes back and
    // force-closes while he is down, and her commitment goes deeper than the blocks his
    // backend replays at start.
    let bob_dir = bob.dir.clone();
    let before = bob.chain.balance().await.total();
    bob.stop().await;
    let alice = TestNode::start(&chain, &alice_dir).await;
    alice.channels.close_channel(ab, true).await.expect("force close");
    mine(&chain, &[&alice, &charlie], 10, &foreign_script()).await;
    // Bob restarted finds the close, and his monitor takes the HTLC with the preimage.
    let bob = TestNode::start(&chain, &bob_dir).await;
    wait_for_close(&bob, ab).await;
    let all = [&alice, &bob, &charlie];
    bob_claims_with_the_preimage(&chain, &all, &bob, ab, before).await;
    wait_alice_paid(&chain, &all, &alice).await;
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}

/// Bob's channel is still open (no close before the deadline).
async fn wait_for_no_close(bob: &TestNode, channel: ChannelId) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = bob.monitor.status().await;
    assert!(!status.iter().any(|s| s.channel_id == channel), "closed too early: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preimage_recorded_for_a_closed_channel_is_claimed_after_a_crash_before_the_monitor_got_it(
) {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, AMOUNT).await;
    let (ab, bc) = (net.ab.channel_id, net.bc.channel_id);
    net.alice.channels.close_channel(ab, true).await.expect("force close");
    net.mine(1).await;
    wait_for_close(&net.bob, ab).await;
    net.mine(8).await;
    let Net { chain, alice, bob, charlie, _dir, .. } = net;
    paying.abort();
    let invoices = charlie.payments.list_invoices().await.unwrap();
    let preimage = invoices.iter().find(|i| i.payment_hash == hash).unwrap().invoice.preimage;
    // Bob crashes right after the batch that learned the preimage committed, before his
    // monitor heard of it: only his store has it.
    let dir = bob.dir.clone();
    let before = bob.chain.balance().await.total();
    bob.stop().await;
    let mut store = Store::open(&dir).unwrap();
    // What Bob's batch wrote when Charlie's fulfil reached him: the forward, fulfilled.
    store.write(|w| w.fulfil_forward(&bc, 0, &preimage, 1).map(|_| ())).unwrap();
    drop(store);
    // Restarted, his monitor reads it with the channel and claims the HTLC.
    let bob = TestNode::start(&chain, &dir).await;
    let all = [&alice, &bob, &charlie];
    bob_claims_with_the_preimage(&chain, &all, &bob, ab, before).await;
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}
