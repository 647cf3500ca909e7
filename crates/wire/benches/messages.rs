//! Decode and encode speed of the two hottest channel messages: `update_add_htlc` and a
//! `commitment_signed` carrying 100 HTLC signatures.

use bitcoin::secp256k1::{ecdsa::Signature, Message as SecpMessage, Secp256k1, SecretKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shandian_types::{ChannelId, CltvExpiry, Msat, PaymentHash};
use shandian_wire::{CommitmentSigned, Message, OnionPacket, UpdateAddHtlc, ONION_PACKET_LEN};

fn signature(i: u8) -> Signature {
    let secp = Secp256k1::signing_only();
    let key = SecretKey::from_slice(&[i.max(1); 32]).unwrap();
    secp.sign_ecdsa(&SecpMessage::from_digest([i; 32]), &key)
}

fn bench(c: &mut Criterion) {
    let add = Message::from(UpdateAddHtlc {
        channel_id: ChannelId([7; 32]),
        id: 42,
        amount_msat: Msat(1_000_000),
        payment_hash: PaymentHash([9; 32]),
        cltv_expiry: CltvExpiry(800_000),
        onion_routing_packet: OnionPacket::new([0x5a; ONION_PACKET_LEN]),
        blinding_point: None,
    });
    let commit = Message::from(CommitmentSigned {
        channel_id: ChannelId([7; 32]),
        signature: signature(0),
        htlc_signatures: (0..100).map(signature).collect(),
        funding_txid: None,
    });
    for (name, message) in [("update_add_htlc", add), ("commitment_signed_100_htlcs", commit)] {
        let bytes = message.encode();
        c.bench_function(&format!("decode {name}"), |b| {
            b.iter(|| Message::decode(black_box(&bytes)).unwrap())
        });
        c.bench_function(&format!("encode {name}"), |b| b.iter(|| black_box(&message).encode()));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
