//! What a node needs to start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use shandian_types::{CltvExpiryDelta, Features, Msat};

use crate::switch::RelayPolicy;

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
    /// Channel limits and our forwarding fees.
    pub channels: ChannelsConfig,
}

/// What channels we open and accept, and what we charge to forward over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsConfig {
    /// The smallest channel we open or accept.
    pub min_channel_size: bitcoin::Amount,
    /// The largest channel we open or accept (BOLT 2: above 2^24 - 1 sat needs
    /// `option_support_large_channel`, which we do not negotiate).
    pub max_channel_size: bitcoin::Amount,
    /// How many channels a peer may have in the middle of opening with us at once.
    pub max_pending_opens_per_peer: usize,
    /// The confirmations we require before a channel a peer opened is ready.
    pub minimum_depth: u32,
    /// The `to_self_delay` we impose on peers (blocks their funds wait after a force close).
    pub to_self_delay: u16,
    /// Our `max_accepted_htlcs`.
    pub max_accepted_htlcs: u16,
    /// The reserve we require of peers, per mille of the capacity.
    pub reserve_permille: u16,
    /// Our `dust_limit_satoshis`.
    pub dust_limit: bitcoin::Amount,
    /// The smallest HTLC we accept.
    pub htlc_minimum: Msat,
    /// The most trimmed-HTLC value we risk per commitment.
    pub max_dust_exposure: Msat,
    /// What we charge to forward out over each channel (`htlc_maximum` is capped at each
    /// channel's capacity).
    pub relay: RelayPolicy,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig {
            min_channel_size: bitcoin::Amount::from_sat(20_000),
            max_channel_size: bitcoin::Amount::from_sat((1 << 24) - 1),
            max_pending_opens_per_peer: 2,
            minimum_depth: 3,
            to_self_delay: 144,
            max_accepted_htlcs: 483,
            reserve_permille: 10,
            dust_limit: bitcoin::Amount::from_sat(546),
            htlc_minimum: Msat(1),
            max_dust_exposure: Msat(5_000_000),
            relay: RelayPolicy {
                base_fee: Msat(1000),
                proportional_millionths: 1,
                cltv_expiry_delta: CltvExpiryDelta(40),
                htlc_minimum: Msat(1),
                htlc_maximum: Msat(u64::MAX),
            },
        }
    }
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
            channels: ChannelsConfig::default(),
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
