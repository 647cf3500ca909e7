//! Building commitment transactions with 0, 10, 100 and 483 HTLCs.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint, Txid};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use shandian_tx::{
    ChannelPublicKeys, ChannelType, CommitmentKeys, CommitmentSpec, Htlc, HtlcDirection, Side,
};
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash};

fn key(secp: &Secp256k1<bitcoin::secp256k1::All>, byte: u8) -> PublicKey {
    PublicKey::from_secret_key(secp, &SecretKey::from_slice(&[byte; 32]).unwrap())
}

fn spec(n: usize) -> CommitmentSpec {
    let secp = Secp256k1::new();
    let keys = |b: u8| ChannelPublicKeys {
        funding_pubkey: key(&secp, b),
        revocation_basepoint: key(&secp, b + 1),
        payment_basepoint: key(&secp, b + 2),
        delayed_payment_basepoint: key(&secp, b + 3),
        htlc_basepoint: key(&secp, b + 4),
    };
    let (local, remote) = (keys(1), keys(10));
    let point = key(&secp, 20);
    let htlcs: Vec<Htlc> = (0..n)
        .map(|i| Htlc {
            direction: if i % 2 == 0 { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount: Msat(1_000_000 + i as u64 * 1000),
            payment_hash: PaymentHash([i as u8; 32]),
            cltv_expiry: CltvExpiry(500 + i as u32),
        })
        .collect();
    let in_htlcs: u64 = htlcs.iter().map(|h| h.amount.0).sum();
    CommitmentSpec {
        channel_type: ChannelType::AnchorsZeroFeeHtlcTx,
        funding_outpoint: OutPoint { txid: Txid::all_zeros(), vout: 0 },
        funding_amount: Amount::from_sat(10_000_000),
        local_funding_pubkey: local.funding_pubkey,
        remote_funding_pubkey: remote.funding_pubkey,
        commitment_number: 42,
        obscuring_factor: 0x2bb0_3852_1914,
        feerate: FeeratePerKw(2500),
        to_local: Msat(7_000_000_000 - in_htlcs),
        to_remote: Msat(3_000_000_000),
        htlcs,
        funder: Side::Local,
        dust_limit: Amount::from_sat(546),
        to_self_delay: 144,
        keys: CommitmentKeys::derive(&secp, &point, &local, &remote).unwrap(),
    }
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_commitment");
    for n in [0usize, 10, 100, 483] {
        let spec = spec(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &spec, |b, spec| {
            b.iter(|| spec.build().unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
