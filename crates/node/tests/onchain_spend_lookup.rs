//! `ChainBackend::lookup_spend` on the embedded regtest chain: an output spent in a block
//! the backend remembers, one spent long ago (found by scanning blocks back), one unspent,
//! and one spent below the scan window (reported as spent but not found, with the lowest
//! block scanned).

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, Network, OutPoint, ScriptBuf, WScriptHash};
use shandian_node::onchain::{ChainBackend, ChainConfig, SpendLookup, MAX_RESCAN_BLOCKS};
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;
use tokio::sync::watch;

/// A script no wallet here owns.
fn foreign_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([7; 32]))
}

/// Mines `n` blocks to `script` and waits until the backend delivered them.
async fn mine(backend: &ChainBackend, n: u32, script: &ScriptBuf) -> BlockHeight {
    let chain = backend.regtest().expect("embedded").clone();
    let script = script.clone();
    tokio::task::spawn_blocking(move || chain.mine(n, &script).expect("mines")).await.unwrap();
    let tip = backend.regtest().unwrap().tip().height;
    tokio::time::timeout(Duration::from_secs(120), backend.wait_for_height(BlockHeight(tip)))
        .await
        .expect("backend follows the chain")
        .expect("backend runs");
    BlockHeight(tip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_recent_and_old_spends_and_says_when_one_is_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let (_stop, shutdown) = watch::channel(false);
    let config = ChainConfig::Embedded(Arc::clone(&chain));
    let backend = ChainBackend::start(
        config,
        &dir.path().join("node"),
        &[42; 32],
        Network::Regtest,
        shutdown,
    )
    .await
    .expect("backend starts");
    let address = backend.new_address().await.unwrap();
    mine(&backend, 101, &address.script_pubkey()).await;

    // The wallet pays a foreign script: that spends one of its coins.
    let paid = bitcoin::Address::from_script(&foreign_script(), Network::Regtest).unwrap();
    let txid = backend.send_to_address(paid, Amount::from_sat(100_000)).await.unwrap();
    let tx = backend.transaction(txid).await.unwrap().expect("known");
    let spent = tx.input[0].previous_output;
    let unspent = OutPoint { txid, vout: 0 };
    let at = mine(&backend, 1, &foreign_script()).await;
    let from = BlockHeight(at.0 - 1);

    // In a block the backend remembers.
    let found = backend.lookup_spend(spent, from).await.unwrap();
    let SpendLookup::Spent { txid: spender, block } = found else { panic!("{found:?}") };
    assert_eq!((spender, block.height), (txid, at));
    assert_eq!(backend.lookup_spend(unspent, from).await.unwrap(), SpendLookup::Unspent);

    // Older than the backend's memory of recent blocks: found by scanning back.
    mine(&backend, 300, &foreign_script()).await;
    let found = backend.lookup_spend(spent, from).await.unwrap();
    assert!(
        matches!(found, SpendLookup::Spent { txid: t, block } if t == txid && block.height == at)
    );
    assert_eq!(backend.find_spend(spent, from).await.unwrap().map(|(t, _)| t), Some(txid));
    assert_eq!(backend.lookup_spend(unspent, from).await.unwrap(), SpendLookup::Unspent);

    // Deeper than the scan window: spent, but out of reach (and said so).
    let tip = mine(&backend, MAX_RESCAN_BLOCKS, &foreign_script()).await;
    let found = backend.lookup_spend(spent, from).await.unwrap();
    let scanned_from = BlockHeight(tip.0 - MAX_RESCAN_BLOCKS);
    assert_eq!(found, SpendLookup::SpentUnfound { scanned_from });
    assert!(scanned_from > at);
    assert_eq!(backend.find_spend(spent, from).await.unwrap(), None);
    assert_eq!(backend.lookup_spend(unspent, from).await.unwrap(), SpendLookup::Unspent);
}
