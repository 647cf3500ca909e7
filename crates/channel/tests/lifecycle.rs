//! Open, pay both ways, close: two machines through in-memory queues, every commitment and
//! HTLC transaction verified with Bitcoin Core.

mod common;

use common::*;
use shandian_channel::{Channel, CloseReason, Command, Event};
use shandian_types::Msat;

fn total(pair: &Pair) -> u64 {
    let spec = &pair.a.channel().funded().unwrap().log().holder_commitment().spec;
    spec.total().unwrap().0
}

#[test]
fn open_pay_both_ways_and_close_cooperatively() {
    for anchors in [false, true] {
        let mut pair = Pair::open(anchors, Msat(0));
        assert!(pair.a.events.iter().any(|e| matches!(e, Event::ChannelReady { .. })));
        verify_holder_commitment(&pair.a, &pair.funding_tx);
        verify_holder_commitment(&pair.b, &pair.funding_tx);
        for i in 0..5 {
            pair.pay(true, 100_000_000 * (i + 1));
        }
        pair.pay(false, 2_000_000);
        let (a, b) = pair.balances();
        assert_eq!(b, Msat(1_498_000_000));
        assert_eq!(a.0 + b.0, FUNDING * 1000);
        assert_eq!(total(&pair), FUNDING * 1000);
        pair.command(true, Command::Shutdown).unwrap();
        pair.run();
        assert!(pair.a.channel().is_closed(), "a is {}", phase(pair.a.channel()));
        assert!(pair.b.channel().is_closed(), "b is {}", phase(pair.b.channel()));
        let close_a = pair.a.broadcasts.last().unwrap().clone();
        assert_eq!(pair.b.broadcasts.last(), Some(&close_a));
        kernel_verify(&close_a, &[pair.funding_tx.output[0].clone()]);
        assert!(pair.a.events.contains(&Event::Closed(CloseReason::Cooperative)));
    }
}

#[test]
fn htlc_transactions_verify_with_bitcoin_core() {
    for anchors in [false, true] {
        let mut pair = Pair::open(anchors, Msat(0));
        pair.pay(true, 3_000_000_000);
        for amount in [5_000_000, 7_000_000, 600_000] {
            pair.add(true, amount).unwrap();
            pair.add(false, amount + 1_000).unwrap();
        }
        pair.command(true, Command::Commit).unwrap();
        pair.run();
        pair.command(false, Command::Commit).unwrap();
        pair.run();
        // Offered HTLC-timeout txs always; success txs only with a known preimage.
        let htlcs = verify_holder_commitment(&pair.a, &pair.funding_tx);
        assert!(htlcs >= 2, "{htlcs}");
        verify_holder_commitment(&pair.b, &pair.funding_tx);
        // Fulfill the incoming ones: now b also holds preimages and signs success txs.
        pair.settle_incoming(false, false);
        pair.command(false, Command::Commit).unwrap();
        pair.run();
        verify_holder_commitment(&pair.b, &pair.funding_tx);
    }
}

#[test]
fn shutdown_waits_for_pending_htlcs() {
    let mut pair = Pair::open(true, Msat(0));
    pair.add(true, 50_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(false, Command::Shutdown).unwrap();
    pair.run();
    assert!(matches!(pair.a.channel(), Channel::ShuttingDown(_)));
    assert!(matches!(pair.b.channel(), Channel::ShuttingDown(_)));
    // No new HTLCs after shutdown.
    assert!(pair.add(true, 1_000_000).is_err());
    pair.settle_incoming(false, false);
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    assert!(pair.a.channel().is_closed(), "a is {}", phase(pair.a.channel()));
    assert!(pair.b.channel().is_closed(), "b is {}", phase(pair.b.channel()));
    kernel_verify(pair.a.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
}

#[test]
fn force_close_broadcasts_a_valid_commitment() {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(true, Command::ForceClose).unwrap();
    assert!(pair.a.channel().is_closed());
    let commitment = pair.a.broadcasts.last().unwrap();
    kernel_verify(commitment, &[pair.funding_tx.output[0].clone()]);
    let Some(Event::HolderHtlcTransactions(htlc_txs)) =
        pair.a.events.iter().find(|e| matches!(e, Event::HolderHtlcTransactions(_)))
    else {
        panic!("no HTLC txs")
    };
    assert_eq!(htlc_txs.len(), 1);
    let prev = htlc_txs[0].input[0].previous_output;
    kernel_verify(&htlc_txs[0], &[commitment.output[prev.vout as usize].clone()]);
}

#[test]
fn offered_htlc_past_its_deadline_force_closes() {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    // cltv_expiry is 1000: at 1002 nothing happens, at 1003 (3 blocks of grace) a fails it.
    for (height, closed) in [(1002, false), (1003, true)] {
        let event =
            shandian_channel::ChainEvent::BlockConnected(shandian_types::BlockHeight(height));
        let (channel, actions) = pair.a.take().handle_chain_event(&event);
        pair.a.channel = Some(channel);
        execute(&mut pair.a, &mut pair.b.inbox, actions);
        assert_eq!(pair.a.channel().is_closed(), closed);
    }
    kernel_verify(pair.a.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
}

#[test]
fn closing_negotiation_restarts_after_reconnection() {
    let mut pair = Pair::open(true, Msat(0));
    pair.pay(true, 500_000_000);
    pair.command(true, Command::Shutdown).unwrap();
    // Deliver shutdowns, lose the funder's first closing_signed.
    pair.deliver(false);
    pair.deliver(true);
    assert!(matches!(pair.a.channel(), Channel::Negotiating(_)));
    pair.b.inbox.clear();
    pair.reconnect((false, false));
    pair.run();
    assert!(pair.a.channel().is_closed() && pair.b.channel().is_closed());
    kernel_verify(pair.b.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
}

#[test]
fn fulfilled_htlc_not_removed_by_its_fulfillment_deadline_force_closes() {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    // b fulfills, but a never acknowledges: the update_fulfill_htlc is lost in transit.
    assert_eq!(pair.settle_incoming(false, false), 1);
    pair.a.inbox.clear();
    // cltv_expiry is 1000: the deadline is 1000 - 18 = 982.
    let deadline = 1000 - shandian_channel::FULFILLMENT_SAFETY_MARGIN;
    for (height, closed) in [(deadline - 1, false), (deadline, true)] {
        let event =
            shandian_channel::ChainEvent::BlockConnected(shandian_types::BlockHeight(height));
        let (channel, actions) = pair.b.take().handle_chain_event(&event);
        pair.b.channel = Some(channel);
        execute(&mut pair.b, &mut pair.a.inbox, actions);
        assert_eq!(pair.b.channel().is_closed(), closed, "height {height}");
    }
    // b broadcasts its commitment and the HTLC-success transaction with the preimage.
    kernel_verify(pair.b.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
    assert!(pair
        .b
        .events
        .iter()
        .any(|e| matches!(e, Event::HolderHtlcTransactions(txs) if txs.len() == 1)));
}

#[test]
fn fundee_forgets_a_channel_whose_funding_never_confirms() {
    // b is the fundee; the funding transaction never confirms.
    let mut pair = Pair::funded(false, Msat(0));
    assert!(matches!(pair.b.channel(), Channel::AwaitingConfirmation(_)));
    let start = 100;
    let last = start + shandian_channel::FUNDING_TIMEOUT_BLOCKS;
    for (height, closed) in [(start, false), (last - 1, false), (last, true)] {
        for on_a in [true, false] {
            let event =
                shandian_channel::ChainEvent::BlockConnected(shandian_types::BlockHeight(height));
            let (me, peer) = pair.sides(on_a);
            let (channel, actions) = me.take().handle_chain_event(&event);
            me.channel = Some(channel);
            execute(me, &mut peer.inbox, actions);
        }
        assert_eq!(pair.b.channel().is_closed(), closed, "height {height}");
        // The funder keeps waiting: its own money is in the funding transaction.
        assert!(!pair.a.channel().is_closed());
    }
    assert!(matches!(pair.b.channel(), Channel::Closed(c) if c.reason == CloseReason::Forgotten));
    assert!(pair.b.broadcasts.is_empty());
}
