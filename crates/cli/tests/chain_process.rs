//! `shandian chain` as a user runs it: a bitcoind-style client talks JSON-RPC to it with the
//! cookie it wrote, mines blocks, stops it with `stop`, and finds the same tip after a restart.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Address, CompressedPublicKey, Network};
use serde_json::{json, Value};

/// Starts the chain on a free port and returns the process and its RPC address.
fn start_chain(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .arg("chain")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--rpc", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shandian chain");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("JSON-RPC on ").nth(1) {
                let _ = sender.send(addr.trim().to_owned());
            }
        }
    });
    let addr = receiver.recv_timeout(Duration::from_secs(120)).expect("the chain never started");
    (child, addr)
}

async fn call(addr: &str, cookie: &str, method: &str, params: Value) -> Value {
    let (user, password) = cookie.split_once(':').unwrap();
    let body = json!({"id": 1, "method": method, "params": params});
    let reply: Value = reqwest::Client::new()
        .post(format!("http://{addr}/"))
        .basic_auth(user, Some(password))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["error"], Value::Null, "{method}: {reply}");
    reply["result"].clone()
}

#[tokio::test]
async fn mines_over_rpc_stops_and_restarts_at_the_same_tip() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::from_slice(&[7; 32]).unwrap();
    let pubkey = CompressedPublicKey(key.public_key(&Secp256k1::new()));
    let address = Address::p2wpkh(&pubkey, Network::Regtest).to_string();

    let (mut chain, addr) = start_chain(dir.path());
    let cookie = std::fs::read_to_string(dir.path().join(".cookie")).unwrap();
    assert_eq!(call(&addr, &cookie, "getblockcount", json!([])).await, 0);
    let hashes = call(&addr, &cookie, "generatetoaddress", json!([3, address])).await;
    assert_eq!(hashes.as_array().unwrap().len(), 3);
    let best = call(&addr, &cookie, "getbestblockhash", json!([])).await;
    call(&addr, &cookie, "stop", json!([])).await;
    assert!(chain.wait().unwrap().success(), "stop ends the process cleanly");

    let (mut chain, addr) = start_chain(dir.path());
    let cookie = std::fs::read_to_string(dir.path().join(".cookie")).unwrap();
    assert_eq!(call(&addr, &cookie, "getblockcount", json!([])).await, 3);
    assert_eq!(call(&addr, &cookie, "getbestblockhash", json!([])).await, best);
    // SIGTERM, as a service manager sends it, also stops the chain cleanly.
    let term = Command::new("kill").args(["-TERM", &chain.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(chain.wait().unwrap().success(), "SIGTERM ends the process cleanly");
    assert!(!dir.path().join(".cookie").exists(), "a clean stop removes the cookie");
}
