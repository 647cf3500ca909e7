//! Reconnection: lost messages are retransmitted in order, and lost state on either side is
//! detected with `option_data_loss_protect` and answered safely.

mod common;

use common::*;
use shandian_channel::{Channel, ChannelRecord, CloseReason, Command, Error, Event};
use shandian_types::Msat;
use shandian_wire::Message;

#[test]
fn lost_commitment_signed_and_revocation_are_retransmitted() {
    let mut pair = Pair::open(false, Msat(1_000_000_000));
    let before = pair.balances();
    // a: add + commitment_signed; b receives both and answers revoke_and_ack (+ nothing else).
    pair.add(true, 7_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.deliver(false);
    pair.deliver(false);
    assert!(matches!(pair.a.inbox.front(), Some(Message::RevokeAndAck(_))));
    // b already answered with its own commitment_signed too (it had a's add to sign).
    assert!(matches!(pair.a.inbox.get(1), Some(Message::CommitmentSigned(_))));
    // Both are lost; b's new, unsigned add is forgotten on disconnection (BOLT 2).
    pair.add(false, 3_000_000).unwrap();
    pair.reconnect((false, false));
    pair.run();
    assert_eq!(pair.settle_incoming(false, false), 1);
    assert_eq!(pair.settle_incoming(true, false), 0);
    pair.add(false, 3_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    assert_eq!(pair.settle_incoming(true, false), 1);
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let after = pair.balances();
    assert_eq!(after.0 .0, before.0 .0 - 7_000_000 + 3_000_000);
    verify_holder_commitment(&pair.a, &pair.funding_tx);
    verify_holder_commitment(&pair.b, &pair.funding_tx);
}

#[test]
fn unsigned_updates_are_forgotten_and_ids_reused() {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 5_000_000).unwrap();
    pair.reconnect((false, false));
    pair.run();
    // BOLT 2: the unsigned add is forgotten; the next HTLC reuses id 0.
    pair.add(true, 6_000_000).unwrap();
    assert!(
        pair.a.events.iter().filter(|e| matches!(e, Event::HtlcOffered { id: 0 })).count() == 2
    );
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    assert_eq!(pair.settle_incoming(false, false), 1);
}

fn old_record(pair: &mut Pair, on_a: bool) -> ChannelRecord {
    let record = pair.sides(on_a).0.record.clone().unwrap();
    for i in 0..3 {
        pair.pay(i % 2 == 0, 20_000_000);
    }
    record
}

#[test]
fn we_lost_state_do_not_broadcast() {
    let mut pair = Pair::open(false, Msat(1_000_000_000));
    pair.pay(true, 20_000_000);
    let stale = old_record(&mut pair, true);
    pair.a.channel = Some(stale.restore());
    let broadcasts_before = pair.a.broadcasts.len();
    pair.reconnect((false, false));
    pair.run();
    // a learns from b's proof that it is behind: it must not broadcast its old commitment.
    assert!(matches!(pair.a.channel(), Channel::Closed(c) if c.reason == CloseReason::DataLoss));
    assert_eq!(pair.a.broadcasts.len(), broadcasts_before);
    assert!(pair.a.events.contains(&Event::PeerViolation(Error::WeLostState)));
    // b closes with its latest commitment, valid on chain.
    assert!(pair.b.channel().is_closed());
    kernel_verify(pair.b.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
}

#[test]
fn peer_lost_state_we_close_with_our_latest_commitment() {
    let mut pair = Pair::open(false, Msat(1_000_000_000));
    pair.pay(true, 20_000_000);
    let stale = old_record(&mut pair, false);
    let latest = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap().0;
    pair.b.channel = Some(stale.restore());
    pair.reconnect((false, false));
    pair.run();
    assert!(pair.a.channel().is_closed());
    assert_eq!(pair.a.broadcasts.last(), Some(&latest));
    kernel_verify(&latest, &[pair.funding_tx.output[0].clone()]);
    // b, behind, never broadcasts its revoked commitment.
    assert!(matches!(pair.b.channel(), Channel::Closed(c) if c.reason == CloseReason::DataLoss));
    assert!(pair.b.broadcasts.is_empty());
}

#[test]
fn a_lying_data_loss_claim_fails_the_channel() {
    let mut pair = Pair::open(false, Msat(1_000_000_000));
    pair.pay(true, 20_000_000);
    pair.reconnect((false, false));
    let Some(Message::ChannelReestablish(mut m)) = pair.a.inbox.pop_front() else { panic!() };
    m.your_last_per_commitment_secret[3] ^= 1;
    pair.a.inbox.push_front(Message::from(m));
    pair.deliver(true);
    assert!(
        matches!(pair.a.channel(), Channel::Closed(c) if c.reason == CloseReason::ProtocolViolation(Error::InvalidDataLossProof))
    );
}

#[test]
fn reconnection_before_channel_ready() {
    let mut pair = Pair::funded(true, Msat(0));
    pair.reconnect((false, false));
    pair.run();
    // Both see the funding confirmed and send channel_ready; both are lost.
    let event = shandian_channel::ChainEvent::FundingConfirmed {
        tx: pair.funding_tx.clone(),
        block_height: 100,
        tx_index: 1,
        depth: 3,
    };
    for on_a in [true, false] {
        let (me, peer) = pair.sides(on_a);
        let (channel, actions) = me.take().handle_chain_event(&event);
        me.channel = Some(channel);
        execute(me, &mut peer.inbox, actions);
        assert!(matches!(peer.inbox.back(), Some(Message::ChannelReady(_))));
    }
    pair.reconnect((false, false));
    pair.run();
    assert!(matches!(pair.a.channel(), Channel::Normal(_)), "a is {}", phase(pair.a.channel()));
    assert!(matches!(pair.b.channel(), Channel::Normal(_)), "b is {}", phase(pair.b.channel()));
    pair.pay(true, 50_000_000);
}
