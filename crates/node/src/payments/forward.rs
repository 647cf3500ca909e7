//! Forwarding: whether to relay an HTLC whose onion names a next channel (BOLT 4 "Requirements"
//! of a forwarding node, BOLT 7 fees and `cltv_expiry_delta`), and how failures coming back are
//! kept until they can be passed upstream.

use shandian_channel::Htlc;
use shandian_onion::{
    create_failure_packet, obfuscate_failure, FailureMessage, ForwardPayload, ForwardingPolicy,
    SharedSecret,
};
use shandian_types::BlockHeight;

use crate::switch::ChannelSummary;

/// The furthest ahead an outgoing HTLC may expire (BOLT 4 `expiry_too_far`).
pub const MAX_OUTGOING_CLTV_BLOCKS: u32 = 2016;

/// Checks an HTLC to forward over `out` (the channel the payload's `short_channel_id` names,
/// if we have it). `margin` is how many blocks the *incoming* HTLC must still have before it
/// expires: never forward one we could not claim back in time if the next hop fulfils late.
pub fn check(
    htlc: &Htlc,
    payload: &ForwardPayload,
    out: Option<&ChannelSummary>,
    height: BlockHeight,
    margin: u32,
) -> Result<(), FailureMessage> {
    // BOLT 4: if the outgoing channel is unknown: unknown_next_peer.
    let Some(out) = out else { return Err(FailureMessage::UnknownNextPeer) };
    let policy = ForwardingPolicy {
        // A base fee above u32::MAX cannot be advertised; it is charged as the maximum.
        fee_base_msat: u32::try_from(out.local_policy.base_fee.0).unwrap_or(u32::MAX),
        fee_proportional_millionths: out.local_policy.proportional_millionths,
        cltv_expiry_delta: out.local_policy.cltv_expiry_delta,
        htlc_minimum_msat: out.local_policy.htlc_minimum.max(out.htlc_minimum),
    };
    // BOLT 4: amount_below_minimum, fee_insufficient, incorrect_cltv_expiry (BOLT 7: the
    // incoming HTLC pays our fee and leaves our cltv_expiry_delta).
    payload.check_htlc(htlc.amount_msat, htlc.cltv_expiry, &policy, &[])?;
    // BOLT 4: if the cltv_expiry is unreasonably near the present: expiry_too_soon. Our
    // margin is on the incoming HTLC, which we must be able to claim on chain.
    let earliest = height.0.saturating_add(margin);
    if htlc.cltv_expiry.0 <= earliest || payload.outgoing_cltv_value.0 <= height.0 {
        return Err(FailureMessage::ExpiryTooSoon { channel_update: Vec::new() });
    }
    // BOLT 4: if the cltv_expiry is unreasonably far in the future: expiry_too_far.
    if payload.outgoing_cltv_value.0 > height.0.saturating_add(MAX_OUTGOING_CLTV_BLOCKS) {
        return Err(FailureMessage::ExpiryTooFar);
    }
    // BOLT 4: the amount is above the channel's maximum, or it cannot take HTLCs now (peer
    // offline, shutting down, not enough outbound): temporary_channel_failure. We hold no
    // signed channel_update yet (no gossip), so it goes empty, as BOLT 4 allows.
    let over_maximum = payload.amt_to_forward > out.local_policy.htlc_maximum;
    if !out.usable || out.outbound < payload.amt_to_forward || over_maximum {
        return Err(FailureMessage::TemporaryChannelFailure { channel_update: Vec::new() });
    }
    Ok(())
}

/// What a forward's stored `failure` says to send upstream; written so that it never needs
/// a secret to store, only to send (the incoming shared secret is derived again after a
/// restart by peeling the incoming onion once more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The failure packet the next hop sent: obfuscate it with the incoming secret.
    Relay(Vec<u8>),
    /// Our own failure (an error at our hop): create the packet with the incoming secret.
    Own(FailureMessage),
}

const RELAY: u8 = 0;
const OWN: u8 = 1;

impl UpstreamFailure {
    /// Tag byte, then the packet or the encoded failure message.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            UpstreamFailure::Relay(packet) => [&[RELAY][..], packet].concat(),
            UpstreamFailure::Own(message) => {
                // Our own messages carry no channel_update, so they always encode.
                let bytes = message.encode().unwrap_or_else(|_| vec![0x10, 0x07, 0, 0]);
                [&[OWN][..], &bytes].concat()
            }
        }
    }

    /// Reads what [`UpstreamFailure::encode`] wrote; anything else (which this node never
    /// writes) becomes our own `temporary_node_failure`, so the upstream HTLC still fails.
    pub fn decode(bytes: &[u8]) -> UpstreamFailure {
        match bytes.split_first() {
            Some((&RELAY, packet)) => UpstreamFailure::Relay(packet.to_vec()),
            Some((&OWN, message)) => UpstreamFailure::Own(
                FailureMessage::decode(message).unwrap_or(FailureMessage::TemporaryNodeFailure),
            ),
            _ => UpstreamFailure::Own(FailureMessage::TemporaryNodeFailure),
        }
    }

    /// The `reason` of the `update_fail_htlc` we send upstream (BOLT 4 "Returning Errors": an
    /// intermediate hop obfuscates the packet with its `ammag` key; a failing hop creates it).
    pub fn to_reason(&self, incoming_secret: &SharedSecret) -> Vec<u8> {
        match self {
            UpstreamFailure::Relay(packet) => {
                let mut packet = packet.clone();
                obfuscate_failure(incoming_secret, &mut packet);
                packet
            }
            UpstreamFailure::Own(message) => create_failure_packet(incoming_secret, message)
                .or_else(|_| {
                    create_failure_packet(incoming_secret, &FailureMessage::TemporaryNodeFailure)
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::RelayPolicy;
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
    use shandian_onion::{decode_failure, FailureCode};
    use shandian_types::{
        ChannelId, CltvExpiry, CltvExpiryDelta, Msat, PaymentHash, ShortChannelId,
    };
    use shandian_wire::{OnionPacket, UpdateAddHtlc};

    const HEIGHT: BlockHeight = BlockHeight(1000);

    fn out(usable: bool, outbound: u64) -> ChannelSummary {
        let secp = Secp256k1::signing_only();
        let peer = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[3; 32]).unwrap());
        ChannelSummary {
            channel_id: ChannelId([2; 32]),
            peer,
            short_channel_id: Some(ShortChannelId(77)),
            usable,
            public: false,
            capacity: bitcoin::Amount::from_sat(1_000_000),
            outbound: Msat(outbound),
            inbound: Msat(0),
            htlc_minimum: Msat(1000),
            local_policy: RelayPolicy {
                base_fee: Msat(1000),
                proportional_millionths: 100,
                cltv_expiry_delta: CltvExpiryDelta(40),
                htlc_minimum: Msat(1),
                htlc_maximum: Msat(500_000_000),
            },
            remote_policy: None,
        }
    }

    fn htlc(amount: u64, expiry: u32) -> Htlc {
        UpdateAddHtlc {
            channel_id: ChannelId([1; 32]),
            id: 0,
            amount_msat: Msat(amount),
            payment_hash: PaymentHash([1; 32]),
            cltv_expiry: CltvExpiry(expiry),
            onion_routing_packet: OnionPacket::new([0; 1366]),
            blinding_point: None,
        }
    }

    fn payload(amount: u64, expiry: u32) -> ForwardPayload {
        ForwardPayload {
            amt_to_forward: Msat(amount),
            outgoing_cltv_value: CltvExpiry(expiry),
            short_channel_id: ShortChannelId(77),
        }
    }

    fn code(result: Result<(), FailureMessage>) -> FailureCode {
        result.unwrap_err().code()
    }

    #[test]
    fn a_forward_paying_our_fee_and_delta_passes() {
        // Fee: 1000 + 100 ppm of 1,000,000 = 1100; delta 40.
        let ok = check(
            &htlc(1_001_100, 1100),
            &payload(1_000_000, 1060),
            Some(&out(true, 5_000_000)),
            HEIGHT,
            36,
        );
        assert_eq!(ok, Ok(()));
    }

    #[test]
    fn each_forwarding_failure_has_its_code() {
        let channel = out(true, 5_000_000);
        let run =
            |h: Htlc, p: ForwardPayload, o: Option<&ChannelSummary>| check(&h, &p, o, HEIGHT, 36);
        assert_eq!(
            code(run(htlc(1_001_100, 1100), payload(1_000_000, 1060), None)),
            FailureCode::UNKNOWN_NEXT_PEER
        );
        assert_eq!(
            code(run(htlc(1_001_099, 1100), payload(1_000_000, 1060), Some(&channel))),
            FailureCode::FEE_INSUFFICIENT
        );
        assert_eq!(
            code(run(htlc(1_001_100, 1099), payload(1_000_000, 1060), Some(&channel))),
            FailureCode::INCORRECT_CLTV_EXPIRY
        );
        // The peer's minimum applies too.
        assert_eq!(
            code(run(htlc(2000, 1100), payload(999, 1060), Some(&channel))),
            FailureCode::AMOUNT_BELOW_MINIMUM
        );
        // Incoming expiry within 36 blocks of the tip.
        assert_eq!(
            code(run(htlc(1_001_100, 1036), payload(1_000_000, 996), Some(&channel))),
            FailureCode::EXPIRY_TOO_SOON
        );
        assert_eq!(
            code(run(htlc(1_001_100, 3100), payload(1_000_000, 3060), Some(&channel))),
            FailureCode::EXPIRY_TOO_FAR
        );
        assert_eq!(
            code(run(
                htlc(1_001_100, 1100),
                payload(1_000_000, 1060),
                Some(&out(false, 5_000_000))
            )),
            FailureCode::TEMPORARY_CHANNEL_FAILURE
        );
        assert_eq!(
            code(run(htlc(1_001_100, 1100), payload(1_000_000, 1060), Some(&out(true, 999_999)))),
            FailureCode::TEMPORARY_CHANNEL_FAILURE
        );
    }

    #[test]
    fn stored_failures_round_trip_and_become_reasons_the_origin_can_read() {
        let secret = SharedSecret([4; 32]);
        let own = UpstreamFailure::Own(FailureMessage::UnknownNextPeer);
        assert_eq!(UpstreamFailure::decode(&own.encode()), own);
        let reason = own.to_reason(&secret);
        let decoded = decode_failure(&[secret], &reason).unwrap();
        assert_eq!((decoded.hop, decoded.code), (0, Some(FailureCode::UNKNOWN_NEXT_PEER)));
        // A downstream failure relayed through us is still readable with both secrets.
        let downstream = SharedSecret([5; 32]);
        let packet =
            create_failure_packet(&downstream, &FailureMessage::PermanentChannelFailure).unwrap();
        let relay = UpstreamFailure::Relay(packet);
        assert_eq!(UpstreamFailure::decode(&relay.encode()), relay);
        let decoded = decode_failure(&[secret, downstream], &relay.to_reason(&secret)).unwrap();
        assert_eq!((decoded.hop, decoded.code), (1, Some(FailureCode::PERMANENT_CHANNEL_FAILURE)));
        assert_eq!(
            UpstreamFailure::decode(&[]),
            UpstreamFailure::Own(FailureMessage::TemporaryNodeFailure)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_stored_failure_still_fails_upstream(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let secret = SharedSecret([4; 32]);
            let reason = UpstreamFailure::decode(&bytes).to_reason(&secret);
            // Whatever was stored, the upstream HTLC gets a failure packet to send.
            proptest::prop_assert!(reason.len() >= 4 || bytes.first() == Some(&RELAY));
        }
    }
}
