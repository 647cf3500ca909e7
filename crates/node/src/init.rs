//! Building our `init` and judging the peer's (BOLT 1 and BOLT 9).

use bitcoin::constants::ChainHash;
use shandian_types::Features;
use shandian_wire::Init;

/// The features a node advertises unless configured otherwise: the BOLT 9 features marked
/// ASSUMED (`option_data_loss_protect`, `var_onion_optin`, `option_static_remotekey`,
/// `payment_secret`, `option_channel_type`), as optional bits. Every current implementation
/// sets (and many require) them, so knowing them is what lets us peer with anyone.
pub fn default_features() -> Features {
    Features::from_bits([1, 9, 13, 15, 45])
}

/// Why a peer's `init` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// BOLT 1/9: the peer requires (sets the even bit of) a feature we do not know.
    #[error("peer requires unknown feature bit {0}")]
    UnknownRequiredFeature(usize),
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

/// Checks the peer's `init` against our features and chain and returns its combined features.
pub fn check_remote_init(
    init: &Init,
    local: &Features,
    chain: ChainHash,
) -> Result<Features, InitError> {
    // BOLT 1: MUST combine (bitwise OR) the two feature bitmaps into one logical map.
    let features = init.combined_features();
    // BOLT 1: upon receiving unknown even feature bits that are non-zero: MUST close the
    // connection. A feature is known to us if we advertise either bit of its pair.
    if let Some(bit) =
        features.bits().find(|&bit| bit % 2 == 0 && !local.is_set(bit) && !local.is_set(bit + 1))
    {
        return Err(InitError::UnknownRequiredFeature(bit));
    }
    // BOLT 1: upon receiving `networks` containing no common chains: MAY close the connection.
    if let Some(networks) = &init.networks {
        if !networks.contains(&chain) {
            return Err(InitError::NoCommonChain);
        }
    }
    Ok(features)
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
        assert!(got.is_set(8) && got.is_set(101));
    }

    #[test]
    fn refuses_unknown_required_even_in_global_features() {
        let mut init = Init::new(Features::new());
        init.global_features = Features::from_bits([10]);
        assert_eq!(
            check_remote_init(&init, &default_features(), regtest()),
            Err(InitError::UnknownRequiredFeature(10))
        );
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
