//! The embedded chain through its in-process API: mining, spending, mempool rules, lock
//! times, invalid blocks, reorgs and restarts, all validated by Bitcoin Core's engine.

mod common;

use bitcoin::{Amount, OutPoint};
use common::Wallet;
use shandian_regtest::RegtestChain;

fn coinbase_outpoint(chain: &RegtestChain, height: u32) -> (OutPoint, Amount) {
    let hash = chain.block_hash(height).unwrap();
    let block = chain.block(&hash).unwrap();
    let cb = &block.txdata[0];
    (OutPoint { txid: cb.compute_txid(), vout: 0 }, cb.output[0].value)
}

#[test]
fn mine_spend_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path()).unwrap();
    let w = Wallet::new(1);
    assert_eq!(chain.tip().height, 0);
    let hashes = chain.mine(101, &w.script).unwrap();
    assert_eq!(hashes.len(), 101);
    assert_eq!(chain.tip().height, 101);
    assert_eq!(chain.tip().hash, hashes[100]);

    let (op, value) = coinbase_outpoint(&chain, 1);
    assert_eq!(value, Amount::from_btc(50.0).unwrap());
    let tx = w.self_spend(op, value, 1_000);
    let txid = chain.submit_tx(tx.clone()).unwrap();
    assert_eq!(chain.mempool_txids(), vec![txid]);
    assert!(chain.transaction(&txid).unwrap().block.is_none());
    // Spent by the mempool: gone with include_mempool, present without.
    assert!(chain.tx_out(&op, true).is_none());
    assert!(chain.tx_out(&op, false).is_some());

    let block_hash = chain.mine(1, &w.script).unwrap()[0];
    let block = chain.block(&block_hash).unwrap();
    assert_eq!(block.txdata.len(), 2);
    assert_eq!(block.txdata[1].compute_txid(), txid);
    // The coinbase claims subsidy plus fee.
    assert_eq!(block.txdata[0].output[0].value, Amount::from_sat(50 * 100_000_000 + 1_000));
    assert!(chain.mempool_txids().is_empty());
    let info = chain.transaction(&txid).unwrap();
    assert_eq!(info.block.unwrap().hash, block_hash);
    let out = chain.tx_out(&OutPoint { txid, vout: 0 }, true).unwrap();
    assert_eq!(out.confirmations, 1);
    assert!(chain.tx_out(&op, false).is_none());
}
