//! What a close means for the HTLCs we offered: which failed with it (no output on the
//! confirmed commitment) and which the counterparty paid (the preimage in its spend).

#[path = "../../channel/tests/common/mod.rs"]
mod common;
mod support;

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{OutPoint, ScriptBuf, Sequence, Transaction, TxIn, Witness};
use common::*;
use shandian_channel::Command;
use shandian_monitor::{ChannelMonitor, Close};
use shandian_types::{Msat, PaymentPreimage};
use support::*;

/// A paid b 3,000,000 sat; a offered a 50,000 sat HTLC (id 1; the payment was id 0) and a 100 sat
/// one (id 2,
/// dust on both commitments), b offered 40,000 sat; all committed both ways.
fn pair_with_htlcs(anchors: bool) -> (Pair, PaymentPreimage) {
    let mut pair = Pair::open(anchors, Msat(0));
    pair.pay(true, 3_000_000_000);
    let big = pair.add(true, 50_000_000).unwrap();
    pair.add(true, 100_000).unwrap();
    pair.add(false, 40_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    (pair, big)
}

/// The shape of a preimage spend: signatures, the preimage, the witness script.
fn preimage_spend(spends: OutPoint, preimage: [u8; 32]) -> Transaction {
    let witness = Witness::from_slice(&[
        vec![],
        vec![0x30; 71],
        vec![0x30; 72],
        preimage.to_vec(),
        vec![0x76; 140],
    ]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: spends,
            script_sig: ScriptBuf::new(),
            sequence: Sequence(1),
            witness,
        }],
        output: vec![],
    }
}

#[test]
fn dust_htlcs_fail_with_the_close_and_the_others_wait() {
    for anchors in [false, true] {
        let (pair, big) = pair_with_htlcs(anchors);
        let a = monitor(&pair.a);
        let offered = a.offered_htlcs();
        assert_eq!(offered.len(), 2, "{offered:?}");
        assert_eq!(offered[0], (1, big.hash()));

        let (ours, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let close = a.classify(&ours).unwrap();
        assert!(matches!(close, Close::HolderLatest { .. }));
        let split = a.offered_on_chain(close);
        assert_eq!(split.pending, vec![(1, big.hash())]);
        assert_eq!(split.failed, vec![2]);

        let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
        let close = a.classify(&theirs).unwrap();
        assert!(matches!(close, Close::Counterparty { .. }));
        let split = a.offered_on_chain(close);
        assert_eq!(split.pending, vec![(1, big.hash())]);
        assert_eq!(split.failed, vec![2]);

        // A state we do not know the contents of: only a preimage can settle them.
        let unknown = a.offered_on_chain(Close::Unrecognised { commitment_number: 99 });
        assert_eq!(unknown.pending.len(), 2);
        assert!(unknown.failed.is_empty());
    }
}

#[test]
fn an_htlc_never_signed_by_the_counterparty_is_not_on_chain() {
    let (mut pair, _) = pair_with_htlcs(false);
    // Proposed, not committed: no commitment carries it.
    pair.add(true, 30_000_000).unwrap();
    let a = monitor(&pair.a);
    assert_eq!(a.offered_htlcs().len(), 2);
    // Committed to b's next commitment (signed, not yet revoked): it may confirm with it.
    pair.command(true, Command::Commit).unwrap();
    let a = monitor(&pair.a);
    assert_eq!(a.offered_htlcs().iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![1, 2, 3]);
    // Our own latest commitment does not carry it yet: it failed if that one confirms.
    let (ours, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let split = a.offered_on_chain(a.classify(&ours).unwrap());
    assert_eq!(split.failed, vec![2, 3]);
}

#[test]
fn the_preimage_of_a_counterparty_claim_is_extracted() {
    let (pair, big) = pair_with_htlcs(false);
    let a = monitor(&pair.a);
    let (theirs, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let commitment = theirs.compute_txid();
    let claim = preimage_spend(OutPoint { txid: commitment, vout: 0 }, big.0);
    assert_eq!(a.preimages_in(&claim, commitment), vec![(1, big)]);
    // A spend of another transaction's output, or a wrong preimage: nothing.
    let other = OutPoint { txid: pair.funding_tx.compute_txid(), vout: 0 };
    assert!(a.preimages_in(&preimage_spend(other, big.0), commitment).is_empty());
    assert!(a
        .preimages_in(&preimage_spend(OutPoint { txid: commitment, vout: 0 }, [7; 32]), commitment)
        .is_empty());
}

#[test]
fn an_htlc_timeout_names_the_htlc_it_takes_back() {
    let (pair, _) = pair_with_htlcs(false);
    let a = monitor(&pair.a);
    let (ours, htlc_txs) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let outputs = a.offered_outputs_on_holder().unwrap();
    // The dust HTLC (id 2) has no output.
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    let (id, vout) = outputs[0];
    assert_eq!(id, 1);
    let timeout = htlc_txs.iter().find(|t| t.lock_time.to_consensus_u32() > 0).unwrap();
    let spent = timeout.input[0].previous_output;
    assert_eq!(spent, OutPoint { txid: ours.compute_txid(), vout });
    assert_eq!(ours.output[vout as usize].value, bitcoin::Amount::from_sat(50_000));
}

proptest::proptest! {
    #[test]
    fn any_witness_is_searched_without_panicking(elements: Vec<Vec<u8>>) {
        let a = shared();
        let txid = bitcoin::Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros());
        let mut tx = preimage_spend(OutPoint { txid, vout: 0 }, [0; 32]);
        tx.input[0].witness = Witness::from_slice(&elements);
        proptest::prop_assert!(a.preimages_in(&tx, txid).is_empty());
    }
}

fn shared() -> &'static ChannelMonitor {
    static MONITOR: std::sync::OnceLock<ChannelMonitor> = std::sync::OnceLock::new();
    MONITOR.get_or_init(|| monitor(&pair_with_htlcs(false).0.a))
}
