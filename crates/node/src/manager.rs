//! The peer registry: which peers are connected (past `init`), how to reach each connection's
//! writer, and the application's [`MessageHandler`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::secp256k1::PublicKey;
use shandian_types::Features;
use shandian_wire::Message;
use tokio::sync::{broadcast, mpsc};

use crate::Error;

/// A connected peer, as [`crate::NodeHandle::peers`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node id (its BOLT 8 static key).
    pub node_id: PublicKey,
    /// Its socket address.
    pub addr: SocketAddr,
    /// Whether it connected to us.
    pub inbound: bool,
    /// Its `init` features (`features | globalfeatures`).
    pub features: Features,
    /// The features both sides agreed on (BOLT 9).
    pub negotiated: Features,
}

/// Connection changes, for observers (tests, logs, the API). Lossy under load (a
/// `broadcast` channel); code that must see every change implements [`MessageHandler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A peer finished the handshake and `init`.
    Connected(PeerInfo),
    /// A peer's connection ended.
    Disconnected(PublicKey),
}

/// Where messages beyond BOLT 1's control messages go: channel and gossip messages, and the
/// peer's `error`/`warning`. Called from the peer's connection task, so implementations must
/// return quickly (e.g. forward into their own queue).
pub trait MessageHandler: Send + Sync + 'static {
    /// A peer is connected and has exchanged `init`.
    fn peer_connected(&self, _peer: &PeerInfo) {}
    /// As [`MessageHandler::peer_connected`], with an id unique to this connection, for
    /// [`crate::NodeHandle::send_on`] (so replies meant for one connection never go out on
    /// the next). Calls `peer_connected` unless overridden.
    fn peer_connected_on(&self, peer: &PeerInfo, _connection: u64) {
        self.peer_connected(peer)
    }
    /// A message from `from`, in the order received.
    fn handle_message(&self, from: PublicKey, message: Message);
    /// The peer's connection ended.
    fn peer_disconnected(&self, _peer: PublicKey) {}
}

/// The handler used when none is given: logs what arrives.
pub struct LoggingHandler;

impl MessageHandler for LoggingHandler {
    fn handle_message(&self, from: PublicKey, message: Message) {
        match &message {
            Message::Error(e) => tracing::warn!(peer = %from, channel = %e.channel_id,
                "peer sent error: {}", shandian_wire::bolt1::printable_data(&e.data)),
            Message::Warning(w) => tracing::warn!(peer = %from, channel = %w.channel_id,
                "peer sent warning: {}", shandian_wire::bolt1::printable_data(&w.data)),
            other => {
                tracing::debug!(peer = %from, msg_type = other.msg_type(), "unhandled message")
            }
        }
    }
}

struct Entry {
    conn_id: u64,
    sender: mpsc::Sender<Message>,
    info: PeerInfo,
}

/// Connected peers by node id. At most one connection per peer: a newer one replaces the
/// older, whose writer queue is then dropped, which ends it.
pub(crate) struct PeerManager {
    peers: Mutex<HashMap<PublicKey, Entry>>,
    handler: Arc<dyn MessageHandler>,
    events: broadcast::Sender<PeerEvent>,
}

impl PeerManager {
    pub(crate) fn new(handler: Arc<dyn MessageHandler>) -> Self {
        PeerManager {
            peers: Mutex::new(HashMap::new()),
            handler,
            events: broadcast::channel(256).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PublicKey, Entry>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every update is
        // a single insert or remove), so a poisoned lock is still usable.
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<PeerEvent> {
        self.events.subscribe()
    }

    pub(crate) fn register(&self, conn_id: u64, sender: mpsc::Sender<Message>, info: PeerInfo) {
        let node_id = info.node_id;
        let replaced = self.lock().insert(node_id, Entry { conn_id, sender, info: info.clone() });
        if replaced.is_some() {
            tracing::info!(peer = %node_id, "new connection replaces the previous one");
        }
        self.handler.peer_connected_on(&info, conn_id);
        let _ = self.events.send(PeerEvent::Connected(info));
    }

    /// Removes the peer if `conn_id` is still its current connection.
    pub(crate) fn unregister(&self, node_id: PublicKey, conn_id: u64) {
        let removed = {
            let mut peers = self.lock();
            match peers.get(&node_id) {
                Some(e) if e.conn_id == conn_id => peers.remove(&node_id).is_some(),
                _ => false,
            }
        };
        if removed {
            self.handler.peer_disconnected(node_id);
            let _ = self.events.send(PeerEvent::Disconnected(node_id));
        }
    }

    /// Hands `message`, read from connection `conn_id`, to the handler if that connection is
    /// still the peer's current one; returns whether it did. A message read from a dropped or
    /// replaced connection would reach channels that have already started over (BOLT 2
    /// forgets a disconnected connection's uncommitted updates), so it is dropped. Checked
    /// and handed over under the registry lock, so it is ordered before the disconnection.
    pub(crate) fn deliver(&self, node_id: PublicKey, conn_id: u64, message: Message) -> bool {
        let peers = self.lock();
        let current = peers.get(&node_id).is_some_and(|e| e.conn_id == conn_id);
        if current {
            self.handler.handle_message(node_id, message);
        }
        current
    }

    /// Drops the peer's connection (its writer queue closes, which ends it); returns whether
    /// it was connected.
    pub(crate) fn disconnect(&self, node_id: PublicKey) -> bool {
        let removed = self.lock().remove(&node_id).is_some();
        if removed {
            self.handler.peer_disconnected(node_id);
            let _ = self.events.send(PeerEvent::Disconnected(node_id));
        }
        removed
    }

    pub(crate) fn is_connected(&self, node_id: &PublicKey) -> bool {
        self.lock().contains_key(node_id)
    }

    pub(crate) fn peers(&self) -> Vec<PeerInfo> {
        self.lock().values().map(|e| e.info.clone()).collect()
    }

    /// Queues `message` for the peer's connection.
    pub(crate) async fn send(&self, node_id: PublicKey, message: Message) -> Result<(), Error> {
        let sender = self
            .lock()
            .get(&node_id)
            .map(|e| e.sender.clone())
            .ok_or(Error::PeerNotConnected(node_id))?;
        sender.send(message).await.map_err(|_| Error::PeerNotConnected(node_id))
    }

    /// Queues `message` for the peer's connection `conn_id` only (not a later one).
    pub(crate) async fn send_on(
        &self,
        node_id: PublicKey,
        conn_id: u64,
        message: Message,
    ) -> Result<(), Error> {
        let sender = self
            .lock()
            .get(&node_id)
            .filter(|e| e.conn_id == conn_id)
            .map(|e| e.sender.clone())
            .ok_or(Error::PeerNotConnected(node_id))?;
        sender.send(message).await.map_err(|_| Error::PeerNotConnected(node_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use shandian_wire::Ping;

    /// Records what reaches the handler, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl MessageHandler for Recorder {
        fn handle_message(&self, _from: PublicKey, message: Message) {
            self.0.lock().unwrap().push(format!("message {}", message.msg_type()));
        }
        fn peer_disconnected(&self, _peer: PublicKey) {
            self.0.lock().unwrap().push("disconnected".into());
        }
    }

    fn info(node_id: PublicKey) -> PeerInfo {
        PeerInfo {
            node_id,
            addr: "127.0.0.1:9735".parse().unwrap(),
            inbound: false,
            features: Features::new(),
            negotiated: Features::new(),
        }
    }

    fn ping() -> Message {
        Message::Ping(Ping { num_pong_bytes: 0, ignored: Vec::new() })
    }

    #[test]
    fn messages_of_dropped_or_replaced_connections_are_not_delivered() {
        let recorder = Arc::new(Recorder::default());
        let manager = PeerManager::new(recorder.clone());
        let peer = PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[7; 32]).unwrap(),
        );
        let (tx, _rx) = mpsc::channel(1);
        manager.register(1, tx.clone(), info(peer));
        assert!(manager.deliver(peer, 1, ping()));
        // A new connection replaces the first: what the first still reads is stale.
        manager.register(2, tx, info(peer));
        assert!(!manager.deliver(peer, 1, ping()));
        assert!(manager.deliver(peer, 2, ping()));
        // After a local disconnect nothing read on the dropped connection gets through.
        assert!(manager.disconnect(peer));
        assert!(!manager.deliver(peer, 2, ping()));
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen, ["message 18", "message 18", "disconnected"]);
    }
}
