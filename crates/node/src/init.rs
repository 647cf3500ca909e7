//! Building our `init` and judging the peer's (BOLT 1 and BOLT 9).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bitcoin::constants::ChainHash;
use shandian_types::Features;
use shandian_wire::features::bits;
use shandian_wire::{negotiate, FeatureError, FeaturesExt, Init, NetAddress};

/// The features a node advertises unless configured otherwise: the BOLT 9 features marked
/// ASSUMED (`option_data_loss_protect`, `var_onion_optin`, `option_static_remotekey`,
/// `payment_secret`, `option_channel_type`), as optional bits. Every current implementation
/// sets (and many require) them, so knowing them is what lets us peer with anyone.
pub fn default_features() -> Features {
    let mut features = Features::new();
    for even in [
        bits::OPTION_DATA_LOSS_PROTECT,
        bits::VAR_ONION_OPTIN,
        bits::OPTION_STATIC_REMOTEKEY,
        bits::PAYMENT_SECRET,
        bits::OPTION_CHANNEL_TYPE,
    ] {
        features.set_optional(even);
    }
    features
}

/// A peer's accepted `init`, as far as features go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFeatures {
    /// The peer's `features | globalfeatures`.
    pub remote: Features,
    /// What both sides agreed on (BOLT 1/9 negotiation, `shandian_wire::negotiate`).
    pub negotiated: Features,
}

/// Why a peer's `init` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// BOLT 1/9: the peer requires a feature we do not offer, or its vector lacks a
    /// dependency.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// BOLT 1: `networks` contains no chain we are on.
    #[error("no common chain in networks")]
    NoCommonChain,
}

/// Our `init`: our features, and `networks` naming our one chain (BOLT 1: SHOULD set
/// `networks` to all chains it will gossip or open channels for).
pub fn local_init(features: &Features, chain: ChainHash) -> Init {
    let mut init = Init::new(features.clone());
    init.networks = Some(vec![chain]);
    init
}

/// The `remote_addr` to put in our `init` for an inbound connection from `peer`: BOLT 1 says
/// the receiver SHOULD set it (so a node behind NAT learns its public address) and SHOULD NOT
/// set a private address, so loopback, private, link-local and similar ranges give `None`.
pub fn remote_addr_for(peer: SocketAddr) -> Option<NetAddress> {
    let port = peer.port();
    match peer.ip() {
        IpAddr::V4(addr) => public_v4(addr).then_some(NetAddress::Ipv4 { addr, port }),
        IpAddr::V6(addr) => match addr.to_ipv4_mapped() {
            Some(v4) => public_v4(v4).then_some(NetAddress::Ipv4 { addr: v4, port }),
            None => public_v6(addr).then_some(NetAddress::Ipv6 { addr, port }),
        },
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [first, second, ..] = a.octets();
    // 100.64.0.0/10 is carrier-grade NAT space.
    let shared = first == 100 && (64..128).contains(&second);
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_documentation()
        || shared)
}

fn public_v6(a: Ipv6Addr) -> bool {
    let first = a.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    !(a.is_loopback() || a.is_unspecified() || unique_local || link_local)
}

/// Checks the peer's `init` against our features and chain.
pub fn check_remote_init(
    init: &Init,
    local: &Features,
    chain: ChainHash,
) -> Result<InitFeatures, InitError> {
    // BOLT 1: MUST combine (bitwise OR) the two feature bitmaps into one logical map.
    let remote = init.combined_features();
    // BOLT 1: upon receiving unknown even feature bits that are non-zero, or a vector that
    // does not set all known transitive dependencies: MUST close the connection. A required
    // feature we do not offer is unknown to us.
    let negotiated = negotiate(local, &remote)?;
    // BOLT 1: upon receiving `networks` containing no common chains: MAY close the connection.
    if let Some(networks) = &init.networks {
        if !networks.contains(&chain) {
            return Err(InitError::NoCommonChain);
        }
    }
    Ok(InitFeatures { remote, negotiated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::Network;

    fn regtest() -> ChainHash {
        ChainHash::using_genesis_block(Network::Regtest)
    }

    #[test]
    fn accepts_optional_unknown_and_required_known() {
        let ours = default_features();
        let init = local_init(&Features::from_bits([8, 13, 101]), regtest());
        let got = check_remote_init(&init, &ours, regtest()).unwrap();
        assert!(got.remote.is_set(8) && got.remote.is_set(101));
        // var_onion_optin: they require it, we offer it; static_remotekey: both optional.
        assert!(got.negotiated.is_set(8) && got.negotiated.is_set(13));
        assert!(!got.negotiated.is_set(101) && !got.negotiated.is_set(1));
    }

    #[test]
    fn refuses_unknown_required_even_in_global_features() {
        let mut init = Init::new(Features::new());
        init.global_features = Features::from_bits([10]);
        assert!(matches!(
            check_remote_init(&init, &default_features(), regtest()),
            Err(InitError::Features(FeatureError::RemoteRequires { bit: 10, .. }))
        ));
    }

    #[test]
    fn remote_addr_only_for_public_addresses() {
        let v4 = |s: &str| remote_addr_for(s.parse().unwrap());
        assert_eq!(
            v4("8.8.8.8:9735"),
            Some(NetAddress::Ipv4 { addr: Ipv4Addr::new(8, 8, 8, 8), port: 9735 })
        );
        assert_eq!(
            v4("[::ffff:1.2.3.4]:1"),
            Some(NetAddress::Ipv4 { addr: Ipv4Addr::new(1, 2, 3, 4), port: 1 })
        );
        assert!(matches!(v4("[2001:4860::1]:2"), Some(NetAddress::Ipv6 { port: 2, .. })));
        for private in [
            "127.0.0.1:1",
            "10.1.2.3:1",
            "192.168.0.1:1",
            "172.16.0.1:1",
            "169.254.1.1:1",
            "100.64.0.1:1",
            "0.0.0.0:1",
            "[::1]:1",
            "[fd00::1]:1",
            "[fe80::1]:1",
            "[::ffff:10.0.0.1]:1",
        ] {
            assert_eq!(v4(private), None, "{private}");
        }
    }

    #[test]
    fn refuses_missing_dependency() {
        // basic_mpp (17) without payment_secret.
        let init = local_init(&Features::from_bits([9, 17]), regtest());
        assert!(matches!(
            check_remote_init(&init, &default_features(), regtest()),
            Err(InitError::Features(FeatureError::MissingDependency { .. }))
        ));
    }

    #[test]
    fn networks_must_include_our_chain_when_present() {
        let ours = default_features();
        let mut init = local_init(&ours, ChainHash::using_genesis_block(Network::Bitcoin));
        assert_eq!(check_remote_init(&init, &ours, regtest()), Err(InitError::NoCommonChain));
        init.networks = None;
        assert!(check_remote_init(&init, &ours, regtest()).is_ok());
        init.networks = Some(vec![ChainHash::using_genesis_block(Network::Bitcoin), regtest()]);
        assert!(check_remote_init(&init, &ours, regtest()).is_ok());
    }
}
