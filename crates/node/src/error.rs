//! The node crate's error type.

use std::path::PathBuf;

/// Errors from starting the node or talking to its peers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory could not be created or read.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The node secret file could not be read or written.
    #[error("node secret {path}: {source}")]
    SecretIo {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The node secret file exists but does not hold a valid 32-byte secp256k1 secret key.
    #[error("node secret {0} is corrupt (must be 32 bytes, a valid secp256k1 key)")]
    SecretCorrupt(PathBuf),
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A `NODEID@HOST:PORT` string did not parse or resolve.
    #[error("bad peer address {0:?}: expected NODEID@HOST:PORT")]
    BadPeerAddress(String),
    /// No connected peer has this node id.
    #[error("peer {0} is not connected")]
    PeerNotConnected(bitcoin::secp256k1::PublicKey),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    ShuttingDown,
}
