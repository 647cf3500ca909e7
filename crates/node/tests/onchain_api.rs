//! The wallet commands over the node's HTTP API (a whole daemon on the embedded chain):
//! `newaddress`, `getbalance`, `sendtoaddress`, and their errors.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::{Address, Network};
use serde_json::{json, Value};
use shandian_node::api::ApiConfig;
use shandian_node::daemon::{Daemon, DaemonConfig};
use shandian_node::onchain::ChainConfig;
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, command: &str, params: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/v1/{command}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .body(params.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn ok(&self, command: &str, params: Value) -> Value {
        let (status, body) = self.call(command, params).await;
        assert_eq!(status, 200, "{command}: {body}");
        body
    }

    /// The error code of a failed call, with its status.
    async fn error(&self, command: &str, params: Value) -> (u16, String) {
        let (status, body) = self.call(command, params).await;
        assert_ne!(status, 200, "{command} should fail: {body}");
        (status, body["error"]["code"].as_str().unwrap().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_commands_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let node_dir = dir.path().join("node");
    let node = NodeConfig::new(Network::Regtest, &node_dir, "127.0.0.1:0".parse().unwrap());
    let config = DaemonConfig {
        node,
        api: ApiConfig::new("127.0.0.1:0".parse().unwrap()),
        chain: ChainConfig::Embedded(Arc::clone(&chain)),
    };
    let daemon = Daemon::start(config).await.unwrap();
    let token = std::fs::read_to_string(node_dir.join(shandian_node::api::TOKEN_FILE)).unwrap();
    let client = Client {
        http: reqwest::Client::new(),
        base: format!("http://{}", daemon.api_addr()),
        token: token.trim().to_owned(),
    };

    let empty = client.ok("getbalance", json!({})).await;
    assert_eq!(
        empty,
        json!({"confirmed_sat": 0, "unconfirmed_sat": 0, "immature_sat": 0, "total_sat": 0})
    );
    let reply = client.ok("newaddress", json!({})).await;
    let address: Address<bitcoin::address::NetworkUnchecked> =
        reply["address"].as_str().unwrap().parse().unwrap();
    let address = address.require_network(Network::Regtest).unwrap();
    let second = client.ok("newaddress", json!({})).await;
    assert_ne!(second["address"], reply["address"]);

    let script = address.script_pubkey();
    let miner = chain.clone();
    tokio::task::spawn_blocking(move || miner.mine(101, &script).unwrap()).await.unwrap();
    let synced = daemon.chain().wait_for_height(BlockHeight(101));
    tokio::time::timeout(Duration::from_secs(30), synced).await.unwrap().unwrap();
    let balance = client.ok("getbalance", json!({})).await;
    assert_eq!(balance["confirmed_sat"], 100 * 100_000_000u64);
    assert_eq!(balance["immature_sat"], 99 * 50 * 100_000_000u64);
    assert_eq!(balance["total_sat"], 101 * 50 * 100_000_000u64);

    // Pay the second address: only the fee leaves the wallet.
    let to = second["address"].as_str().unwrap();
    let sent = client.ok("sendtoaddress", json!({"address": to, "amount_sat": 1_000_000})).await;
    let txid: bitcoin::Txid = sent["txid"].as_str().unwrap().parse().unwrap();
    let balance = client.ok("getbalance", json!({})).await;
    let total = balance["total_sat"].as_u64().unwrap();
    let fee = 101 * 50 * 100_000_000u64 - total;
    assert!(fee > 0 && fee < 10_000, "fee {fee}");
    assert!(daemon.chain().confirmations(&txid).await == Some(0));

    // Errors: too much, a mainnet address, a bad address, zero, unknown parameters.
    let (status, code) = client
        .error("sendtoaddress", json!({"address": to, "amount_sat": 1_000_000_000_000u64}))
        .await;
    assert_eq!((status, code.as_str()), (422, "insufficient_funds"));
    let mainnet = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
    let (_, code) =
        client.error("sendtoaddress", json!({"address": mainnet, "amount_sat": 1000})).await;
    assert_eq!(code, "invalid_param");
    let (_, code) =
        client.error("sendtoaddress", json!({"address": "nope", "amount_sat": 1000})).await;
    assert_eq!(code, "invalid_param");
    let (_, code) = client.error("sendtoaddress", json!({"address": to, "amount_sat": 0})).await;
    assert_eq!(code, "invalid_param");
    let (status, code) = client.error("getbalance", json!({"verbose": true})).await;
    assert_eq!((status, code.as_str()), (400, "bad_params"));

    daemon.shutdown().await;
}
