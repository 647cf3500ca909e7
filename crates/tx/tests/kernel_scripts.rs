//! Every output type of BOLT 3, spent the intended ways (which Bitcoin Core's interpreter
//! accepts) and the unintended ways (which it rejects): wrong key, missing or wrong
//! preimage, CSV or CLTV too early (the spending transaction's own nSequence/nLockTime
//! below what the script requires).

mod common;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, ScriptBuf, Sequence, Transaction, TxOut, WPubkeyHash};
use common::channel::*;
use common::kernel::{assert_rejected, verify_tx};
use shandian_tx::htlc_tx::htlc_tx_witness;
use shandian_tx::weights::{commitment_weight, htlc_success_weight, htlc_timeout_weight};
use shandian_tx::*;
use shandian_types::{Msat, PaymentPreimage};

const TYPES: [ChannelType; 2] = [ChannelType::StaticRemoteKey, ChannelType::AnchorsZeroFeeHtlcTx];

fn dest() -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([7; 20]))
}

fn spent_by(tx: &Transaction, prev: &[&Transaction]) -> Vec<TxOut> {
    tx.input
        .iter()
        .map(|i| {
            let p = prev.iter().find(|p| p.compute_txid() == i.previous_output.txid).unwrap();
            p.output[i.previous_output.vout as usize].clone()
        })
        .collect()
}

/// Builds and signs a sweep of `inputs` with `signer`, applying `tweak` to the unsigned tx.
fn sweep(
    signer: &InMemorySigner,
    inputs: Vec<SweepInput>,
    tweak: impl Fn(&mut Transaction),
) -> Transaction {
    let sweep = Sweep {
        inputs,
        destination: dest(),
        feerate: shandian_types::FeeratePerKw(1000),
        min_locktime: 0,
    };
    let mut tx = sweep.build().unwrap();
    tweak(&mut tx);
    signer.sign_sweep(&mut tx, &sweep.inputs).unwrap();
    assert!(tx.weight() <= sweep.expected_weight(), "expected weight is an upper bound");
    tx
}

/// B's commitment 0 (A funds), with the sample HTLCs, signed by both.
fn setup(
    channel_type: ChannelType,
) -> (Pair, CommitmentTx, Transaction, Vec<bitcoin::secp256k1::ecdsa::Signature>) {
    let pair = Pair::new(channel_type);
    let c = pair.commitment(false, 0, Msat(6_000_000_000), &sample_htlcs(), 2500);
    let sigs = pair.a.sign_counterparty_commitment(&c).unwrap();
    let signed = pair.b.sign_holder_commitment(&c, &sigs.commitment).unwrap();
    (pair, c, signed, sigs.htlcs)
}

#[test]
fn commitment_spends_funding() {
    for t in TYPES {
        let (pair, c, signed, _) = setup(t);
        let funding = TxOut {
            value: pair.funding_amount,
            script_pubkey: ScriptBuf::new_p2wsh(&c.spec.funding_script().wscript_hash()),
        };
        verify_tx(&signed, std::slice::from_ref(&funding)).unwrap();
        assert!(signed.weight().to_wu() <= commitment_weight(t, c.htlc_outputs.len()).to_wu());
        // Signatures in the wrong order do not satisfy CHECKMULTISIG.
        let mut swapped = signed.clone();
        let w: Vec<Vec<u8>> = swapped.input[0].witness.iter().map(|x| x.to_vec()).collect();
        swapped.input[0].witness = bitcoin::Witness::from_slice(&[&w[0], &w[2], &w[1], &w[3]]);
        assert_rejected(&swapped, &[funding]);
    }
}

#[test]
fn to_local_delayed_and_revoked() {
    for t in TYPES {
        let (mut pair, c, signed, _) = setup(t);
        let input = c.to_local_sweep_input().unwrap().unwrap();
        let ok = sweep(&pair.b, vec![input.clone()], |_| {});
        assert_eq!(ok.input[0].sequence, Sequence(144));
        verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
        // CSV too early.
        let early = sweep(&pair.b, vec![input.clone()], |tx| tx.input[0].sequence = Sequence(143));
        assert_rejected(&early, &spent_by(&early, &[&signed]));
        // Wrong key: A's delayed key.
        let wrong = sweep(&pair.a, vec![input], |_| {});
        assert_rejected(&wrong, &spent_by(&wrong, &[&signed]));
        // Revocation: A with B's released secret, at once (sequence 0 is fine).
        let secret = pair.b.release_per_commitment_secret(0).unwrap();
        let justice: Vec<_> = c.justice_inputs(secret).unwrap();
        let to_local = justice[0].clone();
        let now = sweep(&pair.a, vec![to_local.clone()], |tx| tx.input[0].sequence = Sequence(0));
        verify_tx(&now, &spent_by(&now, &[&signed])).unwrap();
        // Wrong secret (another commitment's).
        let other = pair.b.release_per_commitment_secret(1).unwrap();
        let bad = SweepInput {
            path: SpendPath::RevokedToLocal { per_commitment_secret: other },
            ..to_local
        };
        let bad = sweep(&pair.a, vec![bad], |_| {});
        assert_rejected(&bad, &spent_by(&bad, &[&signed]));
    }
}

#[test]
fn to_remote() {
    for t in TYPES {
        let (pair, c, signed, _) = setup(t);
        let input = c.to_remote_sweep_input().unwrap().unwrap();
        let ok = sweep(&pair.a, vec![input.clone()], |_| {});
        verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
        let wrong = sweep(&pair.b, vec![input.clone()], |_| {});
        assert_rejected(&wrong, &spent_by(&wrong, &[&signed]));
        if t.has_anchors() {
            // BOLT 3: one-block CSV.
            let early = sweep(&pair.a, vec![input], |tx| tx.input[0].sequence = Sequence(0));
            assert_rejected(&early, &spent_by(&early, &[&signed]));
        }
    }
}

fn index_of(c: &CommitmentTx, direction: HtlcDirection) -> usize {
    c.htlc_outputs.iter().position(|o| o.htlc.direction == direction).unwrap()
}

fn preimage_of(out: &HtlcOutput) -> PaymentPreimage {
    (1..=4).map(preimage).find(|p| p.hash() == out.htlc.payment_hash).unwrap()
}

#[test]
fn counterparty_claims_htlcs_by_preimage_and_timeout() {
    for t in TYPES {
        let (pair, c, signed, _) = setup(t);
        // B offered it: A takes it with the preimage.
        let i = index_of(&c, HtlcDirection::Offered);
        let good = preimage_of(&c.htlc_outputs[i]);
        let input = c.counterparty_htlc_claim_input(i, Some(good)).unwrap();
        let ok = sweep(&pair.a, vec![input.clone()], |_| {});
        verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
        let wrong_preimage = SweepInput {
            path: match input.path.clone() {
                SpendPath::HtlcPreimage { per_commitment_point, channel_type, .. } => {
                    SpendPath::HtlcPreimage {
                        per_commitment_point,
                        preimage: PaymentPreimage([0xee; 32]),
                        channel_type,
                    }
                }
                other => panic!("offered HTLC is claimed by preimage, not {other:?}"),
            },
            ..input.clone()
        };
        let bad = sweep(&pair.a, vec![wrong_preimage], |_| {});
        assert_rejected(&bad, &spent_by(&bad, &[&signed]));
        let wrong_key = sweep(&pair.b, vec![input.clone()], |_| {});
        assert_rejected(&wrong_key, &spent_by(&wrong_key, &[&signed]));
        // Without a preimage (an empty item) the offered script wants the 2-of-2 instead.
        assert_eq!(c.counterparty_htlc_claim_input(i, None), Err(Error::MissingPreimage));
        let no_preimage = SweepInput {
            path: SpendPath::HtlcTimeout {
                per_commitment_point: c.spec.keys.per_commitment_point,
                cltv_expiry: c.htlc_outputs[i].htlc.cltv_expiry,
                channel_type: t,
            },
            ..input
        };
        let bad = sweep(&pair.a, vec![no_preimage], |_| {});
        assert_rejected(&bad, &spent_by(&bad, &[&signed]));
        if t.has_anchors() {
            let early = sweep(
                &pair.a,
                vec![c.counterparty_htlc_claim_input(i, Some(good)).unwrap()],
                |tx| tx.input[0].sequence = Sequence(0),
            );
            assert_rejected(&early, &spent_by(&early, &[&signed]));
        }

        // B received it (A offered): A takes it back after the expiry.
        let j = index_of(&c, HtlcDirection::Received);
        let input = c.counterparty_htlc_claim_input(j, None).unwrap();
        let cltv = c.htlc_outputs[j].htlc.cltv_expiry.0;
        let ok = sweep(&pair.a, vec![input.clone()], |_| {});
        assert_eq!(ok.lock_time.to_consensus_u32(), cltv);
        verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
        let early = sweep(&pair.a, vec![input.clone()], |tx| {
            tx.lock_time = bitcoin::absolute::LockTime::from_consensus(cltv - 1)
        });
        assert_rejected(&early, &spent_by(&early, &[&signed]));
        let wrong_key = sweep(&pair.b, vec![input], |_| {});
        assert_rejected(&wrong_key, &spent_by(&wrong_key, &[&signed]));
    }
}

/// B's second-stage transaction for HTLC `i`, signed by A (counterparty) and B.
fn second_stage(
    pair: &Pair,
    c: &CommitmentTx,
    sigs: &[bitcoin::secp256k1::ecdsa::Signature],
    i: usize,
    preimage: Option<PaymentPreimage>,
) -> Transaction {
    let mut tx = c.htlc_tx(i).unwrap();
    let local = pair.b.sign_holder_htlc_input(c, i, &tx, 0).unwrap();
    let out = &c.htlc_outputs[i];
    tx.input[0].witness =
        htlc_tx_witness(out, c.spec.channel_type, &sigs[i], &local, preimage.as_ref()).unwrap();
    tx
}

#[test]
fn htlc_success_and_timeout_transactions() {
    for t in TYPES {
        let (pair, c, signed, sigs) = setup(t);
        let i = index_of(&c, HtlcDirection::Received);
        let good = preimage_of(&c.htlc_outputs[i]);
        let success = second_stage(&pair, &c, &sigs, i, Some(good));
        verify_tx(&success, &spent_by(&success, &[&signed])).unwrap();
        assert!(success.weight() <= htlc_success_weight(t));
        let bad = second_stage(&pair, &c, &sigs, i, Some(PaymentPreimage([0xee; 32])));
        assert_rejected(&bad, &spent_by(&bad, &[&signed]));

        let j = index_of(&c, HtlcDirection::Offered);
        let timeout = second_stage(&pair, &c, &sigs, j, None);
        assert_eq!(timeout.lock_time.to_consensus_u32(), c.htlc_outputs[j].htlc.cltv_expiry.0);
        verify_tx(&timeout, &spent_by(&timeout, &[&signed])).unwrap();
        assert!(timeout.weight() <= htlc_timeout_weight(t));
        // The counterparty's signature commits to nLockTime: an earlier timeout is invalid.
        let mut early = timeout.clone();
        early.lock_time =
            bitcoin::absolute::LockTime::from_consensus(c.htlc_outputs[j].htlc.cltv_expiry.0 - 1);
        assert_rejected(&early, &spent_by(&early, &[&signed]));

        // Second stage: B after to_self_delay, or A with the revocation key.
        let input = c.second_stage_sweep_input(&success).unwrap();
        let ok = sweep(&pair.b, vec![input.clone()], |_| {});
        verify_tx(&ok, &spent_by(&ok, &[&success])).unwrap();
        let early = sweep(&pair.b, vec![input], |tx| tx.input[0].sequence = Sequence(1));
        assert_rejected(&early, &spent_by(&early, &[&success]));
        let mut b = pair.b.clone();
        let secret = b.release_per_commitment_secret(0).unwrap();
        let justice =
            sweep(&pair.a, vec![c.justice_second_stage_input(&timeout, secret).unwrap()], |_| {});
        verify_tx(&justice, &spent_by(&justice, &[&timeout])).unwrap();
    }
}

#[test]
fn anchors_zero_fee_htlc_tx_can_take_fee_inputs() {
    // SIGHASH_SINGLE|ANYONECANPAY lets B add an input and an output to its zero-fee HTLC tx.
    let (pair, c, signed, sigs) = setup(ChannelType::AnchorsZeroFeeHtlcTx);
    let i = index_of(&c, HtlcDirection::Offered);
    let mut tx = c.htlc_tx(i).unwrap();
    let fee_input = c.to_local_sweep_input().unwrap().unwrap();
    tx.input.push(bitcoin::TxIn {
        previous_output: fee_input.outpoint,
        sequence: Sequence(144),
        ..Default::default()
    });
    tx.output
        .push(TxOut { value: fee_input.value - Amount::from_sat(5000), script_pubkey: dest() });
    let local = pair.b.sign_holder_htlc_input(&c, i, &tx, 0).unwrap();
    tx.input[0].witness =
        htlc_tx_witness(&c.htlc_outputs[i], c.spec.channel_type, &sigs[i], &local, None).unwrap();
    let (sig, pk) = pair.b.sign_sweep_input(&tx, 1, &fee_input).unwrap();
    tx.input[1].witness = fee_input.witness(Some(&sig), &pk).unwrap();
    verify_tx(&tx, &spent_by(&tx, &[&signed])).unwrap();
}

#[test]
fn justice_takes_every_output_of_a_revoked_commitment() {
    for t in TYPES {
        let (mut pair, c, signed, _) = setup(t);
        let secret = pair.b.release_per_commitment_secret(0).unwrap();
        let inputs = c.justice_inputs(secret).unwrap();
        // to_local, four HTLCs and A's own to_remote.
        assert_eq!(inputs.len(), 6);
        let tx = sweep(&pair.a, inputs.clone(), |_| {});
        verify_tx(&tx, &spent_by(&tx, &[&signed])).unwrap();
        // Each revoked HTLC on its own, and with the wrong secret.
        let other = pair.b.release_per_commitment_secret(1).unwrap();
        for input in inputs.iter().filter(|i| matches!(i.path, SpendPath::RevokedHtlc { .. })) {
            let one = sweep(&pair.a, vec![input.clone()], |_| {});
            verify_tx(&one, &spent_by(&one, &[&signed])).unwrap();
            let bad = SweepInput {
                path: SpendPath::RevokedHtlc { per_commitment_secret: other },
                ..input.clone()
            };
            let bad = sweep(&pair.a, vec![bad], |_| {});
            assert_rejected(&bad, &spent_by(&bad, &[&signed]));
        }
    }
}

#[test]
fn anchors_by_key_and_by_anyone_after_16_blocks() {
    let (pair, c, signed, _) = setup(ChannelType::AnchorsZeroFeeHtlcTx);
    let mine = c.anchor_input(true, true).unwrap().unwrap();
    let to_remote = c.to_remote_sweep_input().unwrap().unwrap();
    // CPFP: A's anchor (not B's) is A's to spend; here B spends its own anchor, paying the fee
    // with nothing else: feerate 0 keeps 330 sat above the P2WPKH dust limit.
    let zero =
        |inputs: Vec<SweepInput>, signer: &InMemorySigner, tweak: &dyn Fn(&mut Transaction)| {
            let s = Sweep {
                inputs,
                destination: dest(),
                feerate: shandian_types::FeeratePerKw(0),
                min_locktime: 0,
            };
            let mut tx = s.build().unwrap();
            tweak(&mut tx);
            signer.sign_sweep(&mut tx, &s.inputs).unwrap();
            tx
        };
    let ok = zero(vec![mine.clone()], &pair.b, &|_| {});
    verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
    let wrong = zero(vec![mine], &pair.a, &|_| {});
    assert_rejected(&wrong, &spent_by(&wrong, &[&signed]));
    // A's anchor with A's key together with A's to_remote (a CPFP child with a real fee).
    let theirs = c.anchor_input(false, true).unwrap().unwrap();
    let cpfp = sweep(&pair.a, vec![theirs, to_remote], |_| {});
    verify_tx(&cpfp, &spent_by(&cpfp, &[&signed])).unwrap();
    // Anyone, after 16 blocks; not at 15.
    let anyone = c.anchor_input(true, false).unwrap().unwrap();
    let ok = zero(vec![anyone.clone()], &pair.a, &|_| {});
    assert_eq!(ok.input[0].sequence, Sequence(16));
    verify_tx(&ok, &spent_by(&ok, &[&signed])).unwrap();
    let early = zero(vec![anyone], &pair.a, &|tx| tx.input[0].sequence = Sequence(15));
    assert_rejected(&early, &spent_by(&early, &[&signed]));
}

#[test]
fn closing_transaction_spends_funding() {
    let pair = Pair::new(ChannelType::AnchorsZeroFeeHtlcTx);
    let c = pair.commitment(true, 0, Msat(6_000_000_000), &[], 253);
    let spec = ClosingSpec {
        funding_outpoint: pair.funding_outpoint,
        local: Some(ClosingOutput { script_pubkey: dest(), balance: Msat(6_000_000_000) }),
        remote: Some(ClosingOutput {
            script_pubkey: ScriptBuf::new_op_return([1u8; 4]),
            balance: Msat(4_000_000_000),
        }),
        fee: Amount::from_sat(700),
        fee_payer: Side::Local,
        dust_limit: Amount::from_sat(546),
    };
    for tx in [spec.legacy_tx().unwrap(), spec.simple_close_tx(800_000).unwrap()] {
        let script = c.spec.funding_script();
        let sa = pair.a.sign_closing(&tx, &script, pair.funding_amount).unwrap();
        let sb = pair.b.sign_closing(&tx, &script, pair.funding_amount).unwrap();
        let funding = Funding {
            outpoint: pair.funding_outpoint,
            amount: pair.funding_amount,
            local_pubkey: pair.a.pubkeys().funding_pubkey,
            remote_pubkey: pair.b.pubkeys().funding_pubkey,
        };
        let mut signed = tx.clone();
        signed.input[0].witness = funding.witness(&sa, &sb);
        verify_tx(&signed, &[funding.txout()]).unwrap();
        // OP_RETURN carries zero; the payer's output carries the fee.
        assert!(signed.output.iter().any(|o| o.value == Amount::ZERO));
        assert!(signed.output.iter().any(|o| o.value == Amount::from_sat(6_000_000 - 700)));
    }
}

#[test]
fn justice_after_second_stage_takes_the_rest_and_the_htlc_tx_output() {
    use shandian_tx::weights::{ACCEPTED_HTLC_PENALTY_WITNESS, OFFERED_HTLC_PENALTY_WITNESS};
    for t in TYPES {
        let (mut pair, c, signed, sigs) = setup(t);
        // B broadcast its revoked commitment and an HTLC-timeout transaction from it.
        let j = index_of(&c, HtlcDirection::Offered);
        let timeout = second_stage(&pair, &c, &sigs, j, None);
        let secret = pair.b.release_per_commitment_secret(0).unwrap();
        let spent_htlc = timeout.input[0].previous_output;
        let mut inputs: Vec<SweepInput> = c
            .justice_inputs(secret)
            .unwrap()
            .into_iter()
            .filter(|i| i.outpoint != spent_htlc)
            .collect();
        if !t.has_anchors() {
            // BOLT 5 Appendix A: the expected penalty witnesses are upper bounds.
            for i in &inputs {
                if let SpendPath::RevokedHtlc { .. } = i.path {
                    assert!(i.expected_witness_size() <= ACCEPTED_HTLC_PENALTY_WITNESS);
                    assert!(i.expected_witness_size() >= OFFERED_HTLC_PENALTY_WITNESS);
                }
            }
        }
        inputs.push(c.justice_second_stage_input(&timeout, secret).unwrap());
        let tx = sweep(&pair.a, inputs, |_| {});
        assert_eq!(tx.input.len(), 6);
        verify_tx(&tx, &spent_by(&tx, &[&signed, &timeout])).unwrap();
    }
}
