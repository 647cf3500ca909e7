//! Routes for our own payments: which paths to try (the direct channel to the payee, or one of
//! the invoice's route hints behind one of our peers), and the amount and CLTV expiry each
//! hop's HTLC carries, computed backwards from the payee (BOLT 4 "Payload for the Last Node",
//! BOLT 7 fee formula).

use shandian_invoice::RouteHintHop;
use shandian_onion::{FinalPayload, ForwardPayload, HopPayload, PaymentData};
use shandian_types::{
    BlockHeight, ChannelId, CltvExpiry, CltvExpiryDelta, Msat, NodeId, PaymentSecret,
    ShortChannelId,
};

use crate::switch::{ChannelSummary, RelayPolicy};

/// Blocks added to the payee's `min_final_cltv_expiry_delta`, so that a block or two mined
/// while the HTLC travels does not make the payee refuse it.
pub const FINAL_CLTV_BUFFER: u32 = 3;

/// The longest total CLTV lock a payment may carry (BOLT 4's `expiry_too_far` bound).
pub const MAX_TOTAL_CLTV: u32 = 2016;

/// One channel crossed after our first hop: the node that forwards over it charges its fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintHop {
    /// The node that forwards over this channel.
    pub from: NodeId,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// `fee_base_msat` of that direction.
    pub fee_base_msat: u32,
    /// `fee_proportional_millionths` of that direction.
    pub fee_proportional_millionths: u32,
    /// `cltv_expiry_delta` of that direction.
    pub cltv_expiry_delta: CltvExpiryDelta,
}

impl From<&RouteHintHop> for HintHop {
    fn from(hop: &RouteHintHop) -> HintHop {
        HintHop {
            from: hop.src_node_id,
            short_channel_id: hop.short_channel_id,
            fee_base_msat: hop.fee_base_msat,
            fee_proportional_millionths: hop.fee_proportional_millionths,
            cltv_expiry_delta: hop.cltv_expiry_delta,
        }
    }
}

impl HintHop {
    /// BOLT 7: `fee_base_msat + amount * fee_proportional_millionths / 1_000_000`.
    fn fee(&self, amount: Msat) -> Option<Msat> {
        RelayPolicy {
            base_fee: Msat(u64::from(self.fee_base_msat)),
            proportional_millionths: self.fee_proportional_millionths,
            cltv_expiry_delta: self.cltv_expiry_delta,
            htlc_minimum: Msat::ZERO,
            htlc_maximum: Msat::MAX,
        }
        .fee(amount)
    }
}

/// A path to try: our channel to the first node, then the channels after it (empty when the
/// first node is the payee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Our first-hop channel.
    pub channel_id: ChannelId,
    /// Its peer (the first node).
    pub first_node: NodeId,
    /// The channels after the first node, in path order; the last one reaches the payee.
    pub hops: Vec<HintHop>,
}

impl Candidate {
    /// The nodes the HTLC visits, the payee last.
    pub fn nodes(&self, payee: NodeId) -> Vec<NodeId> {
        let mut nodes = vec![self.first_node];
        nodes.extend(self.hops.iter().skip(1).map(|h| h.from));
        if !self.hops.is_empty() {
            nodes.push(payee);
        }
        nodes
    }
}

/// What must be avoided after earlier attempts failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// Our channels that refused or failed the HTLC.
    pub channels: Vec<ChannelId>,
    /// Channels further on that failed it.
    pub short_channel_ids: Vec<ShortChannelId>,
    /// Nodes that failed it as a whole (`NODE` failures).
    pub nodes: Vec<NodeId>,
    /// Paths already tried (never the same path twice, whatever the failure said).
    pub tried: Vec<Candidate>,
}

impl Exclusions {
    fn allows(&self, candidate: &Candidate, payee: NodeId) -> bool {
        !self.channels.contains(&candidate.channel_id)
            && !candidate.hops.iter().any(|h| self.short_channel_ids.contains(&h.short_channel_id))
            && !candidate.nodes(payee).iter().any(|n| self.nodes.contains(n))
            && !self.tried.contains(candidate)
    }
}

/// The paths to `payee` that can carry `amount` now, best first: direct channels (most
/// outbound first), then the route hints whose first node is one of our peers.
pub fn candidates(
    channels: &[ChannelSummary],
    our_id: NodeId,
    payee: NodeId,
    hints: &[Vec<HintHop>],
    amount: Msat,
    exclusions: &Exclusions,
) -> Vec<Candidate> {
    let usable = |c: &&ChannelSummary| c.usable && c.short_channel_id.is_some();
    let mut direct: Vec<&ChannelSummary> = channels
        .iter()
        .filter(usable)
        .filter(|c| NodeId::from(c.peer) == payee && c.outbound >= amount)
        .collect();
    direct.sort_by_key(|c| std::cmp::Reverse(c.outbound));
    let mut out: Vec<Candidate> = direct
        .into_iter()
        .map(|c| Candidate { channel_id: c.channel_id, first_node: payee, hops: Vec::new() })
        .collect();
    for hint in hints {
        // A hint that starts at us names our own channel: drop that hop, we pick our channel.
        let hint: &[HintHop] = match hint.first() {
            Some(first) if first.from == our_id => hint.get(1..).unwrap_or_default(),
            _ => hint,
        };
        let Some(first) = hint.first() else { continue };
        let Some(needed) = first_hop_amount(amount, hint) else { continue };
        let mut peers: Vec<&ChannelSummary> = channels
            .iter()
            .filter(usable)
            .filter(|c| NodeId::from(c.peer) == first.from && c.outbound >= needed)
            .collect();
        peers.sort_by_key(|c| std::cmp::Reverse(c.outbound));
        out.extend(peers.into_iter().map(|c| Candidate {
            channel_id: c.channel_id,
            first_node: first.from,
            hops: hint.to_vec(),
        }));
    }
    out.retain(|c| exclusions.allows(c, payee));
    out
}

/// The amount our first-hop HTLC carries to deliver `amount` over `hops`.
fn first_hop_amount(amount: Msat, hops: &[HintHop]) -> Option<Msat> {
    hops.iter().rev().try_fold(amount, |acc, hop| acc.checked_add(hop.fee(acc)?))
}

/// One hop of a computed route: the node, the amount and expiry of the HTLC it receives, and
/// the channel it receives it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteHop {
    /// The node.
    pub node_id: NodeId,
    /// The channel the HTLC arrives over.
    pub short_channel_id: ShortChannelId,
    /// The HTLC's amount at this node.
    pub amount: Msat,
    /// The HTLC's `cltv_expiry` at this node.
    pub cltv_expiry: CltvExpiry,
}

/// A path with amounts and expiries: what the onion and the first HTLC carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Our first-hop channel.
    pub channel_id: ChannelId,
    /// Every hop, the payee last. `hops[0]` is what our HTLC carries.
    pub hops: Vec<RouteHop>,
}

impl Route {
    /// The amount the payee receives.
    pub fn amount(&self) -> Msat {
        self.hops.last().map_or(Msat::ZERO, |h| h.amount)
    }

    /// What our HTLC carries.
    pub fn first_amount(&self) -> Msat {
        self.hops.first().map_or(Msat::ZERO, |h| h.amount)
    }

    /// The fees paid to the nodes in between.
    pub fn fee(&self) -> Msat {
        self.first_amount().saturating_sub(self.amount())
    }

    /// Our HTLC's `cltv_expiry`.
    pub fn first_expiry(&self) -> CltvExpiry {
        self.hops.first().map_or(CltvExpiry(0), |h| h.cltv_expiry)
    }

    /// The onion payloads, in route order: forwards to the next hop's channel, then the
    /// final payload with the payment secret and total (BOLT 4: the payer MUST include
    /// `payment_data` when the invoice has a secret, and `payment_metadata` if it had one).
    pub fn payloads(
        &self,
        payment_secret: PaymentSecret,
        metadata: Option<&[u8]>,
    ) -> Vec<(NodeId, HopPayload)> {
        let mut out = Vec::with_capacity(self.hops.len());
        for (index, hop) in self.hops.iter().enumerate() {
            let payload = match self.hops.get(index + 1) {
                Some(next) => HopPayload::Forward(ForwardPayload {
                    amt_to_forward: next.amount,
                    outgoing_cltv_value: next.cltv_expiry,
                    short_channel_id: next.short_channel_id,
                }),
                None => {
                    let mut last = FinalPayload::new(hop.amount, hop.cltv_expiry);
                    last.payment_data =
                        Some(PaymentData { payment_secret, total_msat: hop.amount });
                    last.payment_metadata = metadata.map(<[u8]>::to_vec);
                    HopPayload::Final(last)
                }
            };
            out.push((hop.node_id, payload));
        }
        out
    }
}

/// Why a candidate path cannot carry the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The fees overflow.
    #[error("route fees overflow")]
    AmountOverflow,
    /// The path locks funds for longer than [`MAX_TOTAL_CLTV`] blocks.
    #[error("route needs a CLTV lock of more than {MAX_TOTAL_CLTV} blocks")]
    CltvTooFar,
}

/// Computes amounts and expiries backwards from the payee, who gets `amount` with an expiry of
/// `height + min_final_cltv_expiry_delta + FINAL_CLTV_BUFFER`; each node in between adds its
/// fee and CLTV delta for the channel it forwards over. `first_scid` is our channel's.
pub fn compute(
    candidate: &Candidate,
    first_scid: ShortChannelId,
    payee: NodeId,
    amount: Msat,
    height: BlockHeight,
    min_final_cltv_expiry_delta: CltvExpiryDelta,
) -> Result<Route, RouteError> {
    let final_delta = u32::from(min_final_cltv_expiry_delta.0) + FINAL_CLTV_BUFFER;
    let mut expiry = height.0.checked_add(final_delta).ok_or(RouteError::CltvTooFar)?;
    let mut hop_amount = amount;
    let mut hops = Vec::with_capacity(candidate.hops.len() + 1);
    // Walk from the payee back to the first node: hop i's channel leads into node i + 1.
    let mut node = payee;
    for hint in candidate.hops.iter().rev() {
        hops.push(RouteHop {
            node_id: node,
            short_channel_id: hint.short_channel_id,
            amount: hop_amount,
            cltv_expiry: CltvExpiry(expiry),
        });
        let fee = hint.fee(hop_amount).ok_or(RouteError::AmountOverflow)?;
        hop_amount = hop_amount.checked_add(fee).ok_or(RouteError::AmountOverflow)?;
        expiry = expiry
            .checked_add(u32::from(hint.cltv_expiry_delta.0))
            .ok_or(RouteError::CltvTooFar)?;
        node = hint.from;
    }
    hops.push(RouteHop {
        node_id: candidate.first_node,
        short_channel_id: first_scid,
        amount: hop_amount,
        cltv_expiry: CltvExpiry(expiry),
    });
    if expiry.saturating_sub(height.0) > MAX_TOTAL_CLTV {
        return Err(RouteError::CltvTooFar);
    }
    hops.reverse();
    Ok(Route { channel_id: candidate.channel_id, hops })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

    fn node(byte: u8) -> NodeId {
        let secp = Secp256k1::signing_only();
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
        NodeId::from(PublicKey::from_secret_key(&secp, &secret))
    }

    fn policy() -> RelayPolicy {
        RelayPolicy {
            base_fee: Msat(1000),
            proportional_millionths: 100,
            cltv_expiry_delta: CltvExpiryDelta(40),
            htlc_minimum: Msat(1),
            htlc_maximum: Msat(u64::MAX),
        }
    }

    pub(crate) fn channel(id: u8, peer: NodeId, outbound: u64, usable: bool) -> ChannelSummary {
        ChannelSummary {
            channel_id: ChannelId([id; 32]),
            peer: peer.public_key(),
            short_channel_id: Some(ShortChannelId(u64::from(id))),
            usable,
            public: false,
            capacity: bitcoin::Amount::from_sat(1_000_000),
            outbound: Msat(outbound),
            inbound: Msat(outbound),
            htlc_minimum: Msat(1),
            local_policy: policy(),
            remote_policy: Some(policy()),
        }
    }

    fn hint(from: NodeId, scid: u64) -> HintHop {
        HintHop {
            from,
            short_channel_id: ShortChannelId(scid),
            fee_base_msat: 1000,
            fee_proportional_millionths: 100,
            cltv_expiry_delta: CltvExpiryDelta(40),
        }
    }

    #[test]
    fn direct_channel_first_then_hints_through_a_peer() {
        let (us, bob, carol, dave) = (node(1), node(2), node(3), node(4));
        let channels = vec![
            channel(1, bob, 5_000_000, true),
            channel(2, carol, 1_000_000, true),
            channel(3, carol, 9_000_000, true),
            channel(4, dave, 9_000_000, true),
        ];
        let hints = vec![vec![hint(bob, 77)], vec![hint(node(9), 78)]];
        let found = candidates(&channels, us, carol, &hints, Msat(900_000), &Exclusions::default());
        let ids: Vec<_> = found.iter().map(|c| c.channel_id.0[0]).collect();
        // Direct channels (largest outbound first), then via Bob; the hint behind a stranger
        // has no first hop.
        assert_eq!(ids, [3, 2, 1]);
        assert_eq!(found[2].nodes(carol), [bob, carol]);
        assert_eq!(found[0].nodes(carol), [carol]);
    }

    #[test]
    fn unusable_small_or_excluded_channels_are_skipped() {
        let (us, bob, carol) = (node(1), node(2), node(3));
        let channels = vec![
            channel(1, bob, 5_000_000, false),
            channel(2, bob, 900_000, true),
            channel(3, bob, 5_000_000, true),
            channel(4, carol, 100, true),
        ];
        let hints = vec![vec![hint(bob, 77)]];
        let amount = Msat(900_000);
        let found = candidates(&channels, us, carol, &hints, amount, &Exclusions::default());
        // Channel 2 cannot pay Bob's fee on top; channel 4 is too small; channel 1 is down.
        assert_eq!(found.iter().map(|c| c.channel_id.0[0]).collect::<Vec<_>>(), [3]);
        let mut excluded = Exclusions::default();
        excluded.short_channel_ids.push(ShortChannelId(77));
        assert!(candidates(&channels, us, carol, &hints, amount, &excluded).is_empty());
        let mut excluded = Exclusions::default();
        excluded.nodes.push(bob);
        assert!(candidates(&channels, us, carol, &hints, amount, &excluded).is_empty());
        let mut excluded = Exclusions::default();
        excluded.tried.push(found[0].clone());
        assert!(candidates(&channels, us, carol, &hints, amount, &excluded).is_empty());
    }

    #[test]
    fn a_hint_starting_at_us_uses_our_channel_to_the_next_node() {
        let (us, bob, carol) = (node(1), node(2), node(3));
        let channels = vec![channel(1, bob, 5_000_000, true)];
        let hints = vec![vec![hint(us, 1), hint(bob, 77)]];
        let found = candidates(&channels, us, carol, &hints, Msat(1000), &Exclusions::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].hops, vec![hint(bob, 77)]);
    }

    #[test]
    fn amounts_and_expiries_are_computed_backwards() {
        let (bob, carol, dave) = (node(2), node(3), node(4));
        let candidate = Candidate {
            channel_id: ChannelId([1; 32]),
            first_node: bob,
            hops: vec![hint(bob, 77), hint(carol, 88)],
        };
        let route = compute(
            &candidate,
            ShortChannelId(1),
            dave,
            Msat(1_000_000),
            BlockHeight(500),
            CltvExpiryDelta(18),
        )
        .unwrap();
        // Dave: 1,000,000 at 500 + 18 + 3. Carol charges 1000 + 100 ppm of 1,000,000 = 1100
        // and 40 blocks; Bob charges 1000 + 100 ppm of 1,001,100 = 1100 (floor) and 40.
        let expected =
            [(bob, 1, 1_002_200, 601), (carol, 77, 1_001_100, 561), (dave, 88, 1_000_000, 521)];
        let got: Vec<_> = route
            .hops
            .iter()
            .map(|h| (h.node_id, h.short_channel_id.0, h.amount.0, h.cltv_expiry.0))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(route.fee(), Msat(2200));
        assert_eq!(route.amount(), Msat(1_000_000));
        let payloads = route.payloads(PaymentSecret([7; 32]), None);
        match &payloads[0].1 {
            HopPayload::Forward(p) => {
                assert_eq!(
                    (p.amt_to_forward, p.outgoing_cltv_value),
                    (Msat(1_001_100), CltvExpiry(561))
                );
                assert_eq!(p.short_channel_id, ShortChannelId(77));
            }
            other => panic!("{other:?}"),
        }
        match &payloads[2].1 {
            HopPayload::Final(p) => {
                assert_eq!(p.total_msat(), Msat(1_000_000));
                assert_eq!(p.payment_data.unwrap().payment_secret, PaymentSecret([7; 32]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_direct_route_charges_no_fee() {
        let carol = node(3);
        let candidate =
            Candidate { channel_id: ChannelId([1; 32]), first_node: carol, hops: vec![] };
        let route = compute(
            &candidate,
            ShortChannelId(1),
            carol,
            Msat(5),
            BlockHeight(10),
            CltvExpiryDelta(18),
        )
        .unwrap();
        assert_eq!(route.hops.len(), 1);
        assert_eq!((route.fee(), route.first_expiry()), (Msat(0), CltvExpiry(31)));
    }

    #[test]
    fn overflowing_fees_and_far_expiries_are_refused() {
        let (bob, carol) = (node(2), node(3));
        let mut far = hint(bob, 77);
        far.cltv_expiry_delta = CltvExpiryDelta(2000);
        let candidate =
            Candidate { channel_id: ChannelId([1; 32]), first_node: bob, hops: vec![far] };
        let height = BlockHeight(10);
        let err =
            compute(&candidate, ShortChannelId(1), carol, Msat(5), height, CltvExpiryDelta(18));
        assert_eq!(err, Err(RouteError::CltvTooFar));
        let mut greedy = hint(bob, 77);
        greedy.fee_base_msat = u32::MAX;
        let candidate =
            Candidate { channel_id: ChannelId([1; 32]), first_node: bob, hops: vec![greedy] };
        let err =
            compute(&candidate, ShortChannelId(1), carol, Msat::MAX, height, CltvExpiryDelta(18));
        assert_eq!(err, Err(RouteError::AmountOverflow));
    }
}
