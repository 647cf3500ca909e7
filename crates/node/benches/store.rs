//! Durable channel-state writes: the fsync-bound ceiling under the payment path.
//!
//! `single`: one 1 KiB channel record per transaction (one fsync each), as when every
//! `commitment_signed` waits for its own write. `batched/N`: N channels' records in one
//! transaction, as when the node groups the commitments of many channels behind one fsync.
//!
//! Measured 2026-11-24 (2-core VM, ext4 on virtio, loaded): one transaction costs ~4.4 ms
//! whatever it holds (the fsync), so single = ~225 writes/s, batched/8 = ~1,980/s,
//! batched/64 = ~14,400/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shandian_node::store::Store;
use shandian_types::{ChannelId, NodeId};

const RECORD_LEN: usize = 1024;

fn peer() -> NodeId {
    // The secp256k1 generator: a valid public key.
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798".parse().expect("valid key")
}

fn channel_writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path()).expect("open store");
    let peer = peer();
    let record = vec![0x5a; RECORD_LEN];
    let mut seq = 0u64;
    let mut group = c.benchmark_group("store_channel_write");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        b.iter(|| {
            seq += 1;
            store.save_channel(&ChannelId([1; 32]), &peer, seq, &record).expect("save");
        })
    });
    for batch in [8u8, 64] {
        group.throughput(Throughput::Elements(u64::from(batch)));
        group.bench_with_input(BenchmarkId::new("batched", batch), &batch, |b, &batch| {
            b.iter(|| {
                seq += 1;
                store
                    .write(|w| {
                        for i in 0..batch {
                            w.save_channel(&ChannelId([i; 32]), &peer, seq, &record)?;
                        }
                        Ok(())
                    })
                    .expect("batch");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, channel_writes);
criterion_main!(benches);
