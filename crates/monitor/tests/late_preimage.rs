//! A preimage learned after the monitor was built (the channel closed before the node knew
//! it): `add_preimage` makes the next `resolve` claim the HTLC with it, on our commitment by
//! HTLC-success and on the counterparty's directly (BOLT 5), each claim checked by Bitcoin
//! Core's script interpreter.

#[path = "../../channel/tests/common/mod.rs"]
mod common;
mod support;

use bitcoin::Amount;
use common::*;
use shandian_channel::Command;
use shandian_monitor::{ClaimKind, Close};
use shandian_types::{BlockHeight, CltvExpiry, Msat, PaymentPreimage};
use support::*;

const CONFIRMED: BlockHeight = BlockHeight(500);

/// a paid b 3,000,000 sat, then offered b 60,000 sat (committed both ways). b does not
/// know the preimage; the harness keeps it on a's side.
fn pair_with_received_htlc(anchors: bool) -> (Pair, PaymentPreimage) {
    let mut pair = Pair::open(anchors, Msat(0));
    pair.pay(true, 3_000_000_000);
    let preimage = pair.add(true, 60_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    (pair, preimage)
}

#[test]
fn a_late_preimage_claims_the_htlc_on_our_commitment_by_htlc_success() {
    let (pair, preimage) = pair_with_received_htlc(false);
    let (ours, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let mut b = monitor(&pair.b);
    let before = b.resolve(&ours, CONFIRMED, &policy()).unwrap();
    let close = before.close;
    assert!(matches!(close, Close::HolderLatest { .. }), "{close:?}");
    assert!(of_kind(&before.claims, ClaimKind::HtlcSuccess).is_empty());
    assert_eq!(b.received_hashes(), vec![preimage.hash()]);
    assert_eq!(b.received_awaiting_preimage(close), vec![(preimage.hash(), CltvExpiry(1_000))]);

    // A preimage of nothing we received is not kept.
    assert!(!b.add_preimage(PaymentPreimage([7; 32])));
    assert!(b.add_preimage(preimage));
    assert!(b.received_awaiting_preimage(close).is_empty());
    let after = b.resolve(&ours, CONFIRMED, &policy()).unwrap();
    let [success] = of_kind(&after.claims, ClaimKind::HtlcSuccess)[..] else {
        panic!("one HTLC-success claim: {:?}", after.claims)
    };
    kernel_verify(&success.tx, std::slice::from_ref(&success.prevout));
    assert_eq!(success.prevout.value, Amount::from_sat(60_000));
    assert_eq!(success.spends.txid, ours.compute_txid());
    assert_eq!(success.valid_at, BlockHeight(CONFIRMED.0 + 1));
    assert!(success.tx.input[0].witness.iter().any(|w| w == preimage.0));
    // The other claims are the same as before.
    assert_eq!(after.claims.len(), before.claims.len() + 1);
    // Its output is ours after the delay: the second stage sweeps it.
    let second = b.claim_second_stage(&success.tx, BlockHeight(510), &policy()).unwrap().unwrap();
    assert_eq!(second.kind, ClaimKind::SecondStage);
    check(&second);
}

#[test]
fn a_late_preimage_claims_the_htlc_on_the_counterpartys_commitment_directly() {
    for anchors in [false, true] {
        let (pair, preimage) = pair_with_received_htlc(anchors);
        let (theirs, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let mut b = monitor(&pair.b);
        let before = b.resolve(&theirs, CONFIRMED, &policy()).unwrap();
        let close = before.close;
        assert!(matches!(close, Close::Counterparty { .. }), "{close:?}");
        assert!(of_kind(&before.claims, ClaimKind::CounterpartyHtlcPreimage).is_empty());
        assert_eq!(b.received_awaiting_preimage(close).len(), 1);

        assert!(b.add_preimage(preimage));
        assert!(b.received_awaiting_preimage(close).is_empty());
        let after = b.resolve(&theirs, CONFIRMED, &policy()).unwrap();
        let [claim] = of_kind(&after.claims, ClaimKind::CounterpartyHtlcPreimage)[..] else {
            panic!("one preimage claim: {:?}", after.claims)
        };
        check(claim);
        assert_eq!(claim.prevout.value, Amount::from_sat(60_000));
        assert!(claim.tx.input[0].witness.iter().any(|w| w == preimage.0));
    }
}

#[test]
fn nothing_awaits_a_preimage_after_a_revoked_or_cooperative_close() {
    let (mut pair, _) = pair_with_received_htlc(false);
    let (revoked, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    pair.pay(false, 1_000_000);
    let b = monitor(&pair.b);
    let resolution = b.resolve(&revoked, CONFIRMED, &policy()).unwrap();
    assert!(matches!(resolution.close, Close::RevokedCounterparty { .. }));
    assert!(b.received_awaiting_preimage(resolution.close).is_empty());
    assert!(b.received_awaiting_preimage(Close::Cooperative).is_empty());
}

#[test]
fn a_dust_htlc_awaits_no_preimage_and_its_preimage_adds_no_claim() {
    // 300 sat: trimmed on both commitments, no output to claim.
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 3_000_000_000);
    let preimage = pair.add(true, 300_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let (theirs, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let mut b = monitor(&pair.b);
    let before = b.resolve(&theirs, CONFIRMED, &policy()).unwrap();
    assert!(b.received_awaiting_preimage(before.close).is_empty());
    // The HTLC is in the commitments, so the preimage is kept, but nothing more is claimed.
    assert!(b.add_preimage(preimage));
    let after = b.resolve(&theirs, CONFIRMED, &policy()).unwrap();
    assert_eq!(after.claims, before.claims);
}

proptest::proptest! {
    /// A preimage whose hash locks no HTLC the counterparty offered us is never kept, and
    /// changes no claim.
    #[test]
    fn an_unrelated_preimage_is_never_kept(bytes in proptest::array::uniform32(proptest::num::u8::ANY)) {
        let (pair, preimage, theirs) = shared();
        proptest::prop_assume!(bytes != preimage.0);
        let mut b = monitor(&pair.b);
        proptest::prop_assert!(!b.add_preimage(PaymentPreimage(bytes)));
        let resolution = b.resolve(theirs, CONFIRMED, &policy()).unwrap();
        proptest::prop_assert!(of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcPreimage).is_empty());
    }
}

/// A pair with an HTLC b received, its preimage, and a's commitment, built once.
fn shared() -> &'static (Pair, PaymentPreimage, bitcoin::Transaction) {
    static SHARED: std::sync::OnceLock<(Pair, PaymentPreimage, bitcoin::Transaction)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let (pair, preimage) = pair_with_received_htlc(false);
        let (theirs, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
        (pair, preimage, theirs)
    })
}
