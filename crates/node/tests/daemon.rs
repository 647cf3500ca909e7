//! The composed daemon in-process, on the embedded chain: two daemons with their APIs, driven
//! through the API (as the client commands do) — getinfo's chain and channel fields, connect,
//! open, pay — then one is shut down and started again on the same data directory: its
//! channel comes back through reestablish, the peer redials it (the address `connect` stored),
//! and payments flow again with both sides' balances agreeing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::{Network, ScriptBuf};
use serde_json::{json, Value};
use shandian_node::api::{ApiConfig, ADDRESS_FILE, TOKEN_FILE};
use shandian_node::daemon::{Daemon, DaemonConfig};
use shandian_node::onchain::ChainConfig;
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;

const WAIT: Duration = Duration::from_secs(60);

fn config(dir: &Path, listen: &str, chain: &Arc<RegtestChain>) -> DaemonConfig {
    let mut node = NodeConfig::new(Network::Regtest, dir, listen.parse().unwrap());
    node.reconnect_min = Duration::from_millis(100);
    node.reconnect_max = Duration::from_millis(500);
    DaemonConfig {
        node,
        api: ApiConfig::new("127.0.0.1:0".parse().unwrap()),
        chain: ChainConfig::Embedded(chain.clone()),
    }
}

/// Calls the daemon whose data directory is `dir` through its API.
async fn call(dir: &Path, command: &str, params: Value) -> Result<Value, String> {
    let addr = std::fs::read_to_string(dir.join(ADDRESS_FILE)).unwrap();
    let token = std::fs::read_to_string(dir.join(TOKEN_FILE)).unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/{command}", addr.trim()))
        .header("Authorization", format!("Bearer {}", token.trim()))
        .json(&params)
        .send()
        .await
        .unwrap();
    let ok = response.status().is_success();
    let body: Value = response.json().await.unwrap();
    if ok {
        Ok(body)
    } else {
        Err(body["error"]["message"].as_str().unwrap_or_default().to_owned())
    }
}

async fn ok(dir: &Path, command: &str, params: Value) -> Value {
    call(dir, command, params).await.unwrap_or_else(|e| panic!("{command}: {e}"))
}

/// Polls `command` until `done` holds.
async fn wait_for(dir: &Path, command: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = ok(dir, command, json!({})).await;
        if done(&reply) {
            return reply;
        }
        assert!(Instant::now() < deadline, "{command} never satisfied: {reply}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(local, remote)` msat of the only channel, once it is `normal`.
async fn sides(dir: &Path) -> (u64, u64) {
    let listing = wait_for(dir, "listchannels", |l| l["channels"][0]["state"] == "normal").await;
    let channel = &listing["channels"][0];
    (channel["local_msat"].as_u64().unwrap(), channel["remote_msat"].as_u64().unwrap())
}

/// Bob invoices `amount`, Alice pays; retried while the channel is coming back (a restarted
/// peer is `normal` in `listchannels` a round trip before it can take HTLCs).
async fn pay(alice: &Path, bob: &Path, amount: u64) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let invoice = ok(bob, "invoice", json!({"amount_msat": amount, "description": "t"})).await;
        match call(alice, "pay", json!({"invoice": invoice["bolt11"]})).await {
            Ok(paid) => return paid,
            Err(e) => assert!(Instant::now() < deadline, "payment kept failing: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_restarts_with_its_channel_and_keeps_paying() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let (alice_dir, bob_dir) = (dir.path().join("alice"), dir.path().join("bob"));
    let bob_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let alice = Daemon::start(config(&alice_dir, "127.0.0.1:0", &chain)).await.unwrap();
    let bob = Daemon::start(config(&bob_dir, &bob_port.to_string(), &chain)).await.unwrap();

    // Funds for Alice: one coinbase, matured.
    let address = ok(&alice_dir, "newaddress", json!({})).await;
    let address: bitcoin::Address<bitcoin::address::NetworkUnchecked> =
        address["address"].as_str().unwrap().parse().unwrap();
    chain.mine(1, &address.assume_checked().script_pubkey()).unwrap();
    chain.mine(100, &ScriptBuf::from_bytes(vec![0x51])).unwrap();
    wait_for(&alice_dir, "getbalance", |b| b["confirmed_sat"].as_u64() > Some(0)).await;
    let info = wait_for(&alice_dir, "getinfo", |i| i["block_height"] == 101).await;
    assert_eq!(info["num_channels"], 0);

    let bob_id = bob.node().node_id().to_string();
    ok(&alice_dir, "connect", json!({"peer": format!("{bob_id}@{bob_port}")})).await;
    let opened =
        ok(&alice_dir, "openchannel", json!({"node_id": bob_id, "amount_sat": 500_000})).await;
    let funding: bitcoin::Txid = opened["funding_txid"].as_str().unwrap().parse().unwrap();
    let deadline = Instant::now() + WAIT;
    while chain.transaction(&funding).is_none() {
        assert!(Instant::now() < deadline, "the funding tx never reached the chain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pending = ok(&alice_dir, "getinfo", json!({})).await;
    assert_eq!(pending["num_pending_channels"], 1, "{pending}");
    chain.mine(6, &ScriptBuf::from_bytes(vec![0x51])).unwrap();
    sides(&bob_dir).await;
    let info = wait_for(&alice_dir, "getinfo", |i| i["num_active_channels"] == 1).await;
    assert_eq!(info["num_channels"], 1);

    // Alice's own fees on the channel, through the API; bad requests get their reason.
    let channel_id = opened["channel_id"].as_str().unwrap();
    let set = json!({"channel_id": channel_id, "base_msat": 0, "ppm": 250});
    let fees = ok(&alice_dir, "setchannelfee", set).await;
    assert_eq!(fees["fees"]["base_msat"], 0, "{fees}");
    assert_eq!(fees["fees"]["ppm"], 250, "{fees}");
    let listed = ok(&alice_dir, "listchannels", json!({})).await;
    assert_eq!(listed["channels"][0]["fees"], fees["fees"], "{listed}");
    let nothing = call(&alice_dir, "setchannelfee", json!({"channel_id": channel_id})).await;
    assert!(nothing.unwrap_err().contains("nothing to set"));
    let low = json!({"channel_id": channel_id, "cltv_expiry_delta": 3});
    assert!(call(&alice_dir, "setchannelfee", low)
        .await
        .unwrap_err()
        .contains("outside 18..=2016"));
    let unknown = json!({"channel_id": "ab".repeat(32), "ppm": 1});
    assert!(call(&alice_dir, "setchannelfee", unknown)
        .await
        .unwrap_err()
        .contains("unknown channel"));

    let paid = pay(&alice_dir, &bob_dir, 7_000_000).await;
    assert_eq!(paid["fee_msat"], 0, "a direct payment pays no fee");
    let before = sides(&alice_dir).await;
    assert_eq!(sides(&bob_dir).await, (before.1, before.0));
    assert_eq!(before.1, 7_000_000);

    // Bob stops cleanly and starts again on the same directory and port.
    bob.shutdown().await;
    assert!(!bob_dir.join(ADDRESS_FILE).exists());
    let bob = Daemon::start(config(&bob_dir, &bob_port.to_string(), &chain)).await.unwrap();
    assert_eq!(bob.node().node_id().to_string(), bob_id, "same node secret");
    wait_for(&alice_dir, "listpeers", |l| l["peers"][0]["node_id"] == bob_id.as_str()).await;

    pay(&alice_dir, &bob_dir, 3_000_000).await;
    let after = sides(&alice_dir).await;
    assert_eq!(after, (before.0 - 3_000_000, before.1 + 3_000_000));
    assert_eq!(sides(&bob_dir).await, (after.1, after.0));
    let payments = ok(&alice_dir, "listpayments", json!({})).await;
    let statuses: Vec<&str> = payments["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["status"].as_str())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "succeeded").count(), 2, "{payments}");

    bob.shutdown().await;
    alice.shutdown().await;
}
