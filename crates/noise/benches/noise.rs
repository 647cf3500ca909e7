//! BOLT 8 speed: full handshakes, transport throughput, and the raw ChaCha20-Poly1305 AEAD of
//! `ring` and of RustCrypto's `chacha20poly1305` on the same sizes, so the transport's overhead
//! and the choice of AEAD are both visible.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use shandian_noise::{Initiator, Responder, Transport, LENGTH_HEADER_LEN};
use std::hint::black_box;

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (65535, "64KiB")];

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("valid key")
}

fn handshake(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let responder_id = PublicKey::from_secret_key(&secp, &key(2));
    c.bench_function("handshake/full_both_sides", |b| {
        b.iter(|| {
            let (act1, i) = Initiator::new(&secp, key(1), responder_id, key(3)).act_one();
            let (act2, r) =
                Responder::new(&secp, key(2), key(4)).read_act_one(&act1).expect("act one");
            let (act3, t1) = i.read_act_two(&act2).expect("act two");
            let (t2, _) = r.read_act_three(&act3).expect("act three");
            black_box((t1, t2))
        })
    });
}

fn transport(c: &mut Criterion) {
    let mut group = c.benchmark_group("transport_encrypt_decrypt");
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let msg = vec![0x5a; size];
        let mut a = Transport::from_keys([1; 32], [2; 32], [3; 32]);
        let mut b = Transport::from_keys([1; 32], [3; 32], [2; 32]);
        let mut wire = Vec::with_capacity(size + 34);
        group.bench_function(name, |bench| {
            bench.iter(|| {
                wire.clear();
                a.encrypt(black_box(&msg), &mut wire).expect("encrypt");
                let (header, body) = wire.split_at_mut(LENGTH_HEADER_LEN);
                b.decrypt_length(header).expect("length");
                black_box(b.decrypt_body(body).expect("body").len())
            })
        });
    }
    group.finish();
}

fn raw_ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw_aead_seal_open/ring");
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7; 32]).expect("key"));
    let nonce = || Nonce::assume_unique_for_key([0; 12]);
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |bench| {
            bench.iter_batched_ref(
                || vec![0x5a; size],
                |buf| {
                    let tag =
                        key.seal_in_place_separate_tag(nonce(), Aad::empty(), buf).expect("seal");
                    buf.extend_from_slice(tag.as_ref());
                    black_box(key.open_in_place(nonce(), Aad::empty(), buf).expect("open").len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn raw_rustcrypto(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw_aead_seal_open/rustcrypto");
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&[7u8; 32].into());
    let nonce = chacha20poly1305::Nonce::default();
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |bench| {
            bench.iter_batched_ref(
                || vec![0x5a; size],
                |buf| {
                    let tag = cipher.encrypt_in_place_detached(&nonce, &[], buf).expect("seal");
                    cipher.decrypt_in_place_detached(&nonce, &[], buf, &tag).expect("open");
                    black_box(buf.len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, handshake, transport, raw_ring, raw_rustcrypto);
criterion_main!(benches);
