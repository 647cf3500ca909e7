//! Property tests: the decoder is total over arbitrary input, and every invoice the builder
//! makes decodes back to itself.

use bech32::{Bech32, Fe32, Hrp};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion};
use proptest::prelude::*;
use shandian_invoice::{Currency, Description, Fallback, Invoice, InvoiceBuilder, RouteHintHop};
use shandian_types::{
    CltvExpiryDelta, Features, Msat, NodeId, PaymentHash, PaymentSecret, ShortChannelId,
};

fn secret_key() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid secret key", |b| SecretKey::from_slice(&b).ok())
}

fn node_id() -> impl Strategy<Value = NodeId> {
    secret_key().prop_map(|k| NodeId::from(PublicKey::from_secret_key(&Secp256k1::new(), &k)))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

fn fallback() -> impl Strategy<Value = Fallback> {
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

fn hop() -> impl Strategy<Value = RouteHintHop> {
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
fn features() -> impl Strategy<Value = Features> {
    let known = prop::sample::subsequence(vec![8usize, 9, 14, 15, 24, 25, 36, 37, 48, 49], 0..=5);
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
struct Contents {
    currency: Currency,
    amount: Option<u64>,
    timestamp: u64,
    hash: [u8; 32],
    secret: [u8; 32],
    description: Result<String, [u8; 32]>,
    expiry: Option<u64>,
    cltv: Option<u16>,
    state_payee: bool,
    fallbacks: Vec<Fallback>,
    routes: Vec<Vec<RouteHintHop>>,
    features: Features,
    metadata: Option<Vec<u8>>,
}

fn contents() -> impl Strategy<Value = Contents> {
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

fn build(c: &Contents, key: &SecretKey) -> Invoice {
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

/// A bech32 string with a valid checksum over `hrp` and `words`, so the decoder gets past the
/// checksum and into the fields and signature.
fn checksummed(hrp: &str, words: &[u8]) -> String {
    use bech32::Fe32IterExt;
    let hrp = Hrp::parse(hrp).unwrap();
    words
        .iter()
        .map(|w| Fe32::try_from(w & 31).unwrap())
        .with_checksum::<Bech32>(&hrp)
        .chars()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*") {
        let _ = s.parse::<Invoice>();
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = String::from_utf8_lossy(&bytes).parse::<Invoice>();
    }

    #[test]
    fn checksummed_garbage_never_panics(
        hrp in "ln(bc|tb|tbs|bcrt)[0-9]{0,4}[munpx]?",
        words in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let _ = checksummed(&hrp, &words).parse::<Invoice>();
    }

    #[test]
    fn mutated_invoices_never_panic_and_never_verify_as_the_original(
        c in contents(),
        key in secret_key(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..32), 1..4),
    ) {
        let invoice = build(&c, &key);
        let text = invoice.to_string();
        let (hrp, data) = text.rsplit_once('1').unwrap();
        let mut words: Vec<u8> = data[..data.len() - 6]
            .chars()
            .map(|ch| Fe32::from_char(ch).unwrap().to_u8())
            .collect();
        for (index, value) in &edits {
            let i = index.index(words.len());
            words[i] = *value;
        }
        let mutated = checksummed(hrp, &words);
        if let Ok(decoded) = mutated.parse::<Invoice>() {
            // A changed invoice may still verify (recovery finds some key), but never as a
            // different invoice from the same payee.
            if decoded != invoice {
                prop_assert!(decoded.payee() != invoice.payee());
            }
        }
    }

    #[test]
    fn built_invoices_decode_to_themselves(c in contents(), key in secret_key()) {
        let invoice = build(&c, &key);
        let text = invoice.to_string();
        let decoded: Invoice = text.parse().unwrap();
        prop_assert_eq!(&decoded, &invoice);
        prop_assert_eq!(decoded.to_string(), text.clone());
        prop_assert_eq!(text.to_uppercase().parse::<Invoice>(), Ok(invoice.clone()));

        let secp = Secp256k1::new();
        prop_assert_eq!(decoded.payee(), NodeId::from(PublicKey::from_secret_key(&secp, &key)));
        prop_assert_eq!(decoded.has_payee_field(), c.state_payee);
        prop_assert_eq!(decoded.currency(), c.currency);
        prop_assert_eq!(decoded.amount_msat(), c.amount.map(Msat));
        prop_assert_eq!(decoded.timestamp(), c.timestamp);
        prop_assert_eq!(decoded.payment_hash(), PaymentHash(c.hash));
        prop_assert_eq!(decoded.payment_secret(), PaymentSecret(c.secret));
        let description = match &c.description {
            Ok(text) => Description::Direct(text.clone()),
            Err(hash) => Description::Hash(sha256::Hash::from_byte_array(*hash)),
        };
        prop_assert_eq!(decoded.description(), &description);
        prop_assert_eq!(decoded.expiry_secs(), c.expiry.unwrap_or(3600));
        prop_assert_eq!(decoded.min_final_cltv_expiry_delta(), CltvExpiryDelta(c.cltv.unwrap_or(18)));
        prop_assert_eq!(decoded.fallbacks().cloned().collect::<Vec<_>>(), c.fallbacks.clone());
        prop_assert_eq!(decoded.route_hints().map(<[_]>::to_vec).collect::<Vec<_>>(), c.routes.clone());
        let features = (!c.features.is_empty()).then_some(&c.features);
        prop_assert_eq!(decoded.features(), features);
        prop_assert_eq!(decoded.payment_metadata(), c.metadata.as_deref());

        let json = decoded.to_json();
        prop_assert_eq!(&json["payee"], &serde_json::json!(decoded.payee().to_string()));
        prop_assert_eq!(json.get("amount_msat").and_then(|v| v.as_u64()), c.amount);
        prop_assert_eq!(json.get("routes").map_or(0, |r| r.as_array().unwrap().len()), c.routes.len());
        prop_assert_eq!(json.get("fallbacks").map_or(0, |r| r.as_array().unwrap().len()), c.fallbacks.len());
    }
}
