//! Property tests: builders never panic on arbitrary amounts and feerates, and random
//! channel states give commitments whose outputs plus fee equal the funding amount and
//! whose signed spends Bitcoin Core accepts.

mod common;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, ScriptBuf, Txid, WPubkeyHash};
use common::channel::*;
use common::kernel::verify_tx;
use proptest::prelude::*;
use shandian_tx::htlc_tx::htlc_tx_witness;
use shandian_tx::shachain::ShachainStore;
use shandian_tx::*;
use shandian_types::{CltvExpiry, FeeratePerKw, Msat};

fn htlc_strategy(max_sat: u64) -> impl Strategy<Value = Htlc> {
    (any::<bool>(), 0..max_sat * 1000, 0u8..=255, 1u32..1_000_000).prop_map(
        |(offered, msat, h, cltv)| Htlc {
            direction: if offered { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount: Msat(msat),
            payment_hash: hash(h),
            cltv_expiry: CltvExpiry(cltv),
        },
    )
}

fn channel_type() -> impl Strategy<Value = ChannelType> {
    prop_oneof![Just(ChannelType::StaticRemoteKey), Just(ChannelType::AnchorsZeroFeeHtlcTx)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary (even inconsistent or huge) inputs give a value or an error, never a panic.
    #[test]
    fn commitment_builder_is_total(
        t in channel_type(),
        funding in any::<u64>(),
        to_local in any::<u64>(),
        to_remote in any::<u64>(),
        feerate in any::<u32>(),
        dust in any::<u64>(),
        number in any::<u64>(),
        htlcs in prop::collection::vec(htlc_strategy(u64::MAX / 1000), 0..20),
    ) {
        let pair = Pair::new(t);
        let c = pair.commitment(false, 0, Msat(5_000_000_000), &[], 253);
        let spec = CommitmentSpec {
            funding_amount: Amount::from_sat(funding),
            to_local: Msat(to_local),
            to_remote: Msat(to_remote),
            feerate: FeeratePerKw(feerate),
            dust_limit: Amount::from_sat(dust),
            commitment_number: number,
            htlcs,
            ..c.spec
        };
        if let Ok(built) = spec.build() {
            let outputs: u64 = built.tx.output.iter().map(|o| o.value.to_sat()).sum();
            prop_assert_eq!(outputs + built.fee.to_sat(), funding);
            let _ = built.htlc_txs();
        }
    }

    /// Random consistent channel states: outputs plus fee equal the funding amount, every
    /// untrimmed HTLC has its output, and outputs are in BIP 69 + CLTV order.
    #[test]
    fn commitment_accounts_for_every_satoshi(
        t in channel_type(),
        feerate in 0u32..50_000,
        a_share in 0u64..=1000,
        // 483 HTLCs of up to 20,000 sat fit in the 10,000,000 sat channel.
        htlcs in prop::collection::vec(htlc_strategy(20_000), 0..=483),
    ) {
        let pair = Pair::new(t);
        let total = pair.funding_amount.to_sat() * 1000;
        let in_htlcs: u64 = htlcs.iter().map(|h| h.amount.0).sum();
        let a_balance = Msat((total - in_htlcs) * a_share / 1000);
        let c = match pair.try_commitment(false, 3, a_balance, &htlcs, feerate) {
            Ok(c) => c,
            Err(e) => {
                // Only a funder (A) too poor for the anchors, which BOLT 2's reserve prevents.
                prop_assert_eq!(e, Error::FunderCannotAffordAnchors);
                prop_assert!(t.has_anchors());
                prop_assert!(a_balance.0 < 660_000 + u64::from(feerate) * 100_000);
                return Ok(());
            }
        };
        let outputs: u64 = c.tx.output.iter().map(|o| o.value.to_sat()).sum();
        prop_assert_eq!(outputs + c.fee.to_sat(), pair.funding_amount.to_sat());
        // The funder pays at least the base fee, unless it cannot (then it keeps nothing).
        let anchors = if t.has_anchors() { 660 } else { 0 };
        if a_balance.to_sat_floor().to_sat() >= c.base_fee.to_sat() + anchors {
            prop_assert!(c.fee >= c.base_fee);
        } else {
            prop_assert!(c.to_remote_output.is_none());
        }
        for (i, h) in c.spec.htlcs.iter().enumerate() {
            prop_assert_eq!(c.htlc_output_indices[i].is_some(), !c.spec.is_trimmed(h));
        }
        let keys: Vec<_> = c.tx.output.iter().map(|o| (o.value, o.script_pubkey.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }

    /// Random states with a few HTLCs: the signed commitment and every signed HTLC
    /// transaction pass Bitcoin Core's interpreter.
    #[test]
    fn random_commitments_verify(
        t in channel_type(),
        feerate in 253u32..10_000,
        htlcs in prop::collection::vec(htlc_strategy(60_000), 0..6),
    ) {
        let pair = Pair::new(t);
        let c = pair.commitment(false, 1, Msat(4_000_000_000), &htlcs, feerate);
        let sigs = pair.a.sign_counterparty_commitment(&c).unwrap();
        let signed = pair.b.sign_holder_commitment(&c, &sigs.commitment).unwrap();
        let funding = bitcoin::TxOut {
            value: pair.funding_amount,
            script_pubkey: ScriptBuf::new_p2wsh(&c.spec.funding_script().wscript_hash()),
        };
        prop_assert!(verify_tx(&signed, &[funding]).is_ok());
        for (i, out) in c.htlc_outputs.iter().enumerate() {
            let mut tx = c.htlc_tx(i).unwrap();
            let local = pair.b.sign_holder_htlc_input(&c, i, &tx, 0).unwrap();
            let preimage = (0..=255u8).map(preimage).find(|p| p.hash() == out.htlc.payment_hash);
            tx.input[0].witness = htlc_tx_witness(out, t, &sigs.htlcs[i], &local, preimage.as_ref()).unwrap();
            let spent = signed.output[out.output_index as usize].clone();
            prop_assert!(verify_tx(&tx, &[spent]).is_ok());
        }
    }

    /// Sweeps and closings never panic on arbitrary values and feerates.
    #[test]
    fn sweep_and_closing_are_total(
        values in prop::collection::vec(any::<u64>(), 0..5),
        feerate in any::<u32>(),
        fee in any::<u64>(),
        local in any::<u64>(),
        remote in any::<u64>(),
        dust in any::<u64>(),
    ) {
        let dest = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([1; 20]));
        let inputs = values.iter().map(|v| SweepInput {
            outpoint: OutPoint { txid: Txid::all_zeros(), vout: 0 },
            value: Amount::from_sat(*v),
            witness_script: dest.clone(),
            path: SpendPath::ToRemote { channel_type: ChannelType::StaticRemoteKey },
        }).collect();
        let sweep = Sweep { inputs, destination: dest.clone(), feerate: FeeratePerKw(feerate), min_locktime: 0 };
        let _ = sweep.build();
        let closing = ClosingSpec {
            funding_outpoint: OutPoint::null(),
            local: Some(ClosingOutput { script_pubkey: dest.clone(), balance: Msat(local) }),
            remote: Some(ClosingOutput { script_pubkey: dest, balance: Msat(remote) }),
            fee: Amount::from_sat(fee),
            fee_payer: Side::Remote,
            dust_limit: Amount::from_sat(dust),
        };
        let _ = closing.legacy_tx();
        let _ = closing.simple_close_tx(feerate);
    }

    /// The shachain store never panics and never accepts a secret out of order.
    #[test]
    fn shachain_store_is_total(entries in prop::collection::vec((any::<u64>(), any::<[u8; 32]>()), 0..60)) {
        let mut store = ShachainStore::new();
        for (index, secret) in &entries {
            let expected = store.next_index();
            if store.insert(*index, *secret).is_ok() {
                prop_assert_eq!(Some(*index), expected);
            }
            let _ = store.get(*index);
        }
        let _ = ShachainStore::from_entries(entries);
    }
}
