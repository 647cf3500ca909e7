//! Building an onion at the origin node (BOLT 4 "Packet Construction" and "Filler
//! Generation").

use crate::error::Error;
use crate::packet::{OnionPacket, HMAC_LEN, HOP_PAYLOADS_LEN, ONION_VERSION};
use crate::payload::HopPayload;
use crate::sphinx::{
    blinding_factor, derive_key, hmac_sha256, xor_stream, KeyType, SharedSecret, Stream,
};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing};
use shandian_types::{NodeId, PaymentHash};
use shandian_wire::bigsize;

/// The smallest payload a hop may be given: BOLT 4 reserves lengths 0 and 1.
pub const MIN_PAYLOAD_LEN: usize = 2;

/// A built onion and what the origin keeps to read failures that come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltOnion {
    /// The packet to send to the first hop.
    pub packet: OnionPacket,
    /// One shared secret per hop, in route order; [`crate::decode_failure`] needs them.
    pub shared_secrets: Vec<SharedSecret>,
}

/// Builds the onion for `hops` (node id and TLV payload, without its length prefix, in route
/// order, the final node last), committing to `associated_data` (the payment hash).
///
/// `session_key` must be fresh randomness for every onion: it seeds every hop's keys and the
/// packet's initial filling (derived with the `pad` key, as BOLT 4 specifies). As many hops fit
/// as their payloads allow: each takes its payload, the payload's BigSize length and a 32-byte
/// HMAC out of the 1,300 bytes.
pub fn build_onion<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, Vec<u8>)],
    associated_data: &[u8],
) -> Result<BuiltOnion, Error> {
    if hops.is_empty() {
        return Err(Error::NoHops);
    }
    let mut needed = 0usize;
    for (index, (_, payload)) in hops.iter().enumerate() {
        if payload.len() < MIN_PAYLOAD_LEN {
            return Err(Error::PayloadTooShort { hop: index });
        }
        needed = needed.saturating_add(shift_size(payload.len()));
    }
    if needed > HOP_PAYLOADS_LEN {
        return Err(Error::RouteTooLong { needed, available: HOP_PAYLOADS_LEN });
    }
    let (first_key, shared_secrets) = route_secrets(secp, session_key, hops)?;
    let filler = filler(hops, &shared_secrets);

    // BOLT 4: the packet starts as 1,300 bytes of the `pad` key's stream, keyed by the session
    // key, so the unused tail looks random yet the build is deterministic.
    let mut mix_header = [0u8; HOP_PAYLOADS_LEN];
    xor_stream(&derive_key(KeyType::Pad, &session_key.secret_bytes()), &mut mix_header);
    let mut next_hmac = [0u8; HMAC_LEN];
    for (index, ((_, payload), secret)) in hops.iter().zip(&shared_secrets).enumerate().rev() {
        let shift = shift_size(payload.len());
        mix_header.copy_within(..HOP_PAYLOADS_LEN - shift, shift);
        let mut head = Vec::with_capacity(shift);
        bigsize::encode(payload.len() as u64, &mut head);
        head.extend_from_slice(payload);
        head.extend_from_slice(&next_hmac);
        mix_header[..shift].copy_from_slice(&head);
        xor_stream(&secret.key(KeyType::Rho), &mut mix_header);
        if index + 1 == hops.len() {
            let start = HOP_PAYLOADS_LEN - filler.len();
            mix_header[start..].copy_from_slice(&filler);
        }
        next_hmac = hmac_sha256(&secret.key(KeyType::Mu), &[&mix_header, associated_data]);
    }
    let packet = OnionPacket {
        version: ONION_VERSION,
        public_key: first_key.serialize(),
        hop_payloads: mix_header,
        hmac: next_hmac,
    };
    Ok(BuiltOnion { packet, shared_secrets })
}

/// Builds the onion of a payment: `route` lists each hop's node id and typed payload in route
/// order, every hop but the last a [`HopPayload::Forward`] and the last a
/// [`HopPayload::Final`]; the associated data is the payment hash (BOLT 2 `update_add_htlc`).
/// Send `packet.to_bytes()` as `onion_routing_packet`; keep `shared_secrets` to decode failures.
pub fn build_payment_onion<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    route: &[(NodeId, HopPayload)],
    payment_hash: &PaymentHash,
) -> Result<BuiltOnion, Error> {
    let last = route.len().saturating_sub(1);
    let mut hops = Vec::with_capacity(route.len());
    for (index, (node_id, payload)) in route.iter().enumerate() {
        let is_final = matches!(payload, HopPayload::Final(_));
        if is_final != (index == last) {
            return Err(Error::PayloadKindMismatch { hop: index });
        }
        hops.push((node_id.public_key(), payload.encode()));
    }
    build_onion(secp, session_key, &hops, payment_hash.as_bytes())
}

/// How many bytes a payload of `len` bytes occupies: BigSize length, payload, HMAC.
pub fn shift_size(len: usize) -> usize {
    bigsize::encoded_len(len as u64) + len + HMAC_LEN
}

/// The first hop's ephemeral public key and every hop's shared secret.
///
/// BOLT 4: `ss_k = SHA256(ECDH(node_k, ek_k))`, `ek_{k+1} = ek_k * SHA256(epk_k || ss_k)`.
fn route_secrets<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, Vec<u8>)],
) -> Result<(PublicKey, Vec<SharedSecret>), Error> {
    let first_key = PublicKey::from_secret_key(secp, session_key);
    let mut ephemeral_secret = *session_key;
    let mut ephemeral_public = first_key;
    let mut secrets = Vec::with_capacity(hops.len());
    for (index, (node_id, _)) in hops.iter().enumerate() {
        let secret = SharedSecret::new(node_id, &ephemeral_secret);
        secrets.push(secret);
        if index + 1 == hops.len() {
            break;
        }
        let factor = blinding_factor(&ephemeral_public.serialize(), &secret);
        let factor = Scalar::from_be_bytes(factor).map_err(|_| Error::BlindingOverflow)?;
        ephemeral_secret =
            ephemeral_secret.mul_tweak(&factor).map_err(|_| Error::BlindingOverflow)?;
        ephemeral_public = PublicKey::from_secret_key(secp, &ephemeral_secret);
    }
    Ok((first_key, secrets))
}

/// The filler: the tail that hops 0..n-1 append while peeling, as the last hop will see it
/// (BOLT 4 "Filler Generation"). Built incrementally: hop `i` extends the filler by its shift
/// and XORs it with its `rho` stream where that tail falls in its 2 × 1,300-byte stream.
fn filler(hops: &[(PublicKey, Vec<u8>)], secrets: &[SharedSecret]) -> Vec<u8> {
    let mut filler: Vec<u8> = Vec::new();
    let forwarding = hops.len().saturating_sub(1);
    for ((_, payload), secret) in hops.iter().zip(secrets).take(forwarding) {
        let offset = HOP_PAYLOADS_LEN - filler.len();
        filler.resize(filler.len() + shift_size(payload.len()), 0);
        Stream::at(&secret.key(KeyType::Rho), offset).apply(&mut filler);
    }
    filler
}
