//! Every kind of funding spend, with two real channel state machines (the channel crate's
//! test harness) and every claim checked by Bitcoin Core's script interpreter.

#[path = "../../channel/tests/common/mod.rs"]
mod common;
mod support;

use bitcoin::{Amount, Sequence, Transaction, TxOut};
use common::*;
use shandian_channel::Command;
use shandian_monitor::{ChannelMonitor, ClaimKind, Close, Error, SweepPolicy};
use shandian_tx::commitment::ANCHOR_OUTPUT_VALUE;
use shandian_types::{BlockHeight, FeeratePerKw, Msat};
use support::*;

const CONFIRMED: BlockHeight = BlockHeight(500);

/// An open channel where a paid b 3,000,000 sat and each side has an HTLC in flight.
fn busy_pair(anchors: bool) -> Pair {
    let mut pair = Pair::open(anchors, Msat(0));
    pair.pay(true, 3_000_000_000);
    pair.add(true, 50_000_000).unwrap();
    pair.add(false, 40_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    pair
}

#[test]
fn our_latest_commitment_sweeps_to_local_after_the_delay_and_times_out_our_htlc() {
    for anchors in [false, true] {
        let pair = busy_pair(anchors);
        let funded = pair.a.channel().funded().unwrap();
        let (commitment, _) = funded.holder_commitment_txs().unwrap();
        kernel_verify(&commitment, &[pair.funding_tx.output[0].clone()]);
        let monitor = monitor(&pair.a);
        assert_eq!(monitor.funding_outpoint(), funded.setup().funding.outpoint);
        let resolution = monitor.resolve(&commitment, CONFIRMED, &policy()).unwrap();
        assert!(matches!(resolution.close, Close::HolderLatest { .. }), "{:?}", resolution.close);

        let [to_local] = of_kind(&resolution.claims, ClaimKind::DelayedToLocal)[..] else {
            panic!("one to_local claim: {:?}", resolution.claims)
        };
        check(to_local);
        // b imposed a 144-block delay on a's outputs.
        assert_eq!(to_local.valid_at, BlockHeight(CONFIRMED.0 + 144));
        assert!(!to_local.ready(BlockHeight(CONFIRMED.0 + 142)));
        assert!(to_local.ready(BlockHeight(CONFIRMED.0 + 143)));
        // The CSV is real: one block less and Core refuses the spend.
        let mut early = to_local.tx.clone();
        early.input[0].sequence = Sequence(143);
        assert!(!kernel_accepts(&early, &to_local.prevout));
        // What a had on its commitment, all of it minus the sweep's fee.
        let spec = &funded.log().holder_commitment().spec;
        assert!(to_local.prevout.value.to_sat() * 1000 <= spec.to_holder.0);

        let timeouts = of_kind(&resolution.claims, ClaimKind::HtlcTimeout);
        if anchors {
            // Zero-fee HTLC transactions need wallet inputs: left for now, reported.
            assert!(timeouts.is_empty());
            assert_eq!(resolution.unclaimed.len(), 1);
            continue;
        }
        let [timeout] = timeouts[..] else { panic!("one HTLC-timeout: {:?}", resolution.claims) };
        kernel_verify(&timeout.tx, std::slice::from_ref(&timeout.prevout));
        assert_eq!(timeout.prevout.value, Amount::from_sat(50_000));
        // The harness's HTLCs expire at 1000: the timeout is valid in block 1001.
        assert_eq!(timeout.valid_at, BlockHeight(1_001));
        // Its output is ours after the delay once it confirms.
        let second = monitor
            .claim_second_stage(&timeout.tx, BlockHeight(1_001), &policy())
            .unwrap()
            .expect("worth sweeping");
        assert_eq!(second.kind, ClaimKind::SecondStage);
        assert_eq!(second.valid_at, BlockHeight(1_001 + 144));
        check(&second);
        // Anything else is refused.
        assert!(matches!(
            monitor.claim_second_stage(&commitment, CONFIRMED, &policy()),
            Err(Error::NotOurHtlcTx(_))
        ));
    }
}

#[test]
fn the_counterpartys_commitment_gives_us_to_remote() {
    for anchors in [false, true] {
        let pair = busy_pair(anchors);
        let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let resolution = monitor(&pair.a).resolve(&theirs, CONFIRMED, &policy()).unwrap();
        assert!(matches!(resolution.close, Close::Counterparty { .. }), "{:?}", resolution.close);
        let [to_remote] = of_kind(&resolution.claims, ClaimKind::ToRemote)[..] else {
            panic!("one to_remote claim: {:?}", resolution.claims)
        };
        // And our offered HTLC after its expiry (tests/counterparty_htlcs.rs).
        assert_eq!(of_kind(&resolution.claims, ClaimKind::CounterpartyHtlcTimeout).len(), 1);
        assert_eq!(to_remote.valid_at, BlockHeight(CONFIRMED.0 + 1));
        check(to_remote);
        // a's balance on b's commitment: a paid its own commitment fee as funder (and the
        // anchors), so the output is its balance minus those.
        let spec = &pair.a.channel().funded().unwrap().log().holder_commitment().spec;
        let balance = Amount::from_sat(spec.to_holder.0 / 1000);
        let fees = balance - to_remote.prevout.value;
        let anchors_value = if anchors { ANCHOR_OUTPUT_VALUE * 2 } else { Amount::ZERO };
        assert!(fees >= anchors_value && fees < anchors_value + Amount::from_sat(20_000), "{fees}");
        if anchors {
            // CSV 1: Core refuses it with sequence 0.
            let mut early = to_remote.tx.clone();
            early.input[0].sequence = Sequence(0);
            assert!(!kernel_accepts(&early, &to_remote.prevout));
        }
    }
}

#[test]
fn a_revoked_commitment_is_punished_by_taking_every_output() {
    for anchors in [false, true] {
        let mut pair = busy_pair(anchors);
        // b keeps the commitment it holds now (both HTLCs in flight) and then moves on.
        let (revoked, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        pair.add(true, 20_000_000).unwrap();
        pair.command(true, Command::Commit).unwrap();
        pair.run();
        let resolution = monitor(&pair.a).resolve(&revoked, CONFIRMED, &policy()).unwrap();
        assert!(
            matches!(resolution.close, Close::RevokedCounterparty { .. }),
            "{:?}",
            resolution.close
        );
        assert_eq!(of_kind(&resolution.claims, ClaimKind::JusticeToLocal).len(), 1);
        assert_eq!(of_kind(&resolution.claims, ClaimKind::JusticeHtlc).len(), 2);
        assert_eq!(of_kind(&resolution.claims, ClaimKind::ToRemote).len(), 1);
        for claim in &resolution.claims {
            check(claim);
            assert_eq!(claim.valid_at, BlockHeight(CONFIRMED.0 + 1), "{:?}", claim.kind);
        }
        // Everything but the anchors is taken.
        let taken: Amount = resolution.claims.iter().map(|c| c.prevout.value).sum();
        let outputs: Amount =
            revoked.output.iter().map(|o| o.value).filter(|v| *v != ANCHOR_OUTPUT_VALUE).sum();
        assert_eq!(taken, outputs);
        assert!(resolution.unclaimed.is_empty());
    }
}

#[test]
fn a_cooperative_close_needs_nothing_and_other_spends_are_refused() {
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 1_000_000_000);
    let monitor = monitor(&pair.a);
    pair.command(true, Command::Shutdown).unwrap();
    pair.run();
    let closing = pair.a.broadcasts.last().unwrap().clone();
    let resolution = monitor.resolve(&closing, CONFIRMED, &policy()).unwrap();
    assert_eq!(resolution.close, Close::Cooperative);
    assert!(resolution.claims.is_empty() && resolution.unclaimed.is_empty());
    assert!(matches!(
        monitor.resolve(&pair.funding_tx, CONFIRMED, &policy()),
        Err(Error::NotAFundingSpend(_))
    ));
}

#[test]
fn a_dust_output_is_reported_not_claimed() {
    // b holds almost nothing: at a punishing feerate its to_remote on a's commitment is not
    // worth sweeping.
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 1_000_000);
    let (ours, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let expensive = SweepPolicy { feerate: FeeratePerKw(10_000), ..policy() };
    let resolution = monitor(&pair.b).resolve(&ours, CONFIRMED, &expensive).unwrap();
    assert!(matches!(resolution.close, Close::Counterparty { .. }));
    assert!(resolution.claims.is_empty());
    assert_eq!(resolution.unclaimed.len(), 1);
}

/// A monitor over a busy channel, built once for the property test.
fn shared_monitor() -> &'static (ChannelMonitor, Transaction) {
    static MONITOR: std::sync::OnceLock<(ChannelMonitor, Transaction)> = std::sync::OnceLock::new();
    MONITOR.get_or_init(|| {
        let pair = busy_pair(false);
        let (ours, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
        (monitor(&pair.a), ours)
    })
}

proptest::proptest! {
    /// Whatever spends the funding output (any locktime, sequence, outputs, including
    /// commitment-like encodings and our own scripts), the monitor answers without panicking,
    /// and every claim it builds still verifies.
    #[test]
    fn any_funding_spend_is_answered(
        locktime in proptest::prop_oneof![proptest::num::u32::ANY, 0x2000_0000u32..0x2100_0000],
        sequence in proptest::prop_oneof![proptest::num::u32::ANY, 0x8000_0000u32..0x8100_0000],
        values in proptest::collection::vec(0u64..20_000_000, 0..4),
        reuse in proptest::collection::vec(proptest::bool::ANY, 0..4),
    ) {
        let (monitor, ours) = shared_monitor();
        let mut tx = ours.clone();
        tx.lock_time = bitcoin::absolute::LockTime::from_consensus(locktime);
        tx.input[0].sequence = Sequence(sequence);
        // Keep some of our commitment's outputs (real scripts), add random-valued ones.
        let mut outputs: Vec<TxOut> = ours
            .output
            .iter()
            .zip(reuse.iter().chain(std::iter::repeat(&false)))
            .filter(|(_, keep)| **keep)
            .map(|(o, _)| o.clone())
            .collect();
        for (i, value) in values.iter().enumerate() {
            let script = ours.output.get(i).map(|o| o.script_pubkey.clone()).unwrap_or_default();
            outputs.push(TxOut { value: Amount::from_sat(*value), script_pubkey: script });
        }
        tx.output = outputs;
        if let Ok(resolution) = monitor.resolve(&tx, CONFIRMED, &policy()) {
            for claim in &resolution.claims {
                if claim.kind != ClaimKind::HtlcTimeout {
                    proptest::prop_assert!(kernel_accepts(&claim.tx, &claim.prevout));
                }
            }
        }
    }
}

#[test]
fn after_data_loss_the_counterpartys_newer_commitment_still_pays_our_to_remote() {
    let mut pair = busy_pair(false);
    // a's monitor from an old record: the state moves on twice after it.
    let stale = monitor(&pair.a);
    pair.settle_incoming(false, false);
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    pair.settle_incoming(true, false);
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let (newer, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let resolution = stale.resolve(&newer, CONFIRMED, &policy()).unwrap();
    assert!(matches!(resolution.close, Close::Unrecognised { .. }), "{:?}", resolution.close);
    let [to_remote] = &resolution.claims[..] else { panic!("{:?}", resolution.claims) };
    assert_eq!(to_remote.kind, ClaimKind::ToRemote);
    check(to_remote);
}

#[test]
fn the_output_of_a_revoked_htlc_transaction_is_taken_too() {
    let mut pair = busy_pair(false);
    // b keeps its commitment and the HTLC-timeout for the HTLC it offered, then revokes.
    let (revoked, revoked_htlc_txs) =
        pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let [timeout] = &revoked_htlc_txs[..] else { panic!("b's HTLC-timeout") };
    kernel_verify(
        timeout,
        &[revoked.output[timeout.input[0].previous_output.vout as usize].clone()],
    );
    let a = monitor(&pair.a);
    let claim = a
        .claim_revoked_second_stage(&revoked, timeout, CONFIRMED, &policy())
        .unwrap()
        .expect("the HTLC-timeout's output is ours");
    assert_eq!(claim.kind, ClaimKind::JusticeSecondStage);
    assert_eq!(claim.valid_at, BlockHeight(CONFIRMED.0 + 1));
    assert_eq!(claim.spends, bitcoin::OutPoint { txid: timeout.compute_txid(), vout: 0 });
    check(&claim);
    // Not a revoked commitment, or a transaction not spending it: nothing.
    let (current, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    assert_eq!(a.claim_revoked_second_stage(&current, timeout, CONFIRMED, &policy()), Ok(None));
    assert_eq!(a.claim_revoked_second_stage(&revoked, &current, CONFIRMED, &policy()), Ok(None));
}
