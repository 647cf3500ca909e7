//! The signed-bytes helpers of BOLT 7 gossip: a signature made over `signed_bytes()` verifies
//! against the bytes `signed_part` extracts from the encoded message, including any excess
//! data appended after the known fields (BOLT 7: the signature covers "any future fields").

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use shandian_types::{CltvExpiryDelta, Features, Msat, NodeId, ShortChannelId};
use shandian_wire::*;

fn key(i: u8) -> SecretKey {
    SecretKey::from_slice(&[i; 32]).unwrap()
}

#[test]
fn channel_update_signature_covers_excess_data() {
    let secp = Secp256k1::new();
    let placeholder = secp.sign_ecdsa(&signature_hash(b""), &key(1));
    let mut update = ChannelUpdate {
        signature: placeholder,
        chain_hash: ChainHash::REGTEST,
        short_channel_id: ShortChannelId::new(103, 1, 0).unwrap(),
        timestamp: 1_700_000_000,
        message_flags: 1,
        channel_flags: 1,
        cltv_expiry_delta: CltvExpiryDelta(40),
        htlc_minimum_msat: Msat(1),
        fee_base_msat: 1000,
        fee_proportional_millionths: 100,
        htlc_maximum_msat: Msat(990_000_000),
        excess_data: vec![0xfd, 0x01, 0x02, 0x00],
    };
    update.signature = secp.sign_ecdsa(&signature_hash(&update.signed_bytes()), &key(1));
    let raw = Message::from(update.clone()).encode();
    let part = signed_part(&raw).unwrap();
    assert_eq!(part, update.signed_bytes().as_slice());
    let node = key(1).public_key(&secp);
    assert!(secp.verify_ecdsa(&signature_hash(part), &update.signature, &node).is_ok());
    // Changing an excess byte breaks the signature.
    let mut tampered = raw.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let Ok(Message::ChannelUpdate(t)) = Message::decode(&tampered) else { panic!() };
    assert_eq!(t.excess_data, vec![0xfd, 0x01, 0x02, 0x01]);
    let bad = signature_hash(signed_part(&tampered).unwrap());
    assert!(secp.verify_ecdsa(&bad, &t.signature, &node).is_err());
    assert_eq!(update.direction(), 1);
    assert!(!update.is_disabled() && !update.dont_forward());
}

#[test]
fn channel_announcement_signed_part_skips_four_signatures() {
    let secp = Secp256k1::new();
    let (n1, n2) = (key(2).public_key(&secp), key(3).public_key(&secp));
    let (b1, b2) = (key(4).public_key(&secp), key(5).public_key(&secp));
    let placeholder = secp.sign_ecdsa(&signature_hash(b""), &key(1));
    let mut ann = ChannelAnnouncement {
        node_signature_1: placeholder,
        node_signature_2: placeholder,
        bitcoin_signature_1: placeholder,
        bitcoin_signature_2: placeholder,
        features: Features::new(),
        chain_hash: ChainHash::REGTEST,
        short_channel_id: ShortChannelId::new(103, 1, 0).unwrap(),
        node_id_1: NodeId::from(n1),
        node_id_2: NodeId::from(n2),
        bitcoin_key_1: b1,
        bitcoin_key_2: b2,
        excess_data: vec![],
    };
    let hash = signature_hash(&ann.signed_bytes());
    ann.node_signature_1 = secp.sign_ecdsa(&hash, &key(2));
    ann.node_signature_2 = secp.sign_ecdsa(&hash, &key(3));
    ann.bitcoin_signature_1 = secp.sign_ecdsa(&hash, &key(4));
    ann.bitcoin_signature_2 = secp.sign_ecdsa(&hash, &key(5));
    let raw = Message::from(ann.clone()).encode();
    // 2-byte type + 4 signatures precede the signed part.
    assert_eq!(signed_part(&raw).unwrap(), &raw[2 + 256..]);
    let h = signature_hash(signed_part(&raw).unwrap());
    for (sig, pk) in [
        (ann.node_signature_1, n1),
        (ann.node_signature_2, n2),
        (ann.bitcoin_signature_1, b1),
        (ann.bitcoin_signature_2, b2),
    ] {
        assert!(secp.verify_ecdsa(&h, &sig, &pk).is_ok());
    }
}

#[test]
fn node_announcement_keeps_unknown_addresses_and_verifies() {
    let secp = Secp256k1::new();
    let placeholder = secp.sign_ecdsa(&signature_hash(b""), &key(1));
    let mut ann = NodeAnnouncement {
        signature: placeholder,
        features: Features::from_bits([1, 7]),
        timestamp: 5,
        node_id: NodeId::from(key(6).public_key(&secp)),
        rgb_color: [1, 2, 3],
        alias: *b"shandian\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        addresses: vec![
            NetAddress::Ipv4 { addr: [10, 0, 0, 1].into(), port: 9735 },
            NetAddress::Dns { hostname: "ln.example.com".into(), port: 9735 },
            // A future descriptor type: kept with everything after it.
            NetAddress::Unknown { addr_type: 42, data: vec![1, 2, 3] },
        ],
        excess_data: vec![],
    };
    ann.signature = secp.sign_ecdsa(&signature_hash(&ann.signed_bytes()), &key(6));
    let raw = Message::from(ann.clone()).encode();
    let Ok(Message::NodeAnnouncement(decoded)) = Message::decode(&raw) else { panic!() };
    assert_eq!(decoded, ann);
    let h = signature_hash(signed_part(&raw).unwrap());
    assert!(secp.verify_ecdsa(&h, &ann.signature, &key(6).public_key(&secp)).is_ok());
}

#[test]
fn node_announcement_with_truncated_known_address_fails() {
    let secp = Secp256k1::new();
    let ann = NodeAnnouncement {
        signature: secp.sign_ecdsa(&signature_hash(b""), &key(1)),
        features: Features::new(),
        timestamp: 5,
        node_id: NodeId::from(key(6).public_key(&secp)),
        rgb_color: [0; 3],
        alias: [0; 32],
        addresses: vec![NetAddress::Ipv6 { addr: [0; 16].into(), port: 1 }],
        excess_data: vec![],
    };
    let mut raw = Message::from(ann).encode();
    // addrlen sits after type, signature, flen, timestamp, node_id, rgb and alias.
    let at = 2 + 64 + 2 + 4 + 33 + 3 + 32;
    assert_eq!(&raw[at..at + 2], &[0, 19]);
    raw[at + 1] = 10; // claims 10 bytes: too short for the ipv6 descriptor
    assert!(Message::decode(&raw).is_err());
}
