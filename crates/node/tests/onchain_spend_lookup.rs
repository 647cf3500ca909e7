//! `ChainBackend::lookup_spend` on the embedded regtest chain: an output spent in a block
//! the backend remembers, one spent long ago (found by scanning blocks back), one unspent,
//! and one spent below the scan window (reported as spent but not found, with the lowest
//! block scanned).

#[path = "common/backend_chain.rs"]
mod backend_chain;

use backend_chain::{foreign_script, mine, start};
use bitcoin::{Amount, Network, OutPoint};
use shandian_node::onchain::{SpendLookup, MAX_RESCAN_BLOCKS};
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_recent_and_old_spends_and_says_when_one_is_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let (backend, _stop) = start(&chain, &dir.path().join("node")).await;
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
