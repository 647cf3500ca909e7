//! The JSON-RPC server over real HTTP: every method, Core's error codes and HTTP statuses,
//! JSON-RPC 1.0 and 2.0, batches, cookie and password auth, keep-alive, stop.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hashes::Hash;
use bitcoin::{Address, Amount, Network, OutPoint, Txid};
use common::Wallet;
use serde_json::{json, Value};
use shandian_regtest::rpc::{RpcAuth, RpcServer};
use shandian_regtest::RegtestChain;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const GENESIS: &str = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

struct Node {
    _dir: tempfile::TempDir,
    chain: Arc<RegtestChain>,
    addr: SocketAddr,
    user: String,
    password: String,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), shandian_regtest::Error>>,
}

async fn start(auth: RpcAuth) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path()).unwrap();
    let server =
        RpcServer::bind(chain.clone(), "127.0.0.1:0".parse().unwrap(), auth.clone()).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    let (user, password) = match auth {
        RpcAuth::UserPassword { user, password } => (user, password),
        RpcAuth::Cookie => {
            let cookie = std::fs::read_to_string(dir.path().join(".cookie")).unwrap();
            let (u, p) = cookie.split_once(':').unwrap();
            (u.to_owned(), p.to_owned())
        }
    };
    Node {
        _dir: dir,
        chain,
        addr,
        user,
        password,
        client: reqwest::Client::new(),
        _stop: tx,
        server,
    }
}

async fn password_node() -> Node {
    start(RpcAuth::UserPassword { user: "alice".into(), password: "secret".into() }).await
}

impl Node {
    async fn raw(&self, body: Value) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("http://{}/", self.addr))
            .basic_auth(&self.user, Some(&self.password))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A JSON-RPC 1.0 call; returns the result or panics with the error.
    async fn call(&self, method: &str, params: Value) -> Value {
        let (status, reply) = self.raw(json!({"id": 1, "method": method, "params": params})).await;
        assert_eq!(reply["error"], Value::Null, "{method}: {reply}");
        assert_eq!(status, 200);
        assert!(reply.as_object().unwrap().contains_key("result"));
        reply["result"].clone()
    }

    /// A call expected to fail: returns (HTTP status, code, message).
    async fn error(&self, method: &str, params: Value) -> (u16, i64, String) {
        let (status, reply) =
            self.raw(json!({"id": "x", "method": method, "params": params})).await;
        assert_eq!(reply["result"], Value::Null, "{reply}");
        assert_eq!(reply["id"], "x");
        let err = &reply["error"];
        (status, err["code"].as_i64().unwrap(), err["message"].as_str().unwrap().to_owned())
    }
}

fn address(w: &Wallet) -> String {
    Address::from_script(&w.script, Network::Regtest).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_methods() {
    let node = password_node().await;
    let w = Wallet::new(1);
    assert_eq!(node.call("getblockcount", json!([])).await, 0);
    assert_eq!(node.call("getblockhash", json!([0])).await, GENESIS);
    let info = node.call("getblockchaininfo", json!([])).await;
    assert_eq!(info["chain"], "regtest");
    assert_eq!(info["blocks"], 0);
    assert_eq!(info["initialblockdownload"], true);
    let hashes = node.call("generatetoaddress", json!([101, address(&w)])).await;
    assert_eq!(hashes.as_array().unwrap().len(), 101);
    assert_eq!(node.call("getblockcount", json!([])).await, 101);
    assert_eq!(node.call("getbestblockhash", json!([])).await, hashes[100]);
    let info = node.call("getblockchaininfo", json!([])).await;
    assert_eq!(info["bestblockhash"], hashes[100]);
    assert_eq!(info["initialblockdownload"], false);

    // Headers as Core prints them: regtest work is 2 per block.
    let genesis = node.call("getblockheader", json!([GENESIS])).await;
    assert_eq!(genesis["chainwork"], format!("{:064x}", 2));
    assert_eq!(genesis["bits"], "207fffff");
    assert_eq!(genesis["confirmations"], 102);
    assert!(genesis.get("previousblockhash").is_none());
    assert_eq!(genesis["nextblockhash"], hashes[0]);
    let h1 = node.call("getblockheader", json!({"blockhash": hashes[0], "verbose": true})).await;
    assert_eq!(h1["chainwork"], format!("{:064x}", 4));
    assert_eq!(h1["previousblockhash"], GENESIS);
    assert_eq!(h1["height"], 1);
    assert_eq!(h1["versionHex"], "20000000");
    assert!((h1["difficulty"].as_f64().unwrap() - 4.656542373906925e-10).abs() < 1e-20);
    let raw_header = node.call("getblockheader", json!([hashes[0], false])).await;
    assert_eq!(raw_header.as_str().unwrap().len(), 160);

    // getblock at verbosity 0, 1 and 2.
    let hex_block = node.call("getblock", json!([hashes[0], 0])).await;
    let block: bitcoin::Block =
        bitcoin::consensus::deserialize(&hex::decode(hex_block.as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(block.block_hash().to_string(), hashes[0]);
    let b1 = node.call("getblock", json!([hashes[0]])).await;
    assert_eq!(b1["tx"][0], block.txdata[0].compute_txid().to_string());
    assert_eq!(b1["nTx"], 1);
    let b2 = node.call("getblock", json!([hashes[0], 2])).await;
    let cb = &b2["tx"][0];
    assert!(cb["vin"][0]["coinbase"].is_string());
    assert_eq!(cb["vout"][0]["value"], 50.0);
    assert_eq!(cb["vout"][0]["scriptPubKey"]["type"], "witness_v0_keyhash");
    assert_eq!(cb["vout"][0]["scriptPubKey"]["address"], address(&w));

    // gettxout of a coinbase, spent and unspent.
    let cb_txid = block.txdata[0].compute_txid();
    let out = node.call("gettxout", json!([cb_txid.to_string(), 0])).await;
    assert_eq!(out["confirmations"], 101);
    assert_eq!(out["coinbase"], true);
    assert_eq!(out["value"], 50.0);
    assert_eq!(out["bestblock"], hashes[100]);
    assert_eq!(node.call("gettxout", json!([cb_txid.to_string(), 7])).await, Value::Null);

    // submitblock: a block built in process, then the same again (duplicate).
    let block = node.chain.create_block(&w.script, None).unwrap();
    let hex_block = serialize_hex(&block);
    assert_eq!(node.call("submitblock", json!([hex_block])).await, Value::Null);
    assert_eq!(node.call("getbestblockhash", json!([])).await, block.block_hash().to_string());
    assert_eq!(node.call("submitblock", json!([hex_block])).await, "duplicate");
    let tips = node.call("getchaintips", json!([])).await;
    assert_eq!(tips[0]["height"], 102);
    let decoded = node.call("decoderawtransaction", json!([serialize_hex(&block.txdata[0])])).await;
    assert_eq!(decoded["txid"], block.txdata[0].compute_txid().to_string());
    assert!(node.call("getdifficulty", json!([])).await.as_f64().unwrap() > 0.0);

    let up = node.call("uptime", json!([])).await;
    assert!(up.is_u64());
    let net = node.call("getnetworkinfo", json!([])).await;
    assert!(net["version"].as_u64().unwrap() >= 280000);
    assert_eq!(net["warnings"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_and_mempool_methods() {
    let node = password_node().await;
    let w = Wallet::new(2);
    let hashes = node.call("generatetoaddress", json!([101, address(&w)])).await;
    let block = node.chain.block(&hashes[0].as_str().unwrap().parse().unwrap()).unwrap();
    let op = OutPoint { txid: block.txdata[0].compute_txid(), vout: 0 };
    let value = Amount::from_btc(50.0).unwrap();
    let tx = w.self_spend(op, value, 2_000);
    let hex_tx = serialize_hex(&tx);

    let test = node.call("testmempoolaccept", json!([[hex_tx]])).await;
    assert_eq!(test[0]["allowed"], true);
    assert_eq!(test[0]["txid"], tx.compute_txid().to_string());
    assert_eq!(test[0]["fees"]["base"], 0.00002);
    let txid = node.call("sendrawtransaction", json!([hex_tx])).await;
    assert_eq!(txid, tx.compute_txid().to_string());
    let again = node.call("testmempoolaccept", json!([[hex_tx]])).await;
    assert_eq!(again[0]["allowed"], false);
    assert_eq!(again[0]["reject-reason"], "txn-already-in-mempool");

    assert_eq!(node.call("getrawmempool", json!([])).await, json!([txid]));
    let verbose = node.call("getrawmempool", json!([true])).await;
    assert_eq!(verbose[txid.as_str().unwrap()]["fees"]["base"], 0.00002);
    let entry = node.call("getmempoolentry", json!([txid])).await;
    assert_eq!(entry["vsize"], tx.vsize());
    assert_eq!(entry["ancestorcount"], 1);
    assert_eq!(entry["depends"], json!([]));
    let info = node.call("getmempoolinfo", json!([])).await;
    assert_eq!(info["size"], 1);
    assert_eq!(info["total_fee"], 0.00002);
    // Spent in the mempool: null unless the mempool is ignored.
    assert_eq!(node.call("gettxout", json!([op.txid.to_string(), 0])).await, Value::Null);
    assert!(node.call("gettxout", json!([op.txid.to_string(), 0, false])).await.is_object());
    let new_out = node.call("gettxout", json!([txid, 0])).await;
    assert_eq!(new_out["confirmations"], 0);

    let raw = node.call("getrawtransaction", json!([txid])).await;
    assert_eq!(raw, hex_tx);
    let decoded = node.call("getrawtransaction", json!([txid, true])).await;
    assert_eq!(decoded["vin"][0]["txid"], op.txid.to_string());
    assert_eq!(decoded["vin"][0]["txinwitness"].as_array().unwrap().len(), 2);
    assert!(decoded.get("blockhash").is_none());

    let fee = node.call("estimatesmartfee", json!([6])).await;
    assert!(fee["feerate"].as_f64().unwrap() >= 0.00001);
    assert_eq!(fee["blocks"], 6);

    // generateblock with a mempool txid.
    let mined = node.call("generateblock", json!([address(&w), [txid]])).await;
    let block_hash = mined["hash"].as_str().unwrap().to_owned();
    assert_eq!(node.call("getbestblockhash", json!([])).await, block_hash);
    assert_eq!(node.call("getrawmempool", json!([])).await, json!([]));
    // getblock verbosity 2 carries each transaction's fee, verbosity 3 its prevouts.
    let b2 = node.call("getblock", json!([block_hash, 2])).await;
    assert_eq!(b2["tx"][1]["fee"], 0.00002);
    assert!(b2["tx"][0].get("fee").is_none());
    let b3 = node.call("getblock", json!({"blockhash": block_hash, "verbosity": 3})).await;
    let prevout = &b3["tx"][1]["vin"][0]["prevout"];
    assert_eq!(prevout["generated"], true);
    assert_eq!(prevout["height"], 1);
    assert_eq!(prevout["value"], 50.0);
    let confirmed = node.call("getrawtransaction", json!([txid, 1, block_hash])).await;
    assert_eq!(confirmed["blockhash"], block_hash);
    assert_eq!(confirmed["confirmations"], 1);
    assert_eq!(confirmed["in_active_chain"], true);

    // Sending a confirmed transaction again: -27.
    let (status, code, msg) = node.error("sendrawtransaction", json!([hex_tx])).await;
    assert_eq!((status, code), (500, -27));
    assert_eq!(msg, "Transaction outputs already in utxo set");

    // invalidateblock: the tip moves back and the transaction returns to the mempool.
    assert_eq!(node.call("invalidateblock", json!([block_hash])).await, Value::Null);
    assert_eq!(node.call("getblockcount", json!([])).await, 101);
    assert_eq!(node.call("getrawmempool", json!([])).await, json!([txid]));
    let (_, code, msg) = node.error("getblockheader", json!([block_hash])).await;
    assert_eq!((code, msg.as_str()), (-5, "Block not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_match_core() {
    let node = password_node().await;
    let w = Wallet::new(3);
    node.call("generatetoaddress", json!([101, address(&w)])).await;

    let (status, code, msg) = node.error("nosuchmethod", json!([])).await;
    assert_eq!((status, code, msg.as_str()), (404, -32601, "Method not found"));
    let (status, code, msg) = node.error("getblockhash", json!([1000])).await;
    assert_eq!((status, code, msg.as_str()), (500, -8, "Block height out of range"));
    let (_, code, _) = node.error("getblockhash", json!([-1])).await;
    assert_eq!(code, -8);
    let (_, code, msg) = node.error("getblock", json!(["abc"])).await;
    assert_eq!((code, msg.as_str()), (-8, "blockhash must be of length 64 (not 3, for 'abc')"));
    let (_, code, _) = node.error("getblock", json!(["zz".repeat(32)])).await;
    assert_eq!(code, -8);
    let (_, code, msg) = node.error("getblock", json!(["00".repeat(32)])).await;
    assert_eq!((code, msg.as_str()), (-5, "Block not found"));
    let (_, code, msg) = node.error("getblockhash", json!(["one"])).await;
    assert_eq!(
        (code, msg.as_str()),
        (-3, "JSON value of type string is not of expected type number")
    );
    let (_, code, _) = node.error("getblockhash", json!([])).await;
    assert_eq!(code, -1);
    let (_, code, _) = node.error("getblockcount", json!([1])).await;
    assert_eq!(code, -1);
    let (_, code, msg) = node.error("getblockhash", json!({"tallness": 1})).await;
    assert_eq!((code, msg.as_str()), (-8, "Unknown named parameter tallness"));
    let (_, code, _) = node.error("sendrawtransaction", json!(["nothex"])).await;
    assert_eq!(code, -22);
    let (_, code, _) = node.error("getrawtransaction", json!(["00".repeat(32)])).await;
    assert_eq!(code, -5);
    let (_, code, _) = node.error("getmempoolentry", json!(["00".repeat(32)])).await;
    assert_eq!(code, -5);
    let (_, code, _) = node.error("generatetoaddress", json!([1, "notanaddress"])).await;
    assert_eq!(code, -5);
    let (_, code, _) = node.error("estimatesmartfee", json!([0])).await;
    assert_eq!(code, -8);
    let (_, code, _) = node.error("invalidateblock", json!(["11".repeat(32)])).await;
    assert_eq!(code, -5);

    // Rejected transactions: -25 missing inputs, -26 policy/consensus.
    let missing = w.self_spend(
        OutPoint { txid: Txid::from_byte_array([7u8; 32]), vout: 0 },
        Amount::from_sat(100_000),
        1_000,
    );
    let (_, code, msg) = node.error("sendrawtransaction", json!([serialize_hex(&missing)])).await;
    assert_eq!((code, msg.as_str()), (-25, "bad-txns-inputs-missingorspent"));
    let hash = node.chain.block_hash(1).unwrap();
    let cb = node.chain.block(&hash).unwrap().txdata[0].compute_txid();
    let op = OutPoint { txid: cb, vout: 0 };
    let value = Amount::from_btc(50.0).unwrap();
    node.call("sendrawtransaction", json!([serialize_hex(&w.self_spend(op, value, 1_000))])).await;
    let (_, code, msg) = node
        .error("sendrawtransaction", json!([serialize_hex(&w.self_spend(op, value, 5_000))]))
        .await;
    assert_eq!((code, msg.as_str()), (-26, "txn-mempool-conflict"));
    let (_, code, _) = node
        .error("sendrawtransaction", json!([serialize_hex(&w.self_spend(op, value, 10))]))
        .await;
    assert_eq!(code, -26);
    // A huge fee trips maxfeerate: -25.
    let hash2 = node.chain.block_hash(2).unwrap();
    let op2 =
        OutPoint { txid: node.chain.block(&hash2).unwrap().txdata[0].compute_txid(), vout: 0 };
    let greedy = w.self_spend(op2, value, 1_000_000_000);
    let (_, code, _) = node.error("sendrawtransaction", json!([serialize_hex(&greedy)])).await;
    assert_eq!(code, -25);
    // An invalid block from generateblock: -25, and the chain does not move.
    let mut forged = w.self_spend(op2, value, 1_000);
    Wallet::new(4).sign(&mut forged, &[(op2, value)]);
    let (_, code, msg) =
        node.error("generateblock", json!([address(&w), [serialize_hex(&forged)]])).await;
    assert_eq!(code, -25);
    assert!(msg.starts_with("TestBlockValidity failed"), "{msg}");
    assert_eq!(node.call("getblockcount", json!([])).await, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_batches_and_versions() {
    let node = password_node().await;
    // JSON-RPC 1.0 with a string id, 2.0 with a number id.
    let (_, r) = node.raw(json!({"method": "getblockcount", "id": "abc"})).await;
    assert_eq!(r, json!({"result": 0, "error": null, "id": "abc"}));
    let (_, r) = node.raw(json!({"jsonrpc": "2.0", "method": "getblockcount", "id": 7})).await;
    assert_eq!(r, json!({"jsonrpc": "2.0", "result": 0, "error": null, "id": 7}));
    // 2.0 errors are HTTP 200.
    let (status, r) = node.raw(json!({"jsonrpc": "2.0", "method": "nope", "id": 1})).await;
    assert_eq!(status, 200);
    assert_eq!(r["error"]["code"], -32601);
    // Invalid requests.
    let (status, r) = node.raw(json!({"id": 1})).await;
    assert_eq!((status, r["error"]["code"].as_i64()), (400, Some(-32600)));
    let (_, r) = node.raw(json!({"method": "getblockcount", "params": 5, "id": 1})).await;
    assert_eq!(r["error"]["code"], -32600);
    // A batch mixing versions, an error and a notification (no reply for it).
    let (status, r) = node
        .raw(json!([
            {"method": "getblockcount", "id": 1},
            {"jsonrpc": "2.0", "method": "getbestblockhash", "id": 2},
            {"method": "getblockhash", "params": [99], "id": 3},
            {"jsonrpc": "2.0", "method": "getblockcount"},
            5
        ]))
        .await;
    assert_eq!(status, 200);
    let replies = r.as_array().unwrap();
    assert_eq!(replies.len(), 4);
    assert_eq!(replies[0]["result"], 0);
    assert_eq!(replies[1]["result"], GENESIS);
    assert_eq!(replies[2]["error"]["code"], -8);
    assert_eq!(replies[3]["error"]["code"], -32600);
    for reply in replies {
        let obj = reply.as_object().unwrap();
        assert!(obj.contains_key("result") && obj.contains_key("error"));
    }
    // Malformed JSON: parse error, HTTP 500.
    let resp = node
        .client
        .post(format!("http://{}/", node.addr))
        .basic_auth(&node.user, Some(&node.password))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 500);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(
        r,
        json!({"result": null, "error": {"code": -32700, "message": "Parse error"}, "id": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication() {
    let node = password_node().await;
    for (user, pass) in [("alice", "wrong"), ("bob", "secret")] {
        let resp = node
            .client
            .post(format!("http://{}/", node.addr))
            .basic_auth(user, Some(pass))
            .json(&json!({"method": "getblockcount", "id": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
    }
    let resp = node.client.post(format!("http://{}/", node.addr)).body("{}").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // Cookie auth: the file has bitcoind's format and disappears on stop.
    let node = start(RpcAuth::Cookie).await;
    let cookie_path = node.chain.data_dir().join(".cookie");
    let cookie = std::fs::read_to_string(&cookie_path).unwrap();
    let (user, secret) = cookie.split_once(':').unwrap();
    assert_eq!(user, "__cookie__");
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(node.call("getblockcount", json!([])).await, 0);
    assert_eq!(node.call("stop", json!([])).await, "Shandian stopping");
    node.server.await.unwrap().unwrap();
    assert!(!cookie_path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_several_requests_per_connection() {
    let node = password_node().await;
    let mut stream = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    // "alice:secret"
    let auth = "YWxpY2U6c2VjcmV0";
    for id in 0..3 {
        let body = format!(r#"{{"method":"getblockcount","id":{id}}}"#);
        let request = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let reply = read_http_response(&mut stream).await;
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v, json!({"result": 0, "error": null, "id": id}));
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns the body.
async fn read_http_response(stream: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.unwrap();
    String::from_utf8(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_run_but_get_no_reply() {
    let node = password_node().await;
    let w = Wallet::new(5);
    let resp = node
        .client
        .post(format!("http://{}/", node.addr))
        .basic_auth(&node.user, Some(&node.password))
        .json(&json!({"jsonrpc": "2.0", "method": "generatetoaddress", "params": [3, address(&w)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.text().await.unwrap().is_empty());
    assert_eq!(node.call("getblockcount", json!([])).await, 3);
    // A GET is refused like bitcoind does.
    let resp = node
        .client
        .get(format!("http://{}/", node.addr))
        .basic_auth(&node.user, Some(&node.password))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}
