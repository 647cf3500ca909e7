//! BOLT 8 speed: full handshakes, transport throughput, and the raw ChaCha20-Poly1305 AEAD of
//! `ring` and of RustCrypto's `chacha20poly1305` on the same sizes, so the transport's overhead
//! and the choice of AEAD are both visible. Times are the benchmark thread's CPU time.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use criterion::{criterion_group, criterion_main, BatchSize, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use shandian_noise::{Initiator, Responder, Transport, LENGTH_HEADER_LEN};
use std::hint::black_box;

mod cpu_time;

/// Every benchmark measures the thread's CPU time (see `cpu_time.rs`).
type Criterion = criterion::Criterion<cpu_time::ThreadCpuTime>;

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (65535, "64KiB")];

/// A message buffer with room for its tag, so appending the tag never reallocates inside the
/// timed routine.
fn message(size: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(size + 16);
    buf.resize(size, 0x5a);
    buf
}

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
                || message(size),
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

/// The AEAD work BOLT 8 itself mandates per message: seal and open of the 2-byte length and of
/// the body, with `ring`. The transport's own overhead is its distance from this floor.
fn raw_ring_bolt8_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw_aead_seal_open/ring_length_plus_body");
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7; 32]).expect("key"));
    let nonce = || Nonce::assume_unique_for_key([0; 12]);
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |bench| {
            bench.iter_batched_ref(
                || (message(size), message(2)),
                |(buf, len)| {
                    for b in [len, buf] {
                        let tag =
                            key.seal_in_place_separate_tag(nonce(), Aad::empty(), b).expect("seal");
                        b.extend_from_slice(tag.as_ref());
                        black_box(key.open_in_place(nonce(), Aad::empty(), b).expect("open").len());
                    }
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
                || message(size),
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

criterion_group! {
    name = benches;
    config = criterion::Criterion::default().with_measurement(cpu_time::ThreadCpuTime);
    targets = handshake, transport, raw_ring, raw_ring_bolt8_floor, raw_rustcrypto
}
criterion_main!(benches);
