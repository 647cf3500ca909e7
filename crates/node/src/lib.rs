//! The running Shandian node on tokio: peer connections now, and (as they land) channels,
//! payments, persistence and the HTTP/JSON API.
//!
//! A message's path: the connection task reads an 18-byte header and a body from the socket,
//! decrypts them with `shandian-noise`, and passes the plaintext to the peer's sans-IO
//! [`Session`], which answers `ping`s, enforces `init` and the odd/even rule, and returns
//! [`Action`]s: send this, deliver that to the [`MessageHandler`], disconnect. Anything the
//! application sends goes through [`NodeHandle::send`] into the peer's queue, and is encrypted
//! and written by the same connection task.
//!
//! ```no_run
//! # async fn example() -> Result<(), shandian_node::Error> {
//! use shandian_node::{Node, NodeConfig};
//! let config = NodeConfig::new(bitcoin::Network::Regtest, "/tmp/node", "127.0.0.1:9735".parse().unwrap());
//! let node = Node::start(config).await?;
//! println!("{} on {}", node.node_id(), node.listen_addr());
//! node.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod channels;
mod config;
mod connection;
pub mod daemon;
mod error;
mod init;
mod manager;
mod node;
pub mod onchain;
pub mod payments;
mod secret;
mod session;
pub mod store;
pub mod switch;

pub use config::{default_port, parse_peer_address, ChannelsConfig, NodeConfig};
pub use connection::ConnectionError;
pub use error::Error;
pub use init::{
    check_remote_init, default_features, local_init, remote_addr_for, InitError, InitFeatures,
};
pub use manager::{LoggingHandler, MessageHandler, PeerEvent, PeerInfo};
pub use node::{run, Node, NodeHandle};
pub use secret::SECRET_FILE;
pub use session::{Action, DisconnectReason, Session, SessionConfig};
