//! Thousands of random interleavings of updates, signatures, deliveries, disconnections
//! (losing messages in flight) and restarts from the persisted record, reproducible from a
//! printed seed (`SHANDIAN_SEED=<n>` reruns one). After every step: no panic, no failure,
//! both sides agree on every commitment, capacity is conserved, every revoked commitment's
//! secret is stored, and (checked in `execute`) nothing was sent before its record.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shandian_channel::{Channel, Command, Event};
use shandian_tx::shachain::index_for_commitment;
use shandian_types::{FeeratePerKw, Msat};

/// `holder`'s current commitment is one that `other` signed: its contents agree.
fn check_agreement(seed: u64, holder: &Side, other: &Side) {
    let h = holder.channel().funded().unwrap().log();
    let o = other.channel().funded().unwrap().log();
    let ours = h.holder_commitment();
    let theirs = [Some(o.counterparty_commitment()), o.counterparty_next()]
        .into_iter()
        .flatten()
        .find(|c| c.number == ours.number)
        .unwrap_or_else(|| panic!("seed {seed}: the peer never signed commitment {}", ours.number));
    assert_eq!(
        ours.spec,
        theirs.spec.mirrored(),
        "seed {seed}: commitment {} differs",
        ours.number
    );
    for spec in [&ours.spec, &o.counterparty_commitment().spec] {
        assert_eq!(spec.total(), Some(Msat(FUNDING * 1000)), "seed {seed}: capacity");
    }
}

/// Every commitment of `holder` that `other` considers revoked has its secret stored.
fn check_secrets(seed: u64, holder: &Side, other: &Side) {
    // The secrets as a freshly derived signer releases them.
    let index = holder.channel().funded().unwrap().setup().signer.key_index();
    let fresh = shandian_tx::InMemorySigner::from_node_seed(&NODE_SEED, index).unwrap();
    let o = other.channel().funded().unwrap();
    let current = o.log().counterparty_commitment().number;
    for revoked in current.saturating_sub(3)..current {
        let index = index_for_commitment(revoked).unwrap();
        let stored = o.counterparty_secrets().get(index);
        let mut fresh = fresh.clone().with_revoked_count(current);
        let expected = shandian_tx::Signer::release_per_commitment_secret(&mut fresh, revoked);
        assert_eq!(stored.ok(), expected.ok(), "seed {seed}: secret {revoked}");
    }
}

fn check(seed: u64, pair: &Pair) {
    for side in [&pair.a, &pair.b] {
        assert!(
            matches!(side.channel(), Channel::Normal(_)),
            "seed {seed}: channel left Normal: {} {:?}",
            phase(side.channel()),
            side.events.iter().rev().take(3).collect::<Vec<_>>()
        );
    }
    check_agreement(seed, &pair.a, &pair.b);
    check_agreement(seed, &pair.b, &pair.a);
    check_secrets(seed, &pair.a, &pair.b);
    check_secrets(seed, &pair.b, &pair.a);
}

fn step(rng: &mut StdRng, pair: &mut Pair) {
    let on_a = rng.gen_bool(0.5);
    match rng.gen_range(0..100) {
        0..=14 => {
            let _ = pair.add(on_a, rng.gen_range(1_000..60_000_000));
        }
        15..=24 => {
            let _ = pair.command(on_a, Command::Commit);
        }
        25..=32 => {
            let fail = rng.gen_bool(0.3);
            let (me, _) = pair.sides(on_a);
            if me.channel().funded().is_some_and(|f| f.log().holder_changes().proposed.len() < 50) {
                pair.settle_incoming(on_a, fail);
            }
        }
        33..=35 => {
            let _ = pair.command(true, Command::UpdateFee(FeeratePerKw(rng.gen_range(253..8000))));
        }
        36..=37 => pair.reconnect((false, false)),
        38 => pair.reconnect((rng.gen_bool(0.5), rng.gen_bool(0.5))),
        _ => {
            pair.deliver(on_a);
        }
    }
}

fn run(seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pair = Pair::open(seed % 2 == 1, Msat(3_000_000_000));
    for _ in 0..steps {
        step(&mut rng, &mut pair);
        check(seed, &pair);
    }
    // Drain: settle everything, then verify both commitments with Bitcoin Core and close.
    pair.reconnect((false, false));
    pair.run();
    for _ in 0..6 {
        pair.settle_incoming(true, false);
        pair.settle_incoming(false, false);
        let _ = pair.command(true, Command::Commit);
        let _ = pair.command(false, Command::Commit);
        pair.run();
        check(seed, &pair);
    }
    verify_holder_commitment(&pair.a, &pair.funding_tx);
    verify_holder_commitment(&pair.b, &pair.funding_tx);
    pair.command(true, Command::Shutdown).unwrap();
    pair.run();
    if !(pair.a.channel().is_closed() && pair.b.channel().is_closed()) {
        for side in [&pair.a, &pair.b] {
            let f = side.channel().funded().unwrap();
            eprintln!("{} holder {:?}", phase(side.channel()), f.log().holder_commitment());
            eprintln!(
                "changes {:?} / {:?}",
                f.log().holder_changes(),
                f.log().counterparty_changes()
            );
            eprintln!("events {:?}", side.events.iter().rev().take(4).collect::<Vec<_>>());
        }
        panic!("seed {seed}: not closed");
    }
    kernel_verify(pair.a.broadcasts.last().unwrap(), &[pair.funding_tx.output[0].clone()]);
    let settled =
        |s: &Side| s.events.iter().filter(|e| matches!(e, Event::HtlcFulfilled { .. })).count();
    assert!(settled(&pair.a) + settled(&pair.b) > 0, "seed {seed}: nothing settled");
}

#[test]
fn random_interleavings_with_disconnects_and_restarts() {
    let (base, count) = match std::env::var("SHANDIAN_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => (seed, 1),
        None => (0xC0FFEE, 40),
    };
    for i in 0..count {
        let seed = base + i;
        println!("seed {seed}");
        run(seed, 250);
    }
}
