//! `shandian decodeinvoice` as a user runs it: the binary, its stdout JSON and exit status.

use std::process::{Command, Output};

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use shandian_invoice::{Currency, InvoiceBuilder};
use shandian_types::{Msat, PaymentHash, PaymentSecret};

fn decodeinvoice(invoice: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["decodeinvoice", invoice])
        .output()
        .expect("run shandian")
}

#[test]
fn prints_the_invoice_as_one_json_object() {
    let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
    let payee = key.public_key(&Secp256k1::new());
    let invoice = InvoiceBuilder::new(Currency::Regtest)
        .amount_msat(Msat(250_000))
        .timestamp(1_700_000_000)
        .payment_hash(PaymentHash([0x22; 32]))
        .payment_secret(PaymentSecret([0x33; 32]))
        .description("coffee")
        .sign(&key)
        .unwrap()
        .to_string();

    let output = decodeinvoice(&invoice);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["currency"], "bcrt");
    assert_eq!(json["network"], "regtest");
    assert_eq!(json["amount_msat"], 250_000);
    assert_eq!(json["created_at"], 1_700_000_000u64);
    assert_eq!(json["expiry"], 3600);
    assert_eq!(json["min_final_cltv_expiry"], 18);
    assert_eq!(json["payee"], payee.to_string());
    assert_eq!(json["payment_hash"], "22".repeat(32));
    assert_eq!(json["payment_secret"], "33".repeat(32));
    assert_eq!(json["description"], "coffee");

    let as_uri = decodeinvoice(&format!("LIGHTNING:{invoice}"));
    assert!(as_uri.status.success());
    assert_eq!(as_uri.stdout, output.stdout, "a lightning: URI decodes to the same invoice");
}

#[test]
fn an_invalid_invoice_fails_with_one_line_on_stderr() {
    for bad in ["lnbcrt1garbage", "not an invoice", "", "lightning:"] {
        let output = decodeinvoice(bad);
        assert!(!output.status.success(), "{bad:?} was accepted");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
        assert!(stderr.starts_with("error: invalid invoice"), "{stderr:?}");
    }
}
