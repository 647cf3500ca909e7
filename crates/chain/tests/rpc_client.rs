//! The JSON-RPC client against `shandian chain`'s server over real HTTP: every method the
//! client uses, Core's error codes mapped to typed errors, password and cookie auth.

mod common;

use std::sync::Arc;

use bitcoin::{Amount, OutPoint};
use common::{burn, runtime, Regtest};
use serde_json::json;
use shandian_chain::{
    BlockRef, Broadcaster, ChainSource, Error, FeeEstimator, RpcAuth, RpcClient, RpcError,
};
use shandian_regtest::rpc::{RpcAuth as ServerAuth, RpcServer};
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::oneshot;

const COIN: u64 = 100_000_000;

struct Server {
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn serve(net: &Regtest, auth: ServerAuth) -> Server {
    let server =
        RpcServer::bind(net.chain.clone(), "127.0.0.1:0".parse().unwrap(), auth).await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Server { url, _stop: stop }
}

fn password() -> ServerAuth {
    ServerAuth::UserPassword { user: "u".into(), password: "p".into() }
}

fn client(server: &Server) -> RpcClient {
    let auth = RpcAuth::UserPass { user: "u".into(), password: "p".into() };
    RpcClient::new(&server.url, auth).unwrap()
}

#[test]
fn chain_reads_match_the_embedded_chain() {
    let rt = runtime();
    rt.block_on(async {
        let net = Regtest::new();
        let server = serve(&net, password()).await;
        let rpc = client(&server);
        net.mine(3);

        let tip = rpc.tip().await.unwrap();
        assert_eq!(tip, net.source.tip().await.unwrap());
        assert_eq!(tip.height, BlockHeight(3));
        assert_eq!(rpc.block_count().await.unwrap(), BlockHeight(3));
        assert_eq!(rpc.best_block_hash().await.unwrap(), tip.hash);
        let info = rpc.blockchain_info().await.unwrap();
        assert_eq!((info.chain.as_str(), info.blocks), ("regtest", 3));

        for h in 0..=3 {
            let hash = rpc.block_hash(BlockHeight(h)).await.unwrap();
            assert_eq!(hash, net.chain.block_hash(h));
        }
        // Above the tip: Core's -8 "Block height out of range" is `None` to the trait ...
        assert_eq!(rpc.block_hash(BlockHeight(4)).await.unwrap(), None);
        // ... and a typed RPC error to a raw caller.
        let err = rpc.call_raw("getblockhash", vec![json!(1000)]).await.unwrap_err();
        assert!(matches!(err, Error::Rpc(RpcError { code: -8, .. })), "{err:?}");

        let header = rpc.header(tip.hash).await.unwrap().unwrap();
        assert_eq!((header.height, header.in_best_chain), (BlockHeight(3), true));
        assert_eq!(header.header.block_hash(), tip.hash);
        let block = rpc.block(tip.hash).await.unwrap().unwrap();
        assert_eq!(block, net.source.block(tip.hash).await.unwrap().unwrap());

        let unknown = bitcoin::BlockHash::from_byte_array([7; 32]);
        assert_eq!(rpc.header(unknown).await.unwrap(), None);
        assert_eq!(rpc.block(unknown).await.unwrap(), None);
        let nothing = bitcoin::Txid::from_byte_array([7; 32]);
        assert_eq!(rpc.transaction(nothing).await.unwrap(), None);
        let err = rpc.call_raw("nosuchmethod", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::Rpc(RpcError { code: -32601, .. })), "{err:?}");

        let rate = rpc.estimate_feerate(6).await.unwrap();
        assert!(rate >= FeeratePerKw::MIN_RELAY);
        assert!(net.source.estimate_feerate(6).await.unwrap() >= FeeratePerKw::MIN_RELAY);
    });
}

use bitcoin::hashes::Hash;

#[test]
fn transactions_outputs_and_broadcast_errors() {
    let rt = runtime();
    rt.block_on(async {
        let net = Regtest::new();
        let server = serve(&net, password()).await;
        let rpc = Arc::new(client(&server));
        let mut wallet = net.wallet("w.sqlite", 11);
        let address = wallet.new_address().unwrap();
        net.mine_to(101, &address.script_pubkey());
        wallet.sync(rpc.as_ref()).await.unwrap();
        assert_eq!(wallet.balance().confirmed, Amount::from_sat(100 * COIN));

        // gettxout of a coinbase.
        let block2 = net.chain.block_hash(2).unwrap();
        let coinbase2 = rpc.block(block2).await.unwrap().unwrap().txdata[0].clone();
        let coinbase = OutPoint { txid: coinbase2.compute_txid(), vout: 0 };
        let utxo = rpc.unspent_output(coinbase, true).await.unwrap().unwrap();
        assert!(utxo.coinbase);
        assert_eq!(utxo.confirmations, 100);
        assert_eq!(utxo.txout.value, Amount::from_sat(50 * COIN));
        assert_eq!(utxo.txout.script_pubkey, address.script_pubkey());

        // A payment through the RPC broadcaster; found in the mempool, then confirmed.
        let funding = wallet.fund_script(burn(), Amount::from_sat(COIN), common_rate()).unwrap();
        let txid = rpc.broadcast(&funding.tx).await.unwrap();
        assert_eq!(txid, funding.txid());
        assert!(rpc.mempool_txids().await.unwrap().contains(&txid));
        let found = rpc.transaction(txid).await.unwrap().unwrap();
        assert_eq!((found.tx.clone(), found.confirmed_in), (funding.tx.clone(), None));
        let spent = funding.tx.input[0].previous_output;
        assert!(rpc.unspent_output(spent, false).await.unwrap().is_some());
        assert_eq!(rpc.unspent_output(spent, true).await.unwrap(), None);
        let out = OutPoint { txid, vout: u32::from(funding.output_index) };
        assert_eq!(rpc.unspent_output(out, true).await.unwrap().unwrap().confirmations, 0);
        // Sent again while in the mempool: already known.
        match rpc.broadcast(&funding.tx).await {
            Ok(again) => assert_eq!(again, txid),
            Err(e) => assert!(e.is_already_known(), "{e:?}"),
        }

        net.mine(1);
        let tip = rpc.tip().await.unwrap();
        let found = rpc.transaction(txid).await.unwrap().unwrap();
        assert_eq!(found.confirmed_in, Some(BlockRef { height: BlockHeight(102), hash: tip.hash }));
        assert_eq!(rpc.unspent_output(spent, false).await.unwrap(), None);
        assert_eq!(rpc.unspent_output(out, false).await.unwrap().unwrap().confirmations, 1);

        // Confirmed already: -27 (or "already known" in any form).
        let err = rpc.broadcast(&funding.tx).await.unwrap_err();
        assert!(err.is_already_known() || err.is_double_spend(), "{err:?}");

        // A double spend of the confirmed input: -25 missing or spent.
        let mut conflict = funding.tx.clone();
        conflict.output[usize::from(funding.output_index)].value = Amount::from_sat(COIN - 500);
        let err = rpc.broadcast(&conflict).await.unwrap_err();
        assert!(err.is_double_spend(), "{err:?}");
        assert!(matches!(err, Error::TxInputsMissingOrSpent { .. }), "{err:?}");

        // Spending the coinbase of the newest block: premature spend, -26.
        let newest = rpc.block(tip.hash).await.unwrap().unwrap().txdata[0].compute_txid();
        let premature = spend_coinbase_unsigned(OutPoint { txid: newest, vout: 0 });
        let err = rpc.broadcast(&premature).await.unwrap_err();
        assert!(
            matches!(err, Error::TxRejected { .. } | Error::TxInputsMissingOrSpent { .. }),
            "{err:?}"
        );
    });
}

fn common_rate() -> FeeratePerKw {
    FeeratePerKw(1000)
}

/// A transaction spending `outpoint` to the burn script, unsigned.
fn spend_coinbase_unsigned(outpoint: OutPoint) -> bitcoin::Transaction {
    bitcoin::Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![bitcoin::TxIn { previous_output: outpoint, ..Default::default() }],
        output: vec![bitcoin::TxOut { value: Amount::from_sat(COIN), script_pubkey: burn() }],
    }
}

#[test]
fn a_wallet_synced_over_rpc_matches_one_synced_in_process() {
    let rt = runtime();
    rt.block_on(async {
        let net = Regtest::new();
        let server = serve(&net, password()).await;
        let rpc = client(&server);
        let mut a = net.wallet("a.sqlite", 12);
        let mut b = net.wallet("b.sqlite", 12);
        let address = a.new_address().unwrap();
        assert_eq!(b.new_address().unwrap(), address);
        net.mine_to(105, &address.script_pubkey());
        a.sync(&rpc).await.unwrap();
        b.sync(&net.source).await.unwrap();
        assert_eq!(a.balance(), b.balance());
        assert_eq!(a.tip(), b.tip());
    });
}

#[test]
fn authentication_password_cookie_and_refusal() {
    let rt = runtime();
    rt.block_on(async {
        let net = Regtest::new();
        let server = serve(&net, password()).await;
        let wrong = RpcClient::new(
            &server.url,
            RpcAuth::UserPass { user: "u".into(), password: "nope".into() },
        )
        .unwrap();
        let err = wrong.tip().await.unwrap_err();
        assert!(matches!(err, Error::Unauthorized { status: 401 }), "{err:?}");

        let net2 = Regtest::new();
        let server2 = serve(&net2, ServerAuth::Cookie).await;
        let cookie = net2.chain.data_dir().join(".cookie");
        let rpc = RpcClient::new(&server2.url, RpcAuth::CookieFile(cookie)).unwrap();
        assert_eq!(rpc.tip().await.unwrap().height, BlockHeight(0));

        let missing = RpcClient::new(
            &server2.url,
            RpcAuth::CookieFile(net2.dir.path().join("no-such-cookie")),
        )
        .unwrap();
        assert!(matches!(missing.tip().await.unwrap_err(), Error::CookieRead { .. }));

        // Nobody listening: a transient connection error.
        let dead = RpcClient::new("http://127.0.0.1:1", RpcAuth::None).unwrap();
        let err = dead.tip().await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    });
}
