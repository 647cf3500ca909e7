//! Each peer violation by name: the channel detects it, applies the reaction its error
//! says, and never panics.

mod common;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::{Amount, ScriptBuf};
use common::*;
use shandian_channel::{Action, Channel, CloseReason, Command, Error, Event};
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentPreimage};
use shandian_wire::{
    Message, OnionPacket, UpdateAddHtlc, UpdateFee, UpdateFulfillHtlc, ONION_PACKET_LEN,
};

/// Delivers `msg` to a (`to_a`) or b ahead of everything else.
fn inject(pair: &mut Pair, to_a: bool, msg: Message) {
    pair.sides(to_a).0.inbox.push_front(msg);
    pair.deliver(to_a);
}

fn assert_failed_with(side: &Side, error: Error) {
    match side.channel() {
        Channel::Closed(c) => assert_eq!(c.reason, CloseReason::ProtocolViolation(error.clone())),
        other => panic!("expected failure with {error:?}, channel is {}", phase(other)),
    }
    assert!(side.events.contains(&Event::PeerViolation(error)));
}

/// A failed funded channel broadcasts a commitment that Bitcoin Core accepts.
fn assert_broadcast_valid_commitment(pair: &Pair, on_a: bool) {
    let side = if on_a { &pair.a } else { &pair.b };
    let tx = side.broadcasts.last().expect("commitment broadcast");
    kernel_verify(tx, &[pair.funding_tx.output[0].clone()]);
}

fn add_msg(pair: &Pair, id: u64, amount: u64) -> Message {
    Message::from(UpdateAddHtlc {
        channel_id: pair.a.channel().channel_id(),
        id,
        amount_msat: Msat(amount),
        payment_hash: PaymentPreimage([id as u8; 32]).hash(),
        cltv_expiry: CltvExpiry(1_000),
        onion_routing_packet: OnionPacket::new([0; ONION_PACKET_LEN]),
        blinding_point: None,
    })
}

#[test]
fn wrong_funding_output() {
    for tamper in [0, 1] {
        let mut pair = Pair::funded(true, Msat(0));
        let mut tx = pair.funding_tx.clone();
        match tamper {
            0 => tx.output[0].value -= Amount::from_sat(1),
            _ => tx.output[0].script_pubkey = ScriptBuf::new_op_return([1u8; 4]),
        }
        pair.funding_tx = tx;
        pair.confirm(6);
        for side in [&pair.a, &pair.b] {
            assert!(
                matches!(side.channel(), Channel::Closed(c) if c.reason == CloseReason::ProtocolViolation(Error::WrongFundingOutput))
            );
            // Our commitment spends nothing valid: nothing but the funding tx was broadcast.
            assert!(side.broadcasts.len() <= 1);
        }
    }
}

#[test]
fn peer_exceeding_max_accepted_htlcs() {
    let mut pair = Pair::open(false, Msat(0));
    let limit = 483;
    for id in 0..limit {
        let msg = add_msg(&pair, id, 1_000_000);
        inject(&mut pair, false, msg);
    }
    assert!(matches!(pair.b.channel(), Channel::Normal(_)));
    let msg = add_msg(&pair, limit, 1_000_000);
    inject(&mut pair, false, msg);
    assert_failed_with(&pair.b, Error::TooManyHtlcs(483));
    assert_broadcast_valid_commitment(&pair, false);
    // Our own machine refuses to offer more than the peer accepts.
    let mut pair = Pair::open(false, Msat(0));
    for _ in 0..limit {
        pair.add(true, 1_000_000).unwrap();
    }
    assert_eq!(pair.add(true, 1_000_000), Err(Error::TooManyHtlcs(483)));
}

#[test]
fn htlc_below_htlc_minimum() {
    let mut pair = Pair::open(false, Msat(0));
    assert_eq!(pair.add(true, 999), Err(Error::HtlcBelowMinimum(Msat(999))));
    let msg = add_msg(&pair, 0, 999);
    inject(&mut pair, false, msg);
    assert_failed_with(&pair.b, Error::HtlcBelowMinimum(Msat(999)));
    assert!(pair.b.inbox.is_empty() && matches!(pair.a.inbox.front(), Some(Message::Error(_))));
}

#[test]
fn peer_breaking_the_reserve() {
    // b has 3,000,000 sat; a requires a reserve of 1% of 10,000,000 = 100,000 sat.
    let mut pair = Pair::open(false, Msat(3_000_000_000));
    assert_eq!(pair.add(false, 2_950_000_000), Err(Error::ReserveBreached));
    let msg = add_msg(&pair, 0, 2_950_000_000);
    inject(&mut pair, true, msg);
    assert_failed_with(&pair.a, Error::ReserveBreached);
    assert_broadcast_valid_commitment(&pair, true);
}

#[test]
fn non_funder_update_fee() {
    let mut pair = Pair::open(false, Msat(3_000_000_000));
    assert_eq!(
        pair.command(false, Command::UpdateFee(FeeratePerKw(3000))),
        Err(Error::UpdateFeeFromNonFunder)
    );
    let channel_id = pair.a.channel().channel_id();
    inject(
        &mut pair,
        true,
        Message::from(UpdateFee { channel_id, feerate_per_kw: FeeratePerKw(3000) }),
    );
    assert_failed_with(&pair.a, Error::UpdateFeeFromNonFunder);
    // The funder's update_fee is fine, and applied on both commitments.
    let mut pair = Pair::open(false, Msat(0));
    pair.command(true, Command::UpdateFee(FeeratePerKw(3000))).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let fee = |s: &Side| s.channel().funded().unwrap().log().holder_commitment().spec.feerate;
    assert_eq!((fee(&pair.a), fee(&pair.b)), (FeeratePerKw(3000), FeeratePerKw(3000)));
    verify_holder_commitment(&pair.b, &pair.funding_tx);
}

#[test]
fn dust_exposure_over_the_limit() {
    // 1,000 sat HTLCs are trimmed at 2,500 sat/kw (546 + 1,757 sat success fee); the
    // limit is 5,000,000 msat: five fit, the sixth does not.
    let small = |is_a: bool, c: &mut shandian_channel::ChannelConfig| {
        if is_a {
            c.max_dust_exposure = Msat(5_000_000);
        }
    };
    let mut pair = Pair::funded_with(false, Msat(3_000_000_000), small);
    pair.confirm(3);
    for _ in 0..5 {
        pair.add(true, 1_000_000).unwrap();
    }
    assert_eq!(pair.add(true, 1_000_000), Err(Error::DustExposureExceeded(Msat(6_000_000))));
    // Received dust over the limit is accepted, then must be failed once committed.
    let mut pair = Pair::funded_with(false, Msat(3_000_000_000), small);
    pair.confirm(3);
    for _ in 0..6 {
        pair.add(false, 1_000_000).unwrap();
    }
    // b's own checks use its view of its offered dust; a's must flag the sixth.
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let flagged: Vec<bool> = pair
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::HtlcIncoming { must_fail, .. } => Some(*must_fail),
            _ => None,
        })
        .collect();
    assert_eq!(flagged.len(), 6);
    assert_eq!(flagged, [false, false, false, false, false, true]);
}

/// Runs a's HTLC and commitment_signed to b, tampering with the commitment_signed.
fn with_tampered_commitment(tamper: impl Fn(&mut shandian_wire::CommitmentSigned)) -> Pair {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 10_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    let Some(Message::CommitmentSigned(mut m)) = pair.b.inbox.pop_back() else { panic!("commit") };
    tamper(&mut m);
    pair.b.inbox.push_back(Message::from(m));
    pair.run();
    pair
}

#[test]
fn bad_signature() {
    let pair = with_tampered_commitment(|m| {
        let mut bytes = m.signature.serialize_compact();
        bytes[40] ^= 1;
        m.signature = Signature::from_compact(&bytes).unwrap();
    });
    assert_failed_with(&pair.b, Error::InvalidCommitmentSignature);
    assert_broadcast_valid_commitment(&pair, false);
    let pair = with_tampered_commitment(|m| m.htlc_signatures[0] = m.signature);
    assert_failed_with(&pair.b, Error::InvalidHtlcSignature);
    let pair = with_tampered_commitment(|m| m.htlc_signatures.clear());
    assert_failed_with(&pair.b, Error::InvalidHtlcSignature);
}

#[test]
fn bad_revocation_secret() {
    let mut pair = Pair::open(false, Msat(0));
    pair.add(true, 10_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.deliver(false);
    pair.deliver(false);
    let Some(Message::RevokeAndAck(mut m)) = pair.a.inbox.pop_front() else { panic!("revoke") };
    m.per_commitment_secret[0] ^= 1;
    inject(&mut pair, true, Message::from(m));
    assert_failed_with(&pair.a, Error::InvalidRevocationSecret);
    assert_broadcast_valid_commitment(&pair, true);
}

#[test]
fn unknown_htlc_id() {
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 10_000_000);
    let channel_id = pair.a.channel().channel_id();
    let fulfill = UpdateFulfillHtlc {
        channel_id,
        id: 99,
        payment_preimage: PaymentPreimage([1; 32]),
        attribution_data: None,
    };
    inject(&mut pair, true, Message::from(fulfill));
    assert_failed_with(&pair.a, Error::UnknownHtlcId(99));
    // Our own commands on unknown ids are refused without harm.
    let mut pair = Pair::open(false, Msat(0));
    let removal = shandian_channel::Removal::Fail(vec![]);
    assert_eq!(
        pair.command(true, Command::RemoveHtlc { id: 5, removal }),
        Err(Error::UnknownHtlcId(5))
    );
    assert!(matches!(pair.a.channel(), Channel::Normal(_)));
}

#[test]
fn peer_error_message_force_closes() {
    let mut pair = Pair::open(false, Msat(0));
    let channel_id = pair.a.channel().channel_id();
    let error = shandian_wire::ErrorMessage { channel_id, data: b"bye".to_vec() };
    inject(&mut pair, true, Message::from(error));
    assert!(matches!(pair.a.channel(), Channel::Closed(c) if c.reason == CloseReason::PeerError));
    assert_broadcast_valid_commitment(&pair, true);
    let _ = Action::Event(Event::ShuttingDown);
}

#[test]
fn add_after_shutdown() {
    let mut pair = Pair::open(false, Msat(1_000_000_000));
    pair.add(true, 10_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(true, Command::Shutdown).unwrap();
    pair.run();
    // Both shutdowns exchanged; an HTLC keeps the channel open; b may not add any more.
    assert!(matches!(pair.a.channel(), Channel::ShuttingDown(_)));
    let msg = add_msg(&pair, 0, 1_000_000);
    inject(&mut pair, true, msg);
    assert_failed_with(&pair.a, Error::AddAfterShutdown);
    assert_broadcast_valid_commitment(&pair, true);
}

#[test]
fn unknown_odd_message_is_ignored_and_unexpected_ones_warn() {
    let mut pair = Pair::open(false, Msat(0));
    inject(&mut pair, true, Message::UnknownOdd { msg_type: 32_769 });
    assert!(matches!(pair.a.channel(), Channel::Normal(_)));
    assert!(pair.b.inbox.is_empty());
    // A closing_signed makes no sense before shutdown: warn, keep the channel.
    let channel_id = pair.a.channel().channel_id();
    let bogus = shandian_wire::ClosingSigned {
        channel_id,
        fee_satoshis: Amount::from_sat(1000),
        signature: Signature::from_compact(&[1; 64]).unwrap(),
        fee_range: None,
    };
    inject(&mut pair, true, Message::from(bogus));
    assert!(matches!(pair.a.channel(), Channel::Normal(_)));
    assert!(matches!(pair.b.inbox.back(), Some(Message::Warning(_))));
    assert!(pair.a.events.contains(&Event::PeerViolation(Error::UnexpectedMessage)));
}
