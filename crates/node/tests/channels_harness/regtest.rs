//! Test nodes on the embedded regtest chain, through the node's chain backend and wallet.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use bitcoin::{Amount, Network};
use shandian_node::onchain::{ChainBackend, ChainConfig, MonitorHandle};
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;
use tokio::sync::watch;

use super::node::TestNode;
use super::regtest_chain::{node_config, FollowsChain};

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

impl FollowsChain for RegtestNode {
    fn backend(&self) -> &ChainBackend {
        &self.chain
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
