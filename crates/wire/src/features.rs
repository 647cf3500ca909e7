//! BOLT 9 feature bits: names, contexts, the dependency table, unknown-required reporting and
//! the negotiation of two `init`s, on top of [`shandian_types::Features`].
//!
//! Features come in pairs: the even bit means "required", the odd bit "optional". Constants in
//! [`bits`] name the even bit of each pair.

use shandian_types::Features;
use thiserror::Error;

/// The even ("required") bit of each named feature pair.
pub mod bits {
    /// `option_data_loss_protect` (0/1), ASSUMED.
    pub const OPTION_DATA_LOSS_PROTECT: usize = 0;
    /// `initial_routing_sync` (odd bit 3 only; the even bit 2 was never assigned). Legacy.
    pub const INITIAL_ROUTING_SYNC: usize = 2;
    /// `option_upfront_shutdown_script` (4/5).
    pub const OPTION_UPFRONT_SHUTDOWN_SCRIPT: usize = 4;
    /// `gossip_queries` (6/7): the peer has useful gossip to share.
    pub const GOSSIP_QUERIES: usize = 6;
    /// `var_onion_optin` (8/9), ASSUMED.
    pub const VAR_ONION_OPTIN: usize = 8;
    /// `gossip_queries_ex` (10/11).
    pub const GOSSIP_QUERIES_EX: usize = 10;
    /// `option_static_remotekey` (12/13), ASSUMED.
    pub const OPTION_STATIC_REMOTEKEY: usize = 12;
    /// `payment_secret` (14/15), ASSUMED.
    pub const PAYMENT_SECRET: usize = 14;
    /// `basic_mpp` (16/17).
    pub const BASIC_MPP: usize = 16;
    /// `option_support_large_channel` (18/19).
    pub const OPTION_SUPPORT_LARGE_CHANNEL: usize = 18;
    /// `option_anchors` (22/23): anchors with zero-fee HTLC transactions
    /// (`option_anchors_zero_fee_htlc_tx`).
    pub const OPTION_ANCHORS_ZERO_FEE_HTLC_TX: usize = 22;
    /// `option_route_blinding` (24/25).
    pub const OPTION_ROUTE_BLINDING: usize = 24;
    /// `option_shutdown_anysegwit` (26/27).
    pub const OPTION_SHUTDOWN_ANYSEGWIT: usize = 26;
    /// `option_dual_fund` (28/29).
    pub const OPTION_DUAL_FUND: usize = 28;
    /// `option_quiesce` (34/35).
    pub const OPTION_QUIESCE: usize = 34;
    /// `option_attribution_data` (36/37).
    pub const OPTION_ATTRIBUTION_DATA: usize = 36;
    /// `option_onion_messages` (38/39).
    pub const OPTION_ONION_MESSAGES: usize = 38;
    /// `option_provide_storage` (42/43).
    pub const OPTION_PROVIDE_STORAGE: usize = 42;
    /// `option_channel_type` (44/45), ASSUMED.
    pub const OPTION_CHANNEL_TYPE: usize = 44;
    /// `option_scid_alias` (46/47).
    pub const OPTION_SCID_ALIAS: usize = 46;
    /// `option_payment_metadata` (48/49).
    pub const OPTION_PAYMENT_METADATA: usize = 48;
    /// `option_zeroconf` (50/51).
    pub const OPTION_ZEROCONF: usize = 50;
    /// `option_simple_close` (60/61).
    pub const OPTION_SIMPLE_CLOSE: usize = 60;
    /// `option_splice` (62/63).
    pub const OPTION_SPLICE: usize = 62;
}

/// Where a feature may be presented (BOLT 9 "Context" column), as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Contexts(u8);

impl Contexts {
    /// `I`: the `init` message.
    pub const INIT: Contexts = Contexts(1);
    /// `N`: `node_announcement`.
    pub const NODE: Contexts = Contexts(2);
    /// `C`: `channel_announcement`.
    pub const CHANNEL: Contexts = Contexts(4);
    /// `9`: BOLT 11 invoices.
    pub const INVOICE: Contexts = Contexts(8);
    /// `B`: a blinded path's `allowed_features`.
    pub const BLINDED_PATH: Contexts = Contexts(16);
    /// `T`: `channel_type` when opening channels.
    pub const CHANNEL_TYPE: Contexts = Contexts(32);

    const fn with(self, other: Contexts) -> Contexts {
        Contexts(self.0 | other.0)
    }

    /// Whether every context in `other` is in `self`.
    pub fn contains(self, other: Contexts) -> bool {
        self.0 & other.0 == other.0
    }
}

const I: Contexts = Contexts::INIT;
const IN: Contexts = I.with(Contexts::NODE);
const IN9: Contexts = IN.with(Contexts::INVOICE);
const INT: Contexts = IN.with(Contexts::CHANNEL_TYPE);

/// One row of the BOLT 9 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureInfo {
    /// The spec's name.
    pub name: &'static str,
    /// The even bit of the pair.
    pub even_bit: usize,
    /// Where it may appear. ASSUMED features have no context in the current table; we use the
    /// contexts of the revision that assigned them, because every implementation still sets
    /// them in `init` and many require them.
    pub contexts: Contexts,
    /// Even bits of the features it depends on ("Dependencies" column).
    pub requires: &'static [usize],
}

const fn row(
    name: &'static str,
    even_bit: usize,
    contexts: Contexts,
    requires: &'static [usize],
) -> FeatureInfo {
    FeatureInfo { name, even_bit, contexts, requires }
}

/// Every feature this crate knows, in bit order.
pub const KNOWN_FEATURES: &[FeatureInfo] = &[
    row("option_data_loss_protect", bits::OPTION_DATA_LOSS_PROTECT, IN, &[]),
    row("initial_routing_sync", bits::INITIAL_ROUTING_SYNC, I, &[]),
    row("option_upfront_shutdown_script", bits::OPTION_UPFRONT_SHUTDOWN_SCRIPT, IN, &[]),
    row("gossip_queries", bits::GOSSIP_QUERIES, IN, &[]),
    row("var_onion_optin", bits::VAR_ONION_OPTIN, IN9, &[]),
    row("gossip_queries_ex", bits::GOSSIP_QUERIES_EX, IN, &[]),
    row("option_static_remotekey", bits::OPTION_STATIC_REMOTEKEY, INT, &[]),
    row("payment_secret", bits::PAYMENT_SECRET, IN9, &[]),
    row("basic_mpp", bits::BASIC_MPP, IN9, &[bits::PAYMENT_SECRET]),
    row("option_support_large_channel", bits::OPTION_SUPPORT_LARGE_CHANNEL, IN, &[]),
    row("option_anchors", bits::OPTION_ANCHORS_ZERO_FEE_HTLC_TX, INT, &[]),
    row("option_route_blinding", bits::OPTION_ROUTE_BLINDING, IN9, &[]),
    row("option_shutdown_anysegwit", bits::OPTION_SHUTDOWN_ANYSEGWIT, IN, &[]),
    row("option_dual_fund", bits::OPTION_DUAL_FUND, IN, &[]),
    row("option_quiesce", bits::OPTION_QUIESCE, IN, &[]),
    row("option_attribution_data", bits::OPTION_ATTRIBUTION_DATA, IN9, &[]),
    row("option_onion_messages", bits::OPTION_ONION_MESSAGES, IN, &[]),
    row("option_provide_storage", bits::OPTION_PROVIDE_STORAGE, IN, &[]),
    row("option_channel_type", bits::OPTION_CHANNEL_TYPE, IN, &[]),
    row("option_scid_alias", bits::OPTION_SCID_ALIAS, INT, &[]),
    row("option_payment_metadata", bits::OPTION_PAYMENT_METADATA, Contexts::INVOICE, &[]),
    row("option_zeroconf", bits::OPTION_ZEROCONF, INT, &[bits::OPTION_SCID_ALIAS]),
    row("option_simple_close", bits::OPTION_SIMPLE_CLOSE, IN, &[bits::OPTION_SHUTDOWN_ANYSEGWIT]),
    row("option_splice", bits::OPTION_SPLICE, IN, &[]),
];

/// The table row for `bit` (either bit of the pair), if known.
pub fn feature_info(bit: usize) -> Option<&'static FeatureInfo> {
    let even = bit & !1;
    KNOWN_FEATURES.iter().find(|f| f.even_bit == even)
}

/// The spec name of `bit`, if known.
pub fn feature_name(bit: usize) -> Option<&'static str> {
    feature_info(bit).map(|f| f.name)
}

/// Why a feature vector is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeatureError {
    /// An even bit we do not know (BOLT 1: "upon receiving unknown _even_ feature bits that are
    /// non-zero: MUST close the connection").
    #[error("unknown required feature bit {0}")]
    UnknownRequired(usize),
    /// The remote requires a feature we do not offer.
    #[error("peer requires feature bit {bit} ({}) which we do not support", name.unwrap_or("unknown"))]
    RemoteRequires {
        /// The even bit.
        bit: usize,
        /// Its name, if known.
        name: Option<&'static str>,
    },
    /// A feature is set without a feature it depends on (BOLT 9: "MUST set all transitive
    /// feature dependencies"; BOLT 1: the receiver MUST close the connection).
    #[error("feature {feature} is set without its dependency {dependency}")]
    MissingDependency {
        /// The feature that is set.
        feature: &'static str,
        /// The dependency that is not.
        dependency: &'static str,
    },
    /// A known feature set in a context where BOLT 9 does not allow it.
    #[error("feature {feature} is not allowed in this context")]
    WrongContext {
        /// The feature.
        feature: &'static str,
    },
}

/// BOLT 9 operations on a [`Features`] set.
pub trait FeaturesExt {
    /// Whether either bit of the pair whose even bit is `even_bit` is set ("offered").
    fn offers(&self, even_bit: usize) -> bool;
    /// Whether the even bit is set. BOLT 9: if both bits are set, the feature is mandatory.
    fn requires_feature(&self, even_bit: usize) -> bool;
    /// Sets the odd (optional) bit and clears the even one.
    fn set_optional(&mut self, even_bit: usize);
    /// Sets the even (required) bit and clears the odd one.
    fn set_required(&mut self, even_bit: usize);
    /// Every even bit set that this crate does not know, lowest first.
    fn unknown_required_bits(&self) -> Vec<usize>;
    /// Checks the dependency table: every offered feature's dependencies are offered too.
    fn check_dependencies(&self) -> Result<(), FeatureError>;
    /// Checks that every known bit set may appear in `context`; unknown bits are ignored.
    fn check_context(&self, context: Contexts) -> Result<(), FeatureError>;
}

impl FeaturesExt for Features {
    fn offers(&self, even_bit: usize) -> bool {
        self.is_set(even_bit) || self.is_set(even_bit | 1)
    }

    fn requires_feature(&self, even_bit: usize) -> bool {
        self.is_set(even_bit)
    }

    fn set_optional(&mut self, even_bit: usize) {
        self.clear(even_bit);
        self.set(even_bit | 1);
    }

    fn set_required(&mut self, even_bit: usize) {
        self.clear(even_bit | 1);
        self.set(even_bit);
    }

    fn unknown_required_bits(&self) -> Vec<usize> {
        // Bit 2 is the unassigned even half of `initial_routing_sync` (odd-only).
        let known = |b: usize| feature_info(b).is_some() && b != bits::INITIAL_ROUTING_SYNC;
        self.bits().filter(|&b| b % 2 == 0 && !known(b)).collect()
    }

    fn check_dependencies(&self) -> Result<(), FeatureError> {
        for feature in KNOWN_FEATURES.iter().filter(|f| self.offers(f.even_bit)) {
            // The table's dependencies are themselves dependency-free, so checking one level
            // checks the transitive closure.
            if let Some(&missing) = feature.requires.iter().find(|&&d| !self.offers(d)) {
                return Err(FeatureError::MissingDependency {
                    feature: feature.name,
                    dependency: feature_name(missing).unwrap_or("unknown"),
                });
            }
        }
        Ok(())
    }

    fn check_context(&self, context: Contexts) -> Result<(), FeatureError> {
        match self.bits().filter_map(feature_info).find(|f| !f.contexts.contains(context)) {
            Some(feature) => Err(FeatureError::WrongContext { feature: feature.name }),
            None => Ok(()),
        }
    }
}

/// Computes the features two `init`s agree on (pass each side's `Init::combined_features`).
///
/// BOLT 1: a feature is *negotiated* "if either both peers offered it, or the local node
/// offered it as even". In the result each negotiated feature has its even bit set if either
/// side requires it, else its odd bit. Fails if the remote requires a feature we do not offer
/// (naming the lowest such bit), or if the remote's vector lacks a dependency.
pub fn negotiate(local: &Features, remote: &Features) -> Result<Features, FeatureError> {
    if let Some(bit) = remote.bits().find(|&b| b % 2 == 0 && !local.offers(b)) {
        return Err(FeatureError::RemoteRequires { bit, name: feature_name(bit) });
    }
    remote.check_dependencies()?;
    let mut agreed = Features::new();
    let pairs = local.bits().map(|b| b & !1).collect::<std::collections::BTreeSet<_>>();
    for even in pairs {
        let both = remote.offers(even);
        if both || local.requires_feature(even) {
            if local.requires_feature(even) || remote.requires_feature(even) {
                agreed.set_required(even);
            } else {
                agreed.set_optional(even);
            }
        }
    }
    Ok(agreed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(bits: &[usize]) -> Features {
        Features::from_bits(bits.iter().copied())
    }

    #[test]
    fn names_and_pairs() {
        assert_eq!(feature_name(17), Some("basic_mpp"));
        assert_eq!(feature_name(16), Some("basic_mpp"));
        assert_eq!(feature_name(3), Some("initial_routing_sync"));
        assert_eq!(feature_name(20), None);
        let mut f = features(&[9]);
        assert!(f.offers(bits::VAR_ONION_OPTIN) && !f.requires_feature(bits::VAR_ONION_OPTIN));
        f.set_required(bits::VAR_ONION_OPTIN);
        assert_eq!(f, features(&[8]));
    }

    #[test]
    fn unknown_required_bits_are_reported() {
        assert_eq!(
            features(&[1, 2, 9, 20, 21, 101, 200]).unknown_required_bits(),
            vec![2, 20, 200]
        );
        assert!(features(&[1, 9, 15, 45]).unknown_required_bits().is_empty());
    }

    #[test]
    fn dependency_table() {
        // basic_mpp needs payment_secret.
        assert_eq!(
            features(&[17]).check_dependencies(),
            Err(FeatureError::MissingDependency {
                feature: "basic_mpp",
                dependency: "payment_secret"
            })
        );
        assert!(features(&[14, 17]).check_dependencies().is_ok());
        // option_zeroconf needs option_scid_alias; option_simple_close needs anysegwit.
        assert!(features(&[51]).check_dependencies().is_err());
        assert!(features(&[47, 51]).check_dependencies().is_ok());
        assert!(features(&[61]).check_dependencies().is_err());
        assert!(features(&[27, 61]).check_dependencies().is_ok());
    }

    #[test]
    fn contexts() {
        assert!(features(&[17, 15]).check_context(Contexts::INVOICE).is_ok());
        assert_eq!(
            features(&[7]).check_context(Contexts::INVOICE),
            Err(FeatureError::WrongContext { feature: "gossip_queries" })
        );
        assert!(features(&[22, 12, 46]).check_context(Contexts::CHANNEL_TYPE).is_ok());
        assert!(features(&[48]).check_context(Contexts::INIT).is_err());
    }

    #[test]
    fn negotiation() {
        let local = features(&[1, 7, 8, 12, 14, 17, 23]);
        // Remote offers gossip_queries, requires var_onion, offers mpp (with payment_secret).
        let remote = features(&[7, 8, 15, 17]);
        let agreed = negotiate(&local, &remote).unwrap();
        // data_loss_protect: only local, optional → not negotiated. anchors: only local → no.
        // static_remotekey (12): local requires → negotiated as required.
        assert_eq!(agreed, features(&[7, 8, 12, 14, 17]));
        // The remote requires a feature we lack: named in the error.
        assert_eq!(
            negotiate(&local, &features(&[8, 50, 47])),
            Err(FeatureError::RemoteRequires { bit: 50, name: Some("option_zeroconf") })
        );
        assert_eq!(
            negotiate(&local, &features(&[100])),
            Err(FeatureError::RemoteRequires { bit: 100, name: None })
        );
        // Unknown odd bits from the remote are ignored.
        assert_eq!(negotiate(&local, &features(&[101])).unwrap(), features(&[8, 12, 14]));
        // A remote vector missing a dependency is refused.
        assert!(matches!(
            negotiate(&local, &features(&[17])),
            Err(FeatureError::MissingDependency { .. })
        ));
    }
}
