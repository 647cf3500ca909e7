//! Follower throughput: connecting blocks of 1,000 transactions with watched outputs, and a
//! wallet applying such blocks.

use std::sync::Arc;

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::{
    absolute, transaction, Amount, Block, BlockHash, CompactTarget, Network, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use shandian_chain::{BlockRef, Follower, Wallet};
use shandian_types::BlockHeight;

const TXS: usize = 1000;

fn tx(i: usize, script: &ScriptBuf) -> Transaction {
    let mut txid = [0u8; 32];
    txid[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array(txid), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[vec![1u8; 72], vec![2u8; 33]]),
        }],
        output: vec![TxOut { value: Amount::from_sat(10_000), script_pubkey: script.clone() }],
    }
}

fn block(prev: BlockHash, script: &ScriptBuf) -> Block {
    let txdata: Vec<Transaction> = (0..TXS).map(|i| tx(i, script)).collect();
    let mut block = Block {
        header: Header {
            version: Version::TWO,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time: 1,
            bits: CompactTarget::from_consensus(0x207fffff),
            nonce: 0,
        },
        txdata,
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap_or(TxMerkleNode::all_zeros());
    block
}

fn follower_connect(c: &mut Criterion) {
    let start = BlockRef { height: BlockHeight(0), hash: BlockHash::all_zeros() };
    let b = Arc::new(block(start.hash, &ScriptBuf::new_op_return([0u8; 4])));
    let mut group = c.benchmark_group("follower");
    group.throughput(Throughput::Elements(1));
    group.bench_function("connect_block_1000_txs_100_watched", |bench| {
        bench.iter_batched(
            || {
                let mut f = Follower::new(start);
                for i in 0..100u32 {
                    f.watch_output(OutPoint { txid: Txid::from_byte_array([7; 32]), vout: i });
                    f.watch_tx(Txid::from_byte_array([i as u8; 32]), None);
                }
                f
            },
            |mut f| f.connect_block(b.clone()).map(|e| e.len()),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn wallet_apply(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut wallet =
        Wallet::open(&dir.path().join("bench.sqlite"), &[1; 32], Network::Regtest, None).unwrap();
    let ours = wallet.new_address().unwrap().script_pubkey();
    let mut follower = wallet.follower();
    let mut group = c.benchmark_group("wallet");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    // Each iteration builds on the last: a growing chain, every tx paying the wallet.
    group.bench_function("apply_block_1000_txs_paying_wallet", |bench| {
        bench.iter(|| {
            let next = Arc::new(block(follower.best().hash, &ours));
            let events = follower.connect_block(next).unwrap();
            wallet.apply_events(&events).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, follower_connect, wallet_apply);
criterion_main!(benches);
