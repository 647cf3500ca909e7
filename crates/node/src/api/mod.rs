//! The node's HTTP/JSON API, behind every client command (`shandian getinfo`, ...).
//!
//! - Loopback only unless [`ApiConfig::allow_remote`]; the bound address is written to
//!   `<data_dir>/api-address` (replaced atomically; removed on clean shutdown).
//! - Every call carries `Authorization: Bearer <hex>`, the token in `<data_dir>/api-token`
//!   ([`ApiToken`]); otherwise 401.
//! - `POST /v1/<command>` with a JSON object of named parameters (empty body = `{}`); success
//!   is 200 with a JSON result, failure a non-2xx status with
//!   `{"error": {"code": "<snake_case kind>", "message": "<one line>"}}` ([`CommandError`]).
//!
//! The peer commands (getinfo, connect, ...) are in `commands.rs`; the channel, payment and
//! wallet commands live next to their owners' code (`*_commands.rs`, each with a `routes()`).
//! The daemon merges them all and layers each module's handle on as an `Extension`
//! (`crate::daemon`).

mod auth;
pub mod channel_commands;
mod commands;
mod error;
pub mod payment_commands;
mod wallet_commands;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use bitcoin::Network;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use auth::{ApiToken, TOKEN_FILE};
pub use error::{CommandError, ServeError};

use crate::{Node, NodeConfig, NodeHandle};

/// The address file's name in the data directory.
pub const ADDRESS_FILE: &str = "api-address";

/// How the API is served.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Serve on a non-loopback address too (anyone who can reach it and read the token file
    /// controls the node's funds).
    pub allow_remote: bool,
    /// How long `connect` waits for the handshake and `init`.
    pub connect_timeout: Duration,
}

impl ApiConfig {
    /// Loopback on `listen`, with a 30 s connect timeout.
    pub fn new(listen: SocketAddr) -> Self {
        ApiConfig { listen, allow_remote: false, connect_timeout: Duration::from_secs(30) }
    }
}

/// What every handler sees (as `State<ApiState>`).
#[derive(Clone)]
pub struct ApiState {
    node: NodeHandle,
    network: Network,
    addr: SocketAddr,
    token: ApiToken,
    connect_timeout: Duration,
    /// Set by the `stop` command.
    stop: std::sync::Arc<watch::Sender<bool>>,
}

/// The channel, payment and wallet commands, before their handles are layered on (the
/// daemon adds `Extension`s of its `ChannelsHandle`, `PaymentsHandle` and `ChainBackend`).
pub(crate) fn module_routes() -> Router<ApiState> {
    Router::new()
        .merge(channel_commands::routes())
        .merge(payment_commands::routes())
        .merge(wallet_commands::routes())
}

/// The peer commands (what a node without channels serves).
pub(crate) fn peer_routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/getinfo", post(commands::getinfo))
        .route("/v1/connect", post(commands::connect))
        .route("/v1/disconnect", post(commands::disconnect))
        .route("/v1/listpeers", post(commands::listpeers))
        .route("/v1/stop", post(commands::stop))
        .route("/v1/decodeinvoice", post(commands::decodeinvoice))
}

/// `routes` (each `POST /v1/<command>`), with JSON answers for unknown commands and methods,
/// all behind the token check.
fn router(state: ApiState, routes: Router<ApiState>) -> Router {
    routes
        .fallback(|uri: axum::http::Uri| async move {
            let command = uri.path().strip_prefix("/v1/").unwrap_or(uri.path()).to_owned();
            CommandError::UnknownCommand(command)
        })
        .method_not_allowed_fallback(|| async { CommandError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token))
        .with_state(state)
}

/// The running API server.
pub struct ApiServer {
    addr: SocketAddr,
    address_file: PathBuf,
    stop_requested: watch::Receiver<bool>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Serves the peer commands for `node` (whose configuration was `node_config`): loads or
    /// creates the token, binds, and writes the bound address to the address file.
    pub async fn start(
        node: NodeHandle,
        node_config: &NodeConfig,
        config: ApiConfig,
    ) -> Result<ApiServer, ServeError> {
        ApiServer::start_with_routes(node, node_config, config, peer_routes()).await
    }

    /// As [`ApiServer::start`], serving `routes` (under `/v1/`, with whatever `Extension`s
    /// their handlers need already layered on) instead of only the peer commands.
    pub async fn start_with_routes(
        node: NodeHandle,
        node_config: &NodeConfig,
        config: ApiConfig,
        routes: Router<ApiState>,
    ) -> Result<ApiServer, ServeError> {
        if !config.listen.ip().is_loopback() && !config.allow_remote {
            return Err(ServeError::NotLoopback(config.listen));
        }
        let token = ApiToken::load_or_create(&node_config.data_dir)?;
        let bind = |source| ServeError::Bind { addr: config.listen, source };
        let listener = TcpListener::bind(config.listen).await.map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let (stop, stop_requested) = watch::channel(false);
        let state = ApiState {
            node,
            network: node_config.network,
            addr,
            token,
            connect_timeout: config.connect_timeout,
            stop: std::sync::Arc::new(stop),
        };
        let address_file = node_config.data_dir.join(ADDRESS_FILE);
        write_address(&address_file, addr)?;
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let serve =
            axum::serve(listener, router(state, routes)).with_graceful_shutdown(async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!("api server stopped: {e}");
            }
        });
        tracing::info!(api = %addr, "api listening on {addr}");
        Ok(ApiServer { addr, address_file, stop_requested, shutdown, task })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Completes when a client has called `stop`.
    pub async fn stop_requested(&self) {
        let mut requested = self.stop_requested.clone();
        let _ = requested.wait_for(|stop| *stop).await;
    }

    /// Stops serving (answering calls in flight, for at most 5 s) and removes the address file.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
        }
        if let Err(e) = std::fs::remove_file(&self.address_file) {
            tracing::warn!("cannot remove {}: {e}", self.address_file.display());
        }
    }
}

/// Writes `addr` to `path` through a temporary file and a rename, so a reader never sees a
/// half-written address.
fn write_address(path: &Path, addr: SocketAddr) -> Result<(), ServeError> {
    let io = |source| ServeError::AddressFile { path: path.to_owned(), source };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{addr}\n")).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Runs a node and its API until `shutdown` completes (e.g. Ctrl-C) or a client calls
/// `stop`, then stops both.
pub async fn run(
    node_config: NodeConfig,
    api_config: ApiConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let node = Node::start(node_config.clone()).await?;
    let api = match ApiServer::start(node.clone(), &node_config, api_config).await {
        Ok(api) => api,
        Err(e) => {
            node.shutdown().await;
            return Err(e);
        }
    };
    tokio::select! {
        () = shutdown => tracing::info!("shutting down"),
        () = api.stop_requested() => tracing::info!("stop requested through the api"),
    }
    api.shutdown().await;
    node.shutdown().await;
    Ok(())
}
