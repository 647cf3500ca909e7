//! Validation of the parameters a peer proposes in `open_channel` and `accept_channel`
//! (BOLT 2 "The open_channel Message" and "The accept_channel Message"), and channel type
//! negotiation.

use crate::error::Error;
use crate::fees::FeeModel;
use crate::limits::{Constraints, MAX_ACCEPTED_HTLCS_LIMIT};
use bitcoin::constants::ChainHash;
use bitcoin::Amount;
use shandian_types::{Features, FeeratePerKw, Msat};

/// BOLT 2 / BOLT 3: the smallest acceptable `dust_limit_satoshis`.
pub const MIN_DUST_LIMIT: Amount = Amount::from_sat(354);
/// BOLT 2: without `option_support_large_channel`, funding must be below 2^24 sat.
pub const LARGE_CHANNEL_THRESHOLD: Amount = Amount::from_sat(1 << 24);

/// Feature bits that make up a `channel_type` (BOLT 9).
mod bits {
    pub const STATIC_REMOTEKEY: usize = 12;
    pub const ANCHORS_ZERO_FEE_HTLC_TX: usize = 22;
    pub const SCID_ALIAS: usize = 46;
    pub const ZEROCONF: usize = 50;
}

/// The channel types we implement (BOLT 2 "Defined Channel Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelType {
    /// `option_anchors` (with zero-fee HTLC transactions) on top of `option_static_remotekey`.
    pub anchors: bool,
    /// The `option_scid_alias` variation.
    pub scid_alias: bool,
}

impl ChannelType {
    /// Parses a `channel_type` TLV. Only the defined basic types and our supported
    /// variations are accepted; `option_zeroconf` is refused (we do not trust unconfirmed
    /// funding).
    pub fn from_features(features: &Features) -> Result<ChannelType, Error> {
        let mut anchors = false;
        let mut scid_alias = false;
        let mut static_remotekey = false;
        for bit in features.bits() {
            match bit {
                bits::STATIC_REMOTEKEY => static_remotekey = true,
                bits::ANCHORS_ZERO_FEE_HTLC_TX => anchors = true,
                bits::SCID_ALIAS => scid_alias = true,
                _ => return Err(Error::UnsupportedChannelType),
            }
        }
        if !static_remotekey {
            return Err(Error::UnsupportedChannelType);
        }
        Ok(ChannelType { anchors, scid_alias })
    }

    /// The `channel_type` feature bits, in the smallest bitmap (BOLT 2).
    pub fn to_features(self) -> Features {
        let mut features = Features::from_bits([bits::STATIC_REMOTEKEY]);
        if self.anchors {
            features.set(bits::ANCHORS_ZERO_FEE_HTLC_TX);
        }
        if self.scid_alias {
            features.set(bits::SCID_ALIAS);
        }
        features
    }

    /// The fee formulas this type uses.
    pub fn fee_model(self) -> FeeModel {
        FeeModel { anchors: self.anchors }
    }

    /// Whether `bits::ZEROCONF` is set in `features` (kept for callers' diagnostics).
    pub fn requests_zeroconf(features: &Features) -> bool {
        features.is_set(bits::ZEROCONF)
    }
}

/// Our acceptance policy for channels: what we consider reasonable from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The chain we operate on.
    pub chain_hash: ChainHash,
    /// Smallest channel we accept.
    pub min_funding: Amount,
    /// Whether we advertise `option_support_large_channel` and the peer did too.
    pub large_channels: bool,
    /// Largest `to_self_delay` we accept on our outputs (BOLT 2 "unreasonably large").
    pub max_to_self_delay: u16,
    /// Largest `htlc_minimum_msat` we accept.
    pub max_htlc_minimum: Msat,
    /// Smallest `max_htlc_value_in_flight_msat` we accept, in per-mille of the capacity.
    pub min_max_in_flight_permille: u16,
    /// Largest reserve we accept, in per-mille of the capacity.
    pub max_reserve_permille: u16,
    /// Smallest `max_accepted_htlcs` we accept.
    pub min_max_accepted_htlcs: u16,
    /// Largest `dust_limit_satoshis` we accept.
    pub max_dust_limit: Amount,
    /// Feerates we consider sane.
    pub feerate_range: (FeeratePerKw, FeeratePerKw),
    /// Largest `minimum_depth` we wait for.
    pub max_minimum_depth: u32,
    /// Whether we offer/accept `option_anchors_zero_fee_htlc_tx`.
    pub anchors: bool,
}

impl Policy {
    /// Reasonable defaults for `chain_hash`.
    pub fn new(chain_hash: ChainHash) -> Policy {
        Policy {
            chain_hash,
            min_funding: Amount::from_sat(20_000),
            large_channels: false,
            max_to_self_delay: 2016,
            max_htlc_minimum: Msat(1_000_000),
            min_max_in_flight_permille: 10,
            max_reserve_permille: 200,
            min_max_accepted_htlcs: 5,
            max_dust_limit: Amount::from_sat(10_000),
            feerate_range: (FeeratePerKw::MIN_RELAY, FeeratePerKw(250_000)),
            max_minimum_depth: 144,
            anchors: true,
        }
    }
}

/// The opening parameters one side proposes, whichever message carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// `funding_satoshis`.
    pub funding: Amount,
    /// `push_msat`.
    pub push: Msat,
    /// `feerate_per_kw` of the first commitments.
    pub feerate: FeeratePerKw,
    /// The constraints the proposer imposes.
    pub constraints: Constraints,
    /// The `channel_type` TLV, if present.
    pub channel_type: Option<Features>,
}

fn permille(amount: Amount, permille: u16) -> Amount {
    Amount::from_sat(amount.to_sat().saturating_mul(u64::from(permille)) / 1000)
}

/// Checks the constraints a peer imposes (common to both messages).
fn check_constraints(policy: &Policy, funding: Amount, theirs: &Constraints) -> Result<(), Error> {
    // BOLT 2: MUST fail if to_self_delay is unreasonably large.
    if theirs.to_self_delay > policy.max_to_self_delay {
        return Err(Error::ToSelfDelayTooLarge(theirs.to_self_delay));
    }
    // BOLT 2: MUST fail if max_accepted_htlcs > 483 (zero makes the channel useless).
    if theirs.max_accepted_htlcs > MAX_ACCEPTED_HTLCS_LIMIT || theirs.max_accepted_htlcs == 0 {
        return Err(Error::MaxAcceptedHtlcsOutOfRange(theirs.max_accepted_htlcs));
    }
    // BOLT 2: MAY fail if max_accepted_htlcs is too small.
    if theirs.max_accepted_htlcs < policy.min_max_accepted_htlcs {
        return Err(Error::MaxAcceptedHtlcsTooSmall(theirs.max_accepted_htlcs));
    }
    // BOLT 2: MUST fail if dust_limit_satoshis < 354; MAY fail if too large.
    if theirs.dust_limit < MIN_DUST_LIMIT {
        return Err(Error::DustLimitTooSmall(theirs.dust_limit));
    }
    if theirs.dust_limit > policy.max_dust_limit {
        return Err(Error::DustLimitTooLarge(theirs.dust_limit));
    }
    // BOLT 2: MAY fail if htlc_minimum_msat too large, max in flight too small, reserve too large.
    if theirs.htlc_minimum > policy.max_htlc_minimum {
        return Err(Error::HtlcMinimumTooLarge(theirs.htlc_minimum));
    }
    let min_in_flight =
        Msat(permille(funding, policy.min_max_in_flight_permille).to_sat().saturating_mul(1000));
    if theirs.max_htlc_value_in_flight < min_in_flight {
        return Err(Error::MaxInFlightTooSmall(theirs.max_htlc_value_in_flight));
    }
    if theirs.channel_reserve > permille(funding, policy.max_reserve_permille) {
        return Err(Error::ReserveTooLarge(theirs.channel_reserve));
    }
    Ok(())
}

/// Checks that `reserve` (imposed by one side) covers `dust_limit` (of the other side).
fn check_reserve_covers_dust(reserve: Amount, dust_limit: Amount) -> Result<(), Error> {
    // BOLT 2: MUST fail if dust_limit_satoshis is greater than channel_reserve_satoshis.
    if dust_limit > reserve {
        return Err(Error::ReserveBelowDustLimit { reserve, dust_limit });
    }
    Ok(())
}

/// Checks the initial balances: the funder can pay the fee, and someone is above reserve.
fn check_initial_balances(
    funding: Amount,
    push: Msat,
    feerate: FeeratePerKw,
    channel_type: ChannelType,
    reserves: (Amount, Amount),
) -> Result<(), Error> {
    let capacity = Msat::from_sat(funding).ok_or(Error::FundingTooLarge(funding))?;
    // BOLT 2: MUST fail if push_msat is greater than funding_satoshis * 1000.
    let to_funder = capacity.checked_sub(push).ok_or(Error::PushExceedsFunding(push))?;
    // BOLT 2: MUST fail if the funder cannot pay the initial commitment's fee (and anchors).
    let cost = channel_type.fee_model().funder_cost(feerate, 0);
    let cost = Msat::from_sat(cost).ok_or(Error::FunderCannotPayFee)?;
    let to_funder = to_funder.checked_sub(cost).ok_or(Error::FunderCannotPayFee)?;
    // BOLT 2: MUST fail if both to_local and to_remote are <= channel_reserve_satoshis.
    let (funder_reserve, fundee_reserve) = reserves;
    let above = |balance: Msat, reserve: Amount| balance.to_sat_floor() > reserve;
    if !above(to_funder, funder_reserve) && !above(push, fundee_reserve) {
        return Err(Error::BothBalancesBelowReserve);
    }
    Ok(())
}

/// What we agreed to after validating the peer's `open_channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The negotiated channel type.
    pub channel_type: ChannelType,
}

/// BOLT 2: the checks on a received `open_channel`, given the constraints `ours` we will send
/// back in `accept_channel`.
pub fn validate_open_channel(
    policy: &Policy,
    chain_hash: ChainHash,
    theirs: &Proposal,
    ours: &Constraints,
) -> Result<Agreed, Error> {
    // BOLT 2: MUST fail if the chain_hash is unknown.
    if chain_hash != policy.chain_hash {
        return Err(Error::UnknownChain);
    }
    // BOLT 2: MUST fail on funding >= 2^24 sat without option_support_large_channel.
    if theirs.funding >= LARGE_CHANNEL_THRESHOLD && !policy.large_channels {
        return Err(Error::FundingTooLarge(theirs.funding));
    }
    // BOLT 2: MAY fail if funding_satoshis is too small.
    if theirs.funding < policy.min_funding {
        return Err(Error::FundingTooSmall(theirs.funding));
    }
    // BOLT 2: MUST fail if it considers feerate_per_kw too small or unreasonably large.
    let (min, max) = policy.feerate_range;
    if theirs.feerate < min || theirs.feerate > max {
        return Err(Error::FeerateOutOfRange(theirs.feerate));
    }
    // BOLT 2: MUST fail without channel_type, or if it is not suitable.
    let features = theirs.channel_type.as_ref().ok_or(Error::UnsupportedChannelType)?;
    let channel_type = ChannelType::from_features(features)?;
    if channel_type.anchors && !policy.anchors {
        return Err(Error::UnsupportedChannelType);
    }
    check_constraints(policy, theirs.funding, &theirs.constraints)?;
    // Our reserve must cover their dust limit and theirs ours (BOLT 2 accept_channel rules).
    check_reserve_covers_dust(theirs.constraints.channel_reserve, theirs.constraints.dust_limit)?;
    check_reserve_covers_dust(ours.channel_reserve, theirs.constraints.dust_limit)?;
    check_reserve_covers_dust(theirs.constraints.channel_reserve, ours.dust_limit)?;
    // The funder must keep the reserve we impose; the fundee the one they impose.
    let reserves = (ours.channel_reserve, theirs.constraints.channel_reserve);
    check_initial_balances(theirs.funding, theirs.push, theirs.feerate, channel_type, reserves)?;
    Ok(Agreed { channel_type })
}

/// BOLT 2: the checks on a received `accept_channel`, given our `open_channel` proposal.
pub fn validate_accept_channel(
    policy: &Policy,
    ours: &Proposal,
    theirs: &Constraints,
    their_channel_type: Option<&Features>,
    minimum_depth: u32,
) -> Result<Agreed, Error> {
    // BOLT 2: MAY fail if minimum_depth is unreasonably large.
    if minimum_depth > policy.max_minimum_depth {
        return Err(Error::MinimumDepthTooLarge(minimum_depth));
    }
    // BOLT 2: MUST fail without channel_type or if it differs from ours.
    let features = their_channel_type.ok_or(Error::UnsupportedChannelType)?;
    if Some(features) != ours.channel_type.as_ref() {
        return Err(Error::ChannelTypeMismatch);
    }
    let channel_type = ChannelType::from_features(features)?;
    check_constraints(policy, ours.funding, theirs)?;
    // BOLT 2: MUST fail if channel_reserve_satoshis < dust_limit_satoshis of open_channel,
    // or if open_channel's channel_reserve_satoshis < their dust_limit_satoshis.
    check_reserve_covers_dust(theirs.channel_reserve, ours.constraints.dust_limit)?;
    check_reserve_covers_dust(ours.constraints.channel_reserve, theirs.dust_limit)?;
    let reserves = (theirs.channel_reserve, ours.constraints.channel_reserve);
    check_initial_balances(ours.funding, ours.push, ours.feerate, channel_type, reserves)?;
    Ok(Agreed { channel_type })
}
