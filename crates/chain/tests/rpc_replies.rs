//! The RPC client against a fake server sending odd or hostile replies: every one is a typed
//! answer or error, never a panic.

use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, OutPoint, Txid};
use proptest::prelude::*;
use shandian_chain::{ChainSource, Error, FeeEstimator, MalformedReason, RpcAuth, RpcClient};
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `status` and `body` to every request; returns the URL.
async fn canned(status: u16, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

async fn client(status: u16, body: &str) -> RpcClient {
    RpcClient::new(&canned(status, body.as_bytes().to_vec()).await, RpcAuth::None).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn zero_hash() -> BlockHash {
    BlockHash::all_zeros()
}

#[test]
fn odd_replies_are_typed_errors() {
    rt().block_on(async {
        let c = client(200, "not json").await;
        assert!(matches!(c.tip().await, Err(Error::HttpStatus { status: 200 })));

        let c = client(200, r#"{"result":"zz","error":null,"id":1}"#).await;
        let err = c.block_hash(BlockHeight(1)).await.unwrap_err();
        assert!(matches!(err, Error::Malformed { method: "getblockhash", reason: MalformedReason::Json(_) }), "{err:?}");

        let c = client(500, r#"{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":1}"#).await;
        assert_eq!(c.block_hash(BlockHeight(9)).await.unwrap(), None);

        let c = client(200, r#"{"result":"00","error":null,"id":1}"#).await;
        let err = c.block(zero_hash()).await.unwrap_err();
        assert!(matches!(err, Error::Malformed { reason: MalformedReason::Encoding(_), .. }), "{err:?}");

        let c = client(200, r#"{"result":"0g","error":null,"id":1}"#).await;
        let err = c.block(zero_hash()).await.unwrap_err();
        assert!(matches!(err, Error::Malformed { reason: MalformedReason::Hex(_), .. }), "{err:?}");

        let out = OutPoint { txid: Txid::all_zeros(), vout: 0 };
        let c = client(200, r#"{"result":{"confirmations":1,"value":-1.0,"scriptPubKey":{"hex":""},"coinbase":false},"error":null}"#).await;
        let err = c.unspent_output(out, true).await.unwrap_err();
        assert!(matches!(err, Error::Malformed { reason: MalformedReason::Amount(_), .. }), "{err:?}");

        let c = client(200, r#"{"result":null,"error":null,"id":1}"#).await;
        assert_eq!(c.unspent_output(out, true).await.unwrap(), None);

        // No estimate yet: the fallback; a nonsense estimate: malformed.
        let c = client(200, r#"{"result":{"errors":["Insufficient data or no feerate found"],"blocks":2},"error":null}"#).await;
        let c = c.with_fallback_feerate(FeeratePerKw(2000));
        assert_eq!(c.estimate_feerate(2).await.unwrap(), FeeratePerKw(2000));
        let c = client(200, r#"{"result":{"feerate":-1.0,"blocks":2},"error":null}"#).await;
        assert!(matches!(c.estimate_feerate(2).await, Err(Error::Malformed { .. })));
        let c = client(200, r#"{"result":{"feerate":0.00001,"blocks":2},"error":null}"#).await;
        assert_eq!(c.estimate_feerate(2).await.unwrap(), FeeratePerKw::MIN_RELAY);

        let c = client(401, "").await;
        assert!(matches!(c.tip().await, Err(Error::Unauthorized { status: 401 })));
        let c = client(404, "<html>").await;
        assert!(matches!(c.tip().await, Err(Error::HttpStatus { status: 404 })));
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Arbitrary bytes (and arbitrary JSON results) as replies: every call returns.
    #[test]
    fn arbitrary_replies_never_panic(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            any::<String>().prop_map(|s| format!(r#"{{"result":{},"error":null}}"#, serde_json::Value::String(s)).into_bytes()),
            (any::<i64>(), any::<f64>()).prop_map(|(n, f)| format!(r#"{{"result":{{"height":{n},"confirmations":{n},"feerate":{f},"value":{f},"hex":"{n}"}},"error":null}}"#).into_bytes()),
        ],
        status in prop_oneof![Just(200u16), Just(500), Just(404)],
    ) {
        rt().block_on(async {
            let c = RpcClient::new(&canned(status, body).await, RpcAuth::None).unwrap();
            let _ = c.tip().await;
            let _ = c.header(zero_hash()).await;
            let _ = c.block(zero_hash()).await;
            let _ = c.transaction(Txid::all_zeros()).await;
            let _ = c.unspent_output(OutPoint::null(), false).await;
            let _ = c.mempool_txids().await;
            let _ = c.estimate_feerate(6).await;
        });
    }
}
