//! One test node: the peer node over TCP on 127.0.0.1 and its channel manager, over any
//! [`ChannelChain`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use shandian_channel::NewHtlc;
use shandian_node::channels::{
    ChannelChain, ChannelInfo, ChannelManager, ChannelsHandle, ChannelsStart,
};
use shandian_node::onchain::MonitorHandle;
use shandian_node::store::Store;
use shandian_node::{Node, NodeConfig, NodeHandle, SECRET_FILE};
use shandian_types::{ChannelId, CltvExpiry, Msat, PaymentHash};
use shandian_wire::{OnionPacket, ONION_PACKET_LEN};

use super::handler::{Seen, TestHandler};
use super::regtest_chain::WAIT;

/// A node whose channel manager is not started yet.
pub struct Started {
    dir: PathBuf,
    manager: ChannelManager,
    node: NodeHandle,
    /// The node secret: the seed of the wallet and the channel keys.
    pub seed: [u8; 32],
}

impl Started {
    /// Starts the channel manager on `chain`.
    pub async fn finish(self, chain: Arc<dyn ChannelChain>) -> TestNode {
        self.finish_with(chain, None).await
    }

    /// Starts the channel manager on `chain`, handing force-closed channels to `monitor`.
    pub async fn finish_with(
        self,
        chain: Arc<dyn ChannelChain>,
        monitor: Option<MonitorHandle>,
    ) -> TestNode {
        let Started { dir, manager, node, seed } = self;
        let store = Store::open(&dir).expect("store opens");
        let seen = TestHandler::default();
        let mut start =
            ChannelsStart::new(node.clone(), chain, store, seed, Box::new(seen.clone()));
        if let Some(monitor) = monitor {
            start = start.with_monitor(monitor);
        }
        let channels = manager.start(start).await.expect("channel manager starts");
        TestNode { dir, node, channels, seen }
    }
}

/// See the module docs.
pub struct TestNode {
    pub dir: PathBuf,
    pub node: NodeHandle,
    pub channels: ChannelsHandle,
    pub seen: TestHandler,
}

impl TestNode {
    /// Starts (or restarts, from the same directory) a node on `chain`.
    pub async fn start_with_chain(
        dir: &Path,
        config: NodeConfig,
        chain: Arc<dyn ChannelChain>,
    ) -> TestNode {
        let started = TestNode::begin(dir, config).await;
        started.finish(chain).await
    }

    /// The first half of a start: the peer node is up (its secret exists); the chain
    /// backend can now be started with [`Started::seed`].
    pub async fn begin(dir: &Path, config: NodeConfig) -> Started {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let (manager, peer_handler) = ChannelManager::new();
        let node = Node::start_with_handler(config, peer_handler).await.expect("node starts");
        let seed: [u8; 32] = std::fs::read(dir.join(SECRET_FILE)).unwrap().try_into().unwrap();
        Started { dir: dir.to_owned(), manager, node, seed }
    }

    pub fn id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// Stops the manager and the node, as a clean shutdown would.
    pub async fn stop(&self) {
        self.channels.stop().await;
        self.node.shutdown().await;
    }

    pub async fn connect(&self, other: &TestNode) {
        tokio::time::timeout(WAIT, self.node.connect_now(other.id(), other.node.listen_addr()))
            .await
            .expect("connects in time")
            .expect("connects");
    }

    pub async fn channel(&self, id: &ChannelId) -> Option<ChannelInfo> {
        self.channels.list_channels().await.into_iter().find(|c| c.channel_id == id.to_string())
    }

    /// Waits until `check` holds for the channel.
    pub async fn wait_channel(
        &self,
        id: &ChannelId,
        what: &str,
        check: impl Fn(&ChannelInfo) -> bool,
    ) -> ChannelInfo {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(info) = self.channel(id).await {
                if check(&info) {
                    return info;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.channel(id).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `check` holds for what the handler saw.
    pub async fn wait_seen(&self, what: &str, check: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !check(&self.seen.0.lock().unwrap()) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the channel can carry HTLCs and the peer's channel_update arrived.
    pub async fn wait_usable_with_policy(&self, id: ChannelId) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let summary = self.channels.execute(move |ops| ops.channel(&id)).await.unwrap();
            if summary.is_some_and(|s| s.usable && s.remote_policy.is_some()) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "never usable with a policy");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Offers an HTLC paying `hash` on `channel`; returns its id.
    pub async fn offer(&self, channel: ChannelId, amount: Msat, hash: PaymentHash) -> u64 {
        self.channels
            .execute(move |ops| {
                let expiry = CltvExpiry(ops.best_block().0 + 100);
                ops.add_htlc(&channel, new_htlc(amount, hash, expiry))
            })
            .await
            .expect("manager runs")
            .expect("htlc offered")
    }

    /// The sequence of the channel's last stored record.
    pub fn update_seq(&self, id: &ChannelId) -> u64 {
        Store::open(&self.dir).unwrap().channel(id).unwrap().expect("stored").update_seq
    }
}

/// An HTLC with an all-zero onion (the test handler does not read it).
pub fn new_htlc(amount: Msat, hash: PaymentHash, expiry: CltvExpiry) -> NewHtlc {
    NewHtlc {
        amount,
        payment_hash: hash,
        cltv_expiry: expiry,
        onion: OnionPacket::new([0; ONION_PACKET_LEN]),
        blinding_point: None,
    }
}
