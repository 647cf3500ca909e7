//! Test nodes on the embedded regtest chain, through the node's chain backend and wallet.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, Network, ScriptBuf, WScriptHash};
use shandian_node::onchain::{ChainBackend, ChainConfig, MonitorHandle};
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;
use tokio::sync::watch;

use super::node::{node_config, TestNode, WAIT};

pub const FUNDING: Amount = Amount::from_sat(1_000_000);

/// A test node whose chain is the node's backend (follower and wallet) on the regtest chain.
pub struct RegtestNode {
    pub node: TestNode,
    pub chain: ChainBackend,
    pub monitor: MonitorHandle,
    stop: watch::Sender<bool>,
}

impl Deref for RegtestNode {
    type Target = TestNode;
    fn deref(&self) -> &TestNode {
        &self.node
    }
}

impl RegtestNode {
    pub async fn start(chain: &Arc<RegtestChain>, dir: &Path) -> RegtestNode {
        RegtestNode::start_with(chain, dir, node_config(dir)).await
    }

    pub async fn start_with(
        chain: &Arc<RegtestChain>,
        dir: &Path,
        config: NodeConfig,
    ) -> RegtestNode {
        let started = TestNode::begin(dir, config).await;
        let (stop, shutdown) = watch::channel(false);
        let config_chain = ChainConfig::Embedded(Arc::clone(chain));
        let backend =
            ChainBackend::start(config_chain, dir, &started.seed, Network::Regtest, shutdown)
                .await
                .expect("chain backend starts");
        let monitor = MonitorHandle::start(backend.clone(), dir, started.seed, stop.subscribe())
            .await
            .expect("monitor starts");
        let node = started.finish_with(Arc::new(backend.clone()), Some(monitor.clone())).await;
        RegtestNode { node, chain: backend, monitor, stop }
    }

    pub async fn stop(self) {
        self.node.stop().await;
        self.stop.send_replace(true);
    }
}

/// A script no wallet here owns.
pub fn foreign_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([7; 32]))
}

/// Mines `n` blocks to `script` and waits until every node's backend has them.
pub async fn mine(chain: &Arc<RegtestChain>, nodes: &[&RegtestNode], n: u32, script: &ScriptBuf) {
    let (c, s) = (chain.clone(), script.clone());
    tokio::task::spawn_blocking(move || c.mine(n, &s).expect("mines")).await.unwrap();
    let tip = BlockHeight(chain.tip().height);
    for node in nodes {
        tokio::time::timeout(WAIT, node.chain.wait_for_height(tip))
            .await
            .expect("backend follows")
            .expect("backend runs");
    }
}

/// Gives `node`'s wallet spendable coins (101 blocks to it: two mature coinbases).
pub async fn fund_wallet(chain: &Arc<RegtestChain>, node: &RegtestNode, others: &[&RegtestNode]) {
    let address = node.chain.new_address().await.unwrap();
    let mut all = vec![node];
    all.extend_from_slice(others);
    mine(chain, &all, 101, &address.script_pubkey()).await;
}
