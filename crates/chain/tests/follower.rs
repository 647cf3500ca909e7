//! The block follower against an in-memory chain: random mining and reorg sequences.

mod common;

use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, OutPoint, Txid};
use common::memory_chain::{spend, MemoryChain};
use proptest::prelude::*;
use shandian_chain::follower::{sync, ChainEvent, Follower, Spend};
use shandian_chain::Error;
use shandian_types::BlockHeight;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn watched_outpoint(i: u32) -> OutPoint {
    OutPoint { txid: Txid::from_byte_array([9; 32]), vout: i }
}

#[derive(Debug, Clone)]
enum Op {
    /// Mine blocks; a `Some(i)` spends watched output i in that block.
    Mine(Vec<Option<u32>>),
    /// Drop this many blocks, then mine these.
    Reorg(usize, Vec<Option<u32>>),
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    let blocks = prop::collection::vec(prop::option::weighted(0.3, 0u32..3), 0..5);
    prop_oneof![
        blocks.clone().prop_map(Op::Mine),
        (1usize..6, blocks).prop_map(|(d, b)| Op::Reorg(d, b)),
        Just(Op::Sync),
    ]
}

fn mine(chain: &MemoryChain, blocks: &[Option<u32>], tag: &mut u8) {
    for spends in blocks {
        *tag = tag.wrapping_add(1);
        // The in-memory chain does not validate: never spend an output twice on one branch.
        let fresh = spends.filter(|i| true_spend(chain, *i).is_none());
        let txs = fresh.map(|i| vec![spend(watched_outpoint(i), *tag)]).unwrap_or_default();
        chain.mine_with(txs);
    }
}

/// Replays events on a model of the best chain, checking their order.
fn replay(model: &mut Vec<BlockHash>, events: &[ChainEvent]) {
    let mut seen_connect = false;
    for event in events {
        match event {
            ChainEvent::BlockDisconnected(gone) => {
                assert!(!seen_connect, "a disconnect after a connect in one sync");
                assert_eq!(model.pop(), Some(gone.hash));
                assert_eq!(gone.height.0 as usize, model.len());
            }
            ChainEvent::BlockConnected { block, height } => {
                seen_connect = true;
                assert_eq!(Some(&block.header.prev_blockhash), model.last());
                assert_eq!(height.0 as usize, model.len());
                model.push(block.block_hash());
            }
            _ => {}
        }
    }
}

/// Where the chain truly spends watched output `i`.
fn true_spend(chain: &MemoryChain, i: u32) -> Option<(BlockHeight, BlockHash)> {
    let mut found = None;
    for h in 0..=chain.height() {
        let hash = chain.hash_at(h).unwrap();
        let block = futures_block(chain, hash);
        if block
            .txdata
            .iter()
            .any(|tx| tx.input.iter().any(|i2| i2.previous_output == watched_outpoint(i)))
        {
            found = Some((BlockHeight(h), hash));
        }
    }
    found
}

fn futures_block(chain: &MemoryChain, hash: BlockHash) -> bitcoin::Block {
    use shandian_chain::ChainSource;
    runtime().block_on(chain.block(hash)).unwrap().unwrap()
}

fn check(chain: &MemoryChain, follower: &Follower, model: &[BlockHash]) {
    assert_eq!(follower.best(), chain.tip_ref());
    let truth: Vec<BlockHash> = (0..=chain.height()).map(|h| chain.hash_at(h).unwrap()).collect();
    assert_eq!(model, truth.as_slice());
    for i in 0..3 {
        let got =
            follower.spend_of(&watched_outpoint(i)).map(|s: Spend| (s.block.height, s.block.hash));
        assert_eq!(got, true_spend(chain, i), "watched output {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_reorgs_deliver_consistent_events(ops in prop::collection::vec(op(), 1..25)) {
        let rt = runtime();
        let chain = MemoryChain::new();
        let mut follower = Follower::new(chain.tip_ref());
        for i in 0..3 {
            follower.watch_output(watched_outpoint(i));
        }
        let mut model = vec![chain.tip_ref().hash];
        let mut tag = 0u8;
        for op in ops.iter().chain([Op::Sync].iter()) {
            match op {
                Op::Mine(blocks) => mine(&chain, blocks, &mut tag),
                Op::Reorg(depth, blocks) => {
                    chain.disconnect(*depth);
                    mine(&chain, blocks, &mut tag);
                }
                Op::Sync => {
                    let mut events = Vec::new();
                    let done = rt.block_on(sync(&mut follower, &chain, usize::MAX, &mut events)).unwrap();
                    prop_assert!(done);
                    replay(&mut model, &events);
                    check(&chain, &follower, &model);
                }
            }
        }
    }
}

#[test]
fn watched_tx_depth_follows_a_reorg() {
    let rt = runtime();
    let chain = MemoryChain::new();
    chain.mine(3);
    let mut follower = Follower::new(chain.tip_ref());
    let tx = spend(watched_outpoint(0), 1);
    let txid = tx.compute_txid();
    follower.watch_tx(txid, None);
    assert_eq!(follower.confirmations(&txid), Some(0));
    chain.mine_with(vec![tx.clone()]);
    chain.mine(2);
    let mut events = Vec::new();
    rt.block_on(sync(&mut follower, &chain, usize::MAX, &mut events)).unwrap();
    assert_eq!(follower.confirmations(&txid), Some(3));
    assert!(events.iter().any(|e| matches!(e, ChainEvent::TxConfirmed { txid: t, block } if *t == txid && block.height == BlockHeight(4))));

    // Reorg out the confirming block; the tx confirms again one block later on the new branch.
    chain.disconnect(3);
    chain.mine(1);
    chain.mine_with(vec![tx]);
    let mut events = Vec::new();
    rt.block_on(sync(&mut follower, &chain, usize::MAX, &mut events)).unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            ChainEvent::BlockDisconnected(_) => "d",
            ChainEvent::BlockConnected { .. } => "c",
            ChainEvent::TxConfirmed { .. } => "conf",
            ChainEvent::TxUnconfirmed { .. } => "unconf",
            ChainEvent::OutputSpent { .. } => "spent",
            ChainEvent::OutputUnspent { .. } => "unspent",
        })
        .collect();
    assert_eq!(kinds, ["d", "d", "d", "unconf", "c", "c", "conf"]);
    assert_eq!(follower.confirmations(&txid), Some(1));
    assert_eq!(follower.best(), chain.tip_ref());
}

#[test]
fn reorg_deeper_than_memory_is_an_error() {
    let rt = runtime();
    let chain = MemoryChain::new();
    chain.mine(10);
    let mut follower = Follower::new(chain.tip_ref()).with_memory(3);
    chain.mine(5);
    let mut events = Vec::new();
    rt.block_on(sync(&mut follower, &chain, usize::MAX, &mut events)).unwrap();
    chain.disconnect(4);
    chain.mine(6);
    let mut events = Vec::new();
    let err = rt.block_on(sync(&mut follower, &chain, usize::MAX, &mut events)).unwrap_err();
    assert!(matches!(err, Error::ReorgTooDeep(3)));
}

#[test]
fn connect_refuses_a_block_that_does_not_build_on_the_tip() {
    let chain = MemoryChain::new();
    chain.mine(2);
    let mut follower = Follower::new(chain.tip_ref());
    let stray = common::memory_chain::make_block(BlockHash::all_zeros(), 99, Vec::new());
    assert!(matches!(follower.connect_block(Arc::new(stray)), Err(Error::DoesNotConnect { .. })));
    assert_eq!(follower.best(), chain.tip_ref());
}

#[test]
fn batches_resume_where_they_stopped() {
    let rt = runtime();
    let chain = MemoryChain::new();
    let mut follower = Follower::new(chain.tip_ref());
    chain.mine(7);
    let mut events = Vec::new();
    assert!(!rt.block_on(sync(&mut follower, &chain, 3, &mut events)).unwrap());
    assert_eq!(follower.best().height, BlockHeight(3));
    while !rt.block_on(sync(&mut follower, &chain, 3, &mut events)).unwrap() {}
    assert_eq!(follower.best(), chain.tip_ref());
    assert_eq!(events.len(), 7);
}

#[test]
fn sparse_history_keeps_only_the_consecutive_run_below_the_tip() {
    let chain = MemoryChain::new();
    chain.mine(6);
    let at = |h: u32| shandian_chain::BlockRef {
        height: BlockHeight(h),
        hash: chain.hash_at(h).unwrap_or(BlockHash::all_zeros()),
    };
    let follower = Follower::from_recent(at(6), [at(0), at(2), at(4), at(5), at(9)]);
    let kept: Vec<u32> = follower.recent().map(|b| b.height.0).collect();
    assert_eq!(kept, [4, 5, 6]);
    assert_eq!(follower.hash_at(BlockHeight(4)), Some(at(4).hash));
    assert_eq!(follower.hash_at(BlockHeight(2)), None);
}
