//! The sans-IO core of one peer connection after the BOLT 8 handshake: BOLT 1 `init`, `ping`
//! and `pong`, and the odd/even rule. Decrypted messages and clock ticks go in; [`Action`]s
//! come out. It never touches a socket or reads a clock, so every rule here is unit-tested
//! with made-up time.
//!
//! Call contract: `Session::new` once (send the actions it returns), then
//! [`Session::handle_message`] for every decrypted message and [`Session::tick`] no later than
//! [`Session::next_deadline`]. After an [`Action::Disconnect`] the session is closed for good
//! and returns no further actions.

use std::time::{Duration, Instant};

use bitcoin::constants::ChainHash;
use shandian_types::{ChannelId, Features};
use shandian_wire::{DecodeError, Init, Message, NetAddress, Ping, Warning};

use crate::init::{check_remote_init, local_init, InitError, InitFeatures};

/// Timing and identity settings shared by every session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The features we advertise in `init`.
    pub features: Features,
    /// The chain we are on, advertised in `init`'s `networks` and required of the peer.
    pub chain: ChainHash,
    /// How long the peer may take to send `init`.
    pub init_timeout: Duration,
    /// How often we ping an otherwise quiet peer.
    pub ping_interval: Duration,
    /// How long we wait for the `pong` before dropping the peer.
    pub pong_timeout: Duration,
}

/// What the owner of the socket must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Encrypt and send this message.
    Send(Message),
    /// `init` has been exchanged: the peer is ready, with these features.
    Ready(InitFeatures),
    /// Hand this message to the application (channels, gossip, ...).
    Deliver(Message),
    /// Close the connection (after sending any `Send` returned before this).
    Disconnect(DisconnectReason),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisconnectReason {
    /// The peer's `init` is unacceptable.
    #[error("unacceptable init: {0}")]
    Init(#[from] InitError),
    /// The peer did not send `init` in time.
    #[error("no init within {0:?}")]
    InitTimeout(Duration),
    /// The peer sent another message before `init` (BOLT 1: `init` MUST come first).
    #[error("message type {0} before init")]
    MessageBeforeInit(u16),
    /// The peer sent a second `init`.
    #[error("duplicate init")]
    DuplicateInit,
    /// BOLT 1: a message of even, unknown type: MUST close the connection.
    #[error("unknown even message type {0}")]
    UnknownEvenMessage(u16),
    /// BOLT 1: a known message that does not parse: MUST close the connection.
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
    /// The peer did not answer our `ping` in time (BOLT 1: MAY close the connection).
    #[error("no pong within {0:?}")]
    PongTimeout(Duration),
}

/// A `ping` we sent and whose `pong` we await.
#[derive(Debug)]
struct PendingPing {
    num_pong_bytes: u16,
    deadline: Instant,
}

/// The peer has not sent `init` yet.
#[derive(Debug)]
struct AwaitingInit {
    deadline: Instant,
}

/// `init` exchanged: the connection carries application messages.
#[derive(Debug)]
struct Active {
    next_ping: Instant,
    pending_ping: Option<PendingPing>,
}

#[derive(Debug)]
enum Phase {
    AwaitingInit(AwaitingInit),
    Active(Active),
    Closed,
}

/// One peer's BOLT 1 state machine.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    phase: Phase,
}

/// The `pong` length we ask for; small, and distinct from zero so a stray empty `pong` is
/// recognisable.
const PING_PONG_BYTES: u16 = 4;

impl Session {
    /// A new session; the returned actions send our `init` (BOLT 1: MUST be the first message).
    /// `remote_addr` is what we tell the peer its address is (see
    /// [`crate::remote_addr_for`]; `None` for outbound connections).
    pub fn new(
        config: SessionConfig,
        remote_addr: Option<NetAddress>,
        now: Instant,
    ) -> (Session, Vec<Action>) {
        let mut init = local_init(&config.features, config.chain);
        init.remote_addr = remote_addr;
        let phase = Phase::AwaitingInit(AwaitingInit { deadline: now + config.init_timeout });
        (Session { config, phase }, vec![Action::Send(Message::Init(init))])
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// When [`Session::tick`] must next be called, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::AwaitingInit(p) => Some(p.deadline),
            Phase::Active(a) => Some(match &a.pending_ping {
                Some(ping) => ping.deadline.min(a.next_ping),
                None => a.next_ping,
            }),
            Phase::Closed => None,
        }
    }

    /// One decrypted message (2-byte type and payload) from the peer.
    pub fn handle_message(&mut self, bytes: &[u8], now: Instant) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        match Message::decode(bytes) {
            Ok(message) => self.handle_decoded(message, now),
            Err(DecodeError::UnknownEvenMessage(t)) => {
                self.fail(DisconnectReason::UnknownEvenMessage(t))
            }
            Err(e) => self.fail(DisconnectReason::Malformed(e)),
        }
    }

    /// Time has passed: send a due `ping`, or give up on a late `init` or `pong`.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        match &mut self.phase {
            Phase::AwaitingInit(p) if now >= p.deadline => {
                let timeout = self.config.init_timeout;
                self.close(DisconnectReason::InitTimeout(timeout))
            }
            Phase::Active(a) => {
                if a.pending_ping.as_ref().is_some_and(|p| now >= p.deadline) {
                    let timeout = self.config.pong_timeout;
                    return self.close(DisconnectReason::PongTimeout(timeout));
                }
                if now < a.next_ping || a.pending_ping.is_some() {
                    return Vec::new();
                }
                a.next_ping = now + self.config.ping_interval;
                a.pending_ping = Some(PendingPing {
                    num_pong_bytes: PING_PONG_BYTES,
                    deadline: now + self.config.pong_timeout,
                });
                vec![Action::Send(Message::Ping(Ping {
                    num_pong_bytes: PING_PONG_BYTES,
                    ignored: Vec::new(),
                }))]
            }
            _ => Vec::new(),
        }
    }

    fn handle_decoded(&mut self, message: Message, now: Instant) -> Vec<Action> {
        match (&mut self.phase, message) {
            (Phase::Closed, _) => Vec::new(),
            (Phase::AwaitingInit(_), Message::Init(init)) => self.accept_init(&init, now),
            (Phase::AwaitingInit(_), other) => {
                self.fail(DisconnectReason::MessageBeforeInit(other.msg_type()))
            }
            (Phase::Active(_), Message::Init(_)) => self.fail(DisconnectReason::DuplicateInit),
            // BOLT 1: if num_pong_bytes < 65532 MUST respond with a pong of that length,
            // otherwise MUST ignore the ping.
            (Phase::Active(_), Message::Ping(ping)) => {
                ping.reply().map(|pong| Action::Send(Message::Pong(pong))).into_iter().collect()
            }
            (Phase::Active(a), Message::Pong(pong)) => {
                // BOLT 1: a pong matching no ping MAY close the connection; we ignore it.
                if a.pending_ping
                    .as_ref()
                    .is_some_and(|p| usize::from(p.num_pong_bytes) == pong.ignored.len())
                {
                    a.pending_ping = None;
                }
                Vec::new()
            }
            // BOLT 1: upon receiving a message of odd, unknown type: MUST ignore it.
            (Phase::Active(_), Message::UnknownOdd { .. }) => Vec::new(),
            (Phase::Active(_), other) => vec![Action::Deliver(other)],
        }
    }

    fn accept_init(&mut self, init: &Init, now: Instant) -> Vec<Action> {
        match check_remote_init(init, &self.config.features, self.config.chain) {
            Ok(features) => {
                self.phase = Phase::Active(Active {
                    next_ping: now + self.config.ping_interval,
                    pending_ping: None,
                });
                vec![Action::Ready(features)]
            }
            Err(e) => self.fail(DisconnectReason::Init(e)),
        }
    }

    /// A protocol violation: tell the peer why in a `warning` (connection-level, all-zero
    /// channel id, which fails no channel), then close.
    fn fail(&mut self, reason: DisconnectReason) -> Vec<Action> {
        let warning =
            Warning { channel_id: ChannelId([0; 32]), data: reason.to_string().into_bytes() };
        let mut actions = vec![Action::Send(Message::Warning(warning))];
        actions.extend(self.close(reason));
        actions
    }

    fn close(&mut self, reason: DisconnectReason) -> Vec<Action> {
        self.phase = Phase::Closed;
        vec![Action::Disconnect(reason)]
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
