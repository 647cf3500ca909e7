//! [`Channel::sign_when_told`]: a caller that commits after each batch of inputs gets one
//! `commitment_signed` for everything the batch changed, instead of one answering the
//! peer's signature at once and another for its own later updates.

mod common;

use common::*;
use shandian_channel::{Command, Event};
use shandian_types::Msat;
use shandian_wire::Message;

fn signatures(inbox: &std::collections::VecDeque<Message>) -> usize {
    inbox.iter().filter(|m| matches!(m, Message::CommitmentSigned(_))).count()
}

#[test]
fn a_batch_signs_once_for_the_peer_and_its_own_updates() {
    let mut pair = Pair::open(true, Msat(1_000_000_000));
    pair.b.channel.as_mut().unwrap().sign_when_told();
    pair.add(true, 5_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    // B's batch: A's add and signature arrive, then B offers an HTLC of its own.
    assert!(pair.deliver(false));
    assert!(pair.deliver(false));
    assert!(matches!(pair.a.inbox.back(), Some(Message::RevokeAndAck(_))));
    assert_eq!(signatures(&pair.a.inbox), 0, "signed before the batch ended");
    pair.add(false, 7_000_000).unwrap();
    pair.command(false, Command::Commit).unwrap();
    // One signature covers A's acknowledged add and B's new one.
    assert_eq!(signatures(&pair.a.inbox), 1);
    let Some(Message::CommitmentSigned(signed)) = pair.a.inbox.back() else {
        panic!("no commitment_signed last: {:?}", pair.a.inbox.back());
    };
    assert_eq!(signed.htlc_signatures.len(), 2);
    pair.run();
    // B still signs only when told: A's revocation alone leaves nothing to sign here, and
    // both HTLCs are committed on both sides.
    for side in [&pair.a, &pair.b] {
        let log = side.channel().funded().unwrap().log();
        assert_eq!(log.holder_commitment().spec.offered.len(), 1);
        assert_eq!(log.holder_commitment().spec.received.len(), 1);
        assert_eq!(log.counterparty_commitment().spec.received.len(), 1);
        assert!(log.counterparty_next().is_none());
    }
    assert!(pair.b.events.iter().any(|e| matches!(e, Event::HtlcIncoming { .. })));
}

#[test]
fn a_revocation_leaves_pending_updates_to_the_batch_commit() {
    let mut pair = Pair::open(true, Msat(1_000_000_000));
    pair.a.channel.as_mut().unwrap().sign_when_told();
    pair.add(true, 5_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    // A offers a second HTLC while its first signature is outstanding: refused to sign.
    pair.add(true, 6_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    assert_eq!(signatures(&pair.b.inbox), 1);
    pair.run();
    // B's revocation arrived; A did not sign the second HTLC by itself.
    let log = pair.a.channel().funded().unwrap().log();
    assert_eq!(log.holder_changes().proposed.len(), 1);
    assert!(log.counterparty_next().is_none());
    assert!(log.can_sign(), "the second add waits for the batch's commit");
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let log = pair.b.channel().funded().unwrap().log();
    assert_eq!(log.holder_commitment().spec.received.len(), 2);
    assert_eq!(log.counterparty_commitment().spec.received.len(), 2);
}
