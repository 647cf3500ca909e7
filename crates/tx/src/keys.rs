//! BOLT 3 key derivation: per-commitment points, the keys used in one commitment's scripts,
//! and the matching private keys.

use crate::error::Error;
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};

/// A per-commitment secret (BOLT 3 "Per-commitment Secret Requirements").
pub type PerCommitmentSecret = [u8; 32];

/// `per_commitment_point = per_commitment_secret * G`.
pub fn per_commitment_point<C: Signing>(
    secp: &Secp256k1<C>,
    secret: &PerCommitmentSecret,
) -> Result<PublicKey, Error> {
    let key = SecretKey::from_slice(secret).map_err(|_| Error::InvalidSecretKey)?;
    Ok(PublicKey::from_secret_key(secp, &key))
}

/// `SHA256(a || b)` over two compressed points, as a scalar.
fn tweak(a: &PublicKey, b: &PublicKey) -> Result<Scalar, Error> {
    let mut engine = sha256::Hash::engine();
    engine.input(&a.serialize());
    engine.input(&b.serialize());
    let hash = sha256::Hash::from_engine(engine);
    Scalar::from_be_bytes(hash.to_byte_array()).map_err(|_| Error::KeyDerivation)
}

/// `pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G`: `localpubkey`,
/// `local_htlcpubkey`, `remote_htlcpubkey`, `local_delayedpubkey`, `remote_delayedpubkey`.
pub fn derive_pubkey<C: Verification>(
    secp: &Secp256k1<C>,
    basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, Error> {
    let t = tweak(per_commitment_point, basepoint)?;
    basepoint.add_exp_tweak(secp, &t).map_err(|_| Error::KeyDerivation)
}

/// `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)`.
pub fn derive_privkey<C: Signing>(
    secp: &Secp256k1<C>,
    basepoint_secret: &SecretKey,
    per_commitment_point: &PublicKey,
) -> Result<SecretKey, Error> {
    let basepoint = PublicKey::from_secret_key(secp, basepoint_secret);
    let t = tweak(per_commitment_point, &basepoint)?;
    basepoint_secret.add_tweak(&t).map_err(|_| Error::KeyDerivation)
}

/// `revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
///  + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_revocation_pubkey<C: Verification>(
    secp: &Secp256k1<C>,
    revocation_basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, Error> {
    let t1 = tweak(revocation_basepoint, per_commitment_point)?;
    let t2 = tweak(per_commitment_point, revocation_basepoint)?;
    let a = revocation_basepoint.mul_tweak(secp, &t1).map_err(|_| Error::KeyDerivation)?;
    let b = per_commitment_point.mul_tweak(secp, &t2).map_err(|_| Error::KeyDerivation)?;
    a.combine(&b).map_err(|_| Error::KeyDerivation)
}

/// `revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint ||
/// per_commitment_point) + per_commitment_secret * SHA256(per_commitment_point ||
/// revocation_basepoint)`: known once the owner of the commitment revealed its secret.
pub fn derive_revocation_privkey<C: Signing>(
    secp: &Secp256k1<C>,
    revocation_basepoint_secret: &SecretKey,
    per_commitment_secret: &PerCommitmentSecret,
) -> Result<SecretKey, Error> {
    let pcs = SecretKey::from_slice(per_commitment_secret).map_err(|_| Error::InvalidSecretKey)?;
    let revocation_basepoint = PublicKey::from_secret_key(secp, revocation_basepoint_secret);
    let point = PublicKey::from_secret_key(secp, &pcs);
    let t1 = tweak(&revocation_basepoint, &point)?;
    let t2 = tweak(&point, &revocation_basepoint)?;
    let a = revocation_basepoint_secret.mul_tweak(&t1).map_err(|_| Error::KeyDerivation)?;
    let b = pcs.mul_tweak(&t2).map_err(|_| Error::KeyDerivation)?;
    a.add_tweak(&Scalar::from(b)).map_err(|_| Error::KeyDerivation)
}

/// One side's channel public keys, as sent in `open_channel` / `accept_channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelPublicKeys {
    /// `funding_pubkey`.
    pub funding_pubkey: PublicKey,
    /// `revocation_basepoint`.
    pub revocation_basepoint: PublicKey,
    /// `payment_basepoint` (with `option_static_remotekey`, the counterparty's `remotepubkey`).
    pub payment_basepoint: PublicKey,
    /// `delayed_payment_basepoint`.
    pub delayed_payment_basepoint: PublicKey,
    /// `htlc_basepoint`.
    pub htlc_basepoint: PublicKey,
}

/// The keys in the scripts of one commitment transaction, named from the point of view of
/// that commitment's owner ("local"; the side that can broadcast it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommitmentKeys {
    /// The owner's `per_commitment_point` for this commitment.
    pub per_commitment_point: PublicKey,
    /// `revocationpubkey`: from the other side's revocation basepoint.
    pub revocation_pubkey: PublicKey,
    /// `local_htlcpubkey`.
    pub local_htlc_pubkey: PublicKey,
    /// `remote_htlcpubkey`.
    pub remote_htlc_pubkey: PublicKey,
    /// `local_delayedpubkey`.
    pub local_delayed_pubkey: PublicKey,
    /// `remotepubkey`: the other side's `payment_basepoint` (`option_static_remotekey`).
    pub remote_payment_pubkey: PublicKey,
}

impl CommitmentKeys {
    /// Derives the keys of the commitment owned by `owner`, whose per-commitment point is
    /// `per_commitment_point`; `other` is the counterparty of that commitment.
    pub fn derive<C: Verification>(
        secp: &Secp256k1<C>,
        per_commitment_point: &PublicKey,
        owner: &ChannelPublicKeys,
        other: &ChannelPublicKeys,
    ) -> Result<CommitmentKeys, Error> {
        Ok(CommitmentKeys {
            per_commitment_point: *per_commitment_point,
            revocation_pubkey: derive_revocation_pubkey(
                secp,
                &other.revocation_basepoint,
                per_commitment_point,
            )?,
            local_htlc_pubkey: derive_pubkey(secp, &owner.htlc_basepoint, per_commitment_point)?,
            remote_htlc_pubkey: derive_pubkey(secp, &other.htlc_basepoint, per_commitment_point)?,
            local_delayed_pubkey: derive_pubkey(
                secp,
                &owner.delayed_payment_basepoint,
                per_commitment_point,
            )?,
            remote_payment_pubkey: other.payment_basepoint,
        })
    }
}
