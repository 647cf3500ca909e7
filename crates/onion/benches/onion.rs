//! Onion hot paths: building a 20-hop onion at the origin and peeling one layer at a hop, with
//! the reference they are judged against measured on the same machine: one ECDH plus one
//! public-key tweak (the two elliptic-curve operations a peel cannot avoid).

use bitcoin::secp256k1::{ecdh, PublicKey, Scalar, Secp256k1, SecretKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shandian_onion::{
    build_onion, create_attributed_failure_packet, create_failure_packet, decode_failure,
    forward_attributed_failure, peel, verify_attribution, FailureMessage, ForwardPayload,
    HopPayload, OnionPacket, SharedSecret,
};
use shandian_types::{CltvExpiry, Msat, ShortChannelId};

const HOPS: u8 = 20;

fn node_key(index: u8) -> SecretKey {
    SecretKey::from_slice(&[index.wrapping_add(1); 32]).unwrap()
}

fn route<C: bitcoin::secp256k1::Signing>(secp: &Secp256k1<C>) -> Vec<(PublicKey, Vec<u8>)> {
    (0..HOPS)
        .map(|i| {
            let payload = HopPayload::Forward(ForwardPayload {
                amt_to_forward: Msat(1_000_000 + u64::from(i)),
                outgoing_cltv_value: CltvExpiry(800_000 + u32::from(i)),
                short_channel_id: ShortChannelId(u64::from(i) << 40),
            });
            (PublicKey::from_secret_key(secp, &node_key(i)), payload.encode())
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let session_key = SecretKey::from_slice(&[0x41; 32]).unwrap();
    let hops = route(&secp);
    let payment_hash = [0x42u8; 32];

    c.bench_function("build 20-hop onion", |b| {
        b.iter(|| build_onion(&secp, black_box(&session_key), black_box(&hops), &payment_hash))
    });

    let built = build_onion(&secp, &session_key, &hops, &payment_hash).unwrap();
    let packet: OnionPacket = built.packet.clone();
    let first = node_key(0);
    c.bench_function("peel one hop", |b| {
        b.iter(|| peel(&secp, black_box(&first), black_box(&packet), &payment_hash))
    });

    let ephemeral = PublicKey::from_slice(&packet.public_key).unwrap();
    let tweak = Scalar::from_be_bytes([0x11; 32]).unwrap();
    c.bench_function("reference: ECDH + key tweak", |b| {
        b.iter(|| {
            let secret = ecdh::SharedSecret::new(black_box(&ephemeral), black_box(&first));
            let next = black_box(ephemeral).mul_tweak(&secp, black_box(&tweak)).unwrap();
            (secret, next)
        })
    });

    // The floor under any 20-hop build: 20 ECDHs and 19 base-point multiplications (each
    // later hop's ephemeral public key). Everything else a build does is symmetric crypto.
    let node_ids: Vec<PublicKey> = hops.iter().map(|(id, _)| *id).collect();
    c.bench_function("reference: 20 x (ECDH + base-point multiplication)", |b| {
        b.iter(|| {
            for node_id in &node_ids {
                black_box(ecdh::SharedSecret::new(black_box(node_id), &session_key));
                black_box(PublicKey::from_secret_key(&secp, black_box(&session_key)));
            }
        })
    });

    // The origin decoding a failure from the last hop of a 20-hop route.
    let secrets: Vec<SharedSecret> = built.shared_secrets.clone();
    let mut failure =
        create_failure_packet(secrets.last().unwrap(), &FailureMessage::TemporaryNodeFailure)
            .unwrap();
    for secret in secrets.iter().rev().skip(1) {
        shandian_onion::obfuscate_failure(secret, &mut failure);
    }
    c.bench_function("decode failure from hop 20", |b| {
        b.iter(|| decode_failure(black_box(&secrets), black_box(&failure)))
    });
}

/// `option_attribution_data`: one hop's work on the way back (20 truncated HMACs), and the
/// origin verifying a failure from the 20th hop.
fn attribution(c: &mut Criterion) {
    let secrets: Vec<SharedSecret> = (1..=20u8).map(|i| SharedSecret([i; 32])).collect();
    let (mut packet, mut data) =
        create_attributed_failure_packet(&secrets[19], &[0x20, 0x02], 256, 1).unwrap();
    c.bench_function("attribution: add one hop", |b| {
        b.iter(|| {
            let mut data = data.clone();
            data.add_hop(black_box(&secrets[0]), black_box(&packet), 3);
            data
        })
    });
    for (hop, secret) in secrets.iter().enumerate().take(19).rev() {
        data = forward_attributed_failure(secret, &mut packet, Some(data), hop as u32);
    }
    c.bench_function("attribution: verify 20 hops", |b| {
        b.iter(|| verify_attribution(black_box(&secrets), black_box(&packet), black_box(&data)))
    });
}

criterion_group!(onion, benches, attribution);
criterion_main!(onion);
