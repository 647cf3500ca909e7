//! Cross-checks with LDK's `lightning-invoice`: LDK reads our invoices as we wrote them, and
//! we read LDK's invoices as LDK wrote them (and print them back byte for byte).

mod common;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use common::{build, contents, features_from, hop, secret_key};
use lightning_invoice::{
    Bolt11Invoice, Bolt11InvoiceDescriptionRef, Currency as LdkCurrency, InvoiceBuilder, RouteHint,
    RoutingFees,
};
use proptest::prelude::*;
use shandian_invoice::{Currency, Description, Invoice, RouteHintHop};
use shandian_types::{CltvExpiryDelta, Features, Msat, NodeId};
use std::time::Duration;

fn ldk_currency(currency: Currency) -> LdkCurrency {
    match currency {
        Currency::Bitcoin => LdkCurrency::Bitcoin,
        Currency::Testnet => LdkCurrency::BitcoinTestnet,
        Currency::Signet => LdkCurrency::Signet,
        Currency::Regtest => LdkCurrency::Regtest,
    }
}

/// LDK's route hints in our types.
fn ldk_routes(ldk: &Bolt11Invoice) -> Vec<Vec<RouteHintHop>> {
    ldk.route_hints()
        .into_iter()
        .map(|RouteHint(hops)| {
            hops.into_iter()
                .map(|h| RouteHintHop {
                    src_node_id: NodeId::from(h.src_node_id),
                    short_channel_id: shandian_types::ShortChannelId(h.short_channel_id),
                    fee_base_msat: h.fees.base_msat,
                    fee_proportional_millionths: h.fees.proportional_millionths,
                    cltv_expiry_delta: CltvExpiryDelta(h.cltv_expiry_delta),
                })
                .collect()
        })
        .collect()
}

/// Asserts LDK and we read the same invoice the same way.
fn assert_same(ours: &Invoice, ldk: &Bolt11Invoice) {
    assert_eq!(ours.to_string(), ldk.to_string());
    assert_eq!(ldk_currency(ours.currency()), ldk.currency());
    assert_eq!(ours.amount_msat().map(|m| m.0), ldk.amount_milli_satoshis());
    assert_eq!(ours.timestamp(), ldk.duration_since_epoch().as_secs());
    assert_eq!(ours.payment_hash().0, ldk.payment_hash().to_byte_array());
    assert_eq!(ours.payment_secret().0, ldk.payment_secret().0);
    assert_eq!(ours.payee(), NodeId::from(ldk.get_payee_pub_key()));
    assert_eq!(ours.has_payee_field(), ldk.payee_pub_key().is_some());
    match (ours.description(), ldk.description()) {
        (Description::Direct(text), Bolt11InvoiceDescriptionRef::Direct(d)) => {
            assert_eq!(text, &d.as_inner().0)
        }
        (Description::Hash(hash), Bolt11InvoiceDescriptionRef::Hash(h)) => assert_eq!(hash, &h.0),
        (a, _) => panic!("descriptions differ: ours {a:?}"),
    }
    assert_eq!(ours.expiry_secs(), ldk.expiry_time().as_secs());
    assert_eq!(u64::from(ours.min_final_cltv_expiry_delta().0), ldk.min_final_cltv_expiry_delta());
    let network = ours.currency().network();
    let ours_fallbacks: Vec<String> =
        ours.fallbacks().map(|f| f.address(network).to_string()).collect();
    let ldk_fallbacks: Vec<String> =
        ldk.fallback_addresses().iter().map(ToString::to_string).collect();
    assert_eq!(ours_fallbacks, ldk_fallbacks);
    assert_eq!(ours.route_hints().map(<[_]>::to_vec).collect::<Vec<_>>(), ldk_routes(ldk));
    let ldk_features = ldk.features().map(|f| {
        let be: Vec<u8> = f.le_flags().iter().rev().copied().collect();
        Features::from_be_bytes(&be)
    });
    assert_eq!(ours.features().cloned(), ldk_features);
    assert_eq!(ours.payment_metadata(), ldk.payment_metadata().map(Vec::as_slice));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ldk_reads_our_invoices(
        mut c in contents(),
        // LDK requires the payment_secret feature and refuses even bits it does not know.
        features in features_from(vec![8, 9, 14, 15, 48, 49]),
        key in secret_key(),
    ) {
        c.features = features;
        c.features.set(14);
        // LDK holds amounts in pico-bitcoin in a u64; keep within what that can express.
        c.amount = c.amount.map(|msat| msat % (u64::MAX / 10) + 1);
        let ours = build(&c, &key);
        let ldk: Bolt11Invoice = ours.to_string().parse().unwrap();
        assert_same(&ours, &ldk);
    }

    #[test]
    fn we_read_ldk_invoices(
        currency in common::currency(),
        amount in prop::option::of(1u64..21_000_000_000_000_000),
        timestamp in 0u64..(1 << 35),
        hash: [u8; 32],
        secret: [u8; 32],
        description in "\\PC{0,60}",
        expiry in 0u64..(1 << 40),
        cltv: u16,
        routes in prop::collection::vec(prop::collection::vec(hop(), 1..4), 0..3),
        metadata in prop::collection::vec(any::<u8>(), 1..40),
        mpp: bool,
        key in secret_key(),
    ) {
        let secp = Secp256k1::new();
        let mut builder = InvoiceBuilder::new(ldk_currency(currency))
            .description(description)
            .payment_hash(sha256::Hash::from_byte_array(hash))
            .payment_secret(lightning_invoice::PaymentSecret(secret))
            .duration_since_epoch(Duration::from_secs(timestamp))
            .min_final_cltv_expiry_delta(u64::from(cltv))
            .expiry_time(Duration::from_secs(expiry))
            .payment_metadata(metadata);
        if let Some(msat) = amount {
            builder = builder.amount_milli_satoshis(msat);
        }
        if mpp {
            builder = builder.basic_mpp();
        }
        for route in routes {
            let hops = route
                .into_iter()
                .map(|h| lightning_invoice::RouteHintHop {
                    src_node_id: h.src_node_id.public_key(),
                    short_channel_id: h.short_channel_id.0,
                    fees: RoutingFees {
                        base_msat: h.fee_base_msat,
                        proportional_millionths: h.fee_proportional_millionths,
                    },
                    cltv_expiry_delta: h.cltv_expiry_delta.0,
                    htlc_minimum_msat: None,
                    htlc_maximum_msat: None,
                })
                .collect();
            builder = builder.private_route(RouteHint(hops));
        }
        let ldk = builder.build_signed(|m| secp.sign_ecdsa_recoverable(m, &key)).unwrap();
        let ours: Invoice = ldk.to_string().parse().unwrap();
        assert_same(&ours, &ldk);
        prop_assert_eq!(ours.payee(), NodeId::from(PublicKey::from_secret_key(&secp, &key)));
        prop_assert_eq!(ours.amount_msat(), amount.map(Msat));
    }
}

#[test]
fn ldk_reads_a_full_invoice_of_ours() {
    // A fixed invoice from our builder with every field, as a readable smoke test.
    let key = SecretKey::from_slice(&[3; 32]).unwrap();
    let c = common::Contents {
        currency: Currency::Bitcoin,
        amount: Some(123_456_789),
        timestamp: 1_700_000_000,
        hash: [1; 32],
        secret: [2; 32],
        description: Ok("coffee ☕".into()),
        expiry: Some(600),
        cltv: Some(144),
        state_payee: true,
        fallbacks: vec![],
        routes: vec![],
        features: Features::from_bits([8, 14, 17, 49]),
        metadata: Some(vec![1, 2, 3]),
    };
    let ours = build(&c, &key);
    let ldk: Bolt11Invoice = ours.to_string().parse().unwrap();
    assert_same(&ours, &ldk);
}
