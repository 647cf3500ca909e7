//! Arbitrary bytes as an incoming onion packet at a hop. Nothing may panic. The bytes are
//! peeled twice: as received (almost always a BADONION failure), and re-authenticated with a
//! valid HMAC so the payload framing and hop payload rules are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shandian_onion::{
    derive_key, peel, FinalPayload, ForwardPayload, KeyType, OnionPacket, Peeled, SharedSecret,
    PACKET_LEN,
};
use shandian_types::bitcoin::hashes::hmac::{Hmac, HmacEngine};
use shandian_types::bitcoin::hashes::{sha256, Hash, HashEngine};
use shandian_types::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

const ASSOCIATED_DATA: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let secp = Secp256k1::new();
    let node_key = SecretKey::from_slice(&[0x11; 32]).unwrap();
    let mut bytes = [0u8; PACKET_LEN];
    let used = data.len().min(PACKET_LEN);
    bytes[..used].copy_from_slice(&data[..used]);
    let mut packet = OnionPacket::decode(&bytes).unwrap();
    if let Err(error) = peel(&secp, &node_key, &packet, &ASSOCIATED_DATA) {
        assert!(error.failure_message().is_some());
    }

    let ephemeral = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[0x22; 32]).unwrap());
    let secret = SharedSecret::new(&ephemeral, &node_key);
    let mut engine = HmacEngine::<sha256::Hash>::new(&derive_key(KeyType::Mu, secret.as_bytes()));
    engine.input(&packet.hop_payloads);
    engine.input(&ASSOCIATED_DATA);
    packet.version = 0;
    packet.public_key = ephemeral.serialize();
    packet.hmac = Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
    match peel(&secp, &node_key, &packet, &ASSOCIATED_DATA) {
        Ok(peeled) => {
            assert_eq!(peeled.shared_secret, secret);
            match peeled.peeled {
                Peeled::Forward { payload, next_packet } => {
                    assert_eq!(next_packet.encode().len(), PACKET_LEN);
                    if let Ok(forward) = ForwardPayload::decode(&payload) {
                        assert_eq!(ForwardPayload::decode(&forward.encode()), Ok(forward));
                    }
                }
                Peeled::Final { payload } => {
                    if let Ok(last) = FinalPayload::decode(&payload) {
                        assert_eq!(FinalPayload::decode(&last.encode()), Ok(last));
                    }
                }
            }
        }
        Err(error) => assert!(error.failure_message().is_some()),
    }
});
