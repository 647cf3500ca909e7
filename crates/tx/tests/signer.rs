//! The signer: counterparty commitments and HTLC signatures verify, revocation is in order
//! and final, and holder commitments are never signed once revoked.

mod common;

use bitcoin::secp256k1::PublicKey;
use common::channel::*;
use shandian_tx::shachain::ShachainStore;
use shandian_tx::signer::{verify_commitment_signature, verify_htlc_signatures};
use shandian_tx::*;
use shandian_types::Msat;

#[test]
fn commitment_signatures_round_trip() {
    for channel_type in [ChannelType::StaticRemoteKey, ChannelType::AnchorsZeroFeeHtlcTx] {
        let pair = Pair::new(channel_type);
        let htlcs = sample_htlcs();
        // A signs B's commitment; B checks the signatures and signs it for broadcast.
        let b_commitment = pair.commitment(false, 0, Msat(6_000_000_000), &htlcs, 2500);
        assert_eq!(b_commitment.htlc_outputs.len(), 4);
        let sigs = pair.a.sign_counterparty_commitment(&b_commitment).unwrap();
        verify_commitment_signature(&pair.secp, &b_commitment, &sigs.commitment).unwrap();
        verify_htlc_signatures(&pair.secp, &b_commitment, &sigs.htlcs).unwrap();
        let signed = pair.b.sign_holder_commitment(&b_commitment, &sigs.commitment).unwrap();
        assert_eq!(signed.input[0].witness.len(), 4);

        // A wrong or missing signature is caught.
        let mut bad = sigs.htlcs.clone();
        bad.swap(0, 1);
        assert_eq!(
            verify_htlc_signatures(&pair.secp, &b_commitment, &bad),
            Err(Error::InvalidSignature(Some(0)))
        );
        assert!(matches!(
            verify_htlc_signatures(&pair.secp, &b_commitment, &sigs.htlcs[1..]),
            Err(Error::HtlcSignatureCount { expected: 4, got: 3 })
        ));
        assert_eq!(
            verify_commitment_signature(&pair.secp, &b_commitment, &sigs.htlcs[0]),
            Err(Error::InvalidSignature(None))
        );
        assert_eq!(
            pair.b.sign_holder_commitment(&b_commitment, &sigs.htlcs[0]),
            Err(Error::InvalidSignature(None))
        );
        // Keys that are not the signer's are refused.
        assert_eq!(pair.b.sign_counterparty_commitment(&b_commitment), Err(Error::KeyMismatch));
    }
}

#[test]
fn revocation_is_in_order_and_final() {
    let mut pair = Pair::new(ChannelType::AnchorsZeroFeeHtlcTx);
    let c0 = pair.commitment(false, 0, Msat(5_000_000_000), &[], 253);
    let sig0 = pair.a.sign_counterparty_commitment(&c0).unwrap().commitment;
    assert!(pair.b.sign_holder_commitment(&c0, &sig0).is_ok());

    assert_eq!(
        pair.b.release_per_commitment_secret(1),
        Err(Error::RevocationOutOfOrder { expected: 0, got: 1 })
    );
    let s0 = pair.b.release_per_commitment_secret(0).unwrap();
    assert_eq!(pair.b.revoked_count(), 1);
    // Asking again (reestablish) gives the same secret and revokes nothing more.
    assert_eq!(pair.b.release_per_commitment_secret(0), Ok(s0));
    assert_eq!(pair.b.revoked_count(), 1);
    assert_eq!(pair.b.sign_holder_commitment(&c0, &sig0), Err(Error::CommitmentRevoked(0)));
    assert_eq!(pair.b.sign_holder_htlc_input(&c0, 0, &c0.tx, 0), Err(Error::CommitmentRevoked(0)));
    // The secret matches the point the counterparty was given, and the shachain accepts it.
    let point = keys::per_commitment_point(&pair.secp, &s0).unwrap();
    assert_eq!(point, c0.spec.keys.per_commitment_point);
    let mut store = ShachainStore::new();
    for n in 0..20 {
        let s = pair.b.release_per_commitment_secret(n).unwrap();
        store.insert(shachain::index_for_commitment(n).unwrap(), s).unwrap();
    }
    // Restoring the revocation state keeps the refusal.
    let restored = InMemorySigner::from_node_seed(&[2; 32], 7).unwrap().with_revoked_count(20);
    assert_eq!(restored.pubkeys(), pair.b.pubkeys());
    assert_eq!(restored.sign_holder_commitment(&c0, &sig0), Err(Error::CommitmentRevoked(0)));
}

#[test]
fn seed_derivation_is_deterministic_and_per_channel() {
    let a0 = InMemorySigner::from_node_seed(&[1; 32], 0).unwrap();
    let a0_again = InMemorySigner::from_node_seed(&[1; 32], 0).unwrap();
    let a1 = InMemorySigner::from_node_seed(&[1; 32], 1).unwrap();
    assert_eq!(a0.pubkeys(), a0_again.pubkeys());
    let keys = |s: &InMemorySigner| -> Vec<PublicKey> {
        let p = s.pubkeys();
        vec![
            p.funding_pubkey,
            p.revocation_basepoint,
            p.payment_basepoint,
            p.delayed_payment_basepoint,
            p.htlc_basepoint,
        ]
    };
    let (k0, k1) = (keys(&a0), keys(&a1));
    for k in &k0 {
        assert!(!k1.contains(k));
        assert_eq!(k0.iter().filter(|x| *x == k).count(), 1);
    }
    assert_ne!(a0.per_commitment_point(0), a1.per_commitment_point(0));
    assert_ne!(a0.per_commitment_point(0), a0.per_commitment_point(1));
}

#[test]
fn signer_refuses_commitments_that_do_not_protect_it() {
    let pair = Pair::new(ChannelType::AnchorsZeroFeeHtlcTx);
    let c = pair.commitment(false, 2, Msat(5_000_000_000), &sample_htlcs(), 1000);
    let sig = pair.a.sign_counterparty_commitment(&c).unwrap().commitment;
    let other = pair.b.per_commitment_point(9).unwrap();
    // A commitment whose to_remote is not A's payment basepoint, or whose revocation key A
    // could not derive, is refused.
    let mut spec = c.spec.clone();
    spec.keys.remote_payment_pubkey = other;
    assert_eq!(
        pair.a.sign_counterparty_commitment(&spec.build().unwrap()),
        Err(Error::KeyMismatch)
    );
    let mut spec = c.spec.clone();
    spec.keys.revocation_pubkey = other;
    assert_eq!(
        pair.a.sign_counterparty_commitment(&spec.build().unwrap()),
        Err(Error::KeyMismatch)
    );
    // B refuses to sign a holder commitment built with another point or delayed key.
    let mut spec = c.spec.clone();
    spec.keys.local_delayed_pubkey = other;
    assert_eq!(
        pair.b.sign_holder_commitment(&spec.build().unwrap(), &sig),
        Err(Error::KeyMismatch)
    );
    let mut spec = c.spec.clone();
    spec.commitment_number = 3;
    assert_eq!(
        pair.b.sign_holder_commitment(&spec.build().unwrap(), &sig),
        Err(Error::KeyMismatch)
    );
}
