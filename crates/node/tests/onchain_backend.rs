//! The chain backend on the embedded regtest chain: mining to the wallet, balances, funding a
//! script, broadcasting, confirmations through events, late watches, and a restart that keeps
//! the wallet.

#[path = "common/backend_chain.rs"]
mod backend_chain;

use std::sync::Arc;
use std::time::Duration;

use backend_chain::{foreign_script, mine, start, SEED};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, Network, OutPoint, ScriptBuf, WScriptHash};
use shandian_node::onchain::{ChainBackend, ChainConfig, ChainEvent, OnchainError};
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;
use tokio::sync::{mpsc, watch};

const SUBSIDY: Amount = Amount::from_sat(50 * 100_000_000);

async fn next_event(events: &mut mpsc::UnboundedReceiver<ChainEvent>) -> ChainEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event in time")
        .expect("backend runs")
}

/// Skips block events until one that is not a block connection.
async fn next_watch_event(events: &mut mpsc::UnboundedReceiver<ChainEvent>) -> ChainEvent {
    loop {
        match next_event(events).await {
            ChainEvent::BlockConnected { .. } => continue,
            other => return other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mines_funds_a_script_confirms_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let node_dir = dir.path().join("node");
    let (backend, stop) = start(&chain, &node_dir).await;
    assert_eq!(backend.best_block().await.height, BlockHeight(0));

    // 101 blocks to the wallet: the first two coinbases can be spent in the next block
    // (100 blocks after theirs), the other 99 cannot.
    let address = backend.new_address().await.unwrap();
    assert!(address.as_unchecked().is_valid_for_network(Network::Regtest));
    mine(&backend, 101, &address.script_pubkey()).await;
    let balance = backend.balance().await;
    assert_eq!(balance.confirmed, SUBSIDY * 2);
    assert_eq!(balance.immature, SUBSIDY * 99);
    assert_eq!(balance.unconfirmed, Amount::ZERO);
    let before = balance.total();

    // Fund a channel-like script, broadcast, and see it confirm through events.
    let mut events = backend.subscribe();
    let script = ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([1; 32]));
    let amount = Amount::from_sat(1_000_000);
    let funding = backend.fund(script.clone(), amount).await.unwrap();
    let output = &funding.tx.output[usize::from(funding.output_index)];
    assert_eq!((output.script_pubkey.clone(), output.value), (script, amount));
    assert!(funding.fee > Amount::ZERO);
    let txid = funding.txid();
    backend.broadcast(funding.tx.clone()).await.unwrap();
    backend.watch_tx(txid).await;
    assert_eq!(backend.confirmations(&txid).await, Some(0));
    assert_eq!(backend.balance().await.total(), before - amount - funding.fee);

    let height = mine(&backend, 1, &foreign_script()).await;
    match next_watch_event(&mut events).await {
        ChainEvent::TxConfirmed { txid: confirmed, block } => {
            assert_eq!(confirmed, txid);
            assert_eq!(block.height, height);
        }
        other => panic!("expected the funding confirmation, got {other:?}"),
    }
    assert_eq!(backend.confirmations(&txid).await, Some(1));
    let (tx, at, index) = backend.transaction_position(txid).await.expect("confirmed");
    assert_eq!((tx.compute_txid(), at), (txid, height));
    assert_eq!(index, 1, "after the coinbase");
    let after = backend.balance().await;
    assert_eq!(after.total(), before - amount - funding.fee);
    assert_eq!(after.unconfirmed, Amount::ZERO);

    // A spend watched only after its block went by is still reported, at once.
    let funding_output = OutPoint { txid, vout: u32::from(funding.output_index) };
    let spent_input = funding.tx.input[0].previous_output;
    backend.watch_output(spent_input).await;
    match next_watch_event(&mut events).await {
        ChainEvent::OutputSpent { outpoint, spender, block } => {
            assert_eq!((outpoint, spender, block.height), (spent_input, txid, height));
        }
        other => panic!("expected the late spend, got {other:?}"),
    }
    backend.watch_output(funding_output).await;

    // A second watcher, subscribed after those reports, is told again when it watches.
    let mut late = backend.subscribe();
    backend.watch_output(spent_input).await;
    backend.watch_tx(txid).await;
    match next_watch_event(&mut late).await {
        ChainEvent::OutputSpent { outpoint, spender, .. } => {
            assert_eq!((outpoint, spender), (spent_input, txid))
        }
        other => panic!("expected the spend again, got {other:?}"),
    }
    match next_watch_event(&mut late).await {
        ChainEvent::TxConfirmed { txid: again, block } => {
            assert_eq!((again, block.height), (txid, height))
        }
        other => panic!("expected the confirmation again, got {other:?}"),
    }

    // Restart: the wallet, its addresses and the chain position are kept.
    let last_address = backend.new_address().await.unwrap();
    stop.send_replace(true);
    drop(backend);
    let (backend, _stop) = start(&chain, &node_dir).await;
    assert_eq!(backend.best_block().await.height, height);
    assert_eq!(backend.balance().await, after);
    let fresh = backend.new_address().await.unwrap();
    assert_ne!(fresh, last_address);
    assert_ne!(fresh, address);
    // Blocks mined while it was down are caught up.
    mine(&backend, 2, &foreign_script()).await;
    assert_eq!(backend.confirmations(&txid).await, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_to_an_address_and_refuses_what_it_cannot_pay() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let (backend, _stop) = start(&chain, &dir.path().join("node")).await;
    let address = backend.new_address().await.unwrap();
    mine(&backend, 101, &address.script_pubkey()).await;
    let total = backend.balance().await.total();

    let foreign = bitcoin::Address::from_script(&foreign_script(), Network::Regtest).unwrap();
    let amount = Amount::from_sat(25_000_000);
    let txid = backend.send_to_address(foreign.clone(), amount).await.unwrap();
    let pending = backend.balance().await;
    let fee = total - amount - pending.total();
    assert!(fee > Amount::ZERO && fee < Amount::from_sat(10_000), "fee {fee}");
    mine(&backend, 1, &foreign_script()).await;
    assert_eq!(backend.confirmations(&txid).await, Some(1));
    assert_eq!(backend.balance().await.total(), total - amount - fee);

    // More than the mature coins: refused, nothing reserved.
    let err = backend.send_to_address(foreign.clone(), SUBSIDY * 3).await.unwrap_err();
    assert!(matches!(err, OnchainError::InsufficientFunds { .. }), "{err}");
    let mainnet = bitcoin::Address::from_script(&foreign_script(), Network::Bitcoin).unwrap();
    let err = backend.send_to_address(mainnet, amount).await.unwrap_err();
    assert!(matches!(err, OnchainError::WrongNetwork), "{err}");

    // A feerate: regtest with little history still gives at least the relay floor.
    assert!(backend.feerate().await >= shandian_types::FeeratePerKw::MIN_RELAY);
    // A fresh shutdown script is a wallet P2WPKH.
    assert!(backend.shutdown_script().await.unwrap().is_p2wpkh());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_the_same_over_json_rpc() {
    use shandian_regtest::rpc::{RpcAuth as ServerAuth, RpcServer};
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let auth = ServerAuth::UserPassword { user: "u".into(), password: "p".into() };
    let server =
        RpcServer::bind(chain.clone(), "127.0.0.1:0".parse().unwrap(), auth).await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));

    let (_stop, shutdown) = watch::channel(false);
    let auth = shandian_chain::RpcAuth::UserPass { user: "u".into(), password: "p".into() };
    let config = ChainConfig::BitcoindRpc { url, auth };
    let backend =
        ChainBackend::start(config, &dir.path().join("node"), &SEED, Network::Regtest, shutdown)
            .await
            .unwrap();
    assert!(backend.regtest().is_none());
    let address = backend.new_address().await.unwrap();
    let script = address.script_pubkey();
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(101, &script).unwrap()).await.unwrap();
    // Polled (no wake-up over RPC): within a few seconds.
    let synced = backend.wait_for_height(BlockHeight(101));
    tokio::time::timeout(Duration::from_secs(30), synced).await.unwrap().unwrap();
    assert_eq!(backend.balance().await.confirmed, SUBSIDY * 2);

    let funding = backend.fund(foreign_script(), Amount::from_sat(100_000)).await.unwrap();
    backend.broadcast(funding.tx.clone()).await.unwrap();
    backend.watch_tx(funding.txid()).await;
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(1, &foreign_script()).unwrap()).await.unwrap();
    assert_eq!(backend.sync().await.unwrap().height, BlockHeight(102));
    assert_eq!(backend.confirmations(&funding.txid()).await, Some(1));
    let (_, height, index) = backend.transaction_position(funding.txid()).await.unwrap();
    assert_eq!((height, index), (BlockHeight(102), 1));
    let _ = stop_server.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_the_backend_missed_is_rebroadcast_on_the_next_block() {
    use shandian_regtest::rpc::{RpcAuth as ServerAuth, RpcServer};
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let server_auth = || ServerAuth::UserPassword { user: "u".into(), password: "p".into() };
    let serve = |server: RpcServer| {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        (stop, task)
    };
    let server = RpcServer::bind(chain.clone(), "127.0.0.1:0".parse().unwrap(), server_auth())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_server, task) = serve(server);

    let (_stop, shutdown) = watch::channel(false);
    let auth = shandian_chain::RpcAuth::UserPass { user: "u".into(), password: "p".into() };
    let config = ChainConfig::BitcoindRpc { url: format!("http://{addr}"), auth };
    let node_dir = dir.path().join("node");
    let backend =
        ChainBackend::start(config, &node_dir, &SEED, Network::Regtest, shutdown).await.unwrap();
    let address = backend.new_address().await.unwrap();
    let (miner, script) = (chain.clone(), address.script_pubkey());
    tokio::task::spawn_blocking(move || miner.mine(101, &script).unwrap()).await.unwrap();
    let synced = backend.wait_for_height(BlockHeight(101));
    tokio::time::timeout(Duration::from_secs(30), synced).await.unwrap().unwrap();

    // The backend is unreachable: the broadcast is accepted locally and kept.
    let _ = stop_server.send(());
    task.await.unwrap().unwrap();
    let funding = backend.fund(foreign_script(), Amount::from_sat(100_000)).await.unwrap();
    backend.broadcast(funding.tx.clone()).await.unwrap();
    assert!(chain.mempool_txids().is_empty());

    // Back up, a block arrives: the backend rebroadcasts, the next block confirms it.
    let server = RpcServer::bind(chain.clone(), addr, server_auth()).await.unwrap();
    let (_stop_server, _task) = serve(server);
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(1, &foreign_script()).unwrap()).await.unwrap();
    let synced = backend.wait_for_height(BlockHeight(102));
    tokio::time::timeout(Duration::from_secs(30), synced).await.unwrap().unwrap();
    backend.sync().await.unwrap();
    assert_eq!(chain.mempool_txids(), vec![funding.txid()]);
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(1, &foreign_script()).unwrap()).await.unwrap();
    assert_eq!(backend.sync().await.unwrap().height, BlockHeight(103));
    assert_eq!(backend.confirmations(&funding.txid()).await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_chain_forgot_is_broadcast_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let chain_dir = dir.path().join("chain");
    let node_dir = dir.path().join("node");
    let chain = RegtestChain::open(&chain_dir).unwrap();
    let (backend, stop) = start(&chain, &node_dir).await;
    let address = backend.new_address().await.unwrap();
    mine(&backend, 101, &address.script_pubkey()).await;
    let to = bitcoin::Address::from_script(&foreign_script(), Network::Regtest).unwrap();
    let txid = backend.send_to_address(to, Amount::from_sat(100_000)).await.unwrap();
    assert!(chain.mempool_txids().contains(&txid));

    // Both stop; the chain comes back without its mempool (as a restarted bitcoind without
    // mempool.dat, or one that evicted the transaction).
    stop.send_replace(true);
    drop(backend);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The stopped backend's task lets go of the chain when it ends.
    while Arc::strong_count(&chain) > 1 {
        assert!(std::time::Instant::now() < deadline, "the backend never let go of the chain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(chain);
    std::fs::remove_file(chain_dir.join("mempool.dat")).unwrap();
    let chain = RegtestChain::open(&chain_dir).unwrap();
    assert!(chain.mempool_txids().is_empty());

    // The restarted node rebroadcasts its unconfirmed payment on the next block; it confirms.
    let (backend, _stop) = start(&chain, &node_dir).await;
    mine(&backend, 1, &foreign_script()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !chain.mempool_txids().contains(&txid) {
        assert!(std::time::Instant::now() < deadline, "the payment was never rebroadcast");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let height = mine(&backend, 1, &foreign_script()).await;
    let info = chain.transaction(&txid).expect("the payment is on chain");
    assert_eq!(info.block.map(|b| b.height), Some(height.0));
}
