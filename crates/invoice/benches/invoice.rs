//! Decoding and verifying invoices (with and without an `n` field), and building and signing
//! one.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shandian_invoice::{default_invoice_features, Currency, Invoice, InvoiceBuilder, RouteHintHop};
use shandian_types::{CltvExpiryDelta, Msat, NodeId, PaymentHash, PaymentSecret, ShortChannelId};

/// A typical node invoice: amount, hash, secret, description, expiry, cltv, features, one
/// route hint.
fn builder(hop_node: NodeId) -> InvoiceBuilder {
    let hop = RouteHintHop {
        src_node_id: hop_node,
        short_channel_id: ShortChannelId::new(800_000, 1234, 1).expect("valid scid"),
        fee_base_msat: 1000,
        fee_proportional_millionths: 100,
        cltv_expiry_delta: CltvExpiryDelta(144),
    };
    InvoiceBuilder::new(Currency::Bitcoin)
        .timestamp(1_700_000_000)
        .amount_msat(Msat(123_456_000))
        .payment_hash(PaymentHash(sha256::Hash::hash(b"preimage").to_byte_array()))
        .payment_secret(PaymentSecret([7; 32]))
        .description("one cup of coffee, to go")
        .expiry(3600)
        .min_final_cltv_expiry_delta(CltvExpiryDelta(80))
        .features(default_invoice_features())
        .route_hint(vec![hop])
}

fn benches(c: &mut Criterion) {
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[0x42; 32]).expect("valid key");
    let payee = NodeId::from(PublicKey::from_secret_key(&secp, &key));
    let recovered = builder(payee).sign_with(&secp, &key).map(|i| i.to_string());
    let stated = builder(payee).payee(payee).sign_with(&secp, &key).map(|i| i.to_string());
    let (recovered, stated) = (recovered.expect("invoice builds"), stated.expect("invoice builds"));

    c.bench_function("invoice/decode_verify_recover (no n)", |b| {
        b.iter(|| Invoice::decode(&secp, black_box(&recovered)))
    });
    c.bench_function("invoice/decode_verify_with_n", |b| {
        b.iter(|| Invoice::decode(&secp, black_box(&stated)))
    });
    c.bench_function("invoice/decode_from_str (fresh context)", |b| {
        b.iter(|| black_box(&recovered).parse::<Invoice>())
    });
    c.bench_function("invoice/build_sign_encode", |b| {
        b.iter(|| builder(payee).sign_with(&secp, black_box(&key)).map(|i| i.to_string()))
    });

    // Baselines on the same machine: the secp256k1 operations the above are built on.
    let message = Message::from_digest([0x5a; 32]);
    let signature = secp.sign_ecdsa_recoverable(&message, &key);
    let public_key = PublicKey::from_secret_key(&secp, &key);
    c.bench_function("baseline/secp256k1_recover", |b| {
        b.iter(|| secp.recover_ecdsa(black_box(&message), black_box(&signature)))
    });
    c.bench_function("baseline/secp256k1_verify", |b| {
        let standard = signature.to_standard();
        b.iter(|| secp.verify_ecdsa(black_box(&message), black_box(&standard), &public_key))
    });
    c.bench_function("baseline/secp256k1_sign_recoverable", |b| {
        b.iter(|| secp.sign_ecdsa_recoverable(black_box(&message), &key))
    });
}

criterion_group!(invoice, benches);
criterion_main!(invoice);
