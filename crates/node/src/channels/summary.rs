//! What the payment logic and the API see of a channel: [`ChannelSummary`] (spendable
//! amounts and policies) and [`ChannelInfo`] (`listchannels`).

use serde::Serialize;
use shandian_channel::fees::spike_buffer_feerate;
use shandian_channel::funded::Funded;
use shandian_channel::spec::Update;
use shandian_channel::Channel;
use shandian_types::{ChannelId, Msat};

use super::state::Entry;
use crate::store::RelayFees;
use crate::switch::{ChannelSummary, RelayPolicy};

/// A channel as `listchannels` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// The channel id (temporary while opening), hex.
    pub channel_id: String,
    /// The peer's node id.
    pub peer: String,
    /// `BLOCKxTXxOUTPUT` once the funding transaction confirmed.
    pub short_channel_id: Option<String>,
    /// `opening`, `awaiting_confirmation`, `normal`, `shutting_down`, `negotiating` or
    /// `closed`.
    pub state: &'static str,
    /// Not announced.
    pub private: bool,
    /// The funding amount (0 until negotiated).
    pub capacity_sat: u64,
    /// Our balance in our current commitment.
    pub local_msat: u64,
    /// The peer's balance in our current commitment.
    pub remote_msat: u64,
    /// HTLCs in our current commitment (offered and received): balances are final at zero.
    pub htlcs: usize,
    /// The funding transaction, once known.
    pub funding_txid: Option<String>,
    /// The closing transaction we broadcast, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closing_txid: Option<String>,
    /// What we charge to forward out over it (once funded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees: Option<FeesInfo>,
}

/// Our forwarding fees on a channel, as `listchannels` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeesInfo {
    /// `fee_base_msat`.
    pub base_msat: u64,
    /// `fee_proportional_millionths`.
    pub ppm: u32,
    /// `cltv_expiry_delta`.
    pub cltv_expiry_delta: u16,
}

impl From<RelayPolicy> for FeesInfo {
    fn from(policy: RelayPolicy) -> FeesInfo {
        FeesInfo {
            base_msat: policy.base_fee.0,
            ppm: policy.proportional_millionths,
            cltv_expiry_delta: policy.cltv_expiry_delta.0,
        }
    }
}

/// The phase's name for `listchannels`.
pub(crate) fn state_name(channel: &Channel) -> &'static str {
    match channel {
        Channel::OutboundOpening(_)
        | Channel::AwaitingFundingTx(_)
        | Channel::InboundOpening(_)
        | Channel::AwaitingFundingSigned(_) => "opening",
        Channel::AwaitingConfirmation(_) => "awaiting_confirmation",
        Channel::Normal(_) => "normal",
        Channel::ShuttingDown(_) => "shutting_down",
        Channel::Negotiating(_) => "negotiating",
        Channel::Closed(_) => "closed",
    }
}

pub(crate) fn info(entry: &Entry, relay: &RelayPolicy) -> Option<ChannelInfo> {
    let channel = entry.channel()?;
    let funded = channel.funded();
    let spec = funded.map(|f| &f.log().holder_commitment().spec);
    Some(ChannelInfo {
        channel_id: channel.channel_id().to_string(),
        peer: entry.peer.to_string(),
        short_channel_id: entry.short_channel_id().map(|s| s.to_string()),
        state: state_name(channel),
        private: !entry.public,
        capacity_sat: funded.map_or(0, |f| f.setup().funding.amount.to_sat()),
        local_msat: spec.map_or(0, |s| s.to_holder.0),
        remote_msat: spec.map_or(0, |s| s.to_counterparty.0),
        htlcs: spec.map_or(0, |s| s.offered.len().saturating_add(s.received.len())),
        funding_txid: entry.funding_txid.map(|t| t.to_string()),
        closing_txid: entry.closing_txid.map(|t| t.to_string()),
        fees: funded.map(|f| {
            local_policy(relay, entry.relay_fees.as_ref(), f.setup().funding.amount).into()
        }),
    })
}

/// Our relay policy for a channel: the configured one with the channel's own fees, if set,
/// and `htlc_maximum` capped at capacity.
pub(crate) fn local_policy(
    config: &RelayPolicy,
    fees: Option<&RelayFees>,
    capacity: bitcoin::Amount,
) -> RelayPolicy {
    let capacity = Msat::from_sat(capacity).unwrap_or(Msat(u64::MAX));
    let mut policy = RelayPolicy { htlc_maximum: config.htlc_maximum.min(capacity), ..*config };
    if let Some(fees) = fees {
        policy.base_fee = fees.base_fee;
        policy.proportional_millionths = fees.proportional_millionths;
        policy.cltv_expiry_delta = fees.cltv_expiry_delta;
    }
    policy
}

/// The channel as the payment logic sees it; `None` for channels not yet funded or closed.
pub(crate) fn summary(
    entry: &Entry,
    peer_connected: bool,
    relay: &RelayPolicy,
) -> Option<ChannelSummary> {
    let channel = entry.channel()?;
    let funded = channel.funded()?;
    let capacity = funded.setup().funding.amount;
    let usable = matches!(channel, Channel::Normal(_)) && peer_connected && entry.reestablished;
    let (outbound, inbound) = spendable(funded);
    Some(ChannelSummary {
        channel_id: channel.channel_id(),
        peer: entry.peer,
        short_channel_id: entry.short_channel_id(),
        usable,
        public: entry.public,
        capacity,
        outbound: if usable { outbound } else { Msat::ZERO },
        inbound: if usable { inbound } else { Msat::ZERO },
        htlc_minimum: funded.log().limits().counterparty.htlc_minimum,
        local_policy: local_policy(relay, entry.relay_fees.as_ref(), capacity),
        remote_policy: entry.remote_policy,
    })
}

/// The most a new HTLC each way may carry now: what the sender has in the latest commitment
/// the receiver will sign, minus pending offers, the reserve the receiver imposed, and (for
/// the funder) the commitment fee with the fee spike buffer, capped by the receiver's
/// in-flight and HTLC-count limits. Conservative: every HTLC counts as untrimmed.
pub(crate) fn spendable(funded: &Funded) -> (Msat, Msat) {
    let log = funded.log();
    let limits = log.limits();
    let theirs = log.counterparty_next().unwrap_or(log.counterparty_commitment());
    let proposed: (u64, usize) = log
        .holder_changes()
        .proposed
        .iter()
        .filter_map(|u| match u {
            Update::Add(h) => Some(h.amount_msat.0),
            _ => None,
        })
        .fold((0, 0), |(sum, n), a| (sum.saturating_add(a), n + 1));
    let spec = &theirs.spec;
    let htlcs = spec.offered.len() + spec.received.len() + proposed.1;
    let fee = |funder: bool| {
        if !funder {
            return 0;
        }
        let feerate = spike_buffer_feerate(spec.feerate);
        let cost = limits.fee_model.funder_cost(feerate, htlcs.saturating_add(2));
        cost.to_sat().saturating_mul(1000)
    };
    let reserve = |r: bitcoin::Amount| r.to_sat().saturating_mul(1000);
    let out_room = spec
        .to_holder
        .0
        .saturating_sub(proposed.0)
        .saturating_sub(reserve(limits.counterparty.channel_reserve))
        .saturating_sub(fee(limits.holder_is_funder));
    let out_flight = limits
        .counterparty
        .max_htlc_value_in_flight
        .0
        .saturating_sub(spec.offered_total().0.saturating_add(proposed.0));
    let out_slots =
        spec.offered.len() + proposed.1 < usize::from(limits.counterparty.max_accepted_htlcs);
    let outbound = if out_slots { out_room.min(out_flight) } else { 0 };
    let ours = &log.holder_commitment().spec;
    let in_room = ours
        .to_counterparty
        .0
        .saturating_sub(reserve(limits.holder.channel_reserve))
        .saturating_sub(fee(!limits.holder_is_funder));
    let in_flight =
        limits.holder.max_htlc_value_in_flight.0.saturating_sub(ours.received_total().0);
    let in_slots = ours.received.len() < usize::from(limits.holder.max_accepted_htlcs);
    let inbound = if in_slots { in_room.min(in_flight) } else { 0 };
    (Msat(outbound), Msat(inbound))
}

/// The channel id shown for an entry.
pub(crate) fn id_of(entry: &Entry) -> Option<ChannelId> {
    entry.channel().map(Channel::channel_id)
}
