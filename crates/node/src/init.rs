//! Building our `init` and judging the peer's (BOLT 1 and BOLT 9).

use bitcoin::constants::ChainHash;
use shandian_types::Features;
use shandian_wire::features::bits;
use shandian_wire::{negotiate, FeatureError, FeaturesExt, Init};

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
