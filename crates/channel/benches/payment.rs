//! A full payment round between two in-memory machines (add, commit, revoke, fulfill,
//! commit, revoke — real BOLT 3 transactions, signatures and verification), and the same
//! with 100 HTLCs batched into one commitment.

#[path = "../tests/common/mod.rs"]
mod common;

use common::Pair;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use shandian_channel::Command;
use shandian_types::Msat;

fn payment_round(c: &mut Criterion) {
    common::ROUNDTRIP_RECORDS.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut pair = Pair::open(true, Msat(5_000_000_000));
    let mut from_a = true;
    c.bench_function("payment_round", |b| {
        b.iter(|| {
            pair.pay(from_a, 10_000_000);
            from_a = !from_a;
        })
    });
}

fn batched_100(c: &mut Criterion) {
    common::ROUNDTRIP_RECORDS.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut group = c.benchmark_group("batch");
    group.sample_size(20);
    group.bench_function("payment_round_100_htlcs", |b| {
        b.iter_batched(
            || Pair::open(true, Msat(0)),
            |mut pair| {
                for _ in 0..100 {
                    pair.add(true, 5_000_000).unwrap();
                }
                pair.command(true, Command::Commit).unwrap();
                pair.run();
                assert_eq!(pair.settle_incoming(false, false), 100);
                pair.command(false, Command::Commit).unwrap();
                pair.run();
                pair
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, payment_round, batched_100);
criterion_main!(benches);
