//! How long the monitor takes to classify a funding spend and build and sign its claims.

#[path = "../../channel/tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use common::{Pair, Side};
use criterion::{criterion_group, criterion_main, Criterion};
use shandian_channel::Command;
use shandian_monitor::ChannelMonitor;
use shandian_types::{BlockHeight, Msat};
use support::policy;

fn monitor(side: &Side) -> ChannelMonitor {
    ChannelMonitor::new(side.channel().funded().unwrap().clone())
}

fn claims(c: &mut Criterion) {
    let mut pair = Pair::open(false, Msat(0));
    pair.pay(true, 3_000_000_000);
    pair.add(true, 50_000_000).unwrap();
    pair.add(false, 40_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    pair.command(false, Command::Commit).unwrap();
    pair.run();
    let (ours, _) = pair.a.channel().funded().unwrap().holder_commitment_txs().unwrap();
    let (revoked, _) = pair.b.channel().funded().unwrap().holder_commitment_txs().unwrap();
    pair.add(true, 20_000_000).unwrap();
    pair.command(true, Command::Commit).unwrap();
    pair.run();
    let a = monitor(&pair.a);
    let at = BlockHeight(500);
    c.bench_function("resolve our commitment (to_local + HTLC-timeout)", |b| {
        b.iter(|| a.resolve(&ours, at, &policy()).unwrap())
    });
    c.bench_function("resolve a revoked commitment (4 justice claims)", |b| {
        b.iter(|| a.resolve(&revoked, at, &policy()).unwrap())
    });
}

criterion_group!(benches, claims);
criterion_main!(benches);
