//! HTLCs that end on chain reach the payment logic: Alice pays Charlie through Bob, and Bob's
//! channel to Charlie closes on chain with the HTLC in flight. When Charlie takes it with the
//! preimage, Bob learns the preimage from the chain and fulfils Alice off-chain; when Bob's
//! HTLC-timeout takes it back, Bob fails Alice's HTLC and her payment fails. Over real TCP on
//! the embedded regtest chain, each node with its channel manager, payments and monitor.

mod onchain_net;
mod payments_harness;

use std::sync::atomic::Ordering;
use std::time::Duration;

use onchain_net::*;
use payments_harness::*;
use shandian_node::store::{ForwardStatus, OnchainOutcome, PaymentStatus};
use shandian_types::Msat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charlie_takes_the_htlc_on_chain_and_bob_fulfils_alice_with_its_preimage() {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    // Charlie's messages stop reaching Bob; Charlie fulfils (Bob never hears it), then
    // force-closes: his commitment carries the HTLC, which he takes with the preimage.
    net.relay.blackhole.store(true, Ordering::SeqCst);
    net.gate.release(&net.charlie).await;
    net.charlie.channels.close_channel(net.bc.channel_id, true).await.expect("force close");
    mine_until_done(&net, &paying, 20).await;

    let paid = paying.await.unwrap().expect("Alice's payment succeeds");
    let preimage = paid.preimage;
    assert_eq!(preimage.hash(), hash);
    let forwards = net.bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards.len(), 1);
    assert_eq!(forwards[0].status, ForwardStatus::Fulfilled);
    assert_eq!(forwards[0].preimage, Some(preimage));
    // Bob learned it from the chain, and told his payment logic once.
    let outcomes = onchain_outcomes(&net.bob, net.bc.channel_id);
    assert_eq!(outcomes, vec![(OnchainOutcome::Fulfilled(preimage), true)]);
    let payments = net.alice.payments.list_payments().await.unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_times_the_htlc_out_on_chain_and_alices_payment_fails_once() {
    let net = net().await;
    let (_, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    // Charlie never settles; Bob force-closes with the HTLC in flight and takes it back by
    // HTLC-timeout after its expiry.
    net.bob.channels.close_channel(net.bc.channel_id, true).await.expect("force close");
    mine_until_done(&net, &paying, 80).await;

    let err = paying.await.unwrap().expect_err("Alice's payment fails");
    assert!(err.to_string().contains("permanent_channel_failure"), "{err}");
    let forwards = net.bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Failed);
    assert_eq!(onchain_outcomes(&net.bob, net.bc.channel_id), vec![(OnchainOutcome::Failed, true)]);

    // Restarted, Bob does not report it again, and Alice's payment stays failed.
    let bc = net.bc.channel_id;
    let Net { chain, alice, bob, charlie, _dir, .. } = net;
    let dir = bob.dir.clone();
    bob.stop().await;
    let bob = TestNode::start(&chain, &dir).await;
    mine(&chain, &[&alice, &bob, &charlie], 1, &foreign_script()).await;
    assert_eq!(onchain_outcomes(&bob, bc), vec![(OnchainOutcome::Failed, true)]);
    let forwards = bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Failed);
    let payments = alice.payments.list_payments().await.unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Failed);
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charlie_closes_and_never_claims_so_bob_takes_the_htlc_back_from_his_commitment() {
    let net = net().await;
    let (_, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    // Charlie never settles and force-closes: his commitment carries Bob's HTLC, which
    // nobody but Bob can take, after its expiry, by spending the output directly.
    net.charlie.channels.close_channel(net.bc.channel_id, true).await.expect("force close");
    mine_until_done(&net, &paying, 80).await;

    let err = paying.await.unwrap().expect_err("Alice's payment fails");
    assert!(err.to_string().contains("permanent_channel_failure"), "{err}");
    let status = net.bob.monitor.status().await;
    let status = status.iter().find(|s| s.channel_id == net.bc.channel_id).unwrap();
    assert!(status.close.as_deref().is_some_and(|c| c.starts_with("Counterparty")), "{status:?}");
    let claims: Vec<_> =
        status.claims.iter().filter(|c| c.kind == "CounterpartyHtlcTimeout").collect();
    let [timeout] = claims[..] else { panic!("one timeout claim: {status:?}") };
    assert_eq!(timeout.status, shandian_node::store::ClaimStatus::Confirmed);
    // To Bob's wallet: the HTLC's 20,000 sat minus the claim's fee.
    let amount = timeout.amount.to_sat();
    assert!((19_000..20_000).contains(&amount), "{amount}");
    let forwards = net.bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Failed);
    // Recorded once the claim was 6 deep, reported to the payment logic once.
    assert_eq!(onchain_outcomes(&net.bob, net.bc.channel_id), vec![(OnchainOutcome::Failed, true)]);
    let payments = net.alice.payments.list_payments().await.unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_closes_before_hearing_charlies_fulfil_and_charlie_claims_with_the_preimage() {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    // Charlie fulfils, Bob never hears it and force-closes: his commitment carries the HTLC
    // he offered; Charlie takes it from there with the preimage (no second stage), and Bob
    // learns the preimage from that spend.
    net.relay.blackhole.store(true, Ordering::SeqCst);
    net.gate.release(&net.charlie).await;
    net.bob.channels.close_channel(net.bc.channel_id, true).await.expect("force close");
    mine_until_done(&net, &paying, 20).await;

    let paid = paying.await.unwrap().expect("Alice's payment succeeds");
    assert_eq!(paid.preimage.hash(), hash);
    let status = net.charlie.monitor.status().await;
    let status = status.iter().find(|s| s.channel_id == net.bc.channel_id).unwrap();
    let claims: Vec<_> =
        status.claims.iter().filter(|c| c.kind == "CounterpartyHtlcPreimage").collect();
    let [claim] = claims[..] else { panic!("one preimage claim: {status:?}") };
    assert_eq!(claim.status, shandian_node::store::ClaimStatus::Confirmed);
    assert!((19_000..20_000).contains(&claim.amount.to_sat()), "{claim:?}");
    let outcomes = onchain_outcomes(&net.bob, net.bc.channel_id);
    assert_eq!(outcomes, vec![(OnchainOutcome::Fulfilled(paid.preimage), true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_payment_ends_when_her_first_hop_closes_on_chain_without_its_output() {
    let net = net().await;
    // 300 sat: trimmed as dust, so Alice's commitment carries no output for it.
    let (hash, paying) = pay_until_held(&net, Msat(300_000)).await;
    net.alice.channels.close_channel(net.ab.channel_id, true).await.expect("force close");
    // Failed once the commitment is deep enough (6 blocks), not before.
    net.mine(5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!paying.is_finished(), "failed before the close was final");
    mine_until_done(&net, &paying, 5).await;

    paying.await.unwrap().expect_err("Alice's payment fails");
    let payments = net.alice.payments.list_payments().await.unwrap();
    let payment = payments.iter().find(|p| p.payment_hash == hash).unwrap();
    assert_eq!(payment.status, PaymentStatus::Failed);
    let outcomes = onchain_outcomes(&net.alice, net.ab.channel_id);
    assert_eq!(outcomes, vec![(OnchainOutcome::Failed, true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_down_while_charlie_takes_the_htlc_still_fulfils_alice_after_restart() {
    let net = net().await;
    let (hash, paying) = pay_until_held(&net, Msat(20_000_000)).await;
    net.relay.blackhole.store(true, Ordering::SeqCst);
    net.gate.release(&net.charlie).await;
    net.charlie.channels.close_channel(net.bc.channel_id, true).await.expect("force close");
    net.mine(1).await;
    // Bob's monitor has the close; then Bob stops before Charlie's claim confirms.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !net.bob.monitor.status().await.iter().any(|s| s.close.is_some()) {
        assert!(tokio::time::Instant::now() < deadline, "Bob's monitor never saw the close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bc = net.bc.channel_id;
    let Net { chain, alice, bob, charlie, _dir, .. } = net;
    let dir = bob.dir.clone();
    bob.stop().await;
    // Charlie's HTLC-success confirms while Bob is down.
    mine_until_charlie_claims(&chain, &alice, &charlie).await;
    // Bob restarted learns the preimage from the chain; he fulfils Alice once they are
    // connected again (he listens on a new port).
    let bob = TestNode::start(&chain, &dir).await;
    bob_fulfils_alice_from_the_chain(&alice, &bob, bc, hash, paying).await;
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}
