//! The embedded chain through its in-process API: mining, spending, mempool rules, lock
//! times, invalid blocks, reorgs and restarts, all validated by Bitcoin Core's engine.

mod common;

use bitcoin::opcodes::all::{OP_CLTV, OP_CSV, OP_DROP, OP_PUSHNUM_1};
use bitcoin::script::Builder;
use bitcoin::transaction::Version;
use bitcoin::{absolute, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use common::Wallet;
use shandian_regtest::{Error, MempoolReject, RegtestChain};

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

fn funded_chain(w: &Wallet) -> (tempfile::TempDir, std::sync::Arc<RegtestChain>) {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path()).unwrap();
    chain.mine(110, &w.script).unwrap();
    (dir, chain)
}

#[test]
fn double_spend_rejected() {
    let w = Wallet::new(2);
    let (_dir, chain) = funded_chain(&w);
    let (op, value) = coinbase_outpoint(&chain, 1);
    let first = w.self_spend(op, value, 1_000);
    let second = w.self_spend(op, value, 2_000);
    let first_id = chain.submit_tx(first.clone()).unwrap();
    // Resubmitting the same transaction is idempotent, like bitcoind.
    assert_eq!(chain.submit_tx(first).unwrap(), first_id);
    assert_eq!(
        chain.submit_tx(second.clone()),
        Err(MempoolReject::Conflict { conflicting: first_id })
    );
    chain.mine(1, &w.script).unwrap();
    // Once the first is confirmed the second spends a missing output.
    assert_eq!(chain.submit_tx(second), Err(MempoolReject::MissingInputs));
}

#[test]
fn immature_coinbase_rejected() {
    let w = Wallet::new(3);
    let (_dir, chain) = funded_chain(&w);
    // Tip 110: the coinbase of block 11 is at depth 100 in the next block, block 12's at 99.
    let (op, value) = coinbase_outpoint(&chain, 12);
    let tx = w.self_spend(op, value, 1_000);
    assert_eq!(
        chain.submit_tx(tx.clone()),
        Err(MempoolReject::PrematureCoinbaseSpend { depth: 99 })
    );
    let (op11, value11) = coinbase_outpoint(&chain, 11);
    chain.submit_tx(w.self_spend(op11, value11, 1_000)).unwrap();
    chain.mine(1, &w.script).unwrap();
    chain.submit_tx(tx).unwrap();
}

#[test]
fn policy_rejections() {
    let w = Wallet::new(4);
    let (_dir, chain) = funded_chain(&w);
    let (op, value) = coinbase_outpoint(&chain, 1);
    // Below 1 sat/vB.
    let cheap = w.self_spend(op, value, 50);
    assert!(matches!(chain.submit_tx(cheap), Err(MempoolReject::MinRelayFee { .. })));
    // A dust output.
    let dust = TxOut { value: Amount::from_sat(100), script_pubkey: w.script.clone() };
    let change = TxOut { value: value - Amount::from_sat(10_000), script_pubkey: w.script.clone() };
    let tx = w.spend(&[(op, value)], vec![dust, change], 0, 0xffff_fffd);
    assert_eq!(chain.submit_tx(tx), Err(MempoolReject::Dust));
    // A bad signature: Core's interpreter refuses it.
    let other = Wallet::new(9);
    let mut forged = w.self_spend(op, value, 1_000);
    other.sign(&mut forged, &[(op, value)]);
    assert_eq!(chain.submit_tx(forged), Err(MempoolReject::ScriptVerify { input: 0 }));
    // Spending more than the inputs.
    let out = TxOut { value: value + Amount::from_sat(1), script_pubkey: w.script.clone() };
    let tx = w.spend(&[(op, value)], vec![out], 0, 0xffff_fffd);
    assert!(matches!(chain.submit_tx(tx), Err(MempoolReject::InBelowOut { .. })));
    // Valid fee check via test_tx does not add it.
    let ok = w.self_spend(op, value, 1_000);
    let accepted = chain.test_tx(ok, None).unwrap();
    assert_eq!(accepted.fee, Amount::from_sat(1_000));
    assert!(chain.mempool_txids().is_empty());
}

/// Funds a P2WSH output locked by `witness_script` and returns it once confirmed.
fn fund_script(
    chain: &RegtestChain,
    w: &Wallet,
    witness_script: &ScriptBuf,
    cb_height: u32,
) -> (OutPoint, Amount) {
    let (op, value) = coinbase_outpoint(chain, cb_height);
    let locked = Amount::from_sat(100_000_000);
    let outs = vec![
        TxOut {
            value: locked,
            script_pubkey: ScriptBuf::new_p2wsh(&witness_script.wscript_hash()),
        },
        TxOut { value: value - locked - Amount::from_sat(2_000), script_pubkey: w.script.clone() },
    ];
    let tx = w.spend(&[(op, value)], outs, 0, 0xffff_fffd);
    let txid = chain.submit_tx(tx).unwrap();
    chain.mine(1, &w.script).unwrap();
    (OutPoint { txid, vout: 0 }, locked)
}

fn spend_script(
    op: OutPoint,
    value: Amount,
    witness_script: &ScriptBuf,
    lock_time: u32,
    sequence: u32,
    to: &ScriptBuf,
) -> Transaction {
    let mut witness = Witness::new();
    witness.push(witness_script.as_bytes());
    Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::from_consensus(lock_time),
        input: vec![TxIn {
            previous_output: op,
            script_sig: ScriptBuf::new(),
            sequence: Sequence(sequence),
            witness,
        }],
        output: vec![TxOut { value: value - Amount::from_sat(1_000), script_pubkey: to.clone() }],
    }
}

#[test]
fn csv_locked_output_refused_one_block_early() {
    let w = Wallet::new(5);
    let (_dir, chain) = funded_chain(&w);
    let script = Builder::new()
        .push_int(5)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_PUSHNUM_1)
        .into_script();
    let (op, value) = fund_script(&chain, &w, &script, 1);
    let confirmed_at = chain.tip().height;
    // Too small a sequence fails the script itself.
    let weak = spend_script(op, value, &script, 0, 4, &w.script);
    chain.mine(10, &w.script).unwrap();
    assert_eq!(chain.submit_tx(weak), Err(MempoolReject::ScriptVerify { input: 0 }));
    // A fresh lock: confirmed at height H, sequence 5 allows the block at H + 5.
    let (op, value) = fund_script(&chain, &w, &script, 2);
    let confirmed_at2 = chain.tip().height;
    assert!(confirmed_at2 > confirmed_at);
    chain.mine(3, &w.script).unwrap();
    assert_eq!(chain.tip().height, confirmed_at2 + 3);
    let tx = spend_script(op, value, &script, 0, 5, &w.script);
    assert_eq!(chain.submit_tx(tx.clone()), Err(MempoolReject::NonBip68Final));
    chain.mine(1, &w.script).unwrap();
    let txid = chain.submit_tx(tx).unwrap();
    let hash = chain.mine(1, &w.script).unwrap()[0];
    assert_eq!(chain.block(&hash).unwrap().txdata[1].compute_txid(), txid);
}

#[test]
fn cltv_locked_output_refused_one_block_early() {
    let w = Wallet::new(6);
    let (_dir, chain) = funded_chain(&w);
    let lock = chain.tip().height + 5;
    let script = Builder::new()
        .push_int(i64::from(lock))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_PUSHNUM_1)
        .into_script();
    let (op, value) = fund_script(&chain, &w, &script, 1);
    // A lock time below the script's fails the script.
    let weak = spend_script(op, value, &script, lock - 1, 0xffff_fffe, &w.script);
    assert!(chain.submit_tx(weak).is_err());
    let tx = spend_script(op, value, &script, lock, 0xffff_fffe, &w.script);
    while chain.tip().height < lock - 1 {
        chain.mine(1, &w.script).unwrap();
    }
    // The next block is at height `lock`: nLockTime must be below it.
    assert_eq!(chain.submit_tx(tx.clone()), Err(MempoolReject::NonFinal));
    chain.mine(1, &w.script).unwrap();
    let txid = chain.submit_tx(tx).unwrap();
    let hash = chain.mine(1, &w.script).unwrap()[0];
    assert_eq!(chain.block(&hash).unwrap().txdata[1].compute_txid(), txid);
}

#[test]
fn block_with_invalid_tx_rejected_by_core() {
    let w = Wallet::new(7);
    let (_dir, chain) = funded_chain(&w);
    let tip = chain.tip();
    let (op, value) = coinbase_outpoint(&chain, 1);
    let mut forged = w.self_spend(op, value, 1_000);
    Wallet::new(8).sign(&mut forged, &[(op, value)]);
    let err = chain.generate_block(&w.script, vec![forged]).unwrap_err();
    assert!(matches!(err, Error::BlockRejected { .. }), "{err}");
    assert_eq!(chain.tip(), tip);
    // A block spending an output twice.
    let a = w.self_spend(op, value, 1_000);
    let b = w.self_spend(op, value, 2_000);
    assert!(matches!(
        chain.generate_block(&w.script, vec![a.clone(), b]),
        Err(Error::BlockRejected { .. })
    ));
    assert_eq!(chain.tip(), tip);
    // The chain still works, and a valid explicit block is accepted.
    let hash = chain.generate_block(&w.script, vec![a]).unwrap();
    assert_eq!(chain.tip().hash, hash);
}

#[test]
fn reorg_returns_transactions_to_mempool() {
    let w = Wallet::new(10);
    let (_dir, chain) = funded_chain(&w);
    let (op, value) = coinbase_outpoint(&chain, 1);
    let txid = chain.submit_tx(w.self_spend(op, value, 1_000)).unwrap();
    let fork_tip = chain.tip();
    let stale = chain.mine(2, &w.script).unwrap();
    assert!(chain.mempool_txids().is_empty());
    let mut tip_rx = chain.subscribe_tip();
    chain.invalidate(&stale[0]).unwrap();
    assert_eq!(chain.tip(), fork_tip);
    assert_eq!(*tip_rx.borrow_and_update(), fork_tip);
    assert_eq!(chain.mempool_txids(), vec![txid]);
    assert!(chain.header(&stale[0]).is_none());
    assert!(chain.tx_out(&op, false).is_some());
    // A longer branch confirms it again.
    let branch = chain.mine(3, &w.script).unwrap();
    assert_eq!(chain.tip().height, fork_tip.height + 3);
    assert!(!branch.contains(&stale[0]) && !branch.contains(&stale[1]));
    assert_eq!(chain.transaction(&txid).unwrap().block.unwrap().hash, branch[0]);
    assert!(matches!(chain.invalidate(&stale[1]), Err(Error::BlockNotFound(_))));
    assert!(matches!(
        chain.invalidate(&chain.block_hash(0).unwrap()),
        Err(Error::InvalidateGenesis)
    ));
}

#[test]
fn restart_keeps_tip_utxos_and_mempool() {
    let w = Wallet::new(11);
    let dir = tempfile::tempdir().unwrap();
    let (tip, utxos, txid) = {
        let chain = RegtestChain::open(dir.path()).unwrap();
        chain.mine(105, &w.script).unwrap();
        let stale = chain.mine(1, &w.script).unwrap();
        // Invalidate once so the restart also covers a rebuilt chainstate.
        chain.invalidate(&stale[0]).unwrap();
        chain.mine(2, &w.script).unwrap();
        let (op, value) = coinbase_outpoint(&chain, 1);
        chain.submit_tx(w.self_spend(op, value, 1_000)).unwrap();
        chain.mine(1, &w.script).unwrap();
        let (op, value) = coinbase_outpoint(&chain, 2);
        let txid = chain.submit_tx(w.self_spend(op, value, 1_000)).unwrap();
        (chain.tip(), chain.utxo_count(), txid)
    };
    let chain = RegtestChain::open(dir.path()).unwrap();
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.tip().height, 108);
    assert_eq!(chain.utxo_count(), utxos);
    assert_eq!(chain.mempool_txids(), vec![txid]);
    chain.mine(1, &w.script).unwrap();
    assert!(chain.mempool_txids().is_empty());
}

#[test]
fn mempool_chains_mined_parents_first_and_limited_to_25() {
    let w = Wallet::new(12);
    let (_dir, chain) = funded_chain(&w);
    let (mut op, mut value) = coinbase_outpoint(&chain, 1);
    let mut txids = Vec::new();
    for i in 0..25u64 {
        // Each child pays more than its parent: fee order alone would put children first.
        let tx = w.self_spend(op, value, 1_000 + 1_000 * i);
        txids.push(chain.submit_tx(tx.clone()).unwrap());
        op = OutPoint { txid: tx.compute_txid(), vout: 0 };
        value = tx.output[0].value;
    }
    let tx = w.self_spend(op, value, 100_000);
    assert_eq!(chain.submit_tx(tx), Err(MempoolReject::TooLongMempoolChain));
    let entry = chain.mempool_entry(&txids[24]).unwrap();
    assert_eq!(entry.ancestor.0, 25);
    let top = chain.mempool_entry(&txids[0]).unwrap();
    assert_eq!(top.descendant.0, 25);
    assert_eq!(top.spent_by, vec![txids[1]]);
    // An independent, higher-paying transaction and the chain all fit in one block.
    let (op2, value2) = coinbase_outpoint(&chain, 2);
    let rich = chain.submit_tx(w.self_spend(op2, value2, 500_000)).unwrap();
    let hash = chain.mine(1, &w.script).unwrap()[0];
    let block = chain.block(&hash).unwrap();
    let mined: Vec<_> = block.txdata.iter().skip(1).map(|t| t.compute_txid()).collect();
    assert_eq!(mined.len(), 26);
    assert_eq!(mined[0], rich);
    assert_eq!(&mined[1..], &txids[..]);
    assert!(chain.mempool_txids().is_empty());
}

#[test]
fn package_test_does_not_touch_mempool() {
    let w = Wallet::new(13);
    let (_dir, chain) = funded_chain(&w);
    let (op, value) = coinbase_outpoint(&chain, 1);
    let parent = w.self_spend(op, value, 1_000);
    let child = w.self_spend(
        OutPoint { txid: parent.compute_txid(), vout: 0 },
        parent.output[0].value,
        1_000,
    );
    // Alone, the child's input is missing; in a package after its parent it is fine.
    assert_eq!(chain.test_tx(child.clone(), None), Err(MempoolReject::MissingInputs));
    let results = chain.test_package(vec![parent, child], None);
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert!(chain.mempool_txids().is_empty());
}
