//! Benchmarks of the embedded chain: blocks of 1,000 P2WPKH transactions connected per
//! second (validation by Bitcoin Core's engine plus our UTXO view and mempool upkeep), and
//! mempool acceptances per second (including script verification by Core's interpreter).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bitcoin::{Amount, Block, OutPoint, Transaction, TxOut};
use common::Wallet;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shandian_regtest::RegtestChain;

const TXS_PER_BLOCK: usize = 1_000;
const BLOCKS_PER_RUN: usize = 3;
const FEE: u64 = 200;

/// Mines 101 blocks and a fan-out transaction with `TXS_PER_BLOCK` P2WPKH outputs.
fn fanned_out_chain(
    w: &Wallet,
) -> (tempfile::TempDir, std::sync::Arc<RegtestChain>, Vec<(OutPoint, Amount)>) {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path()).unwrap();
    chain.mine(101, &w.script).unwrap();
    let block = chain.block(&chain.block_hash(1).unwrap()).unwrap();
    let op = OutPoint { txid: block.txdata[0].compute_txid(), vout: 0 };
    let value = block.txdata[0].output[0].value;
    let each = Amount::from_sat((value.to_sat() - 100_000) / TXS_PER_BLOCK as u64);
    let outs = (0..TXS_PER_BLOCK)
        .map(|_| TxOut { value: each, script_pubkey: w.script.clone() })
        .collect();
    let fan = w.spend(&[(op, value)], outs, 0, 0xffff_fffd);
    let txid = chain.submit_tx(fan).unwrap();
    chain.mine(1, &w.script).unwrap();
    let coins = (0..TXS_PER_BLOCK as u32).map(|vout| (OutPoint { txid, vout }, each)).collect();
    (dir, chain, coins)
}

/// One transaction per coin, each paying itself back minus a fee; returns the new coins.
fn spend_all(
    w: &Wallet,
    coins: &[(OutPoint, Amount)],
) -> (Vec<Transaction>, Vec<(OutPoint, Amount)>) {
    let txs: Vec<Transaction> = coins.iter().map(|(op, v)| w.self_spend(*op, *v, FEE)).collect();
    let next = txs
        .iter()
        .map(|tx| (OutPoint { txid: tx.compute_txid(), vout: 0 }, tx.output[0].value))
        .collect();
    (txs, next)
}

/// All blocks of a chain ending with `BLOCKS_PER_RUN` blocks of `TXS_PER_BLOCK` transactions.
fn prepared_blocks(w: &Wallet) -> (Vec<Block>, usize) {
    let (_dir, chain, mut coins) = fanned_out_chain(w);
    for _ in 0..BLOCKS_PER_RUN {
        let (txs, next) = spend_all(w, &coins);
        chain.generate_block(&w.script, txs).unwrap();
        coins = next;
    }
    let tip = chain.tip().height;
    let blocks = (1..=tip).map(|h| chain.block(&chain.block_hash(h).unwrap()).unwrap()).collect();
    (blocks, tip as usize - BLOCKS_PER_RUN)
}

fn connect_blocks(c: &mut Criterion) {
    let w = Wallet::new(1);
    let (blocks, prefix) = prepared_blocks(&w);
    let mut group = c.benchmark_group("regtest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BLOCKS_PER_RUN as u64));
    group.bench_function("connect_block_1000_p2wpkh_txs", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let chain = RegtestChain::open(dir.path()).unwrap();
                for block in &blocks[..prefix] {
                    chain.submit_block(block).unwrap();
                }
                let start = Instant::now();
                for block in &blocks[prefix..] {
                    chain.submit_block(block).unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

fn mempool_accept(c: &mut Criterion) {
    let w = Wallet::new(2);
    let (_dir, chain, mut coins) = fanned_out_chain(&w);
    let mut group = c.benchmark_group("regtest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    group.bench_function("mempool_accept_p2wpkh", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(TXS_PER_BLOCK);
                let (txs, next) = spend_all(&w, &coins[..n]);
                let start = Instant::now();
                for tx in txs {
                    chain.submit_tx(tx).unwrap();
                }
                total += start.elapsed();
                // Confirm them (untimed) so the next round starts from an empty mempool.
                chain.mine(1, &w.script).unwrap();
                coins.splice(..n, next);
                left -= n;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, connect_blocks, mempool_accept);
criterion_main!(benches);
