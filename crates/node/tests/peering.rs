//! Nodes over real TCP on 127.0.0.1: two nodes peering, a hand-driven BOLT 8 peer checking the
//! BOLT 1 rules, misbehaving peers being dropped while others are served, the node secret
//! surviving a restart, and redialling a peer that restarted.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bitcoin::secp256k1::{rand, PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use shandian_node::{local_init, Node, NodeConfig, NodeHandle, PeerEvent};
use shandian_noise::{Initiator, Transport, ACT_TWO_LEN, LENGTH_HEADER_LEN, MAC_LEN};
use shandian_types::Features;
use shandian_wire::{Message, Ping};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn config(dir: &Path) -> NodeConfig {
    let mut config = NodeConfig::new(Network::Regtest, dir, "127.0.0.1:0".parse().unwrap());
    config.handshake_timeout = Duration::from_millis(500);
    config.ping_interval = Duration::from_millis(100);
    config.pong_timeout = Duration::from_millis(400);
    config.reconnect_min = Duration::from_millis(50);
    config.reconnect_max = Duration::from_millis(400);
    config
}

async fn next_event(events: &mut broadcast::Receiver<PeerEvent>) -> PeerEvent {
    timeout(WAIT, events.recv()).await.expect("event in time").expect("event channel open")
}

async fn wait_connected(events: &mut broadcast::Receiver<PeerEvent>, peer: PublicKey) {
    loop {
        if let PeerEvent::Connected(info) = next_event(events).await {
            if info.node_id == peer {
                return;
            }
        }
    }
}

/// A peer driven by hand: our own BOLT 8 initiator over a raw socket.
struct RawPeer {
    stream: TcpStream,
    transport: Transport,
}

impl RawPeer {
    async fn connect(node: &NodeHandle) -> RawPeer {
        let secp = Secp256k1::new();
        let mut stream = TcpStream::connect(node.listen_addr()).await.unwrap();
        let ours = SecretKey::new(&mut rand::thread_rng());
        let eph = SecretKey::new(&mut rand::thread_rng());
        let (act1, state) = Initiator::new(&secp, ours, node.node_id(), eph).act_one();
        stream.write_all(&act1).await.unwrap();
        let mut act2 = [0u8; ACT_TWO_LEN];
        stream.read_exact(&mut act2).await.unwrap();
        let (act3, transport) = state.read_act_two(&act2).unwrap();
        stream.write_all(&act3).await.unwrap();
        RawPeer { stream, transport }
    }

    /// Connects and exchanges `init` with default features; returns the node's `init`.
    async fn connect_with_init(node: &NodeHandle) -> RawPeer {
        let mut peer = RawPeer::connect(node).await;
        let Message::Init(init) = peer.recv().await else {
            panic!("first message must be init");
        };
        let regtest = bitcoin::constants::ChainHash::using_genesis_block(Network::Regtest);
        assert_eq!(init.networks, Some(vec![regtest]));
        peer.send_init(Features::from_bits([9, 13])).await;
        peer
    }

    async fn send_init(&mut self, features: Features) {
        let regtest = bitcoin::constants::ChainHash::using_genesis_block(Network::Regtest);
        self.send_raw(&Message::Init(local_init(&features, regtest)).encode()).await;
    }

    async fn send_raw(&mut self, plaintext: &[u8]) {
        let mut wire = Vec::new();
        self.transport.encrypt(plaintext, &mut wire).unwrap();
        self.stream.write_all(&wire).await.unwrap();
    }

    async fn try_recv(&mut self) -> Option<Message> {
        let mut header = [0u8; LENGTH_HEADER_LEN];
        self.stream.read_exact(&mut header).await.ok()?;
        let len = self.transport.decrypt_length(&header).unwrap();
        let mut body = vec![0u8; usize::from(len) + MAC_LEN];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Message::decode(self.transport.decrypt_body(&mut body).unwrap()).unwrap())
    }

    async fn recv(&mut self) -> Message {
        timeout(WAIT, self.try_recv()).await.expect("message in time").expect("connection open")
    }

    /// The next message that is not one of the node's own pings (which are answered).
    async fn recv_skipping_pings(&mut self) -> Message {
        loop {
            match self.recv().await {
                Message::Ping(ping) => {
                    if let Some(pong) = ping.reply() {
                        self.send_raw(&Message::Pong(pong).encode()).await;
                    }
                }
                other => return other,
            }
        }
    }

    /// Reads until the node closes the connection, returning what it sent first.
    async fn expect_closed(&mut self) -> Vec<Message> {
        let mut got = Vec::new();
        let read_all = async {
            while let Some(m) = self.try_recv().await {
                got.push(m);
            }
        };
        timeout(WAIT, read_all).await.expect("node closes the connection");
        got
    }
}

/// Pings the node and returns the length of its pong (answering its own pings meanwhile).
async fn ping_until_pong(peer: &mut RawPeer, num_pong_bytes: u16) -> usize {
    peer.send_raw(&Message::Ping(Ping { num_pong_bytes, ignored: vec![0; 2] }).encode()).await;
    match peer.recv_skipping_pings().await {
        Message::Pong(pong) => pong.ignored.len(),
        other => panic!("expected pong, got {other:?}"),
    }
}

#[tokio::test]
async fn two_nodes_connect_exchange_init_and_keep_pinging() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Node::start(config(da.path())).await.unwrap();
    let mut events_a = a.subscribe();
    let mut cb = config(db.path());
    cb.connect = vec![(a.node_id(), a.listen_addr())];
    let b = Node::start(cb).await.unwrap();
    let mut events_b = b.subscribe();
    wait_connected(&mut events_a, b.node_id()).await;
    wait_connected(&mut events_b, a.node_id()).await;
    let peers = a.peers();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].node_id, b.node_id());
    assert!(peers[0].inbound && peers[0].features.is_set(9));
    assert!(!b.peers()[0].inbound);

    // Pings every 100 ms that must be answered within 400 ms: ten intervals without a
    // disconnect means both sides ping and pong.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(events_a.try_recv().is_err(), "no event on a");
    assert!(events_b.try_recv().is_err(), "no event on b");
    assert_eq!(a.peers().len(), 1);
    b.send(a.node_id(), Message::Ping(Ping { num_pong_bytes: 1, ignored: vec![] })).await.unwrap();
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn bolt1_ping_pong_and_odd_even_rules() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(config(dir.path())).await.unwrap();
    let mut peer = RawPeer::connect_with_init(&node).await;
    assert_eq!(ping_until_pong(&mut peer, 0).await, 0);
    assert_eq!(ping_until_pong(&mut peer, 300).await, 300);
    assert_eq!(ping_until_pong(&mut peer, 65531).await, 65531);
    // num_pong_bytes >= 65532: no pong; the next pong answers the next ping.
    peer.send_raw(&Message::Ping(Ping { num_pong_bytes: 65532, ignored: vec![] }).encode()).await;
    assert_eq!(ping_until_pong(&mut peer, 5).await, 5);
    // The node pings us too.
    loop {
        if let Message::Ping(ping) = peer.recv().await {
            assert!(ping.num_pong_bytes < 65532);
            break;
        }
    }
    // Unknown odd: ignored.
    peer.send_raw(&[0xff, 0xfd, 1, 2, 3]).await;
    assert_eq!(ping_until_pong(&mut peer, 1).await, 1);
    // Unknown even: warning, then disconnect.
    peer.send_raw(&[0xff, 0xfc]).await;
    let got = peer.expect_closed().await;
    assert!(got.iter().any(|m| matches!(m, Message::Warning(_))), "{got:?}");
    node.shutdown().await;
}

#[tokio::test]
async fn peer_requiring_unknown_feature_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(config(dir.path())).await.unwrap();
    let mut peer = RawPeer::connect(&node).await;
    assert!(matches!(peer.recv().await, Message::Init(_)));
    peer.send_init(Features::from_bits([9, 100])).await;
    let got = peer.expect_closed().await;
    assert!(got.iter().any(|m| matches!(m, Message::Warning(_))), "{got:?}");
    assert!(node.peers().is_empty());
    node.shutdown().await;
}

#[tokio::test]
async fn garbage_and_stalled_peers_are_dropped_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // `good` does not read while the others are being dropped; keep the node from pinging it.
    cfg.ping_interval = Duration::from_secs(60);
    let node = Node::start(cfg).await.unwrap();
    let mut good = RawPeer::connect_with_init(&node).await;

    // Garbage instead of act one.
    let mut garbage = TcpStream::connect(node.listen_addr()).await.unwrap();
    garbage.write_all(&[0x42; 200]).await.unwrap();
    // Half an act one, then silence.
    let mut stalled = TcpStream::connect(node.listen_addr()).await.unwrap();
    stalled.write_all(&[0u8; 20]).await.unwrap();
    // A valid handshake followed by garbage frames.
    let mut noisy = RawPeer::connect(&node).await;
    noisy.stream.write_all(&[0x17; 100]).await.unwrap();
    // A valid handshake, then never an init.
    let mut mute = RawPeer::connect(&node).await;

    for (name, stream) in [("garbage", &mut garbage), ("stalled", &mut stalled)] {
        let mut buf = [0u8; 64];
        let n = timeout(WAIT, stream.read(&mut buf)).await.expect(name);
        assert!(matches!(n, Ok(0) | Err(_)), "{name}: node must close, read {n:?}");
    }
    noisy.expect_closed().await;
    mute.expect_closed().await;

    assert_eq!(ping_until_pong(&mut good, 9).await, 9);
    assert_eq!(node.peers().len(), 1);
    node.shutdown().await;
}

#[tokio::test]
async fn node_secret_persists_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = Node::start(config(dir.path())).await.unwrap();
    let id = first.node_id();
    assert_eq!(id.to_string().len(), 66);
    first.shutdown().await;
    let second = Node::start(config(dir.path())).await.unwrap();
    assert_eq!(second.node_id(), id);
    second.shutdown().await;
}

#[tokio::test]
async fn redials_a_peer_after_it_restarts() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Node::start(config(da.path())).await.unwrap();
    let a_addr: SocketAddr = a.listen_addr();
    let a_id = a.node_id();
    let mut cb = config(db.path());
    cb.connect = vec![(a_id, a_addr)];
    let b = Node::start(cb).await.unwrap();
    let mut events = b.subscribe();
    wait_connected(&mut events, a_id).await;

    a.shutdown().await;
    loop {
        if next_event(&mut events).await == PeerEvent::Disconnected(a_id) {
            break;
        }
    }
    // Let a few redials fail against the closed port.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ca = config(da.path());
    ca.listen = a_addr;
    let a = Node::start(ca).await.unwrap();
    assert_eq!(a.node_id(), a_id);
    wait_connected(&mut events, a_id).await;
    assert_eq!(b.peers().len(), 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn peer_that_never_pongs_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(config(dir.path())).await.unwrap();
    let mut events = node.subscribe();
    let mut silent = RawPeer::connect_with_init(&node).await;
    assert!(matches!(next_event(&mut events).await, PeerEvent::Connected(_)));
    // We read its pings but never answer: 100 ms ping interval + 400 ms pong timeout.
    let got = silent.expect_closed().await;
    assert!(got.iter().any(|m| matches!(m, Message::Ping(_))), "{got:?}");
    assert!(matches!(next_event(&mut events).await, PeerEvent::Disconnected(_)));
    node.shutdown().await;
}

/// Collects what the node hands to the application.
struct Collect(std::sync::Mutex<Vec<(PublicKey, Message)>>);

impl shandian_node::MessageHandler for Collect {
    fn handle_message(&self, from: PublicKey, message: Message) {
        self.0.lock().unwrap().push((from, message));
    }
}

#[tokio::test]
async fn non_bolt1_messages_reach_the_handler_and_replies_reach_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let handler = std::sync::Arc::new(Collect(Default::default()));
    let node = Node::start_with_handler(config(dir.path()), handler.clone()).await.unwrap();
    let mut events = node.subscribe();
    let mut peer = RawPeer::connect_with_init(&node).await;
    let PeerEvent::Connected(info) = next_event(&mut events).await else {
        panic!("expected connected");
    };
    let warning = shandian_wire::Warning {
        channel_id: shandian_types::ChannelId([7; 32]),
        data: b"hello".to_vec(),
    };
    peer.send_raw(&Message::Warning(warning.clone()).encode()).await;
    // The handler runs before the pong for a later ping is written.
    assert_eq!(ping_until_pong(&mut peer, 2).await, 2);
    assert_eq!(
        handler.0.lock().unwrap().as_slice(),
        &[(info.node_id, Message::Warning(warning.clone()))]
    );
    // And the application can send to the peer by node id.
    node.send(info.node_id, Message::Warning(warning.clone())).await.unwrap();
    assert_eq!(peer.recv_skipping_pings().await, Message::Warning(warning));
    node.shutdown().await;
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn start_logs_node_id_and_listen_address() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber =
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(config(dir.path())).await.unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let id = node.node_id().to_string();
    assert_eq!(id.len(), 66);
    assert!(
        text.lines().any(|l| l.contains("INFO")
            && l.contains(&id)
            && l.contains(&node.listen_addr().to_string())),
        "{text}"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn peer_that_stops_reading_is_dropped_and_senders_are_released() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.ping_interval = Duration::from_secs(60);
    cfg.pong_timeout = Duration::from_millis(500);
    let node = Node::start(cfg).await.unwrap();
    let mut events = node.subscribe();
    let _stuck = RawPeer::connect_with_init(&node).await;
    let PeerEvent::Connected(info) = next_event(&mut events).await else {
        panic!("expected connected");
    };
    let big = shandian_wire::Warning {
        channel_id: shandian_types::ChannelId([0; 32]),
        data: vec![0; 60_000],
    };
    // We never read, so the socket buffers fill and a write stalls; the sends must then fail
    // rather than block for ever.
    let sending = async {
        let mut sent = 0usize;
        while node.send(info.node_id, Message::Warning(big.clone())).await.is_ok() {
            sent += 1;
        }
        sent
    };
    let sent = timeout(WAIT, sending).await.expect("sends stop blocking");
    assert!(sent > 10, "only {sent} messages fit");
    assert_eq!(next_event(&mut events).await, PeerEvent::Disconnected(info.node_id));
    node.shutdown().await;
}
