//! What every test harness on the embedded regtest chain needs: the node configuration tests
//! use, mining to a script and waiting until the nodes' chain backends follow, and funding a
//! wallet. Included by the harnesses with `#[path]`, so both node kinds share one copy.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Network, ScriptBuf, WScriptHash};
use shandian_node::onchain::ChainBackend;
use shandian_node::NodeConfig;
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(60);

/// Test nodes: fast redials and a short funding depth.
pub fn node_config(dir: &Path) -> NodeConfig {
    let mut config = NodeConfig::new(Network::Regtest, dir, "127.0.0.1:0".parse().unwrap());
    config.reconnect_min = Duration::from_millis(50);
    config.reconnect_max = Duration::from_millis(500);
    config.channels.minimum_depth = 3;
    config
}

/// A test node that follows the chain through a backend with a wallet.
pub trait FollowsChain {
    fn backend(&self) -> &ChainBackend;
}

/// A script no wallet here owns.
pub fn foreign_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([7; 32]))
}

/// Mines `n` blocks to `script` and waits until every node's backend has them.
pub async fn mine<N: FollowsChain>(
    chain: &Arc<RegtestChain>,
    nodes: &[&N],
    n: u32,
    script: &ScriptBuf,
) {
    let (c, s) = (chain.clone(), script.clone());
    tokio::task::spawn_blocking(move || c.mine(n, &s).expect("mines")).await.unwrap();
    let tip = BlockHeight(chain.tip().height);
    for node in nodes {
        tokio::time::timeout(WAIT, node.backend().wait_for_height(tip))
            .await
            .expect("backend follows")
            .expect("backend runs");
    }
}

/// Gives `node`'s wallet spendable coins (101 blocks to it: two mature coinbases).
pub async fn fund_wallet<N: FollowsChain>(chain: &Arc<RegtestChain>, node: &N, others: &[&N]) {
    let address = node.backend().new_address().await.unwrap();
    let mut all = vec![node];
    all.extend_from_slice(others);
    mine(chain, &all, 101, &address.script_pubkey()).await;
}
