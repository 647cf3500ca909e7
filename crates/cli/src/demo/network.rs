//! The demo's network: the embedded chain in a temporary directory and three nodes on
//! loopback, each a full daemon (composition, store, API) driven through its API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bitcoin::{Address, Network, ScriptBuf};
use serde_json::{json, Value};
use shandian_node::api::ApiConfig;
use shandian_node::daemon::{Daemon, DaemonConfig};
use shandian_node::onchain::ChainConfig;
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;

use crate::api_client::{ApiClient, DEFAULT_TIMEOUT};

/// How long the demo waits for anything (a balance, a channel state) before giving up.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// One node: its daemon, a client for its API, and what the story needs to know about it.
pub struct DemoNode {
    /// "Alice", "Bob" or "Charlie".
    pub name: &'static str,
    /// Its data directory (what `--data-dir` takes).
    pub data_dir: PathBuf,
    /// Its node id.
    pub node_id: String,
    /// `NODEID@HOST:PORT`.
    pub uri: String,
    daemon: Daemon,
    client: ApiClient,
}

impl DemoNode {
    async fn start(
        name: &'static str,
        dir: &Path,
        chain: &Arc<RegtestChain>,
    ) -> anyhow::Result<DemoNode> {
        let data_dir = dir.join(name.to_lowercase());
        let loopback = "127.0.0.1:0".parse().context("loopback address")?;
        let node = NodeConfig::new(Network::Regtest, &data_dir, loopback);
        let config = DaemonConfig {
            node,
            api: ApiConfig::new(loopback),
            chain: ChainConfig::Embedded(chain.clone()),
        };
        let daemon = Daemon::start(config).await.with_context(|| format!("starting {name}"))?;
        let client = ApiClient::open(&data_dir, DEFAULT_TIMEOUT)?;
        let node_id = daemon.node().node_id().to_string();
        let uri = format!("{node_id}@{}", daemon.node().listen_addr());
        Ok(DemoNode { name, data_dir, node_id, uri, daemon, client })
    }

    /// A client for its API.
    pub fn client(&self) -> ApiClient {
        self.client.clone()
    }

    /// Calls an API command; an error names the node.
    pub async fn call(&self, command: &str, params: &Value) -> anyhow::Result<Value> {
        self.client.call(command, params).await.with_context(|| format!("{}: {command}", self.name))
    }

    /// A fresh address of the node's wallet.
    pub async fn new_address(&self) -> anyhow::Result<Address> {
        let reply = self.call("newaddress", &json!({})).await?;
        let text = reply["address"].as_str().ok_or_else(|| anyhow!("no address in {reply}"))?;
        let address: Address<bitcoin::address::NetworkUnchecked> =
            text.parse().with_context(|| format!("bad address {text}"))?;
        Ok(address.require_network(Network::Regtest)?)
    }

    /// Polls `command` until `done` accepts its result; returns that result.
    pub async fn wait_for(
        &self,
        what: &str,
        command: &str,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let reply = self.call(command, &json!({})).await?;
            if done(&reply) {
                return Ok(reply);
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: gave up waiting for {what} after {PATIENCE:?}; last {command}: {reply}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The chain and the three nodes.
pub struct DemoNetwork {
    /// The embedded chain.
    pub chain: Arc<RegtestChain>,
    /// Alice, Bob, Charlie.
    pub nodes: [DemoNode; 3],
    /// Where mined coins go that belong to nobody in the story (so on-chain fees leave the
    /// accounting, as they would to a real miner).
    pub miner: ScriptBuf,
}

impl DemoNetwork {
    /// Opens the chain in `dir/chain` and starts the three nodes.
    pub async fn start(dir: &Path) -> anyhow::Result<DemoNetwork> {
        let chain_dir = dir.join("chain");
        let chain = tokio::task::spawn_blocking(move || RegtestChain::open(&chain_dir))
            .await
            .context("opening the chain")??;
        let alice = DemoNode::start("Alice", dir, &chain).await?;
        let bob = DemoNode::start("Bob", dir, &chain).await?;
        let charlie = DemoNode::start("Charlie", dir, &chain).await?;
        // OP_TRUE: anyone can spend it, nobody here does.
        let miner = ScriptBuf::from_bytes(vec![0x51]);
        Ok(DemoNetwork { chain, nodes: [alice, bob, charlie], miner })
    }

    /// Mines `n` blocks paying `script` (the miner's when `None`).
    pub async fn mine(&self, n: u32, script: Option<ScriptBuf>) -> anyhow::Result<()> {
        let chain = self.chain.clone();
        let script = script.unwrap_or_else(|| self.miner.clone());
        tokio::task::spawn_blocking(move || chain.mine(n, &script))
            .await
            .context("mining")?
            .context("mining")?;
        Ok(())
    }

    /// The chain's height.
    pub fn height(&self) -> u32 {
        self.chain.tip().height
    }

    /// Stops every node (without closing channels).
    pub async fn shutdown(self) {
        for node in self.nodes {
            node.daemon.shutdown().await;
        }
    }
}
