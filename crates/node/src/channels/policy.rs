//! BOLT 7 `channel_update` for our channels: the one we sign and send our peer (for an
//! unannounced channel, directly and only to it), and the peer's, verified, which becomes the
//! channel's remote policy.

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, Verification};
use shandian_types::{Msat, ShortChannelId};
use shandian_wire::gossip_announce::signature_hash;
use shandian_wire::ChannelUpdate;

use crate::switch::RelayPolicy;

/// BOLT 7 `channel_flags` bit 0: 0 when the sender is `node_id_1`, the lexicographically
/// lesser of the two compressed node ids.
pub(crate) fn direction(ours: &PublicKey, theirs: &PublicKey) -> u8 {
    u8::from(ours.serialize() > theirs.serialize())
}

/// Our `channel_update` for a channel, with a placeholder signature (sign [`update_hash`]).
pub(crate) fn unsigned_update(
    chain_hash: ChainHash,
    short_channel_id: ShortChannelId,
    timestamp: u32,
    direction: u8,
    public: bool,
    policy: &RelayPolicy,
) -> ChannelUpdate {
    // BOLT 7: must_be_one is set; dont_forward for channels that are not announced.
    let message_flags = 1 | if public { 0 } else { 0b10 };
    ChannelUpdate {
        // Replaced by the node key's signature once the signed bytes exist.
        signature: Signature::from_compact(&[1; 64]).expect("constant valid compact signature"),
        chain_hash,
        short_channel_id,
        timestamp,
        message_flags,
        channel_flags: direction & 1,
        cltv_expiry_delta: policy.cltv_expiry_delta,
        htlc_minimum_msat: policy.htlc_minimum,
        fee_base_msat: u32::try_from(policy.base_fee.0).unwrap_or(u32::MAX),
        fee_proportional_millionths: policy.proportional_millionths,
        htlc_maximum_msat: policy.htlc_maximum,
        excess_data: Vec::new(),
    }
}

/// The hash our node key signs.
pub(crate) fn update_hash(update: &ChannelUpdate) -> bitcoin::secp256k1::Message {
    signature_hash(&update.signed_bytes())
}

/// Why a peer's `channel_update` was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UpdateRejected {
    /// Another chain.
    #[error("channel_update for another chain")]
    WrongChain,
    /// The direction bit says we sent it.
    #[error("channel_update has our direction")]
    WrongDirection,
    /// The signature is not the peer's.
    #[error("channel_update signature does not verify")]
    BadSignature,
    /// Not newer than the one we have.
    #[error("channel_update is not newer")]
    Stale,
}

/// BOLT 7: checks a peer's `channel_update` for one of our channels and returns the policy it
/// sets (or `None` when it disables the channel in its direction).
pub(crate) fn verify_peer_update<C: Verification>(
    secp: &Secp256k1<C>,
    update: &ChannelUpdate,
    chain_hash: ChainHash,
    ours: &PublicKey,
    peer: &PublicKey,
    last_timestamp: Option<u32>,
) -> Result<Option<RelayPolicy>, UpdateRejected> {
    // BOLT 7: MUST ignore channel_update for chains it does not know.
    if update.chain_hash != chain_hash {
        return Err(UpdateRejected::WrongChain);
    }
    if update.direction() != direction(peer, ours) {
        return Err(UpdateRejected::WrongDirection);
    }
    // BOLT 7: if signature is not a valid signature of node_id over the message: SHOULD
    // send a warning and fail the connection (we ignore it and keep the old policy).
    secp.verify_ecdsa(&update_hash(update), &update.signature, peer)
        .map_err(|_| UpdateRejected::BadSignature)?;
    // BOLT 7: if timestamp is not greater than the last one received: SHOULD ignore.
    if last_timestamp.is_some_and(|t| update.timestamp <= t) {
        return Err(UpdateRejected::Stale);
    }
    if update.is_disabled() {
        return Ok(None);
    }
    Ok(Some(RelayPolicy {
        base_fee: Msat(u64::from(update.fee_base_msat)),
        proportional_millionths: update.fee_proportional_millionths,
        cltv_expiry_delta: update.cltv_expiry_delta,
        htlc_minimum: update.htlc_minimum_msat,
        htlc_maximum: update.htlc_maximum_msat,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::SecretKey;
    use shandian_types::CltvExpiryDelta;

    fn policy() -> RelayPolicy {
        RelayPolicy {
            base_fee: Msat(1000),
            proportional_millionths: 10,
            cltv_expiry_delta: CltvExpiryDelta(40),
            htlc_minimum: Msat(1),
            htlc_maximum: Msat(1_000_000),
        }
    }

    fn keys(byte: u8) -> (SecretKey, PublicKey) {
        let secret = SecretKey::from_slice(&[byte; 32]).unwrap();
        (secret, PublicKey::from_secret_key(&Secp256k1::new(), &secret))
    }

    #[test]
    fn signed_update_verifies_and_tampering_is_caught() {
        let secp = Secp256k1::new();
        let (peer_secret, peer) = keys(7);
        let (_, ours) = keys(8);
        let scid = ShortChannelId::new(100, 1, 0).unwrap();
        let dir = direction(&peer, &ours);
        let mut update = unsigned_update(ChainHash::REGTEST, scid, 5, dir, false, &policy());
        update.signature = secp.sign_ecdsa(&update_hash(&update), &peer_secret);
        assert_eq!(update.message_flags, 0b11, "must_be_one and dont_forward");
        let got = verify_peer_update(&secp, &update, ChainHash::REGTEST, &ours, &peer, None);
        assert_eq!(got, Ok(Some(policy())));
        assert_eq!(
            verify_peer_update(&secp, &update, ChainHash::REGTEST, &ours, &peer, Some(5)),
            Err(UpdateRejected::Stale)
        );
        assert_eq!(
            verify_peer_update(&secp, &update, ChainHash::BITCOIN, &ours, &peer, None),
            Err(UpdateRejected::WrongChain)
        );
        // Signed by someone else (our key pretending to be the peer's).
        let mut forged = update.clone();
        forged.fee_base_msat = 0;
        assert_eq!(
            verify_peer_update(&secp, &forged, ChainHash::REGTEST, &ours, &peer, None),
            Err(UpdateRejected::BadSignature)
        );
        // Our own direction is refused.
        let mut mine = update.clone();
        mine.channel_flags ^= 1;
        assert_eq!(
            verify_peer_update(&secp, &mine, ChainHash::REGTEST, &ours, &peer, None),
            Err(UpdateRejected::WrongDirection)
        );
        // Disabled: no policy.
        let mut disabled = update;
        disabled.channel_flags |= 0b10;
        disabled.signature = secp.sign_ecdsa(&update_hash(&disabled), &peer_secret);
        assert_eq!(
            verify_peer_update(&secp, &disabled, ChainHash::REGTEST, &ours, &peer, None),
            Ok(None)
        );
    }

    #[test]
    fn direction_is_by_lesser_node_id() {
        let (_, a) = keys(1);
        let (_, b) = keys(2);
        assert_ne!(direction(&a, &b), direction(&b, &a));
        let lesser = if a.serialize() < b.serialize() { a } else { b };
        let greater = if lesser == a { b } else { a };
        assert_eq!(direction(&lesser, &greater), 0);
    }
}
