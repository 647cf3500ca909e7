//! What a node needs to start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use shandian_types::Features;

/// Everything [`crate::Node::start`] needs. Build it with [`NodeConfig::new`] and adjust the
/// public fields; the timing fields have production defaults that tests shorten.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The chain: sets the `networks` we advertise and accept in `init`.
    pub network: Network,
    /// Where the node keeps its secret (and, later, its database). Created if missing.
    pub data_dir: PathBuf,
    /// Where to accept BOLT 8 connections; port 0 picks a free port
    /// (see [`crate::NodeHandle::listen_addr`]).
    pub listen: SocketAddr,
    /// Peers to dial at start-up and keep reconnected: `(node id, address)`.
    pub connect: Vec<(PublicKey, SocketAddr)>,
    /// Features advertised in `init`.
    pub features: Features,
    /// Time allowed for the TCP connect, the BOLT 8 handshake and the peer's `init`.
    pub handshake_timeout: Duration,
    /// How often a quiet peer is pinged.
    pub ping_interval: Duration,
    /// How long a `ping` may go unanswered before the peer is dropped.
    pub pong_timeout: Duration,
    /// First delay before redialling a `connect` peer; doubled after each failure.
    pub reconnect_min: Duration,
    /// Upper bound of the redial delay.
    pub reconnect_max: Duration,
}

impl NodeConfig {
    /// A configuration with the default features and timings.
    pub fn new(network: Network, data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        NodeConfig {
            network,
            data_dir: data_dir.into(),
            listen,
            connect: Vec::new(),
            features: crate::init::default_features(),
            handshake_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(60),
            pong_timeout: Duration::from_secs(30),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(300),
        }
    }
}

/// Parses `NODEID@HOST:PORT` as `--connect` takes it. `HOST` may be a name; it is resolved
/// here, once, to its first address.
pub fn parse_peer_address(s: &str) -> Result<(PublicKey, SocketAddr), crate::Error> {
    use std::net::ToSocketAddrs;
    let bad = || crate::Error::BadPeerAddress(s.to_owned());
    let (id, addr) = s.split_once('@').ok_or_else(bad)?;
    let id: PublicKey = id.parse().map_err(|_| bad())?;
    let addr = addr.to_socket_addrs().map_err(|_| bad())?.next().ok_or_else(bad)?;
    Ok((id, addr))
}

/// BOLT 1's default port for a network: 9735 on mainnet, 19735 on testnet, 39735 on signet.
/// BOLT 1 names none for regtest; 9735 is what other implementations use there too.
pub fn default_port(network: Network) -> u16 {
    match network {
        Network::Testnet | Network::Testnet4 => 19735,
        Network::Signet => 39735,
        _ => 9735,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_address_parses_and_rejects() {
        let id = "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27";
        let (pk, addr) = parse_peer_address(&format!("{id}@127.0.0.1:9735")).unwrap();
        assert_eq!(pk.to_string(), id);
        assert_eq!(addr, "127.0.0.1:9735".parse().unwrap());
        for bad in [id, "02@127.0.0.1:1", &format!("{id}@127.0.0.1"), &format!("{id}@:x")] {
            assert!(parse_peer_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_ports_follow_bolt1() {
        assert_eq!(default_port(Network::Bitcoin), 9735);
        assert_eq!(default_port(Network::Testnet), 19735);
        assert_eq!(default_port(Network::Signet), 39735);
    }
}
