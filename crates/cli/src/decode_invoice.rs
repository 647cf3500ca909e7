//! `shandian decodeinvoice INVOICE`: decodes and verifies a BOLT 11 invoice offline.

use anyhow::Context;
use bitcoin::secp256k1::Secp256k1;
use shandian_invoice::Invoice;

/// Arguments of `shandian decodeinvoice`.
#[derive(clap::Args)]
pub struct DecodeInvoiceArgs {
    /// The BOLT 11 invoice (`lnbc...`, `lntb...`, `lntbs...` or `lnbcrt...`).
    invoice: String,
}

/// Prints the invoice as one JSON object, or fails with the reason it is invalid.
pub fn run(args: DecodeInvoiceArgs) -> anyhow::Result<()> {
    let secp = Secp256k1::verification_only();
    let text = shandian_invoice::strip_lightning_uri(&args.invoice);
    let invoice = Invoice::decode(&secp, text).context("invalid invoice")?;
    println!("{}", serde_json::to_string_pretty(&invoice.to_json())?);
    Ok(())
}
