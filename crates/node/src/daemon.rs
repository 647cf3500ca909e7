//! The daemon: every part of a running node, composed in one place.
//!
//! [`Daemon::start`] brings the parts up in dependency order, and [`Daemon::shutdown`] takes
//! them down in reverse:
//!
//! 1. the **node secret** (`DIR/node_secret`), whose 32 bytes are also the seed of the wallet
//!    and of every channel's keys;
//! 2. the **chain backend** ([`ChainBackend`]: the embedded chain or a bitcoind over RPC, the
//!    block follower and the BDK wallet in `DIR/wallet.sqlite`);
//! 3. the **monitor** ([`MonitorHandle`]): the channel manager hands it every channel that
//!    closes other than cooperatively (recorded in the closing batch, so it also resumes them
//!    after a restart); it sweeps our outputs to the wallet and punishes revoked commitments;
//! 4. the **payment logic** ([`Payments`]), which hands the channel manager its HTLC handler;
//! 5. the **channel manager** and the **peer node** that delivers it peer messages (one actor
//!    thread; every batch of inputs is one SQLite transaction in `DIR/shandian.sqlite`, and
//!    messages leave only after it commits);
//! 6. the **API** (`DIR/api-address`, `DIR/api-token`): the peer commands plus each module's
//!    routes, with that module's handle layered on as an `Extension`.
//!
//! Dropping a [`Daemon`] without [`Daemon::shutdown`] leaves its tasks running until the
//! runtime ends; with nothing flushed beyond what each batch already committed, that is what a
//! crash looks like, and what the restart tests do.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use tokio::sync::watch;

use crate::api::{self, ApiConfig, ApiServer, ApiState, ServeError};
use crate::channels::{ChannelManager, ChannelsError, ChannelsHandle, ChannelsStart};
use crate::onchain::{ChainBackend, ChainConfig, MonitorHandle, OnchainError};
use crate::payments::{PayError, Payments, PaymentsConfig, PaymentsHandle};
use crate::store::{Store, StoreError};
use crate::{secret, Node, NodeConfig, NodeHandle};

/// Everything a daemon needs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The peer node: network, data directory, listen address, peers to keep connected,
    /// channel limits and fees.
    pub node: NodeConfig,
    /// The API.
    pub api: ApiConfig,
    /// The chain to follow.
    pub chain: ChainConfig,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The node (secret, listener) failed.
    #[error(transparent)]
    Node(#[from] crate::Error),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The chain backend or wallet failed.
    #[error("chain: {0}")]
    Chain(#[from] OnchainError),
    /// The channel manager failed.
    #[error("channels: {0}")]
    Channels(#[from] ChannelsError),
    /// The payment logic failed.
    #[error("payments: {0}")]
    Payments(#[from] PayError),
    /// The API could not be served.
    #[error(transparent)]
    Api(#[from] ServeError),
}

/// What `getinfo` reports beyond the peer node: the chain tip and the channels.
#[derive(Clone)]
pub(crate) struct DaemonInfo {
    pub(crate) chain: ChainBackend,
    pub(crate) channels: ChannelsHandle,
}

/// A running daemon.
pub struct Daemon {
    node: NodeHandle,
    chain: ChainBackend,
    channels: ChannelsHandle,
    payments: PaymentsHandle,
    monitor: MonitorHandle,
    api: ApiServer,
    /// Stops the chain backend's and the monitor's tasks.
    stop_chain: watch::Sender<bool>,
}

impl Daemon {
    /// Starts every part; on failure, stops what had started and says why.
    pub async fn start(config: DaemonConfig) -> Result<Daemon, DaemonError> {
        let DaemonConfig { node: node_config, api: api_config, chain: chain_config } = config;
        let data_dir = node_config.data_dir.clone();
        let node_secret = secret::load_or_create(&data_dir)?;
        let seed = node_secret.secret_bytes();
        let (stop_chain, chain_stopped) = watch::channel(false);
        let network = node_config.network;
        let chain =
            ChainBackend::start(chain_config, &data_dir, &seed, network, chain_stopped.clone())
                .await?;
        let parts = async {
            let monitor =
                MonitorHandle::start(chain.clone(), &data_dir, seed, chain_stopped).await?;
            let (payments, htlc_handler) =
                Payments::new(PaymentsConfig::new(network), &data_dir, node_secret)?;
            let store = Store::open(&data_dir)?;
            let (manager, peer_handler) = ChannelManager::new();
            let node = Node::start_with_handler(node_config.clone(), peer_handler).await?;
            let start = ChannelsStart::new(
                node.clone(),
                Arc::new(chain.clone()),
                store,
                seed,
                htlc_handler,
            )
            .with_monitor(monitor.clone());
            let channels = match manager.start(start).await {
                Ok(channels) => channels,
                Err(e) => {
                    node.shutdown().await;
                    return Err(e.into());
                }
            };
            let stop_all = |e: DaemonError| {
                let (node, channels) = (node.clone(), channels.clone());
                async move {
                    channels.stop().await;
                    node.shutdown().await;
                    e
                }
            };
            let payments = match payments.start(channels.clone()).await {
                Ok(payments) => payments,
                Err(e) => return Err(stop_all(e.into()).await),
            };
            let routes = routes(&chain, &channels, &payments);
            let api =
                match ApiServer::start_with_routes(node.clone(), &node_config, api_config, routes)
                    .await
                {
                    Ok(api) => api,
                    Err(e) => return Err(stop_all(e.into()).await),
                };
            Ok((node, channels, payments, monitor, api))
        };
        match parts.await {
            Ok((node, channels, payments, monitor, api)) => {
                tracing::info!(node_id = %node.node_id(), "daemon running");
                Ok(Daemon { node, chain, channels, payments, monitor, api, stop_chain })
            }
            Err(e) => {
                stop_chain.send_replace(true);
                Err(e)
            }
        }
    }

    /// The peer node.
    pub fn node(&self) -> &NodeHandle {
        &self.node
    }

    /// The chain backend and wallet.
    pub fn chain(&self) -> &ChainBackend {
        &self.chain
    }

    /// The channel manager.
    pub fn channels(&self) -> &ChannelsHandle {
        &self.channels
    }

    /// The payment logic.
    pub fn payments(&self) -> &PaymentsHandle {
        &self.payments
    }

    /// The monitor of closed channels.
    pub fn monitor(&self) -> &MonitorHandle {
        &self.monitor
    }

    /// Where the API listens.
    pub fn api_addr(&self) -> SocketAddr {
        self.api.addr()
    }

    /// Completes when a client called `stop`, or when the channel manager stopped on its
    /// own (a store write failed: the node must not go on speaking from state it could lose).
    pub async fn stopped(&self) {
        let manager_stopped = async {
            while !self.channels.is_stopped() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            tracing::error!("the channel manager stopped; shutting down");
        };
        tokio::select! {
            () = self.api.stop_requested() => tracing::info!("stop requested through the api"),
            () = manager_stopped => {}
        }
    }

    /// Stops the API first (no new commands), then the channel manager (after its current
    /// batch) and the peers, then the monitor and the chain backend.
    pub async fn shutdown(self) {
        self.api.shutdown().await;
        self.channels.stop().await;
        self.node.shutdown().await;
        self.stop_chain.send_replace(true);
    }
}

/// Every module's commands, each with the handle its handlers take.
fn routes(
    chain: &ChainBackend,
    channels: &ChannelsHandle,
    payments: &PaymentsHandle,
) -> Router<ApiState> {
    let info = DaemonInfo { chain: chain.clone(), channels: channels.clone() };
    api::peer_routes()
        .merge(api::module_routes())
        .layer(Extension(chain.clone()))
        .layer(Extension(channels.clone()))
        .layer(Extension(payments.clone()))
        .layer(Extension(info))
}

/// Runs a daemon until `shutdown` completes (e.g. Ctrl-C), a client calls `stop`, or the
/// channel manager stops.
pub async fn run(
    config: DaemonConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let daemon = Daemon::start(config).await?;
    tokio::select! {
        () = shutdown => tracing::info!("shutting down"),
        () = daemon.stopped() => {}
    }
    daemon.shutdown().await;
    Ok(())
}
