//! Nodes with the channel manager and the payment logic, over real TCP on the embedded
//! regtest chain.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{Amount, Network};
use shandian_node::channels::{ChannelManager, ChannelsHandle, ChannelsStart, OpenedChannel};
use shandian_node::onchain::{ChainBackend, ChainConfig, MonitorHandle};
use shandian_node::payments::{Payments, PaymentsConfig, PaymentsHandle};
use shandian_node::store::Store;
use shandian_node::switch::{ChannelSummary, HtlcHandler};
use shandian_node::{Node, NodeHandle, SECRET_FILE};
use shandian_regtest::RegtestChain;
use shandian_types::{ChannelId, Msat};
use tokio::sync::watch;

#[path = "../common/regtest_chain.rs"]
mod regtest_chain;
pub use regtest_chain::*;

/// One node: peers, chain backend with wallet, channel manager, payments, on-chain monitor.
pub struct TestNode {
    pub dir: PathBuf,
    pub node: NodeHandle,
    pub chain: ChainBackend,
    pub channels: ChannelsHandle,
    pub payments: PaymentsHandle,
    pub monitor: MonitorHandle,
    stop: watch::Sender<bool>,
}

impl FollowsChain for TestNode {
    fn backend(&self) -> &ChainBackend {
        &self.chain
    }
}

impl TestNode {
    /// Starts (or restarts, from the same directory) a node.
    pub async fn start(chain: &Arc<RegtestChain>, dir: &Path) -> TestNode {
        TestNode::start_with(chain, dir, |handler| handler).await
    }

    /// Starts a node whose payment logic is wrapped by `wrap` (e.g. to hold HTLCs).
    pub async fn start_with(
        chain: &Arc<RegtestChain>,
        dir: &Path,
        wrap: impl FnOnce(Box<dyn HtlcHandler>) -> Box<dyn HtlcHandler>,
    ) -> TestNode {
        let (manager, peer_handler) = ChannelManager::new();
        let node =
            Node::start_with_handler(node_config(dir), peer_handler).await.expect("node starts");
        let seed: [u8; 32] = std::fs::read(dir.join(SECRET_FILE)).unwrap().try_into().unwrap();
        let (stop, shutdown) = watch::channel(false);
        let backend = ChainBackend::start(
            ChainConfig::Embedded(Arc::clone(chain)),
            dir,
            &seed,
            Network::Regtest,
            shutdown.clone(),
        )
        .await
        .expect("chain backend starts");
        let monitor = MonitorHandle::start(backend.clone(), dir, seed, shutdown)
            .await
            .expect("monitor starts");
        let secret = SecretKey::from_slice(&seed).unwrap();
        let config = PaymentsConfig::new(Network::Regtest);
        let (payments, handler) = Payments::new(config, dir, secret).expect("payments load");
        let store = Store::open(dir).expect("store opens");
        let start =
            ChannelsStart::new(node.clone(), Arc::new(backend.clone()), store, seed, wrap(handler))
                .with_monitor(monitor.clone());
        let channels = manager.start(start).await.expect("channel manager starts");
        let payments = payments.start(channels.clone()).await.expect("payments start");
        TestNode { dir: dir.to_owned(), node, chain: backend, channels, payments, monitor, stop }
    }

    pub fn id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// Stops everything, as a clean shutdown would.
    pub async fn stop(self) {
        self.channels.stop().await;
        self.node.shutdown().await;
        self.stop.send_replace(true);
    }

    pub async fn connect(&self, other: &TestNode) {
        tokio::time::timeout(WAIT, self.node.connect_now(other.id(), other.node.listen_addr()))
            .await
            .expect("connects in time")
            .expect("connects");
    }

    pub async fn summary(&self, id: ChannelId) -> Option<ChannelSummary> {
        self.channels.execute(move |ops| ops.channel(&id)).await.unwrap()
    }

    /// Waits until the channel is usable and the peer's policy is known.
    pub async fn wait_usable(&self, id: ChannelId) -> ChannelSummary {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(s) = self.summary(id).await {
                if s.usable && s.remote_policy.is_some() {
                    return s;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "channel {id} never became usable");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `check` holds for the channel's summary (or its absence).
    pub async fn wait_summary(
        &self,
        id: ChannelId,
        what: &str,
        check: impl Fn(Option<&ChannelSummary>) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !check(self.summary(id).await.as_ref()) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub const FUNDING: Amount = Amount::from_sat(1_000_000);

/// `from` opens a channel to `to` (pushing `push`), confirmed and usable on both sides.
pub async fn open(
    chain: &Arc<RegtestChain>,
    all: &[&TestNode],
    from: &TestNode,
    to: &TestNode,
    push: Msat,
) -> OpenedChannel {
    let opened = from.channels.open_channel(to.id(), FUNDING, push, false).await.expect("opens");
    mine(chain, all, 3, &foreign_script()).await;
    from.wait_usable(opened.channel_id).await;
    to.wait_usable(opened.channel_id).await;
    opened
}

/// A node's API serving the payment commands, and a client for it.
pub struct Api {
    _server: shandian_node::api::ApiServer,
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// Serves `node`'s API with the payment commands.
    pub async fn serve(node: &TestNode) -> Api {
        use shandian_node::api::{payment_commands, ApiConfig, ApiServer};
        let routes = payment_commands::routes().layer(axum::Extension(node.payments.clone()));
        let config = ApiConfig::new("127.0.0.1:0".parse().unwrap());
        let server = ApiServer::start_with_routes(
            node.node.clone(),
            &node_config(&node.dir),
            config,
            routes,
        )
        .await
        .expect("api serves");
        let token = std::fs::read_to_string(node.dir.join(shandian_node::api::TOKEN_FILE)).unwrap();
        Api {
            base: format!("http://{}/v1/", server.addr()),
            _server: server,
            token: token.trim().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Calls `command` with `params`; returns the HTTP status and the JSON body.
    pub async fn call(&self, command: &str, params: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}{command}", self.base))
            .bearer_auth(&self.token)
            .json(&params)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}
