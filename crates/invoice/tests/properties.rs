//! Property tests: the decoder is total over arbitrary input, and every invoice the builder
//! makes decodes back to itself.

mod common;

use bech32::{Bech32, Fe32, Hrp};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1};
use common::{build, contents, secret_key};
use proptest::prelude::*;
use shandian_invoice::{Description, Invoice};
use shandian_types::{CltvExpiryDelta, Msat, NodeId, PaymentHash, PaymentSecret};

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
