//! Decoding and verifying invoices (with and without an `n` field), and building and signing
//! one.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shandian_invoice::{default_invoice_features, Currency, Invoice, InvoiceBuilder, RouteHintHop};
use shandian_types::{CltvExpiryDelta, Msat, NodeId, PaymentHash, PaymentSecret, ShortChannelId};

/// A typical node invoice: amount, hash, secret, description, expiry, cltv, features, one
/// route hint.
fn builder(key: &SecretKey) -> InvoiceBuilder {
    let secp = Secp256k1::new();
    let hop = RouteHintHop {
        src_node_id: NodeId::from(PublicKey::from_secret_key(&secp, key)),
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
    let recovered = builder(&key).sign_with(&secp, &key).map(|i| i.to_string());
    let stated = builder(&key).payee(payee).sign_with(&secp, &key).map(|i| i.to_string());
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
        b.iter(|| builder(&key).sign_with(&secp, black_box(&key)).map(|i| i.to_string()))
    });
}

criterion_group!(invoice, benches);
criterion_main!(invoice);
