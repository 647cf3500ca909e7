//! The builder's rules: what it refuses to sign, and how setting fields twice behaves.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use shandian_invoice::{
    default_invoice_features, Currency, Description, Error, Fe32, Field, Invoice, InvoiceBuilder,
    RouteHintHop,
};
use shandian_types::{
    CltvExpiryDelta, Features, Msat, NodeId, PaymentHash, PaymentSecret, ShortChannelId,
};

fn key() -> SecretKey {
    SecretKey::from_slice(&[0x42; 32]).unwrap()
}

fn node(byte: u8) -> NodeId {
    let key = SecretKey::from_slice(&[byte; 32]).unwrap();
    NodeId::from(PublicKey::from_secret_key(&Secp256k1::new(), &key))
}

fn minimal() -> InvoiceBuilder {
    InvoiceBuilder::new(Currency::Regtest)
        .timestamp(1_700_000_000)
        .payment_hash(PaymentHash([1; 32]))
        .payment_secret(PaymentSecret([2; 32]))
        .description("test")
}

#[test]
fn a_minimal_invoice_uses_the_defaults() {
    let invoice = minimal().sign(&key()).unwrap();
    let text = invoice.to_string();
    assert!(text.starts_with("lnbcrt1"), "{text}");
    let decoded: Invoice = text.parse().unwrap();
    assert_eq!(decoded.amount_msat(), None);
    assert_eq!(decoded.expiry_secs(), 3600);
    assert_eq!(decoded.expiry_time(), 1_700_003_600);
    assert!(!decoded.is_expired(1_700_003_600));
    assert!(decoded.is_expired(1_700_003_601));
    assert_eq!(decoded.min_final_cltv_expiry_delta(), CltvExpiryDelta(18));
    assert_eq!(decoded.features(), Some(&default_invoice_features()));
    assert_eq!(decoded.payee(), node(0x42));
    assert!(!decoded.has_payee_field());
}

#[test]
fn every_currency_and_amount_form_round_trips() {
    for currency in Currency::ALL {
        for msat in [1, 10, 100, 1_000, 250_000_000, 100_000_000_000, u64::MAX] {
            let invoice = InvoiceBuilder::new(currency)
                .timestamp(1)
                .payment_hash(PaymentHash([1; 32]))
                .payment_secret(PaymentSecret([2; 32]))
                .description("x")
                .amount_msat(Msat(msat));
            let text = invoice.sign(&key()).unwrap().to_string();
            assert!(text.starts_with(&format!("ln{}", currency.prefix())));
            let decoded: Invoice = text.parse().unwrap();
            assert_eq!((decoded.currency(), decoded.amount_msat()), (currency, Some(Msat(msat))));
        }
    }
}

#[test]
fn refuses_what_the_decoder_would_refuse() {
    let sign = |b: InvoiceBuilder| b.sign(&key()).map(|_| ());
    let bare = || InvoiceBuilder::new(Currency::Bitcoin).timestamp(1);
    assert_eq!(sign(minimal().amount_msat(Msat(0))), Err(Error::ZeroAmount));
    assert_eq!(sign(InvoiceBuilder::new(Currency::Bitcoin)), Err(Error::MissingTimestamp));
    assert_eq!(sign(minimal().timestamp(1 << 35)), Err(Error::TimestampOutOfRange));
    assert!(sign(minimal().timestamp((1 << 35) - 1)).is_ok());
    let no_hash = bare().payment_secret(PaymentSecret([2; 32])).description("x");
    assert_eq!(sign(no_hash), Err(Error::MissingPaymentHash));
    let no_secret = bare().payment_hash(PaymentHash([1; 32])).description("x");
    assert_eq!(sign(no_secret), Err(Error::MissingPaymentSecret));
    let no_description =
        bare().payment_hash(PaymentHash([1; 32])).payment_secret(PaymentSecret([2; 32]));
    assert_eq!(sign(no_description), Err(Error::MissingDescription));
    let both = minimal().field(Field::DescriptionHash(sha256::Hash::hash(b"x")));
    assert_eq!(sign(both), Err(Error::DescriptionAndHash));
    let twice = minimal().field(Field::PaymentHash(PaymentHash([3; 32])));
    assert_eq!(sign(twice), Err(Error::DuplicateField('p')));
    // 639 bytes fill 1023 words; one more byte does not fit a field.
    assert!(sign(minimal().description("a".repeat(639))).is_ok());
    assert_eq!(sign(minimal().description("a".repeat(640))), Err(Error::FieldTooLong('d')));
    assert_eq!(sign(minimal().payment_metadata(vec![0; 640])), Err(Error::FieldTooLong('m')));
    let hop = RouteHintHop {
        src_node_id: node(1),
        short_channel_id: ShortChannelId(1),
        fee_base_msat: 1,
        fee_proportional_millionths: 1,
        cltv_expiry_delta: CltvExpiryDelta(40),
    };
    // 12 hops of 51 bytes fit in 1023 words; 13 do not.
    assert!(sign(minimal().route_hint(vec![hop.clone(); 12])).is_ok());
    assert_eq!(sign(minimal().route_hint(vec![hop; 13])), Err(Error::FieldTooLong('r')));
    assert_eq!(sign(minimal().payee(node(7))), Err(Error::PayeeMismatch));
    assert_eq!(
        sign(minimal().features(Features::from_bits([8, 14, 100]))),
        Err(Error::UnknownRequiredFeature(100))
    );
    assert_eq!(
        sign(minimal().features(Features::from_bits([17]))),
        Err(Error::MissingFeatureDependency { feature: 17, requires: 14 })
    );
}

#[test]
fn setting_a_field_again_replaces_it_in_place() {
    let invoice = minimal()
        .expiry(10)
        .description_hash(sha256::Hash::hash(b"long"))
        .expiry(20)
        .features(default_invoice_features())
        .features(Features::new())
        .sign(&key())
        .unwrap();
    let tags: Vec<char> = invoice.fields().iter().map(|f| f.tag().to_char()).collect();
    assert_eq!(tags, vec!['p', 's', 'x', 'h']);
    let without_features_call = minimal().sign(&key()).unwrap();
    let tags: Vec<char> =
        without_features_call.fields().iter().map(|f| f.tag().to_char()).collect();
    assert_eq!(tags, vec!['p', 's', 'd', '9']);
    assert_eq!(invoice.expiry_secs(), 20);
    assert_eq!(invoice.description(), &Description::Hash(sha256::Hash::hash(b"long")));
    assert!(invoice.matches_description("long"));
}

#[test]
fn a_stated_payee_is_verified_not_recovered() {
    let invoice = minimal().payee(node(0x42)).sign(&key()).unwrap();
    let decoded: Invoice = invoice.to_string().parse().unwrap();
    assert!(decoded.has_payee_field());
    assert_eq!(decoded.payee(), node(0x42));

    // Swap the `n` field for another valid key: the signature no longer matches it.
    let fields: Vec<Field> = invoice
        .fields()
        .iter()
        .map(|f| match f {
            Field::Payee(_) => Field::Payee(node(7)),
            other => other.clone(),
        })
        .collect();
    let mut other = InvoiceBuilder::new(Currency::Regtest).timestamp(invoice.timestamp());
    for field in fields {
        other = other.field(field);
    }
    let forged = other.sign(&SecretKey::from_slice(&[7; 32]).unwrap()).unwrap();
    let forged_text = forged.to_string();
    // Re-sign the same data with the wrong key by splicing in the original signature.
    let (data, _) = forged_text.split_at(forged_text.len() - 6 - 104);
    let original = invoice.to_string();
    let (_, original_sig) = original.split_at(original.len() - 6 - 104);
    let spliced = recheck(&format!("{data}{}", &original_sig[..104]));
    assert_eq!(spliced.parse::<Invoice>(), Err(Error::SignatureMismatch));
}

/// Recomputes the bech32 checksum of `s` without one.
fn recheck(s: &str) -> String {
    use bech32::Fe32IterExt;
    let (hrp, data) = s.rsplit_once('1').unwrap();
    let hrp = bech32::Hrp::parse(hrp).unwrap();
    data.chars()
        .map(|c| Fe32::from_char(c).unwrap())
        .with_checksum::<bech32::Bech32>(&hrp)
        .chars()
        .collect()
}

#[test]
fn raw_fields_are_read_back_as_a_decoder_reads_them() {
    // A payment hash given as raw words is a payment hash once encoded.
    let words: Vec<Fe32> = bech32::ByteIterExt::bytes_to_fes([5u8; 32].into_iter()).collect();
    let invoice = InvoiceBuilder::new(Currency::Bitcoin)
        .timestamp(1)
        .field(Field::Skipped { tag: Fe32::P, data: words })
        .payment_secret(PaymentSecret([2; 32]))
        .description("x")
        .sign(&key())
        .unwrap();
    assert_eq!(invoice.payment_hash(), PaymentHash([5; 32]));
    assert_eq!(invoice.to_string().parse::<Invoice>(), Ok(invoice));
    // Raw words the decoder would refuse are refused.
    let bad_utf8: Vec<Fe32> = bech32::ByteIterExt::bytes_to_fes([0xffu8; 4].into_iter()).collect();
    let refused = minimal().field(Field::Skipped { tag: Fe32::D, data: bad_utf8 }).sign(&key());
    assert_eq!(refused.map(|_| ()), Err(Error::InvalidDescription));
}
