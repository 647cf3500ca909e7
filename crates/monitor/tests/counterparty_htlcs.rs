//! The HTLC outputs of the counterparty's commitment (BOLT 5 "Unilateral Close Handling:
//! Remote Commitment Transaction"): ours taken back after expiry, theirs with the preimage we
//! know, each claim checked by Bitcoin Core's script interpreter.

#[path = "../../channel/tests/common/mod.rs"]
mod common;
mod support;

use bitcoin::{Amount, ScriptBuf, Transaction};
use common::*;
use shandian_channel::Command;
use shandian_monitor::{ChannelMonitor, ClaimKind, Close, SweepPolicy};
use shandian_tx::{ChannelType, SpendPath, Sweep, SweepInput};
use shandian_types::{BlockHeight, CltvExpiry, FeeratePerKw, Msat, PaymentPreimage};
use support::*;

const CONFIRMED: BlockHeight = BlockHeight(500);
/// The channel harness's HTLCs expire at 1000.
const EXPIRY: u32 = 1_000;

/// A paid b 3,000,000 sat; a offered 50,000 sat (id 1), b offered 40,000 sat; committed both
/// ways. Then a fulfils b's HTLC without committing: b's commitment still carries it and a
/// knows its preimage.
fn pair_with_htlcs(anchors: bool) -> (Pair, PaymentPreimage) {
    let mut pair = Pair::open(anchors, Msat(0));
    pair.pay(true, 3_000_000_000);
    pair.add(true, 50_000_000).unwrap();
    let theirs = pair.add(false, 40_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    assert_eq!(pair.settle_incoming(true, false), 1);
    (pair, theirs)
}

fn channel_type(anchors: bool) -> ChannelType {
    if anchors {
        ChannelType::AnchorsZeroFeeHtlcTx
    } else {
        ChannelType::StaticRemoteKey
    }
}

#[test]
fn our_htlc_is_taken_back_after_expiry_and_theirs_with_the_preimage() {
    for anchors in [false, true] {
        let (pair, theirs_preimage) = pair_with_htlcs(anchors);
        let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let a = monitor(&pair.a);
        let resolution = a.resolve(&theirs, CONFIRMED, &policy()).unwrap();
        let Close::Counterparty { commitment_number } = resolution.close else {
            panic!("{:?}", resolution.close)
        };
        assert_eq!(of_kind(&resolution.claims, ClaimKind::ToRemote).len(), 1);
        assert!(resolution.unclaimed.is_empty(), "{:?}", resolution.unclaimed);

        let [timeout] = of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcTimeout)[..] else {
            panic!("one timeout claim: {:?}", resolution.claims)
        };
        check(timeout);
        assert_eq!(timeout.prevout.value, Amount::from_sat(50_000));
        // BOLT 5: once the HTLC has timed out: nLockTime = cltv_expiry, valid in the next block.
        assert_eq!(timeout.tx.lock_time.to_consensus_u32(), EXPIRY);
        assert_eq!(timeout.valid_at, BlockHeight(EXPIRY + 1));
        assert!(!timeout.ready(BlockHeight(EXPIRY - 1)));
        assert!(timeout.ready(BlockHeight(EXPIRY)));
        // It names our HTLC id 1.
        let outputs = a.offered_outputs_on_counterparty(commitment_number).unwrap();
        assert_eq!(outputs, vec![(1, timeout.spends.vout)]);
        assert!(a.offered_outputs_on_counterparty(commitment_number + 7).unwrap().is_empty());

        let [preimage] = of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcPreimage)[..]
        else {
            panic!("one preimage claim: {:?}", resolution.claims)
        };
        check(preimage);
        assert_eq!(preimage.prevout.value, Amount::from_sat(40_000));
        assert_eq!(preimage.valid_at, BlockHeight(CONFIRMED.0 + 1));
        let witness: Vec<&[u8]> = preimage.tx.input[0].witness.iter().collect();
        assert_eq!(witness[1], theirs_preimage.0.as_slice(), "BOLT 3: <sig> <preimage>");

        // Every output but the counterparty's own (to_local, anchors) is ours.
        let taken: Amount = resolution.claims.iter().map(|c| c.prevout.value).sum();
        let spec = &pair.b.channel().funded().unwrap().log().holder_commitment().spec;
        let theirs_value = theirs
            .output
            .iter()
            .map(|o| o.value)
            .filter(|v| v.to_sat() * 1000 == spec.to_holder.0 || v.to_sat() == 330)
            .sum::<Amount>();
        let total: Amount = theirs.output.iter().map(|o| o.value).sum();
        assert_eq!(taken + theirs_value, total);
    }
}

#[test]
fn the_timeout_claim_is_invalid_before_the_expiry() {
    for anchors in [false, true] {
        let (pair, _) = pair_with_htlcs(anchors);
        let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let resolution = monitor(&pair.a).resolve(&theirs, CONFIRMED, &policy()).unwrap();
        let [timeout] = of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcTimeout)[..] else {
            panic!("one timeout claim")
        };
        // The same spend, properly signed, with nLockTime one block before the expiry: the
        // script's OP_CHECKLOCKTIMEVERIFY refuses it. At the expiry it passes.
        let funded = pair.a.channel().funded().unwrap();
        let (point, _) = funded.counterparty_points();
        let script = ScriptBuf::from_bytes(timeout.tx.input[0].witness.last().unwrap().to_vec());
        let resign = |locktime: u32| {
            let sweep = Sweep {
                inputs: vec![SweepInput {
                    outpoint: timeout.spends,
                    value: timeout.prevout.value,
                    witness_script: script.clone(),
                    path: SpendPath::HtlcTimeout {
                        per_commitment_point: point,
                        cltv_expiry: CltvExpiry(locktime),
                        channel_type: channel_type(anchors),
                    },
                }],
                destination: policy().destination,
                feerate: policy().feerate,
                min_locktime: 0,
            };
            let mut tx = sweep.build().unwrap();
            funded.setup().signer.signer().sign_sweep(&mut tx, &sweep.inputs).unwrap();
            assert_eq!(tx.lock_time.to_consensus_u32(), locktime);
            tx
        };
        assert!(!kernel_accepts(&resign(EXPIRY - 1), &timeout.prevout));
        assert!(kernel_accepts(&resign(EXPIRY), &timeout.prevout));
        // A commitment confirmed after the expiry: claimable at once.
        let late = monitor(&pair.a).resolve(&theirs, BlockHeight(2_000), &policy()).unwrap();
        let [late] = of_kind(&late.claims, ClaimKind::CounterpartyHtlcTimeout)[..] else {
            panic!("one timeout claim")
        };
        assert_eq!(late.valid_at, BlockHeight(2_001));
        check(late);
    }
}

#[test]
fn without_the_preimage_their_htlc_is_left_to_them() {
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 3_000_000_000);
    pair.add(false, 40_000_000).unwrap();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let resolution = monitor(&pair.a).resolve(&theirs, CONFIRMED, &policy()).unwrap();
    assert!(matches!(resolution.close, Close::Counterparty { .. }));
    let kinds: Vec<ClaimKind> = resolution.claims.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec![ClaimKind::ToRemote]);
}

#[test]
fn the_counterpartys_next_commitment_is_claimed_too() {
    for anchors in [false, true] {
        let (mut pair, _) = pair_with_htlcs(anchors);
        pair.run();
        pair.command(true, Command::Commit).unwrap();
        pair.run();
        pair.command(false, Command::Commit).unwrap();
        pair.run();
        // a offers a second HTLC and signs b's next commitment; b receives it (and can
        // broadcast it), its revocation has not reached a.
        pair.add(true, 30_000_000).unwrap();
        pair.command(true, Command::Commit).unwrap();
        let a = monitor(&pair.a);
        // update_add_htlc, then commitment_signed.
        assert!(pair.deliver(false) && pair.deliver(false));
        let (next, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let resolution = a.resolve(&next, CONFIRMED, &policy()).unwrap();
        let Close::Counterparty { commitment_number } = resolution.close else {
            panic!("{:?}", resolution.close)
        };
        // It is the one a signed and not yet seen revoked the previous of.
        let log = pair.a.channel().funded().unwrap().log();
        assert_eq!(log.counterparty_next().map(|c| c.number), Some(commitment_number));
        let timeouts = of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcTimeout);
        assert_eq!(timeouts.len(), 2, "{:?}", resolution.claims);
        for claim in &timeouts {
            check(claim);
        }
        let mut values: Vec<u64> = timeouts.iter().map(|c| c.prevout.value.to_sat()).collect();
        values.sort_unstable();
        assert_eq!(values, vec![30_000, 50_000]);
        let outputs = a.offered_outputs_on_counterparty(commitment_number).unwrap();
        let ids: Vec<u64> = outputs.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2]);
        for claim in timeouts {
            assert!(outputs.iter().any(|(_, vout)| *vout == claim.spends.vout));
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// Whenever the commitment confirms and at whatever feerate, each claim verifies, the
    /// timeout is never valid before the expiry and fees never exceed the output.
    #[test]
    fn claims_hold_at_any_height_and_feerate(confirmed in 1u32..3_000, feerate in 253u32..50_000) {
        let (monitor, theirs) = shared();
        let policy = SweepPolicy { feerate: FeeratePerKw(feerate), ..policy() };
        let resolution = monitor.resolve(theirs, BlockHeight(confirmed), &policy).unwrap();
        for claim in &resolution.claims {
            kernel_verify(&claim.tx, std::slice::from_ref(&claim.prevout));
            proptest::prop_assert!(claim.tx.output[0].value < claim.prevout.value);
            proptest::prop_assert!(claim.valid_at.0 > confirmed);
            if claim.kind == ClaimKind::CounterpartyHtlcTimeout {
                proptest::prop_assert!(claim.valid_at.0 > EXPIRY);
                proptest::prop_assert!(claim.tx.lock_time.to_consensus_u32() >= EXPIRY);
            }
        }
        // Nothing is lost silently: a claim or reported unclaimed for each of our outputs.
        proptest::prop_assert_eq!(resolution.claims.len() + resolution.unclaimed.len(), 3);
    }
}

fn shared() -> &'static (ChannelMonitor, Transaction) {
    static SHARED: std::sync::OnceLock<(ChannelMonitor, Transaction)> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let (pair, _) = pair_with_htlcs(false);
        let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        (monitor(&pair.a), theirs)
    })
}
