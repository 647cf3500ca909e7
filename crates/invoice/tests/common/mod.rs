//! Strategies shared by the property tests: random keys, fallbacks, route hints, feature
//! sets and whole invoice contents, and the builder calls that make them an invoice.
#![allow(dead_code)] // Each test file uses its own subset.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion};
use proptest::prelude::*;
use shandian_invoice::{Currency, Fallback, Invoice, InvoiceBuilder, RouteHintHop};
use shandian_types::{
    CltvExpiryDelta, Features, Msat, NodeId, PaymentHash, PaymentSecret, ShortChannelId,
};

pub fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid secret key", |b| SecretKey::from_slice(&b).ok())
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    secret_key().prop_map(|k| NodeId::from(PublicKey::from_secret_key(&Secp256k1::new(), &k)))
}

pub fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

pub fn fallback() -> impl Strategy<Value = Fallback> {
    prop_oneof![
        any::<[u8; 20]>().prop_map(|h| Fallback::PubkeyHash(PubkeyHash::from_byte_array(h))),
        any::<[u8; 20]>().prop_map(|h| Fallback::ScriptHash(ScriptHash::from_byte_array(h))),
        (prop::bool::ANY, any::<[u8; 32]>()).prop_map(|(short, p)| {
            let program = if short { &p[..20] } else { &p[..] };
            Fallback::Witness(WitnessProgram::new(WitnessVersion::V0, program).unwrap())
        }),
        (1u8..=16, prop::collection::vec(any::<u8>(), 2..=40)).prop_map(|(v, p)| {
            let version = WitnessVersion::try_from(v).unwrap();
            Fallback::Witness(WitnessProgram::new(version, &p).unwrap())
        }),
    ]
}

pub fn hop() -> impl Strategy<Value = RouteHintHop> {
    (node_id(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u16>()).prop_map(
        |(src_node_id, scid, base, prop, cltv)| RouteHintHop {
            src_node_id,
            short_channel_id: ShortChannelId(scid),
            fee_base_msat: base,
            fee_proportional_millionths: prop,
            cltv_expiry_delta: CltvExpiryDelta(cltv),
        },
    )
}

/// Feature sets an invoice may carry: known bits (mandatory or optional, with basic_mpp's
/// dependency) and unknown odd bits.
pub fn features() -> impl Strategy<Value = Features> {
    features_from(vec![8usize, 9, 14, 15, 24, 25, 36, 37, 48, 49])
}

/// Subsets of `known`, unknown odd bits, and maybe basic_mpp with its dependency.
pub fn features_from(known: Vec<usize>) -> impl Strategy<Value = Features> {
    let count = known.len().min(5);
    let known = prop::sample::subsequence(known, 0..=count);
    let odd = prop::collection::vec((50usize..400).prop_map(|b| b | 1), 0..3);
    (known, odd, prop::bool::ANY).prop_map(|(known, odd, mpp)| {
        let mut features = Features::from_bits(known.into_iter().chain(odd));
        if mpp {
            features.set(14);
            features.set(17);
        }
        features
    })
}

#[derive(Debug, Clone)]
pub struct Contents {
    pub currency: Currency,
    pub amount: Option<u64>,
    pub timestamp: u64,
    pub hash: [u8; 32],
    pub secret: [u8; 32],
    pub description: Result<String, [u8; 32]>,
    pub expiry: Option<u64>,
    pub cltv: Option<u16>,
    pub state_payee: bool,
    pub fallbacks: Vec<Fallback>,
    pub routes: Vec<Vec<RouteHintHop>>,
    pub features: Features,
    pub metadata: Option<Vec<u8>>,
}

pub fn contents() -> impl Strategy<Value = Contents> {
    let description = prop_oneof!["\\PC{0,80}".prop_map(Ok), any::<[u8; 32]>().prop_map(Err),];
    (
        (currency(), prop::option::of(1u64..), 0u64..(1 << 35), any::<[u8; 32]>()),
        (
            any::<[u8; 32]>(),
            description,
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u16>()),
        ),
        (prop::bool::ANY, prop::collection::vec(fallback(), 0..3)),
        (prop::collection::vec(prop::collection::vec(hop(), 1..4), 0..3), features()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(
            |(
                (currency, amount, timestamp, hash),
                (secret, description, expiry, cltv),
                (state_payee, fallbacks),
                (routes, features),
                metadata,
            )| Contents {
                currency,
                amount,
                timestamp,
                hash,
                secret,
                description,
                expiry,
                cltv,
                state_payee,
                fallbacks,
                routes,
                features,
                metadata,
            },
        )
}

pub fn build(c: &Contents, key: &SecretKey) -> Invoice {
    let secp = Secp256k1::new();
    let mut b = InvoiceBuilder::new(c.currency)
        .timestamp(c.timestamp)
        .payment_secret(PaymentSecret(c.secret))
        .payment_hash(PaymentHash(c.hash));
    if let Some(amount) = c.amount {
        b = b.amount_msat(Msat(amount));
    }
    b = match &c.description {
        Ok(text) => b.description(text.clone()),
        Err(hash) => b.description_hash(sha256::Hash::from_byte_array(*hash)),
    };
    if let Some(expiry) = c.expiry {
        b = b.expiry(expiry);
    }
    if let Some(cltv) = c.cltv {
        b = b.min_final_cltv_expiry_delta(CltvExpiryDelta(cltv));
    }
    if c.state_payee {
        b = b.payee(NodeId::from(PublicKey::from_secret_key(&secp, key)));
    }
    for fallback in &c.fallbacks {
        b = b.fallback(fallback.clone());
    }
    for route in &c.routes {
        b = b.route_hint(route.clone());
    }
    b = b.features(c.features.clone());
    if let Some(metadata) = &c.metadata {
        b = b.payment_metadata(metadata.clone());
    }
    b.sign_with(&secp, key).expect("generated contents are valid")
}
