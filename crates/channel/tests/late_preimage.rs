//! `Command::LearnPreimage`: a preimage learned while the fulfil cannot be sent (the peer is
//! offline) still counts for the fulfillment deadline (BOLT 2) and for a unilateral close
//! (BOLT 5: HTLC-success with the preimage), and survives a restart in the record.

mod common;

use common::*;
use shandian_channel::{Action, ChainEvent, Channel, Command, Error, Event};
use shandian_types::{BlockHeight, Msat, PaymentPreimage};

/// An HTLC from a to b, committed on both sides, then the connection drops.
fn offline_with_received_htlc() -> (Pair, PaymentPreimage) {
    let mut pair = Pair::open(false, Msat(0));
    let preimage = pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    for side in [&mut pair.a, &mut pair.b] {
        let channel = side.take().disconnected().0;
        side.channel = Some(channel);
    }
    (pair, preimage)
}

fn block(side: &mut Side, peer: &mut Side, height: u32) {
    let event = ChainEvent::BlockConnected(BlockHeight(height));
    let (channel, actions) = side.take().handle_chain_event(&event);
    side.channel = Some(channel);
    execute(side, &mut peer.inbox, actions);
}

#[test]
fn a_preimage_learned_offline_is_persisted_without_sending_anything() {
    let (mut pair, preimage) = offline_with_received_htlc();
    // The fulfil itself is refused while disconnected.
    let fulfil =
        Command::RemoveHtlc { id: 0, removal: shandian_channel::Removal::Fulfill(preimage) };
    assert_eq!(pair.command(false, fulfil), Err(Error::Disconnected));
    assert_eq!(pair.b.channel().funded().unwrap().preimage(&preimage.hash()), None);

    let (channel, result) = pair.b.take().handle_command(Command::LearnPreimage(preimage));
    pair.b.channel = Some(channel);
    let actions = result.unwrap();
    assert!(matches!(actions.as_slice(), [Action::Persist(_)]), "{actions:?}");
    execute(&mut pair.b, &mut pair.a.inbox, actions);
    assert!(pair.a.inbox.is_empty());
    // The persisted record (round-tripped through its bytes by `execute`) carries it.
    let record = pair.b.record.clone().unwrap();
    assert_eq!(record.channel.funded().unwrap().preimage(&preimage.hash()), Some(preimage));
    // After a restart from that record it is still known.
    let restored = record.restore();
    assert_eq!(restored.funded().unwrap().preimage(&preimage.hash()), Some(preimage));
}

#[test]
fn a_preimage_learned_offline_fails_the_channel_at_the_fulfillment_deadline() {
    let (mut pair, preimage) = offline_with_received_htlc();
    // Without the preimage, b does not care about the deadline of an HTLC it received.
    let deadline = 1000 - shandian_channel::FULFILLMENT_SAFETY_MARGIN;
    block(&mut pair.b, &mut pair.a, deadline);
    assert!(!pair.b.channel().is_closed());

    pair.command(false, Command::LearnPreimage(preimage)).unwrap();
    block(&mut pair.b, &mut pair.a, deadline);
    assert!(pair.b.channel().is_closed());
    // b broadcasts its commitment, and the HTLC-success transaction with the preimage is
    // valid against it (Bitcoin Core's script interpreter).
    let commitment = pair.b.broadcasts.last().unwrap().clone();
    kernel_verify(&commitment, &[pair.funding_tx.output[0].clone()]);
    let htlc_txs = pair
        .b
        .events
        .iter()
        .find_map(|e| match e {
            Event::HolderHtlcTransactions(txs) => Some(txs.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(htlc_txs.len(), 1);
    let spent = htlc_txs[0].input[0].previous_output;
    assert_eq!(spent.txid, commitment.compute_txid());
    assert_eq!(htlc_txs[0].lock_time.to_consensus_u32(), 0, "HTLC-success, not timeout");
    assert!(htlc_txs[0].input[0].witness.iter().any(|w| w == preimage.0));
    kernel_verify(&htlc_txs[0], &[commitment.output[spent.vout as usize].clone()]);
}

#[test]
fn after_reconnection_the_htlc_is_fulfilled_and_the_preimage_pruned() {
    let (mut pair, preimage) = offline_with_received_htlc();
    pair.command(false, Command::LearnPreimage(preimage)).unwrap();
    pair.reconnect((false, true));
    pair.run();
    assert_eq!(pair.settle_incoming(false, false), 1);
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    assert_eq!(pair.balances(), (Msat(FUNDING * 1000 - 20_000_000), Msat(20_000_000)));
    // Gone from every commitment: nothing left to claim, the preimage is forgotten.
    assert_eq!(pair.b.channel().funded().unwrap().preimage(&preimage.hash()), None);
}

#[test]
fn a_preimage_of_no_received_htlc_is_refused() {
    let (mut pair, preimage) = offline_with_received_htlc();
    // Unknown hash.
    let other = PaymentPreimage([9; 32]);
    assert_eq!(pair.command(false, Command::LearnPreimage(other)), Err(Error::UnknownPreimage));
    // The HTLC a offered: a did not receive it, a's preimage is not for a to claim.
    assert_eq!(pair.command(true, Command::LearnPreimage(preimage)), Err(Error::UnknownPreimage));
    assert_eq!(pair.a.channel().funded().unwrap().preimage(&preimage.hash()), None);
    // A closed channel has no funded state to keep it in.
    pair.command(false, Command::ForceClose).unwrap();
    assert!(matches!(pair.b.channel(), Channel::Closed(_)));
    assert_eq!(pair.command(false, Command::LearnPreimage(preimage)), Err(Error::InvalidCommand));
}
