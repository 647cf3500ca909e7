//! Processing an onion at a hop (BOLT 4 "Onion Decryption"): shared secret, HMAC check, peel,
//! and the packet for the next hop.

use crate::error::Error;
use crate::packet::{OnionPacket, HMAC_LEN, HOP_PAYLOADS_LEN, ONION_VERSION};
use crate::sphinx::{
    blinding_factor, hmac_sha256, macs_equal, sha256, KeyType, SharedSecret, Stream,
};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Verification};
use shandian_wire::Reader;

/// What a hop learns from a valid onion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeledOnion {
    /// The secret shared with the origin; keep it with the HTLC to create or obfuscate a
    /// failure message later ([`crate::create_failure_packet`], [`crate::obfuscate_failure`]).
    pub shared_secret: SharedSecret,
    /// The replay-detection tag; see [`ReplayTag`].
    pub replay_tag: ReplayTag,
    /// This hop's payload, and the next packet unless this hop is the final node.
    pub peeled: Peeled,
}

/// The two outcomes of peeling a valid onion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peeled {
    /// An intermediate hop: decode `payload` with [`crate::ForwardPayload::decode`] and send
    /// `next_packet` on.
    Forward {
        /// This hop's TLV payload, without its length prefix.
        payload: Vec<u8>,
        /// The packet for the next hop.
        next_packet: Box<OnionPacket>,
    },
    /// The final node (the next HMAC is all zero): decode `payload` with
    /// [`crate::FinalPayload::decode`].
    Final {
        /// This hop's TLV payload, without its length prefix.
        payload: Vec<u8>,
    },
}

impl Peeled {
    /// This hop's TLV payload.
    pub fn payload(&self) -> &[u8] {
        match self {
            Peeled::Forward { payload, .. } | Peeled::Final { payload } => payload,
        }
    }
}

/// A tag identifying an onion at this node, for replay detection: SHA-256 of the shared secret.
///
/// Why it is unique per packet: the shared secret is ECDH of the packet's ephemeral key with
/// this node's key, and the origin draws a fresh session key for every onion, so distinct
/// onions give distinct secrets. An attacker cannot pair an old ephemeral key with new content,
/// because the HMAC checked before the tag is computed needs the shared secret to forge. So a
/// tag seen before means the same onion arrived again (BOLT 4: "if `hmac` has previously been
/// received ... MUST abort processing the packet and fail"). The secret is hashed so a replay
/// store never holds the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplayTag(pub [u8; 32]);

/// Peels one layer of `packet` with this node's secret key.
///
/// `associated_data` is the HTLC's payment hash. Errors map to BOLT 4 failure codes with
/// [`Error::failure_message`]: a bad version, key or HMAC is a BADONION failure (sent back as
/// `update_fail_malformed_htlc`); a malformed payload framing is `invalid_onion_payload`.
pub fn peel<C: Verification>(
    secp: &Secp256k1<C>,
    node_secret: &SecretKey,
    packet: &OnionPacket,
    associated_data: &[u8],
) -> Result<PeeledOnion, Error> {
    // BOLT 4: if `version` is not 0, MUST abort processing the packet and fail.
    if packet.version != ONION_VERSION {
        return Err(Error::UnknownVersion {
            version: packet.version,
            sha256_of_onion: packet.sha256_of_onion(),
        });
    }
    // BOLT 4: if `public_key` is not a valid pubkey, MUST abort processing the packet and fail.
    let ephemeral_key = PublicKey::from_slice(&packet.public_key)
        .map_err(|_| Error::InvalidKey { sha256_of_onion: packet.sha256_of_onion() })?;
    let shared_secret = SharedSecret::new(&ephemeral_key, node_secret);
    let expected =
        hmac_sha256(&shared_secret.key(KeyType::Mu), &[&packet.hop_payloads, associated_data]);
    // BOLT 4: MUST use a constant time comparison; if they differ, MUST abort and fail.
    if !macs_equal(&expected, &packet.hmac) {
        return Err(Error::InvalidHmac { sha256_of_onion: packet.sha256_of_onion() });
    }

    let mut rho = Stream::new(&shared_secret.key(KeyType::Rho));
    let mut unwrapped = packet.hop_payloads;
    rho.apply(&mut unwrapped);
    let (payload, next_hmac, shift) = split_hop(&unwrapped)?;
    let replay_tag = ReplayTag(sha256(&[shared_secret.as_bytes()]));
    if next_hmac == [0u8; HMAC_LEN] {
        let peeled = Peeled::Final { payload: payload.to_vec() };
        return Ok(PeeledOnion { shared_secret, replay_tag, peeled });
    }

    // The next hop's payloads: the rest of ours, then `shift` bytes of our stream over zeros
    // (the second half of BOLT 4's 2 × 1,300-byte stream, continuing where `rho` stopped).
    let mut next_payloads = [0u8; HOP_PAYLOADS_LEN];
    let keep = HOP_PAYLOADS_LEN - shift;
    next_payloads[..keep].copy_from_slice(&unwrapped[shift..]);
    rho.apply(&mut next_payloads[keep..]);
    let factor = blinding_factor(&packet.public_key, &shared_secret);
    let factor = Scalar::from_be_bytes(factor).map_err(|_| Error::BlindingOverflow)?;
    let next_key = ephemeral_key.mul_tweak(secp, &factor).map_err(|_| Error::BlindingOverflow)?;
    let next_packet = Box::new(OnionPacket {
        version: ONION_VERSION,
        public_key: next_key.serialize(),
        hop_payloads: next_payloads,
        hmac: next_hmac,
    });
    let peeled = Peeled::Forward { payload: payload.to_vec(), next_packet };
    Ok(PeeledOnion { shared_secret, replay_tag, peeled })
}

/// Splits the deobfuscated payloads into this hop's payload, the next HMAC and the number of
/// bytes they took, enforcing BOLT 4's framing rules.
fn split_hop(unwrapped: &[u8; HOP_PAYLOADS_LEN]) -> Result<(&[u8], [u8; HMAC_LEN], usize), Error> {
    let mut reader = Reader::new(unwrapped);
    // BOLT 4: a malformed `payload_length` MUST abort processing.
    let length = reader.read_bigsize().map_err(|_| Error::MalformedHopFraming)?;
    // BOLT 4: a `payload_length` below two MUST abort processing.
    if length < 2 {
        return Err(Error::MalformedHopFraming);
    }
    // BOLT 4: too few bytes for the payload or the HMAC MUST abort; so must an
    // `unwrapped_payloads` shorter than `hop_payloads`, which here means the payload and HMAC
    // must fit inside the 1,300 bytes.
    let length = usize::try_from(length).map_err(|_| Error::MalformedHopFraming)?;
    let payload = reader.read_bytes(length).map_err(|_| Error::MalformedHopFraming)?;
    let next_hmac: [u8; HMAC_LEN] = reader.read_array().map_err(|_| Error::MalformedHopFraming)?;
    let shift = HOP_PAYLOADS_LEN - reader.remaining().len();
    Ok((payload, next_hmac, shift))
}
