//! One peer connection on tokio: the BOLT 8 handshake over a `TcpStream`, then a loop that
//! feeds decrypted messages and timer ticks to the sans-IO [`Session`] and carries out its
//! actions.
//!
//! A reader task owns the socket's read half and the [`Decryptor`] and forwards whole
//! plaintext messages over a channel; the connection task owns the write half, the
//! [`Encryptor`] and the session. Splitting them keeps every `select!` branch cancel-safe.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bitcoin::secp256k1::{rand, PublicKey, SecretKey};
use shandian_noise::{Decryptor, Encryptor, Initiator, Responder, Transport, LENGTH_HEADER_LEN};
use shandian_noise::{ACT_ONE_LEN, ACT_THREE_LEN, ACT_TWO_LEN, MAC_LEN};
use shandian_wire::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use crate::init::remote_addr_for;
use crate::manager::PeerInfo;
use crate::node::Shared;
use crate::session::{Action, DisconnectReason, Session};

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Connecting, reading or writing failed, or the peer closed the socket.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake or a message failed BOLT 8 authentication.
    #[error("transport: {0}")]
    Noise(#[from] shandian_noise::Error),
    /// The handshake did not finish in time.
    #[error("handshake timed out after {0:?}")]
    HandshakeTimeout(Duration),
    /// The session closed the connection (protocol violation, timeout, bad `init`).
    #[error("{0}")]
    Session(#[from] DisconnectReason),
    /// The peer stopped reading: a message could not be written within the pong timeout.
    #[error("write stalled for {0:?}")]
    WriteTimeout(Duration),
    /// A newer connection to the same peer replaced this one.
    #[error("replaced by a newer connection")]
    Replaced,
    /// The node is shutting down.
    #[error("node shutting down")]
    Shutdown,
}

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Dials `node_id` at `addr` and runs the BOLT 8 handshake as initiator, all within the
/// handshake timeout.
pub(crate) async fn dial(
    shared: &Shared,
    node_id: PublicKey,
    addr: SocketAddr,
) -> Result<(TcpStream, Transport), ConnectionError> {
    let timeout = shared.config.handshake_timeout;
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let ephemeral = SecretKey::new(&mut rand::thread_rng());
        let initiator = Initiator::new(&shared.secp, shared.secret, node_id, ephemeral);
        let (act1, state) = initiator.act_one();
        stream.write_all(&act1).await?;
        let mut act2 = [0u8; ACT_TWO_LEN];
        stream.read_exact(&mut act2).await?;
        let (act3, transport) = state.read_act_two(&act2)?;
        stream.write_all(&act3).await?;
        Ok((stream, transport))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnectionError::HandshakeTimeout(timeout))?
}

/// Answers an inbound BOLT 8 handshake within the handshake timeout; returns the transport and
/// the initiator's node id.
pub(crate) async fn accept(
    shared: &Shared,
    stream: &mut TcpStream,
) -> Result<(Transport, PublicKey), ConnectionError> {
    let timeout = shared.config.handshake_timeout;
    let attempt = async {
        stream.set_nodelay(true)?;
        let mut act1 = [0u8; ACT_ONE_LEN];
        stream.read_exact(&mut act1).await?;
        let ephemeral = SecretKey::new(&mut rand::thread_rng());
        let responder = Responder::new(&shared.secp, shared.secret, ephemeral);
        let (act2, state) = responder.read_act_one(&act1)?;
        stream.write_all(&act2).await?;
        let mut act3 = [0u8; ACT_THREE_LEN];
        stream.read_exact(&mut act3).await?;
        Ok(state.read_act_three(&act3)?)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnectionError::HandshakeTimeout(timeout))?
}

/// Runs an authenticated connection until it ends. Returns whether the peer got as far as
/// exchanging `init` (the dialler uses this to reset its backoff), and why it ended.
pub(crate) async fn run(
    shared: &Shared,
    stream: TcpStream,
    transport: Transport,
    node_id: PublicKey,
    inbound: bool,
) -> (bool, ConnectionError) {
    let addr = match stream.peer_addr() {
        Ok(addr) => addr,
        Err(e) => return (false, e.into()),
    };
    let conn_id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
    let (read_half, write_half) = stream.into_split();
    let (encryptor, decryptor) = transport.split();
    let (incoming_tx, incoming) = mpsc::channel(8);
    let reader = tokio::spawn(read_messages(read_half, decryptor, incoming_tx));
    let mut conn = Connection {
        shared,
        node_id,
        addr,
        inbound,
        conn_id,
        writer: write_half,
        encryptor,
        wire: Vec::new(),
        ready: false,
    };
    let reason = conn.drive(incoming).await;
    reader.abort();
    if conn.ready {
        shared.manager.unregister(node_id, conn_id);
    }
    (conn.ready, reason)
}

/// Reads `header || body` frames until the socket or the decryption fails.
async fn read_messages(
    mut reader: OwnedReadHalf,
    mut decryptor: Decryptor,
    out: mpsc::Sender<Result<Vec<u8>, ConnectionError>>,
) {
    let result = async {
        loop {
            let mut header = [0u8; LENGTH_HEADER_LEN];
            reader.read_exact(&mut header).await?;
            let len = decryptor.decrypt_length(&header)?;
            let mut body = vec![0u8; usize::from(len) + MAC_LEN];
            reader.read_exact(&mut body).await?;
            let plain_len = decryptor.decrypt_body(&mut body)?.len();
            body.truncate(plain_len);
            if out.send(Ok(body)).await.is_err() {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(e) = result {
        let _ = out.send(Err(e)).await;
    }
}

struct Connection<'a> {
    shared: &'a Shared,
    node_id: PublicKey,
    addr: SocketAddr,
    inbound: bool,
    conn_id: u64,
    writer: OwnedWriteHalf,
    encryptor: Encryptor,
    wire: Vec<u8>,
    ready: bool,
}

impl Connection<'_> {
    async fn drive(
        &mut self,
        mut incoming: mpsc::Receiver<Result<Vec<u8>, ConnectionError>>,
    ) -> ConnectionError {
        let mut shutdown = self.shared.shutdown.clone();
        // Our end of the queue other tasks use to send to this peer; handed to the peer
        // manager once `init` has been exchanged (BOLT 1: nothing else before `init`).
        let (outgoing_tx, mut outgoing) = mpsc::channel::<Message>(64);
        let mut outgoing_tx = Some(outgoing_tx);
        // BOLT 1: the receiver of a connection SHOULD tell the peer the address it sees.
        let remote_addr = if self.inbound { remote_addr_for(self.addr) } else { None };
        let (mut session, actions) = Session::new(self.shared.session.clone(), remote_addr, now());
        if let Err(e) = self.apply(actions, &mut outgoing_tx).await {
            return e;
        }
        loop {
            let deadline = session.next_deadline().map(Instant::from_std);
            let actions = tokio::select! {
                frame = incoming.recv() => match frame {
                    Some(Ok(bytes)) => session.handle_message(&bytes, now()),
                    Some(Err(e)) => return e,
                    None => return ConnectionError::Shutdown,
                },
                message = outgoing.recv(), if outgoing_tx.is_none() => match message {
                    Some(message) => vec![Action::Send(message)],
                    None => return ConnectionError::Replaced,
                },
                () = sleep_until_opt(deadline) => session.tick(now()),
                _ = shutdown.changed() => return ConnectionError::Shutdown,
            };
            if let Err(e) = self.apply(actions, &mut outgoing_tx).await {
                return e;
            }
        }
    }

    async fn apply(
        &mut self,
        actions: Vec<Action>,
        outgoing_tx: &mut Option<mpsc::Sender<Message>>,
    ) -> Result<(), ConnectionError> {
        for action in actions {
            match action {
                Action::Send(message) => self.send(&message).await?,
                Action::Ready(features) => {
                    self.ready = true;
                    let info = PeerInfo {
                        node_id: self.node_id,
                        addr: self.addr,
                        inbound: self.inbound,
                        features: features.remote,
                        negotiated: features.negotiated,
                    };
                    tracing::info!(peer = %self.node_id, addr = %self.addr, inbound = self.inbound,
                        "peer connected");
                    if let Some(tx) = outgoing_tx.take() {
                        self.shared.manager.register(self.conn_id, tx, info);
                    }
                }
                Action::Deliver(message) => {
                    if !self.shared.manager.deliver(self.node_id, self.conn_id, message) {
                        // Dropped or replaced: this connection is over.
                        return Err(ConnectionError::Replaced);
                    }
                }
                Action::Disconnect(reason) => {
                    // Flush what was sent (e.g. a `warning`) before the socket is dropped.
                    let _ = self.writer.shutdown().await;
                    return Err(reason.into());
                }
            }
        }
        Ok(())
    }

    async fn send(&mut self, message: &Message) -> Result<(), ConnectionError> {
        self.wire.clear();
        self.encryptor.encrypt(&message.encode(), &mut self.wire)?;
        // A peer that stops reading would otherwise stall this task, and with it everyone
        // queueing messages for it; treat it like a peer that stops answering pings.
        let limit = self.shared.config.pong_timeout;
        tokio::time::timeout(limit, self.writer.write_all(&self.wire))
            .await
            .map_err(|_| ConnectionError::WriteTimeout(limit))??;
        Ok(())
    }
}

fn now() -> std::time::Instant {
    std::time::Instant::now()
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
