//! Every BOLT 4 test vector for the Sphinx packet and returned errors, step by step,
//! byte-exact: bolt04/onion-test.json, bolt04/onion-error-test.json and the "Returning Errors"
//! trace in 04-onion-routing.md, read from ../shared at test time.

use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use serde_json::Value;
use shandian_onion::{
    build_onion, create_failure_packet, create_failure_packet_padded, decode_failure, derive_key,
    obfuscate_failure, peel, FailureMessage, FinalPayload, ForwardPayload, KeyType, OnionPacket,
    PaymentData, Peeled, SharedSecret,
};
use shandian_types::{BlockHeight, CltvExpiry, Msat, PaymentSecret, ShortChannelId};
use shandian_wire::{bigsize, TlvStream};

const BOLTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts");

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{BOLTS}/bolt04/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(value: &Value) -> Vec<u8> {
    Vec::from_hex(value.as_str().unwrap()).unwrap()
}

fn secret_key(value: &Value) -> SecretKey {
    SecretKey::from_slice(&hex(value)).unwrap()
}

fn public_key(value: &Value) -> PublicKey {
    PublicKey::from_slice(&hex(value)).unwrap()
}

/// The vector's payloads carry their BigSize length; `build_onion` takes them without.
fn strip_length(payload: &[u8]) -> Vec<u8> {
    let (length, used) = bigsize::decode(payload).unwrap();
    assert_eq!(payload.len() - used, length as usize);
    payload[used..].to_vec()
}

#[test]
fn onion_test_json_builds_the_packet_byte_for_byte() {
    let vector = json("onion-test.json");
    let generate = &vector["generate"];
    let hops: Vec<(PublicKey, Vec<u8>)> = generate["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| (public_key(&hop["pubkey"]), strip_length(&hex(&hop["payload"]))))
        .collect();
    let secp = Secp256k1::new();
    let built = build_onion(
        &secp,
        &secret_key(&generate["session_key"]),
        &hops,
        &hex(&generate["associated_data"]),
    )
    .unwrap();
    assert_eq!(built.packet.encode().to_lower_hex_string(), vector["onion"].as_str().unwrap());

    // The error vector states the same route's shared secrets.
    let error_hops = json("onion-error-test.json")["generate"]["hops"].clone();
    for (secret, hop) in built.shared_secrets.iter().zip(error_hops.as_array().unwrap()) {
        assert_eq!(secret.as_bytes().to_vec(), hex(&hop["hop_shared_secret"]));
    }
}

#[test]
fn onion_test_json_peels_at_every_hop() {
    let vector = json("onion-test.json");
    let associated_data = hex(&vector["generate"]["associated_data"]);
    let hops = vector["generate"]["hops"].as_array().unwrap().clone();
    let keys = vector["decode"].as_array().unwrap().clone();
    assert_eq!(hops.len(), keys.len());
    let secp = Secp256k1::new();
    let mut packet = OnionPacket::decode(&hex(&vector["onion"])).unwrap();
    let mut tags = Vec::new();
    for (index, (hop, key)) in hops.iter().zip(&keys).enumerate() {
        let key = secret_key(key);
        // The decode keys belong to the route's node ids.
        assert_eq!(PublicKey::from_secret_key(&secp, &key), public_key(&hop["pubkey"]));
        let peeled = peel(&secp, &key, &packet, &associated_data).unwrap();
        assert_eq!(peeled.peeled.payload(), strip_length(&hex(&hop["payload"])).as_slice());
        tags.push(peeled.replay_tag);
        match peeled.peeled {
            Peeled::Forward { next_packet, .. } => {
                assert!(index + 1 < hops.len(), "hop {index} must be final");
                packet = *next_packet;
            }
            Peeled::Final { .. } => assert_eq!(index + 1, hops.len(), "hop {index} is not final"),
        }
    }
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), hops.len());
}

#[test]
fn onion_test_json_payloads_decode_to_typed_payloads() {
    let vector = json("onion-test.json");
    let hops = vector["generate"]["hops"].as_array().unwrap().clone();
    let expected = [(15000, 1500, 1), (14000, 1400, 2), (12500, 1250, 3), (10000, 1000, 4)];
    for (hop, (amount, cltv, scid)) in hops.iter().zip(expected) {
        let payload = ForwardPayload::decode(&strip_length(&hex(&hop["payload"]))).unwrap();
        assert_eq!(payload.amt_to_forward, Msat(amount));
        assert_eq!(payload.outgoing_cltv_value, CltvExpiry(cltv));
        assert_eq!(payload.short_channel_id, ShortChannelId(scid));
    }
    let last = strip_length(&hex(&hops[4]["payload"]));
    let payload = FinalPayload::decode(&last).unwrap();
    assert_eq!(payload.amt_to_forward, Msat(10000));
    assert_eq!(payload.outgoing_cltv_value, CltvExpiry(1000));
    let secret: [u8; 32] =
        Vec::from_hex("24a33562c54507a9334e79f0dc4f17d407e6d7c61f0e2f3d0d38599502f61704")
            .unwrap()
            .try_into()
            .unwrap();
    assert_eq!(
        payload.payment_data,
        Some(PaymentData { payment_secret: PaymentSecret(secret), total_msat: Msat(10000) })
    );
    assert_eq!(payload.custom_records, vec![(301, vec![0x2a; 224])]);
    // Re-encoding reproduces the vector's payload.
    assert_eq!(payload.encode(), last);
    // A hop that finds a final payload where it expected to forward rejects it.
    assert!(ForwardPayload::decode(&last).is_err());
}

#[test]
fn onion_error_test_json_every_step() {
    let vector = json("onion-error-test.json");
    let generate = &vector["generate"];
    let hops = generate["hops"].as_array().unwrap().clone();
    let secrets: Vec<SharedSecret> = hops
        .iter()
        .map(|hop| SharedSecret(hex(&hop["hop_shared_secret"]).try_into().unwrap()))
        .collect();
    for (secret, hop) in secrets.iter().zip(&hops) {
        assert_eq!(derive_key(KeyType::Ammag, secret.as_bytes()).to_vec(), hex(&hop["ammag_key"]));
    }
    let failing = &hops[4];
    let secret = &secrets[4];
    assert_eq!(derive_key(KeyType::Um, secret.as_bytes()).to_vec(), hex(&failing["um_key"]));

    let failure_message = hex(&generate["failure_message"]);
    let typed = FailureMessage::decode(&failure_message).unwrap();
    assert_eq!(typed, FailureMessage::TemporaryNodeFailure);
    let mut packet = create_failure_packet(secret, &typed).unwrap();

    // Before obfuscation the packet is the HMAC over the stated payload, then the payload.
    let mut raw = packet.clone();
    obfuscate_failure(secret, &mut raw);
    let payload = hex(&failing["payload"]);
    assert_eq!(raw[32..], payload[..]);
    let um = derive_key(KeyType::Um, secret.as_bytes());
    let mut engine = HmacEngine::<sha256::Hash>::new(&um);
    engine.input(&payload);
    assert_eq!(raw[..32], Hmac::<sha256::Hash>::from_engine(engine).to_byte_array());

    for secret in secrets[..4].iter().rev() {
        obfuscate_failure(secret, &mut packet);
    }
    assert_eq!(packet, hex(&vector["errorpacket"]));

    let decoded = decode_failure(&secrets, &packet).unwrap();
    assert_eq!(decoded.hop, 4);
    assert_eq!(decoded.failure_message, failure_message);
    assert_eq!(decoded.message, Ok(FailureMessage::TemporaryNodeFailure));
}

/// `key = value` and `error packet for node N: value` lines of the spec's "Returning Errors"
/// trace, in order.
fn spec_error_trace() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(format!("{BOLTS}/04-onion-routing.md")).unwrap();
    let start =
        text.find("The following is an in-depth trace of an example of error message").unwrap();
    let end = text[start..].find("## Returning success").unwrap() + start;
    text[start..end]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (key, value) = line.split_once(" = ").or_else(|| line.split_once(": "))?;
            Some((key.trim().to_string(), Vec::from_hex(value.trim()).ok()?))
        })
        .collect()
}

#[test]
fn spec_returning_errors_trace_every_step() {
    let trace = spec_error_trace();
    let get = |key: &str| trace.iter().find(|(k, _)| k == key).unwrap().1.clone();

    // The failure message: incorrect_or_unknown_payment_details plus a 300-byte TLV record.
    let typed = FailureMessage::IncorrectOrUnknownPaymentDetails {
        htlc_msat: Msat(100),
        height: BlockHeight(800_000),
    };
    let mut encoded = typed.encode().unwrap();
    encoded.extend(TlvStream::encode(&mut [(34001, vec![128u8; 300])]).unwrap());
    // The trace's "encoded_failure_message" runs on into `pad_len` and `pad`: 1024 in all.
    let stated = get("encoded_failure_message");
    assert_eq!(encoded, stated[..encoded.len()]);
    assert_eq!(
        stated[encoded.len()..encoded.len() + 2],
        (1024 - encoded.len() as u16).to_be_bytes()
    );
    assert!(stated[encoded.len() + 2..].iter().all(|&b| b == 0));

    let secret = SharedSecret(get("shared_secret").try_into().unwrap());
    assert_eq!(derive_key(KeyType::Um, secret.as_bytes()).to_vec(), get("um_key"));
    // The trace pads `failure_len + pad_len` to 1024.
    let mut packet = create_failure_packet_padded(&secret, &encoded, 1024).unwrap();
    let mut raw = packet.clone();
    obfuscate_failure(&secret, &mut raw);
    assert_eq!(raw[32..], get("payload")[..]);
    assert_eq!(raw, get("raw_error_packet"));

    // Then each hop, the failing one first: shared secret, ammag key, stream, packet.
    let secrets: Vec<_> = trace.iter().filter(|(k, _)| k == "shared_secret").skip(1).collect();
    let ammags: Vec<_> = trace.iter().filter(|(k, _)| k == "ammag_key").collect();
    let streams: Vec<_> = trace.iter().filter(|(k, _)| k == "stream").collect();
    let packets: Vec<_> =
        trace.iter().filter(|(k, _)| k.starts_with("error packet for node")).collect();
    assert_eq!((secrets.len(), ammags.len(), streams.len(), packets.len()), (5, 5, 5, 5));
    // The creating node's obfuscation is the first of the five steps.
    packet = raw;
    let mut route_secrets = Vec::new();
    for (step, node) in (0..5).rev().enumerate() {
        let secret = SharedSecret(secrets[step].1.clone().try_into().unwrap());
        let ammag = derive_key(KeyType::Ammag, secret.as_bytes());
        assert_eq!(ammag.to_vec(), ammags[step].1);
        let mut stream = vec![0u8; streams[step].1.len()];
        obfuscate_failure(&secret, &mut stream);
        assert_eq!(stream, streams[step].1);
        obfuscate_failure(&secret, &mut packet);
        assert_eq!(packets[step].0, format!("error packet for node {node}"));
        assert_eq!(packet, packets[step].1, "error packet for node {node}");
        route_secrets.insert(0, secret);
    }

    let decoded = decode_failure(&route_secrets, &packet).unwrap();
    assert_eq!(decoded.hop, 4);
    assert_eq!(decoded.failure_message, encoded);
    assert_eq!(decoded.message, Ok(typed));
}
