//! Arbitrary text as a BOLT 11 invoice. Nothing may panic; whatever decodes must re-encode to
//! the same invoice and describe itself as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shandian_invoice::Invoice;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(invoice) = text.parse::<Invoice>() else { return };
    let encoded = invoice.to_string();
    assert_eq!(encoded, text.to_lowercase());
    assert_eq!(encoded.parse::<Invoice>().as_ref(), Ok(&invoice));
    let _ = invoice.to_json();
    let _ = invoice.is_expired(u64::MAX);
});
