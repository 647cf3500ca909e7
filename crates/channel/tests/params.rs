//! BOLT 2 `open_channel` / `accept_channel` parameter checks: every "MUST fail" and the
//! "MAY fail" ones our policy applies.

mod common;

use bitcoin::constants::ChainHash;
use bitcoin::Amount;
use common::*;
use shandian_channel::{Action, Channel, ChannelType, Error};
use shandian_types::{Features, FeeratePerKw, Msat};
use shandian_wire::{AcceptChannel, Message, OpenChannel};

fn keys(tag: u8) -> shandian_channel::ChannelSigner {
    signer(u32::from(tag))
}

fn base_open() -> OpenChannel {
    let (_, out) = Channel::open(config(1), keys(1), &request(true, Msat(0))).unwrap();
    let Some(Action::Send(Message::OpenChannel(open))) = out.into_iter().next() else {
        panic!("open_channel")
    };
    open
}

fn accept(open: &OpenChannel) -> Result<AcceptChannel, Error> {
    let (_, out) = Channel::accept(config(2), keys(2), open)?;
    match out.into_iter().next() {
        Some(Action::Send(Message::AcceptChannel(a))) => Ok(a),
        other => panic!("unexpected {other:?}"),
    }
}

fn rejects(tweak: impl Fn(&mut OpenChannel), expected: Error) {
    let mut open = base_open();
    tweak(&mut open);
    assert_eq!(accept(&open).err(), Some(expected));
}

#[test]
fn a_sane_open_channel_is_accepted() {
    let accepted = accept(&base_open()).unwrap();
    // Our reserve covers their dust limit and the channel type echoes theirs.
    assert!(accepted.channel_reserve_satoshis >= base_open().dust_limit_satoshis);
    assert_eq!(accepted.tlvs.channel_type, base_open().tlvs.channel_type);
}

#[test]
fn open_channel_must_fail_checks() {
    rejects(|o| o.chain_hash = ChainHash::BITCOIN, Error::UnknownChain);
    rejects(
        |o| o.push_msat = Msat(o.funding_satoshis.to_sat() * 1000 + 1),
        Error::PushExceedsFunding(Msat(10_000_000_001)),
    );
    rejects(|o| o.to_self_delay = 2017, Error::ToSelfDelayTooLarge(2017));
    rejects(|o| o.max_accepted_htlcs = 484, Error::MaxAcceptedHtlcsOutOfRange(484));
    rejects(|o| o.max_accepted_htlcs = 0, Error::MaxAcceptedHtlcsOutOfRange(0));
    rejects(|o| o.feerate_per_kw = FeeratePerKw(252), Error::FeerateOutOfRange(FeeratePerKw(252)));
    rejects(
        |o| o.feerate_per_kw = FeeratePerKw(250_001),
        Error::FeerateOutOfRange(FeeratePerKw(250_001)),
    );
    rejects(
        |o| o.dust_limit_satoshis = Amount::from_sat(353),
        Error::DustLimitTooSmall(Amount::from_sat(353)),
    );
    rejects(
        |o| o.channel_reserve_satoshis = Amount::from_sat(500),
        Error::ReserveBelowDustLimit {
            reserve: Amount::from_sat(500),
            dust_limit: Amount::from_sat(546),
        },
    );
    rejects(
        |o| o.funding_satoshis = Amount::from_sat(1 << 24),
        Error::FundingTooLarge(Amount::from_sat(1 << 24)),
    );
    rejects(|o| o.tlvs.channel_type = None, Error::UnsupportedChannelType);
    // option_zeroconf: we do not trust unconfirmed funding.
    rejects(
        |o| o.tlvs.channel_type = Some(Features::from_bits([12, 22, 50])),
        Error::UnsupportedChannelType,
    );
    // Legacy (no static_remotekey) is not a type we support.
    rejects(
        |o| o.tlvs.channel_type = Some(Features::from_bits([22])),
        Error::UnsupportedChannelType,
    );
}

#[test]
fn anchors_are_refused_when_the_policy_does_not_take_them() {
    let anchors = ChannelType { anchors: true, scid_alias: false }.to_features();
    let mut open = base_open();
    open.tlvs.channel_type = Some(anchors);
    assert!(accept(&open).is_ok(), "the default policy takes anchors");
    let mut no_anchors = config(2);
    no_anchors.policy.anchors = false;
    let refused = Channel::accept(no_anchors, keys(2), &open).err();
    assert_eq!(refused, Some(Error::UnsupportedChannelType));
}

#[test]
fn open_channel_initial_balance_checks() {
    // The funder cannot pay the initial fee: everything pushed.
    rejects(|o| o.push_msat = Msat(o.funding_satoshis.to_sat() * 1000), Error::FunderCannotPayFee);
    // Both sides at or below the reserve: tiny channel, big reserve, half pushed.
    rejects(
        |o| {
            o.funding_satoshis = Amount::from_sat(20_000);
            o.channel_reserve_satoshis = Amount::from_sat(4_000);
            // The funder keeps 16,000 - 15,834 (fee and anchors) = 166 sat <= our 546 sat
            // reserve; the fundee gets 4,000 sat <= its 4,000 sat reserve.
            o.push_msat = Msat(4_000_000);
            o.feerate_per_kw = FeeratePerKw(13_500);
        },
        Error::BothBalancesBelowReserve,
    );
}

#[test]
fn open_channel_policy_checks() {
    rejects(
        |o| o.funding_satoshis = Amount::from_sat(9_999),
        Error::FundingTooSmall(Amount::from_sat(9_999)),
    );
    rejects(|o| o.htlc_minimum_msat = Msat(1_000_001), Error::HtlcMinimumTooLarge(Msat(1_000_001)));
    rejects(
        |o| o.max_htlc_value_in_flight_msat = Msat(1_000),
        Error::MaxInFlightTooSmall(Msat(1_000)),
    );
    rejects(
        |o| o.channel_reserve_satoshis = Amount::from_sat(2_000_001),
        Error::ReserveTooLarge(Amount::from_sat(2_000_001)),
    );
    rejects(|o| o.max_accepted_htlcs = 4, Error::MaxAcceptedHtlcsTooSmall(4));
    rejects(
        |o| o.dust_limit_satoshis = Amount::from_sat(10_001),
        Error::DustLimitTooLarge(Amount::from_sat(10_001)),
    );
}

fn accept_rejects(tweak: impl Fn(&mut AcceptChannel), expected: Error) {
    let (opener, out) = Channel::open(config(1), keys(1), &request(true, Msat(0))).unwrap();
    let Some(Action::Send(Message::OpenChannel(open))) = out.first() else { panic!("open") };
    let mut accepted = accept(open).unwrap();
    tweak(&mut accepted);
    let (after, actions) = opener.handle_message(&Message::from(accepted));
    assert!(after.is_closed(), "accepted a bad accept_channel");
    assert!(actions.iter().any(|a| matches!(a, Action::Send(Message::Error(_)))));
    assert!(actions.iter().any(
        |a| matches!(a, Action::Event(shandian_channel::Event::PeerViolation(e)) if *e == expected)
    ));
}

#[test]
fn accept_channel_checks() {
    accept_rejects(|a| a.tlvs.channel_type = None, Error::UnsupportedChannelType);
    let static_only = ChannelType { anchors: false, scid_alias: false }.to_features();
    accept_rejects(|a| a.tlvs.channel_type = Some(static_only.clone()), Error::ChannelTypeMismatch);
    accept_rejects(|a| a.minimum_depth = 1_000, Error::MinimumDepthTooLarge(1_000));
    accept_rejects(|a| a.max_accepted_htlcs = 500, Error::MaxAcceptedHtlcsOutOfRange(500));
    accept_rejects(
        |a| a.channel_reserve_satoshis = Amount::from_sat(400),
        Error::ReserveBelowDustLimit {
            reserve: Amount::from_sat(400),
            dust_limit: Amount::from_sat(546),
        },
    );
    accept_rejects(
        |a| a.dust_limit_satoshis = Amount::from_sat(200_000),
        Error::DustLimitTooLarge(Amount::from_sat(200_000)),
    );
}

#[test]
fn channel_type_round_trips() {
    for anchors in [false, true] {
        let t = ChannelType { anchors, scid_alias: false };
        assert_eq!(ChannelType::from_features(&t.to_features()), Ok(t));
    }
}
