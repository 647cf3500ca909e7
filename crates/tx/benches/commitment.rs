//! Building and signing commitments with 0, 10, 100 and 483 HTLCs (commitment signature
//! plus one signature per HTLC transaction, as `commitment_signed` needs), and verifying
//! those signatures (as the receiver of `commitment_signed` does).

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{Amount, OutPoint, Txid};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shandian_tx::commitment::obscuring_factor;
use shandian_tx::signer::{verify_commitment_signature, verify_htlc_signatures};
use shandian_tx::{
    ChannelType, CommitmentKeys, CommitmentSpec, Htlc, HtlcDirection, InMemorySigner, Side, Signer,
};
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash};

/// B's commitment number 5 with `n` HTLCs above dust; A funds and signs it.
fn spec(a: &InMemorySigner, b: &InMemorySigner, n: usize) -> CommitmentSpec {
    let secp = Secp256k1::new();
    let point = b.per_commitment_point(5).unwrap();
    let htlcs: Vec<Htlc> = (0..n)
        .map(|i| Htlc {
            direction: if i % 2 == 0 { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount: Msat(1_000_000 + i as u64 * 1000),
            payment_hash: PaymentHash(sha256::Hash::hash(&i.to_be_bytes()).to_byte_array()),
            cltv_expiry: CltvExpiry(500_000 + i as u32),
        })
        .collect();
    let in_htlcs: u64 = htlcs.iter().map(|h| h.amount.0).sum();
    CommitmentSpec {
        channel_type: ChannelType::AnchorsZeroFeeHtlcTx,
        funding_outpoint: OutPoint { txid: Txid::all_zeros(), vout: 0 },
        funding_amount: Amount::from_sat(10_000_000),
        local_funding_pubkey: b.pubkeys().funding_pubkey,
        remote_funding_pubkey: a.pubkeys().funding_pubkey,
        commitment_number: 5,
        obscuring_factor: obscuring_factor(
            &a.pubkeys().payment_basepoint,
            &b.pubkeys().payment_basepoint,
        ),
        feerate: FeeratePerKw(2500),
        to_local: Msat(3_000_000_000),
        to_remote: Msat(7_000_000_000 - in_htlcs),
        htlcs,
        funder: Side::Remote,
        dust_limit: Amount::from_sat(546),
        to_self_delay: 144,
        keys: CommitmentKeys::derive(&secp, &point, b.pubkeys(), a.pubkeys()).unwrap(),
    }
}

fn benches(c: &mut Criterion) {
    let a = InMemorySigner::from_node_seed(&[1; 32], 0).unwrap();
    let b = InMemorySigner::from_node_seed(&[2; 32], 0).unwrap();
    let secp = Secp256k1::new();
    let mut build = c.benchmark_group("commitment_build");
    for n in [0usize, 10, 100, 483] {
        let spec = spec(&a, &b, n);
        build.bench_with_input(BenchmarkId::from_parameter(n), &spec, |bench, spec| {
            bench.iter(|| spec.build().unwrap())
        });
    }
    build.finish();
    let mut sign = c.benchmark_group("commitment_build_and_sign");
    for n in [0usize, 10, 100, 483] {
        let spec = spec(&a, &b, n);
        sign.bench_with_input(BenchmarkId::from_parameter(n), &spec, |bench, spec| {
            bench.iter(|| {
                let tx = spec.build().unwrap();
                a.sign_counterparty_commitment(&tx).unwrap()
            })
        });
    }
    sign.finish();
    let mut verify = c.benchmark_group("commitment_verify");
    for n in [0usize, 10, 100, 483] {
        let tx = spec(&a, &b, n).build().unwrap();
        let sigs = a.sign_counterparty_commitment(&tx).unwrap();
        verify.bench_with_input(BenchmarkId::from_parameter(n), &tx, |bench, tx| {
            bench.iter(|| {
                verify_commitment_signature(&secp, tx, &sigs.commitment).unwrap();
                verify_htlc_signatures(&secp, tx, &sigs.htlcs).unwrap();
            })
        });
    }
    verify.finish();
}

criterion_group!(commitment, benches);
criterion_main!(commitment);
