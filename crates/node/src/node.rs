//! Starting and stopping a node: the listener, the diallers for `--connect` peers, and the
//! [`NodeHandle`] the rest of the program uses.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use shandian_wire::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::connection::{self, ConnectionError};
use crate::manager::{LoggingHandler, MessageHandler, PeerEvent, PeerInfo, PeerManager};
use crate::session::SessionConfig;
use crate::{secret, Error, NodeConfig};

/// What every task of a node shares.
pub(crate) struct Shared {
    pub(crate) config: NodeConfig,
    pub(crate) session: SessionConfig,
    pub(crate) secret: SecretKey,
    pub(crate) node_id: PublicKey,
    pub(crate) secp: Secp256k1<All>,
    pub(crate) manager: PeerManager,
    /// Flips to `true` once, at shutdown.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Node ids with a dialler running (and its id), so `connect` twice does not dial twice
    /// and `disconnect` can tell that dialler to stop.
    diallers: Mutex<Vec<(PublicKey, u64)>>,
    /// Per peer, held by our outbound connection to it from the dial until it ends: at most
    /// one of our dials to a peer is alive. Two at once (a redialler and `connect_now`) could
    /// each be kept by one side and dropped by the other, since each side keeps the
    /// connection that finished `init` last and the two sides may see them finish in
    /// opposite orders.
    outbound: Mutex<HashMap<PublicKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Every task holds a clone; shutdown waits until all are dropped.
    task_guard: Mutex<Option<mpsc::Sender<()>>>,
}

impl Shared {
    fn outbound_lock(&self, node_id: PublicKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.outbound.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(node_id).or_default().clone()
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(self: &Arc<Self>, task: F) {
        let guard = self.task_guard.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(guard) = guard {
            tokio::spawn(async move {
                task.await;
                drop(guard);
            });
        }
    }
}

/// The running node. Cheap to clone; every clone controls the same node.
#[derive(Clone)]
pub struct NodeHandle {
    shared: Arc<Shared>,
    listen_addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    stopped: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
}

/// Entry points.
pub struct Node;

impl Node {
    /// Starts a node that logs the messages it does not handle itself.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle, Error> {
        Node::start_with_handler(config, Arc::new(LoggingHandler)).await
    }

    /// Starts a node: loads (or creates) the node secret, binds the listener, logs the node
    /// id and listen address, and dials every `config.connect` peer.
    pub async fn start_with_handler(
        config: NodeConfig,
        handler: Arc<dyn MessageHandler>,
    ) -> Result<NodeHandle, Error> {
        let secret = secret::load_or_create(&config.data_dir)?;
        let secp = Secp256k1::new();
        let node_id = PublicKey::from_secret_key(&secp, &secret);
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Listen { addr: config.listen, source })?;
        let listen_addr = listener
            .local_addr()
            .map_err(|source| Error::Listen { addr: config.listen, source })?;
        let (stop, shutdown) = watch::channel(false);
        let (guard, stopped) = mpsc::channel(1);
        let session = SessionConfig {
            features: config.features.clone(),
            chain: ChainHash::using_genesis_block(config.network),
            init_timeout: config.handshake_timeout,
            ping_interval: config.ping_interval,
            pong_timeout: config.pong_timeout,
        };
        let connect = config.connect.clone();
        let shared = Arc::new(Shared {
            config,
            session,
            secret,
            node_id,
            secp,
            manager: PeerManager::new(handler),
            shutdown,
            diallers: Mutex::new(Vec::new()),
            outbound: Mutex::new(HashMap::new()),
            task_guard: Mutex::new(Some(guard)),
        });
        tracing::info!(%node_id, listen = %listen_addr, network = %shared.config.network,
            "node {node_id} listening on {listen_addr}");
        shared.spawn(accept_loop(shared.clone(), listener));
        let handle = NodeHandle {
            shared,
            listen_addr,
            stop: Arc::new(stop),
            stopped: Arc::new(tokio::sync::Mutex::new(stopped)),
        };
        for (peer, addr) in connect {
            handle.connect(peer, addr);
        }
        Ok(handle)
    }
}

/// Runs a node until `shutdown` completes (e.g. `tokio::signal::ctrl_c()`), then stops it.
pub async fn run(config: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let node = Node::start(config).await?;
    shutdown.await;
    node.shutdown().await;
    Ok(())
}

impl NodeHandle {
    /// Our node id: the public key of the node secret.
    pub fn node_id(&self) -> PublicKey {
        self.shared.node_id
    }

    /// Signs `hash` with the node key (BOLT 7 gossip signatures).
    pub(crate) fn sign_with_node_key(
        &self,
        hash: &bitcoin::secp256k1::Message,
    ) -> bitcoin::secp256k1::ecdsa::Signature {
        self.shared.secp.sign_ecdsa(hash, &self.shared.secret)
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.shared.config
    }

    /// The address actually bound (the real port when configured with port 0).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// Peers that have completed the handshake and `init`.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.manager.peers()
    }

    /// Keeps a connection to `node_id` at `addr`: dials now and redials with exponential
    /// backoff whenever it drops, until shutdown. Does nothing if already doing so.
    pub fn connect(&self, node_id: PublicKey, addr: SocketAddr) {
        static NEXT_DIALLER: AtomicU64 = AtomicU64::new(1);
        let dialler = NEXT_DIALLER.fetch_add(1, Ordering::Relaxed);
        {
            let mut diallers = self.shared.diallers.lock().unwrap_or_else(|p| p.into_inner());
            if diallers.iter().any(|(id, _)| *id == node_id) {
                return;
            }
            diallers.push((node_id, dialler));
        }
        self.shared.spawn(dial_loop(self.shared.clone(), node_id, addr, dialler));
    }

    /// Dials `node_id` at `addr` now and waits until `init` has been exchanged, returning the
    /// peer, or why the attempt failed (bounded by the handshake and `init` timeouts). On
    /// success the peer is then kept connected as by [`NodeHandle::connect`].
    pub async fn connect_now(
        &self,
        node_id: PublicKey,
        addr: SocketAddr,
    ) -> Result<PeerInfo, ConnectionError> {
        let mut events = self.subscribe();
        let connected = |peers: Vec<PeerInfo>| peers.into_iter().find(|p| p.node_id == node_id);
        if let Some(peer) = connected(self.peers()) {
            self.connect(node_id, addr);
            return Ok(peer);
        }
        // `None`: another of our dials connected the peer while this one waited its turn.
        let (failed_tx, mut failed) = oneshot::channel::<Option<ConnectionError>>();
        // Dropped when this call returns: a dial still waiting for its turn is then not
        // needed (one that started owns its connection and runs on).
        let (_waiting, cancelled) = oneshot::channel::<()>();
        let shared = self.shared.clone();
        self.shared.spawn(async move {
            let mut shutdown = shared.shutdown.clone();
            let turn = tokio::select! {
                turn = shared.outbound_lock(node_id).lock_owned() => turn,
                _ = cancelled => return,
                _ = shutdown.changed() => return,
            };
            if shared.manager.is_connected(&node_id) {
                let _ = failed_tx.send(None);
                return;
            }
            let reason = tokio::select! {
                (_, reason) = dial_once(&shared, node_id, addr) => reason,
                _ = shutdown.changed() => ConnectionError::Shutdown,
            };
            drop(turn);
            tracing::info!(peer = %node_id, %addr, "connection ended: {reason}");
            let _ = failed_tx.send(Some(reason));
        });
        let peer = loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(PeerEvent::Connected(peer)) if peer.node_id == node_id => break peer,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(peer) = connected(self.peers()) {
                            break peer;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(ConnectionError::Shutdown)
                    }
                },
                // This dial ended, or was not needed: if another connection with the peer
                // (its own dial, or our redialler) is up, the peer is connected all the same.
                reason = &mut failed => match (connected(self.peers()), reason) {
                    (Some(peer), _) => break peer,
                    (None, Ok(reason)) => {
                        return Err(reason.unwrap_or(ConnectionError::Replaced))
                    }
                    (None, Err(_)) => return Err(ConnectionError::Shutdown),
                },
            }
        };
        self.connect(node_id, addr);
        Ok(peer)
    }

    /// Closes the connection to `node_id` and stops redialling it. Errors if it is not
    /// connected (a redialler, if any, is stopped anyway).
    pub fn disconnect(&self, node_id: PublicKey) -> Result<(), Error> {
        self.shared
            .diallers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| *id != node_id);
        if self.shared.manager.disconnect(node_id) {
            Ok(())
        } else {
            Err(Error::PeerNotConnected(node_id))
        }
    }

    /// Sends `message` to a connected peer.
    pub async fn send(&self, node_id: PublicKey, message: Message) -> Result<(), Error> {
        if *self.shared.shutdown.borrow() {
            return Err(Error::ShuttingDown);
        }
        self.shared.manager.send(node_id, message).await
    }

    /// Sends `message` on the peer's connection `connection` (the id
    /// [`MessageHandler::peer_connected_on`] gave), and not on any later connection.
    pub async fn send_on(
        &self,
        node_id: PublicKey,
        connection: u64,
        message: Message,
    ) -> Result<(), Error> {
        if *self.shared.shutdown.borrow() {
            return Err(Error::ShuttingDown);
        }
        self.shared.manager.send_on(node_id, connection, message).await
    }

    /// Connection events, for observers.
    pub fn subscribe(&self) -> broadcast::Receiver<PeerEvent> {
        self.shared.manager.subscribe()
    }

    /// Stops listening, closes every connection and waits until all of the node's tasks ended.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        self.shared.task_guard.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Returns `None` once every task's guard is dropped.
        let _ = self.stopped.lock().await.recv().await;
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => shared.spawn(inbound(shared.clone(), stream, addr)),
                // Out of file descriptors and the like: keep serving the others.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn inbound(shared: Arc<Shared>, mut stream: TcpStream, addr: SocketAddr) {
    let mut shutdown = shared.shutdown.clone();
    let handshake = tokio::select! {
        result = connection::accept(&shared, &mut stream) => result,
        _ = shutdown.changed() => return,
    };
    match handshake {
        Ok((transport, node_id)) => {
            let (_, reason) = connection::run(&shared, stream, transport, node_id, true).await;
            tracing::info!(peer = %node_id, %addr, "peer disconnected: {reason}");
        }
        Err(e) => tracing::info!(%addr, "inbound handshake failed: {e}"),
    }
}

async fn dial_loop(shared: Arc<Shared>, node_id: PublicKey, addr: SocketAddr, dialler: u64) {
    let (min, max) = (shared.config.reconnect_min, shared.config.reconnect_max);
    let mut delay = min;
    let mut shutdown = shared.shutdown.clone();
    // Runs until shutdown, or until `disconnect` removes this dialler.
    let wanted = || {
        let diallers = shared.diallers.lock().unwrap_or_else(|p| p.into_inner());
        diallers.contains(&(node_id, dialler))
    };
    while !*shutdown.borrow() && wanted() {
        if shared.manager.is_connected(&node_id) {
            // Already connected (it dialled us): check again later.
            delay = min;
        } else {
            let lock = shared.outbound_lock(node_id);
            let ended = tokio::select! {
                ended = async {
                    let _turn = lock.lock().await;
                    // Another of our dials may have connected while this one waited.
                    if shared.manager.is_connected(&node_id) {
                        return None;
                    }
                    Some(dial_once(&shared, node_id, addr).await)
                } => ended,
                _ = shutdown.changed() => return,
            };
            match ended {
                None => delay = min,
                Some((true, reason)) => {
                    tracing::info!(peer = %node_id, %addr, "peer disconnected: {reason}");
                    delay = min;
                }
                Some((false, reason)) => tracing::info!(peer = %node_id, %addr,
                    "connection failed: {reason}; retrying in {delay:?}"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(max);
    }
}

async fn dial_once(
    shared: &Shared,
    node_id: PublicKey,
    addr: SocketAddr,
) -> (bool, ConnectionError) {
    match connection::dial(shared, node_id, addr).await {
        Ok((stream, transport)) => connection::run(shared, stream, transport, node_id, false).await,
        Err(e) => (false, e),
    }
}
