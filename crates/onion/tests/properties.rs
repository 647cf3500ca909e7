//! Property tests: hostile bytes never panic any decoder, and build → peel → fail → decode
//! round-trips over random routes of 1 to 20 hops.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use proptest::collection::vec;
use proptest::prelude::*;
use shandian_onion::{
    build_onion, create_attributed_failure_packet, decode_failure, forward_attributed_failure,
    peel, verify_attribution, AttributionData, Error, FailureMessage, FinalPayload, ForwardPayload,
    OnionPacket, Peeled, SharedSecret, PACKET_LEN,
};
use shandian_types::{BlockHeight, Msat};

fn secret_key(seed: u64) -> SecretKey {
    let mut bytes = [0x11u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    SecretKey::from_slice(&bytes).unwrap()
}

proptest! {
    #[test]
    fn peeling_arbitrary_packets_never_panics(
        bytes in vec(any::<u8>(), PACKET_LEN..=PACKET_LEN),
        zero_version in any::<bool>(),
        valid_key in any::<bool>(),
    ) {
        let secp = Secp256k1::new();
        let mut packet = OnionPacket::decode(&bytes).unwrap();
        if zero_version {
            packet.version = 0;
        }
        if valid_key {
            packet.public_key = PublicKey::from_secret_key(&secp, &secret_key(3)).serialize();
        }
        // Random bytes essentially never carry a valid HMAC; the error must be a BADONION one.
        let error = peel(&secp, &secret_key(1), &packet, &[0x42; 32]).unwrap_err();
        prop_assert!(error.failure_message().unwrap().code().is_bad_onion());
    }

    #[test]
    fn decoding_packets_of_any_length_never_panics(bytes in vec(any::<u8>(), 0..2000)) {
        let decoded = OnionPacket::decode(&bytes);
        prop_assert_eq!(decoded.is_ok(), bytes.len() == PACKET_LEN);
        if let Ok(packet) = decoded {
            prop_assert_eq!(packet.encode(), bytes);
        }
    }

    #[test]
    fn decoding_arbitrary_payloads_never_panics(bytes in vec(any::<u8>(), 0..300)) {
        for result in [
            ForwardPayload::decode(&bytes).map(|p| p.encode()),
            FinalPayload::decode(&bytes).map(|p| p.encode()),
        ] {
            match result {
                // Whatever decodes re-encodes to a payload that decodes the same way.
                Ok(encoded) => prop_assert!(
                    ForwardPayload::decode(&encoded).is_ok() || FinalPayload::decode(&encoded).is_ok()
                ),
                Err(error) => {
                    let is_payload_failure = matches!(
                        error.failure_message(),
                        Some(FailureMessage::InvalidOnionPayload { .. })
                    );
                    prop_assert!(is_payload_failure, "{:?}", error);
                }
            }
        }
    }

    #[test]
    fn decoding_arbitrary_failure_messages_never_panics(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(message) = FailureMessage::decode(&bytes) {
            // Re-encoding gives a prefix of the input (extra bytes are ignored).
            let encoded = message.encode().unwrap();
            prop_assert!(bytes.starts_with(&encoded));
        }
    }

    #[test]
    fn verifying_arbitrary_attribution_data_never_panics(
        bytes in vec(any::<u8>(), 920..=920),
        packet in vec(any::<u8>(), 0..400),
        hops in 0usize..30,
    ) {
        let secrets: Vec<SharedSecret> =
            (0..hops).map(|i| SharedSecret([i as u8; 32])).collect();
        let data = AttributionData::from_slice(&bytes).unwrap();
        let report = verify_attribution(&secrets, &packet, &data);
        prop_assert_eq!(report.first_invalid_hop, if hops == 0 { None } else { Some(0) });
    }

    #[test]
    fn decoding_arbitrary_failure_packets_never_panics(
        bytes in vec(any::<u8>(), 0..600),
        hops in 0usize..30,
    ) {
        let secrets: Vec<SharedSecret> =
            (0..hops).map(|i| SharedSecret([i as u8; 32])).collect();
        match decode_failure(&secrets, &bytes) {
            Err(Error::FailurePacketTooShort { length }) => prop_assert!(length < 36),
            Err(Error::FailureNotAttributable) => {}
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
            // Forging a 32-byte HMAC by chance does not happen.
            Ok(decoded) => prop_assert!(false, "attributed random bytes: {decoded:?}"),
        }
    }
}

/// A random route: node seeds and payload lengths, at most 20 hops, that fits the packet.
fn routes() -> impl Strategy<Value = Vec<(u64, usize)>> {
    vec((any::<u64>(), 2usize..40), 1..=20).prop_filter("fits 1300 bytes", |hops| {
        hops.iter().map(|(_, len)| shandian_onion::shift_size(*len)).sum::<usize>() <= 1300
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn build_peel_fail_decode_round_trip(
        route in routes(),
        session_seed in any::<u64>(),
        associated in any::<[u8; 32]>(),
        failing_choice in any::<proptest::sample::Index>(),
        fill in any::<u8>(),
    ) {
        let secp = Secp256k1::new();
        let keys: Vec<SecretKey> =
            route.iter().enumerate().map(|(i, (seed, _))| secret_key(seed ^ (i as u64) << 56)).collect();
        let hops: Vec<(PublicKey, Vec<u8>)> = route
            .iter()
            .zip(&keys)
            .map(|((_, len), key)| (PublicKey::from_secret_key(&secp, key), vec![fill; *len]))
            .collect();
        let built = build_onion(&secp, &secret_key(session_seed), &hops, &associated).unwrap();
        prop_assert_eq!(built.shared_secrets.len(), hops.len());

        let mut packet = built.packet.clone();
        let mut hop_secrets = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let peeled = peel(&secp, key, &packet, &associated).unwrap();
            prop_assert_eq!(peeled.shared_secret, built.shared_secrets[index]);
            prop_assert_eq!(peeled.peeled.payload(), hops[index].1.as_slice());
            hop_secrets.push(peeled.shared_secret);
            match peeled.peeled {
                Peeled::Forward { next_packet, .. } => {
                    prop_assert!(index + 1 < keys.len());
                    packet = *next_packet;
                }
                Peeled::Final { .. } => prop_assert_eq!(index + 1, keys.len()),
            }
        }

        // A failure from any hop travels back and is attributed to that hop.
        let failing = failing_choice.index(keys.len());
        let message = FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat: Msat(route[failing].0),
            height: BlockHeight(failing as u32),
        };
        let (mut reason, mut attribution) = create_attributed_failure_packet(
            &hop_secrets[failing],
            &message.encode().unwrap(),
            256,
            failing as u32,
        )
        .unwrap();
        for (hop, secret) in hop_secrets[..failing].iter().enumerate().rev() {
            attribution = forward_attributed_failure(secret, &mut reason, Some(attribution), hop as u32);
        }
        let decoded = decode_failure(&built.shared_secrets, &reason).unwrap();
        prop_assert_eq!(decoded.hop, failing);
        let report = verify_attribution(&built.shared_secrets[..=failing], &reason, &attribution);
        prop_assert_eq!(report.first_invalid_hop, None);
        prop_assert_eq!(report.hold_times, (0..=failing as u32).collect::<Vec<_>>());
        prop_assert_eq!(decoded.message, Ok(message));
    }
}
