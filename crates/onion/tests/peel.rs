//! Peeling rules of BOLT 4 "Onion Decryption" and building limits, with the failure each
//! rejection maps to.

use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use shandian_onion::{
    build_onion, derive_key, peel, shift_size, Error, FailureCode, FailureMessage, KeyType,
    OnionPacket, Peeled, SharedSecret, HOP_PAYLOADS_LEN, PACKET_LEN,
};

fn key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn two_hop_onion() -> (OnionPacket, [u8; 32]) {
    let secp = Secp256k1::new();
    let hops = vec![
        (PublicKey::from_secret_key(&secp, &key(1)), vec![1, 1, 1]),
        (PublicKey::from_secret_key(&secp, &key(2)), vec![2, 2]),
    ];
    let associated = [0x42; 32];
    (build_onion(&secp, &key(9), &hops, &associated).unwrap().packet, associated)
}

/// A packet for node `key(1)` with the given plaintext-after-XOR `hop_payloads` content,
/// authenticated correctly, so peeling reaches the framing checks.
fn authenticated_packet(unwrapped: &[u8; HOP_PAYLOADS_LEN], associated: &[u8]) -> OnionPacket {
    let secp = Secp256k1::new();
    let ephemeral = PublicKey::from_secret_key(&secp, &key(7));
    let secret = SharedSecret::new(&ephemeral, &key(1));
    // The sender obfuscates with the hop's rho stream; peeling XORs it off again.
    let mut hop_payloads = *unwrapped;
    let rho = derive_key(KeyType::Rho, secret.as_bytes());
    let mut stream = [0u8; HOP_PAYLOADS_LEN];
    apply_chacha(&rho, &mut stream);
    for (byte, s) in hop_payloads.iter_mut().zip(stream) {
        *byte ^= s;
    }
    let mut engine = HmacEngine::<sha256::Hash>::new(&derive_key(KeyType::Mu, secret.as_bytes()));
    engine.input(&hop_payloads);
    engine.input(associated);
    OnionPacket {
        version: 0,
        public_key: ephemeral.serialize(),
        hop_payloads,
        hmac: Hmac::<sha256::Hash>::from_engine(engine).to_byte_array(),
    }
}

/// BOLT 4's pseudo-random stream: ChaCha20 with an all-zero nonce.
fn apply_chacha(key: &[u8; 32], data: &mut [u8]) {
    use chacha20::cipher::{KeyIvInit, StreamCipher};
    chacha20::ChaCha20::new(key.into(), &[0u8; 12].into()).apply_keystream(data);
}

#[test]
fn a_valid_onion_peels_to_forward_then_final() {
    let secp = Secp256k1::new();
    let (packet, associated) = two_hop_onion();
    let first = peel(&secp, &key(1), &packet, &associated).unwrap();
    let Peeled::Forward { payload, next_packet } = first.peeled else { panic!("not forward") };
    assert_eq!(payload, [1, 1, 1]);
    let second = peel(&secp, &key(2), &next_packet, &associated).unwrap();
    assert_eq!(second.peeled, Peeled::Final { payload: vec![2, 2] });
    assert_ne!(first.replay_tag, second.replay_tag);
    // Peeling the same packet again gives the same tag: that is how a replay is recognised.
    assert_eq!(peel(&secp, &key(1), &packet, &associated).unwrap().replay_tag, first.replay_tag);
}

#[test]
fn unknown_version_is_invalid_onion_version() {
    // BOLT 4: if `version` is not 0, MUST abort processing the packet and fail.
    let secp = Secp256k1::new();
    let (mut packet, associated) = two_hop_onion();
    packet.version = 1;
    let error = peel(&secp, &key(1), &packet, &associated).unwrap_err();
    let message = error.failure_message().unwrap();
    assert_eq!(message.code(), FailureCode::INVALID_ONION_VERSION);
    assert_eq!(
        message,
        FailureMessage::InvalidOnionVersion { sha256_of_onion: packet.sha256_of_onion() }
    );
}

#[test]
fn invalid_public_key_is_invalid_onion_key() {
    // BOLT 4: if `public_key` is not a valid pubkey, MUST abort processing the packet and fail.
    let secp = Secp256k1::new();
    let (mut packet, associated) = two_hop_onion();
    packet.public_key[0] = 0x04;
    let error = peel(&secp, &key(1), &packet, &associated).unwrap_err();
    assert_eq!(error, Error::InvalidKey { sha256_of_onion: packet.sha256_of_onion() });
    assert_eq!(error.failure_message().unwrap().code(), FailureCode::INVALID_ONION_KEY);
}

#[test]
fn tampering_is_invalid_onion_hmac() {
    // BOLT 4: if the computed HMAC and `hmac` differ, MUST abort processing the packet and fail.
    let secp = Secp256k1::new();
    let (packet, associated) = two_hop_onion();
    let mut flipped = packet.clone();
    flipped.hop_payloads[700] ^= 1;
    let mut wrong_hmac = packet.clone();
    wrong_hmac.hmac[31] ^= 1;
    for bad in [&flipped, &wrong_hmac] {
        let error = peel(&secp, &key(1), bad, &associated).unwrap_err();
        assert_eq!(error, Error::InvalidHmac { sha256_of_onion: bad.sha256_of_onion() });
        assert_eq!(error.failure_message().unwrap().code(), FailureCode::INVALID_ONION_HMAC);
    }
    // Another payment hash (associated data) or another node's key fail the same way.
    assert!(matches!(peel(&secp, &key(1), &packet, &[0; 32]), Err(Error::InvalidHmac { .. })));
    assert!(matches!(peel(&secp, &key(3), &packet, &associated), Err(Error::InvalidHmac { .. })));
}

#[test]
fn payload_length_below_two_is_rejected() {
    // BOLT 4: if the `payload_length` is less than two, MUST abort processing and fail.
    let secp = Secp256k1::new();
    for length in [0u8, 1] {
        let mut unwrapped = [0u8; HOP_PAYLOADS_LEN];
        unwrapped[0] = length;
        let packet = authenticated_packet(&unwrapped, &[]);
        let error = peel(&secp, &key(1), &packet, &[]).unwrap_err();
        assert_eq!(error, Error::MalformedHopFraming);
        assert_eq!(
            error.failure_message(),
            Some(FailureMessage::InvalidOnionPayload { tlv_type: 0, offset: 0 })
        );
    }
}

#[test]
fn malformed_or_oversized_payload_length_is_rejected() {
    let secp = Secp256k1::new();
    // Non-minimal BigSize.
    let mut unwrapped = [0u8; HOP_PAYLOADS_LEN];
    unwrapped[..3].copy_from_slice(&[0xfd, 0x00, 0x10]);
    let packet = authenticated_packet(&unwrapped, &[]);
    assert_eq!(peel(&secp, &key(1), &packet, &[]), Err(Error::MalformedHopFraming));
    // Payload runs past the end.
    unwrapped[..3].copy_from_slice(&[0xfd, 0x05, 0x14]);
    let packet = authenticated_packet(&unwrapped, &[]);
    assert_eq!(peel(&secp, &key(1), &packet, &[]), Err(Error::MalformedHopFraming));
    // Payload fits but the next HMAC does not.
    let length = (HOP_PAYLOADS_LEN - 3 - 31) as u16;
    unwrapped[..3].copy_from_slice(&[0xfd, (length >> 8) as u8, length as u8]);
    let packet = authenticated_packet(&unwrapped, &[]);
    assert_eq!(peel(&secp, &key(1), &packet, &[]), Err(Error::MalformedHopFraming));
    // Exactly filling the 1,300 bytes is allowed (final hop: zero HMAC).
    let length = (HOP_PAYLOADS_LEN - 3 - 32) as u16;
    unwrapped[..3].copy_from_slice(&[0xfd, (length >> 8) as u8, length as u8]);
    let packet = authenticated_packet(&unwrapped, &[]);
    let peeled = peel(&secp, &key(1), &packet, &[]).unwrap();
    assert_eq!(peeled.peeled.payload().len(), usize::from(length));
}

#[test]
fn build_limits() {
    let secp = Secp256k1::new();
    let node = PublicKey::from_secret_key(&secp, &key(1));
    assert_eq!(build_onion(&secp, &key(9), &[], &[]), Err(Error::NoHops));
    assert_eq!(
        build_onion(&secp, &key(9), &[(node, vec![1, 2]), (node, vec![1])], &[]),
        Err(Error::PayloadTooShort { hop: 1 })
    );
    // 27 hops of 14-byte payloads fill 27 * 47 = 1269 bytes; 28 do not fit.
    let hops = vec![(node, vec![0xaa; 14]); 27];
    assert_eq!(hops.len() * shift_size(14), 1269);
    assert!(build_onion(&secp, &key(9), &hops, &[]).is_ok());
    let hops = vec![(node, vec![0xaa; 14]); 28];
    assert_eq!(
        build_onion(&secp, &key(9), &hops, &[]),
        Err(Error::RouteTooLong { needed: 28 * 47, available: HOP_PAYLOADS_LEN })
    );
    // One payload filling the whole packet.
    let single = vec![(node, vec![0xbb; HOP_PAYLOADS_LEN - 3 - 32])];
    let built = build_onion(&secp, &key(9), &single, &[]).unwrap();
    let peeled = peel(&secp, &key(1), &built.packet, &[]).unwrap();
    assert!(matches!(peeled.peeled, Peeled::Final { .. }));
    assert_eq!(OnionPacket::decode(&built.packet.encode()).unwrap().encode().len(), PACKET_LEN);
}

#[test]
fn payment_onion_from_typed_payloads() {
    use shandian_onion::{build_payment_onion, FinalPayload, ForwardPayload, HopPayload};
    use shandian_types::{CltvExpiry, Msat, NodeId, PaymentHash, ShortChannelId};
    let secp = Secp256k1::new();
    let node = |i: u8| NodeId::from(PublicKey::from_secret_key(&secp, &key(i)));
    let forward = HopPayload::Forward(ForwardPayload {
        amt_to_forward: Msat(1000),
        outgoing_cltv_value: CltvExpiry(100),
        short_channel_id: ShortChannelId(7),
    });
    let last = FinalPayload::new(Msat(1000), CltvExpiry(100));
    let hash = PaymentHash([3; 32]);
    let route = vec![(node(1), forward.clone()), (node(2), HopPayload::Final(last.clone()))];
    let built = build_payment_onion(&secp, &key(9), &route, &hash).unwrap();
    let bytes = built.packet.to_bytes();
    let first = peel(&secp, &key(1), &OnionPacket::from_bytes(&bytes), &hash.0).unwrap();
    let Peeled::Forward { payload, next_packet } = first.peeled else { panic!("not forward") };
    assert_eq!(HopPayload::Forward(ForwardPayload::decode(&payload).unwrap()), forward);
    let second = peel(&secp, &key(2), &next_packet, &hash.0).unwrap();
    assert_eq!(FinalPayload::decode(second.peeled.payload()).unwrap(), last);
    // A final payload anywhere but last, or a forwarding one last, is refused.
    let wrong = vec![(node(1), HopPayload::Final(last.clone())), (node(2), forward.clone())];
    assert_eq!(
        build_payment_onion(&secp, &key(9), &wrong, &hash),
        Err(Error::PayloadKindMismatch { hop: 0 })
    );
    let no_final = vec![(node(1), forward)];
    assert_eq!(
        build_payment_onion(&secp, &key(9), &no_final, &hash),
        Err(Error::PayloadKindMismatch { hop: 0 })
    );
}
