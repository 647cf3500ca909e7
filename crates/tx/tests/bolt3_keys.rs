//! BOLT 3 Appendix D (per-commitment secrets) and E (key derivation), parsed from the spec.

mod common;

use bitcoin::secp256k1::{PublicKey, Secp256k1};
use common::*;
use shandian_tx::keys::*;
use shandian_tx::shachain::{generate_from_seed, ShachainStore};
use shandian_tx::Error;

fn parse_index(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

#[test]
fn appendix_d_generation() {
    let text = appendix(&bolt3(), "## Generation Tests");
    let text = &text[..text.find("## Storage Tests").unwrap()];
    let f = fields(text);
    let mut n = 0;
    for chunk in f.split(|(k, _)| k == "name").skip(1) {
        let seed = h32(field(chunk, "seed"));
        let index = parse_index(field(chunk, "I"));
        let output = h32(field(chunk, "output"));
        assert_eq!(generate_from_seed(&seed, index).unwrap(), output);
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn appendix_d_storage() {
    let text = appendix(&bolt3(), "## Storage Tests");
    let f = fields(&text);
    let mut cases = 0;
    let mut errors = 0;
    for case in f.split(|(k, _)| k == "name").skip(1) {
        let mut store = ShachainStore::new();
        let mut index = None;
        let mut secret = None;
        for (k, v) in case {
            match k.as_str() {
                "I" => index = Some(parse_index(v)),
                "secret" => secret = Some(h32(v)),
                "output" => {
                    let (i, s) = (index.unwrap(), secret.unwrap());
                    let result = store.insert(i, s);
                    if v == "OK" {
                        assert_eq!(result, Ok(()), "index {i}");
                        assert_eq!(store.get(i), Ok(s));
                    } else {
                        assert_eq!(v, "ERROR");
                        assert_eq!(result, Err(Error::ShachainMismatch(i)));
                        errors += 1;
                    }
                }
                _ => {}
            }
        }
        cases += 1;
    }
    assert_eq!(cases, 9);
    assert_eq!(errors, 8);
}

#[test]
fn appendix_e_derivation() {
    let secp = Secp256k1::new();
    let f = fields(&appendix(&bolt3(), "# Appendix E"));
    let base_secret = seckey(field(&f, "base_secret"));
    let pcs = h32(field(&f, "per_commitment_secret"));
    let base_point = pubkey(field(&f, "base_point"));
    let point = pubkey(field(&f, "per_commitment_point"));
    assert_eq!(PublicKey::from_secret_key(&secp, &base_secret), base_point);
    assert_eq!(per_commitment_point(&secp, &pcs).unwrap(), point);

    let localpubkey = derive_pubkey(&secp, &base_point, &point).unwrap();
    assert_eq!(localpubkey, pubkey(field(&f, "localpubkey")));
    let localprivkey = derive_privkey(&secp, &base_secret, &point).unwrap();
    assert_eq!(localprivkey, seckey(field(&f, "localprivkey")));
    assert_eq!(PublicKey::from_secret_key(&secp, &localprivkey), localpubkey);

    let revocation = derive_revocation_pubkey(&secp, &base_point, &point).unwrap();
    assert_eq!(revocation, pubkey(field(&f, "revocationpubkey")));
    let revocation_priv = derive_revocation_privkey(&secp, &base_secret, &pcs).unwrap();
    assert_eq!(revocation_priv, seckey(field(&f, "revocationprivkey")));
    assert_eq!(PublicKey::from_secret_key(&secp, &revocation_priv), revocation);
}
