//! `Invoice::to_json`, the output of `shandian decodeinvoice`: which keys appear when.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::SecretKey;
use serde_json::json;
use shandian_invoice::{Currency, Fallback, Invoice, InvoiceBuilder, RouteHintHop};
use shandian_types::{CltvExpiryDelta, Features, Msat, PaymentHash, PaymentSecret, ShortChannelId};

const SPEC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bolts/11-payment-encoding.md"
));

/// The spec example whose title starts with `title`.
fn example(title: &str) -> Invoice {
    let mut lines = SPEC.lines().skip_while(|l| !l.starts_with(&format!("> ### {title}")));
    lines.next().expect("example title");
    let text = lines.map(|l| l.trim_start_matches('>').trim()).find(|l| !l.is_empty()).unwrap();
    text.parse().unwrap()
}

fn keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn donation_without_amount() {
    let json = example("Please make a donation").to_json();
    assert_eq!(
        keys(&json),
        vec![
            "created_at",
            "currency",
            "description",
            "expiry",
            "features",
            "min_final_cltv_expiry",
            "network",
            "payee",
            "payment_hash",
            "payment_secret",
            "signature",
        ]
    );
    assert_eq!(json["currency"], "bc");
    assert_eq!(json["network"], "bitcoin");
    assert_eq!(json["created_at"], 1496314658);
    assert_eq!(json["expiry"], 3600);
    assert_eq!(json["min_final_cltv_expiry"], 18);
    assert_eq!(json["payee"], "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad");
    assert_eq!(
        json["payment_hash"],
        "0001020304050607080900010203040506070809000102030405060708090102"
    );
    assert_eq!(json["payment_secret"], "11".repeat(32));
    assert_eq!(json["description"], "Please consider supporting this project");
    // Bits 8 and 14, big-endian.
    assert_eq!(json["features"], "4100");
    // The spec's signature breakdown: R || S, then recovery flag 1.
    assert_eq!(
        json["signature"],
        "8d3ce9e28357337f62da0162d9454df827f83cfe499aeb1c1db349d4d81127425e434ca29929406c23bba1ae8ac6ca32880b38d4bf6ff874024cac34ba9625f101"
    );
}

#[test]
fn amount_expiry_and_description_hash() {
    let coffee = example("Please send $3 for a cup of coffee").to_json();
    assert_eq!(coffee["amount_msat"], 250_000_000);
    assert_eq!(coffee["expiry"], 60);

    let hashed = example("Now send $24").to_json();
    assert!(hashed.get("description").is_none());
    assert_eq!(
        hashed["description_hash"],
        "3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1"
    );
    assert!(hashed.get("fallbacks").is_none() && hashed.get("routes").is_none());
}

#[test]
fn fallbacks_and_routes() {
    let testnet = example("The same, on testnet").to_json();
    assert_eq!((&testnet["currency"], &testnet["network"]), (&json!("tb"), &json!("testnet")));
    assert_eq!(testnet["fallbacks"], json!([{ "address": "mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP" }]));

    let routed =
        example("On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T").to_json();
    assert_eq!(routed["fallbacks"], json!([{ "address": "1RustyRX2oai4EYYDpQGWvEL62BBGqN9T" }]));
    assert_eq!(
        routed["routes"],
        json!([[
            {
                "pubkey": "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                "short_channel_id": "66051x263430x1800",
                "fee_base_msat": 1,
                "fee_proportional_millionths": 20,
                "cltv_expiry_delta": 3
            },
            {
                "pubkey": "039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                "short_channel_id": "197637x395016x2314",
                "fee_base_msat": 2,
                "fee_proportional_millionths": 30,
                "cltv_expiry_delta": 4
            }
        ]])
    );
}

#[test]
fn metadata_and_cltv() {
    let json = example("Please send 0.01 BTC with payment metadata").to_json();
    assert_eq!(json["payment_metadata"], "01fafaf0");
    assert_eq!(json["amount_msat"], 1_000_000_000u64);
    let pico = example("Please send 0.00967878534 BTC").to_json();
    assert_eq!(pico["min_final_cltv_expiry"], 10);
    assert_eq!(pico["expiry"], 604800);
    assert_eq!(pico["amount_msat"], 967_878_534);
}

#[test]
fn regtest_and_signet_addresses_follow_the_currency() {
    let key = SecretKey::from_slice(&[9; 32]).unwrap();
    let program = bitcoin::WitnessProgram::new(bitcoin::WitnessVersion::V0, &[7; 20]).unwrap();
    for (currency, network, prefix) in
        [(Currency::Regtest, "regtest", "bcrt1q"), (Currency::Signet, "signet", "tb1q")]
    {
        let invoice = InvoiceBuilder::new(currency)
            .timestamp(1_700_000_000)
            .amount_msat(Msat(1))
            .payment_hash(PaymentHash([1; 32]))
            .payment_secret(PaymentSecret([2; 32]))
            .description_hash(sha256::Hash::hash(b"d"))
            .min_final_cltv_expiry_delta(CltvExpiryDelta(40))
            .features(Features::from_bits([8, 14, 17]))
            .fallback(Fallback::Witness(program))
            .route_hint(vec![RouteHintHop {
                src_node_id: "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                    .parse()
                    .unwrap(),
                short_channel_id: ShortChannelId::new(101, 1, 0).unwrap(),
                fee_base_msat: 0,
                fee_proportional_millionths: 0,
                cltv_expiry_delta: CltvExpiryDelta(144),
            }])
            .sign(&key)
            .unwrap();
        let json = invoice.to_json();
        assert_eq!(json["currency"], currency.prefix());
        assert_eq!(json["network"], network);
        assert_eq!(json["amount_msat"], 1);
        assert_eq!(json["min_final_cltv_expiry"], 40);
        assert_eq!(json["features"], "024100");
        let address = json["fallbacks"][0]["address"].as_str().unwrap();
        assert!(address.starts_with(prefix), "{address}");
        assert_eq!(json["routes"][0][0]["short_channel_id"], "101x1x0");
        assert!(json.get("payment_metadata").is_none());
        // The JSON is the same whether read from the builder's invoice or its text.
        assert_eq!(invoice.to_string().parse::<Invoice>().unwrap().to_json(), json);
    }
}
