//! Every example invoice in BOLT 11, read from the spec at test time: the valid ones decode to
//! the values the spec's prose states and re-encode to the same string when signed with the
//! spec's key; the invalid ones are rejected for the stated reason.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::SecretKey;
use shandian_invoice::{Currency, Description, Error, Invoice, InvoiceBuilder};
use shandian_types::{CltvExpiryDelta, Msat, NodeId, PaymentHash, PaymentSecret};

const SPEC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bolts/11-payment-encoding.md"
));

/// BOLT 11: "all the following examples are signed with `priv_key`=...".
const PRIV_KEY: &str = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";
/// The node the examples are addressed to ("to me @03e7156a...").
const PAYEE: &str = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const PAYMENT_HASH: &str = "0001020304050607080900010203040506070809000102030405060708090102";
const SECRET: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const TIMESTAMP: u64 = 1496314658;

struct Example {
    title: String,
    invoice: String,
}

/// The examples of one section: each `> #` title line followed by its invoice (the next
/// non-empty line, with any `> ` quote marker removed).
fn examples(section: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(title) = line.strip_prefix("> #") else { continue };
        let title = title.trim_start_matches('#').trim().to_owned();
        let invoice = lines
            .by_ref()
            .map(|l| l.trim_start_matches('>').trim())
            .find(|l| !l.is_empty())
            .expect("an invoice follows every example title")
            .to_owned();
        out.push(Example { title, invoice });
    }
    out
}

fn valid_examples() -> Vec<Example> {
    let start = SPEC.find("\n# Examples\n").expect("spec has an Examples section");
    let end = SPEC.find("\n# Examples of Invalid Invoices").expect("and invalid examples");
    examples(&SPEC[start..end])
}

fn invalid_examples() -> Vec<Example> {
    let start = SPEC.find("\n# Examples of Invalid Invoices").expect("spec has invalid examples");
    let end = SPEC.find("\n# Authors").expect("spec ends with Authors");
    examples(&SPEC[start..end])
}

fn key() -> SecretKey {
    SecretKey::from_slice(&hex::decode(PRIV_KEY).unwrap()).unwrap()
}

fn hash(hex_str: &str) -> PaymentHash {
    hex_str.parse().unwrap()
}

fn bits(invoice: &Invoice) -> Vec<usize> {
    invoice.features().map(|f| f.bits().collect()).unwrap_or_default()
}

fn addresses(invoice: &Invoice) -> Vec<String> {
    let network = invoice.currency().network();
    invoice.fallbacks().map(|f| f.address(network).to_string()).collect()
}

/// What every example shares unless its text says otherwise.
fn check_common(invoice: &Invoice) {
    assert_eq!(invoice.payee(), PAYEE.parse::<NodeId>().unwrap());
    assert_eq!(invoice.payment_secret(), SECRET.parse::<PaymentSecret>().unwrap());
}

/// The high-S example is the donation invoice with S negated but the recovery id (1) kept.
/// Negating S flips the parity of the nonce point, so libsecp256k1's recovery with the
/// transmitted id (what LND, CLN and LDK do, accepting high-S) yields some other key; with the
/// flipped id it yields the spec's key. The invoice is valid either way: recovery succeeds.
fn check_high_s_recovery(inv: &Invoice) {
    use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use bitcoin::secp256k1::{Message, Secp256k1};
    let secp = Secp256k1::verification_only();
    let (id, compact) = inv.signature().serialize_compact();
    assert_eq!(id.to_i32(), 1);
    let message = Message::from_digest(inv.signed_hash().to_byte_array());
    let flipped = RecoverableSignature::from_compact(&compact, RecoveryId::from_i32(0).unwrap());
    let recovered = secp.recover_ecdsa(&message, &flipped.unwrap()).unwrap();
    assert_eq!(NodeId::from(recovered), PAYEE.parse::<NodeId>().unwrap());
    assert_eq!(NodeId::from(secp.recover_ecdsa(&message, inv.signature()).unwrap()), inv.payee());
    assert_eq!(inv.payment_secret(), SECRET.parse::<PaymentSecret>().unwrap());
}

/// The values each valid example's title and breakdown state.
fn check_valid(title: &str, inv: &Invoice) {
    if title.starts_with("Public-key recovery with high-S") {
        check_high_s_recovery(inv);
    } else {
        check_common(inv);
    }
    let chocolate = "One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon";
    let hashed = |inv: &Invoice, currency, fallbacks: &[&str]| {
        assert_eq!(inv.currency(), currency);
        assert_eq!(inv.amount_msat(), Some(Msat(2_000_000_000)));
        assert_eq!(inv.payment_hash(), hash(PAYMENT_HASH));
        assert_eq!(inv.timestamp(), TIMESTAMP);
        let expected: sha256::Hash =
            "3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1".parse().unwrap();
        assert_eq!(inv.description(), &Description::Hash(expected));
        assert!(inv.matches_description(chocolate));
        assert!(!inv.matches_description("a chocolate cake"));
        assert_eq!(addresses(inv), fallbacks);
    };
    let coffee_beans = |inv: &Invoice| {
        assert_eq!(inv.currency(), Currency::Bitcoin);
        assert_eq!(inv.amount_msat(), Some(Msat(2_500_000_000)));
        assert_eq!(inv.timestamp(), TIMESTAMP);
        assert_eq!(inv.payment_hash(), hash(PAYMENT_HASH));
        assert_eq!(inv.description(), &Description::Direct("coffee beans".into()));
        assert_eq!(bits(inv), vec![8, 14, 99]);
    };
    let donation = |inv: &Invoice| {
        assert_eq!(inv.currency(), Currency::Bitcoin);
        assert_eq!(inv.amount_msat(), None);
        assert_eq!(inv.timestamp(), TIMESTAMP);
        assert_eq!(inv.payment_hash(), hash(PAYMENT_HASH));
        let text = "Please consider supporting this project";
        assert_eq!(inv.description(), &Description::Direct(text.into()));
        assert_eq!(bits(inv), vec![8, 14]);
        assert_eq!(inv.expiry_secs(), 3600);
        assert_eq!(inv.expiry_time(), TIMESTAMP + 3600);
        assert_eq!(inv.min_final_cltv_expiry_delta(), CltvExpiryDelta(18));
        assert!(!inv.has_payee_field());
    };
    match title {
        t if t.starts_with("Please make a donation") => donation(inv),
        t if t.starts_with("Public-key recovery with high-S") => donation(inv),
        t if t.starts_with("Please send $3 for a cup of coffee") => {
            assert_eq!(inv.amount_msat(), Some(Msat(250_000_000)));
            assert_eq!(inv.description(), &Description::Direct("1 cup coffee".into()));
            assert_eq!(inv.expiry_secs(), 60);
            assert!(!inv.is_expired(TIMESTAMP + 60) && inv.is_expired(TIMESTAMP + 61));
        }
        t if t.starts_with("Please send 0.0025 BTC for a cup of nonsense") => {
            assert_eq!(inv.amount_msat(), Some(Msat(250_000_000)));
            assert_eq!(inv.description(), &Description::Direct("ナンセンス 1杯".into()));
            assert_eq!(inv.expiry_secs(), 60);
        }
        t if t.starts_with("Now send $24") => {
            hashed(inv, Currency::Bitcoin, &[]);
        }
        t if t.starts_with("The same, on testnet") => {
            hashed(inv, Currency::Testnet, &["mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP"])
        }
        t if t
            .starts_with("On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T") =>
        {
            hashed(inv, Currency::Bitcoin, &["1RustyRX2oai4EYYDpQGWvEL62BBGqN9T"]);
            let routes: Vec<_> = inv.route_hints().collect();
            assert_eq!(routes.len(), 1);
            let hops = routes[0];
            assert_eq!(hops.len(), 2);
            let expect = [
                (
                    "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                    "66051x263430x1800",
                    1,
                    20,
                    3,
                ),
                (
                    "039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                    "197637x395016x2314",
                    2,
                    30,
                    4,
                ),
            ];
            for (hop, (node, scid, base, prop, cltv)) in hops.iter().zip(expect) {
                assert_eq!(hop.src_node_id.to_string(), node);
                assert_eq!(hop.short_channel_id.to_string(), scid);
                assert_eq!(hop.fee_base_msat, base);
                assert_eq!(hop.fee_proportional_millionths, prop);
                assert_eq!(hop.cltv_expiry_delta, CltvExpiryDelta(cltv));
            }
        }
        t if t.starts_with("On mainnet, with fallback (P2SH)") => {
            hashed(inv, Currency::Bitcoin, &["3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX"])
        }
        t if t.starts_with("On mainnet, with fallback (P2WPKH)") => {
            hashed(inv, Currency::Bitcoin, &["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"])
        }
        t if t.starts_with("On mainnet, with fallback (P2WSH)") => hashed(
            inv,
            Currency::Bitcoin,
            &["bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"],
        ),
        t if t.starts_with("On mainnet, with fallback (P2TR)") => hashed(
            inv,
            Currency::Bitcoin,
            &["bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm"],
        ),
        t if t.starts_with("Please send 0.00967878534 BTC") => {
            assert_eq!(inv.amount_msat(), Some(Msat(967_878_534)));
            assert_eq!(inv.timestamp(), 1572468703);
            assert_eq!(
                inv.payment_hash(),
                hash("462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f")
            );
            let text = "Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, \"Back In My Day\" Sticker x 2, \"I Got Lightning Working\" Sticker x 2 and 1 more items";
            assert_eq!(inv.description(), &Description::Direct(text.into()));
            assert_eq!(inv.expiry_secs(), 604800);
            assert_eq!(inv.min_final_cltv_expiry_delta(), CltvExpiryDelta(10));
            let routes: Vec<_> = inv.route_hints().collect();
            assert_eq!(routes.len(), 1);
            let hop = &routes[0][0];
            assert_eq!(routes[0].len(), 1);
            assert_eq!(
                hop.src_node_id.to_string(),
                "03d06758583bb5154774a6eb221b1276c9e82d65bbaceca806d90e20c108f4b1c7"
            );
            assert_eq!(hop.short_channel_id.to_string(), "589390x3312x1");
            assert_eq!((hop.fee_base_msat, hop.fee_proportional_millionths), (1000, 2500));
            assert_eq!(hop.cltv_expiry_delta, CltvExpiryDelta(40));
        }
        t if t.starts_with("Please send $30 for coffee beans") => coffee_beans(inv),
        t if t.starts_with("Same, but all upper case") => coffee_beans(inv),
        t if t.starts_with("Same, but including fields which must be ignored") => {
            coffee_beans(inv);
            // The unknown field, the version-19 fallback and the eight wrong-length p/h/s/n.
            let skipped = inv
                .fields()
                .iter()
                .filter(|f| matches!(f, shandian_invoice::Field::Skipped { .. }))
                .count();
            assert_eq!(skipped, 10);
            assert_eq!(inv.fallbacks().count(), 0);
        }
        t if t.starts_with("Please send 0.01 BTC with payment metadata") => {
            assert_eq!(inv.amount_msat(), Some(Msat(1_000_000_000)));
            assert_eq!(inv.description(), &Description::Direct("payment metadata inside".into()));
            assert_eq!(inv.payment_metadata(), Some(&[0x01, 0xfa, 0xfa, 0xf0][..]));
            assert_eq!(bits(inv), vec![8, 14, 48]);
        }
        other => panic!("no expectations written for the spec example {other:?}"),
    }
}

#[test]
fn valid_examples_decode_to_the_stated_fields() {
    let examples = valid_examples();
    assert_eq!(examples.len(), 16, "the spec's valid examples");
    for Example { title, invoice } in &examples {
        let decoded: Invoice = invoice.parse().unwrap_or_else(|e| panic!("{title}: rejected: {e}"));
        check_valid(title, &decoded);
        assert_eq!(decoded.to_string(), invoice.to_lowercase(), "{title}");
    }
}

#[test]
fn valid_examples_re_encode_when_signed_with_the_spec_key() {
    let examples = valid_examples();
    let donation = &examples[0].invoice;
    for Example { title, invoice } in &examples {
        let decoded: Invoice = invoice.parse().unwrap();
        let mut builder = InvoiceBuilder::new(decoded.currency()).timestamp(decoded.timestamp());
        if let Some(amount) = decoded.amount_msat() {
            builder = builder.amount_msat(amount);
        }
        for field in decoded.fields() {
            builder = builder.field(field.clone());
        }
        let signed = builder.sign(&key()).unwrap().to_string();
        if title.starts_with("Public-key recovery with high-S") {
            // The high-S example is the donation invoice with its signature's S negated;
            // signing produces the low-S form, i.e. the donation invoice itself.
            assert_eq!(&signed, donation, "{title}");
            assert_ne!(&signed, invoice);
        } else {
            assert_eq!(signed, invoice.to_lowercase(), "{title}");
        }
    }
}

#[test]
fn invalid_examples_are_rejected_for_the_stated_reason() {
    let examples = invalid_examples();
    assert_eq!(examples.len(), 10, "the spec's invalid examples");
    let mut seen = Vec::new();
    for Example { title, invoice } in &examples {
        let expected = match title.as_str() {
            t if t.contains("invalid unknown feature 100") => Error::UnknownRequiredFeature(100),
            t if t.contains("checksum is invalid") => Error::InvalidChecksum,
            t if t.contains("(no 1)") => Error::MissingSeparator,
            t if t.contains("(mixed case)") => Error::MixedCase,
            t if t.contains("not recoverable") => Error::SignatureNotRecoverable,
            t if t.contains("too short") => Error::TooShort,
            t if t.contains("Invalid multiplier") => Error::InvalidMultiplier('x'),
            t if t.contains("sub-millisatoshi") => Error::SubMillisatoshiAmount,
            t if t.contains("Missing required `s` field") => Error::MissingPaymentSecret,
            t if t.contains("high-S") => Error::HighS,
            other => panic!("no expected error written for the spec example {other:?}"),
        };
        assert_eq!(invoice.parse::<Invoice>(), Err(expected.clone()), "{title}");
        assert!(!seen.contains(&expected), "{title}: each example has its own reason");
        seen.push(expected);
    }
}

#[test]
fn the_spec_signature_breakdown_matches() {
    // The donation example spells out the signed data's hash.
    let decoded: Invoice = valid_examples()[0].invoice.parse().unwrap();
    assert_eq!(
        decoded.signed_hash().to_string(),
        "6daf4d488be41ce7cbb487cab1ef2975e5efcea879b20d421f0ef86b07cbb987"
    );
    assert_eq!(
        hex::encode(&decoded.signature_bytes()[..64]),
        "8d3ce9e28357337f62da0162d9454df827f83cfe499aeb1c1db349d4d81127425e434ca29929406c23bba1ae8ac6ca32880b38d4bf6ff874024cac34ba9625f1"
    );
    assert_eq!(decoded.signature_bytes()[64], 1);
}
