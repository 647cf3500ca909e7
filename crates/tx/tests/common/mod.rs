//! Parses the BOLT 3 test vectors straight out of the spec text (never copied into the repo).
#![allow(dead_code)]

use bitcoin::secp256k1::{PublicKey, SecretKey};

/// The text of ../shared/bolts/03-transactions.md.
pub fn bolt3() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts/03-transactions.md");
    std::fs::read_to_string(path).expect("BOLT 3 spec text at ../shared/bolts")
}

/// The text between the heading starting with `start` and the next top-level heading.
pub fn appendix(text: &str, start: &str) -> String {
    let begin = text.find(start).expect("appendix heading");
    let rest = &text[begin + start.len()..];
    let end = rest.find("\n# Appendix").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// `(key, value)` for every `key: value` or `key = value` line, with leading `#`,
/// `INTERNAL:` and whitespace removed.
pub fn fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let mut l = line.trim();
            l = l.trim_start_matches('#').trim();
            l = l.strip_prefix("INTERNAL:").unwrap_or(l).trim();
            let (k, v) = match (l.find(": "), l.find(" = ")) {
                (Some(c), Some(e)) if e < c => (&l[..e], &l[e + 3..]),
                (Some(c), _) => (&l[..c], &l[c + 2..]),
                (None, Some(e)) => (&l[..e], &l[e + 3..]),
                (None, None) => return None,
            };
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The first value of `key`.
pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("field {key}"))
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

pub fn h32(s: &str) -> [u8; 32] {
    let v = unhex(s);
    v[..32].try_into().expect("32 bytes")
}

/// A private key as the spec prints it: 32 bytes, optionally with the trailing `01`.
pub fn seckey(s: &str) -> SecretKey {
    SecretKey::from_slice(&h32(s)).expect("secret key")
}

pub mod channel;
pub mod kernel;

pub fn pubkey(s: &str) -> PublicKey {
    PublicKey::from_slice(&unhex(s)).expect("public key")
}
