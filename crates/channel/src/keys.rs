//! Our secret key material for one channel and the public keys both sides announced.
//!
//! The channel signs with these keys through BOLT 3 derivations from `shandian-tx`. Secrets
//! come in from the caller (derived from the node's seed); nothing here draws randomness.

use crate::error::Error;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use shandian_tx::keys::{per_commitment_point, ChannelPublicKeys, PerCommitmentSecret};
use shandian_tx::shachain::{generate_from_seed, index_for_commitment};

/// Our private keys for one channel.
#[derive(Clone, PartialEq, Eq)]
pub struct HolderKeys {
    /// `funding_pubkey`'s secret.
    pub funding: SecretKey,
    /// `revocation_basepoint`'s secret.
    pub revocation_base: SecretKey,
    /// `payment_basepoint`'s secret (our `to_remote` key with `option_static_remotekey`).
    pub payment_base: SecretKey,
    /// `delayed_payment_basepoint`'s secret.
    pub delayed_payment_base: SecretKey,
    /// `htlc_basepoint`'s secret.
    pub htlc_base: SecretKey,
    /// The seed of our per-commitment secrets (BOLT 3 shachain).
    pub commitment_seed: [u8; 32],
}

impl core::fmt::Debug for HolderKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HolderKeys(..)")
    }
}

impl HolderKeys {
    /// Derives all keys from 32 bytes of channel entropy (e.g. from the node's key manager).
    pub fn from_entropy(entropy: &[u8; 32]) -> Result<HolderKeys, Error> {
        use bitcoin::hashes::{sha256, Hash};
        let derive = |tag: u8| {
            let mut data = [0u8; 33];
            data[..32].copy_from_slice(entropy);
            data[32] = tag;
            sha256::Hash::hash(&data).to_byte_array()
        };
        let key = |tag: u8| SecretKey::from_slice(&derive(tag)).map_err(|_| Error::Transaction);
        Ok(HolderKeys {
            funding: key(0)?,
            revocation_base: key(1)?,
            payment_base: key(2)?,
            delayed_payment_base: key(3)?,
            htlc_base: key(4)?,
            commitment_seed: derive(5),
        })
    }

    /// The public keys we announce in `open_channel` / `accept_channel`.
    pub fn public_keys<C: Signing>(&self, secp: &Secp256k1<C>) -> ChannelPublicKeys {
        ChannelPublicKeys {
            funding_pubkey: PublicKey::from_secret_key(secp, &self.funding),
            revocation_basepoint: PublicKey::from_secret_key(secp, &self.revocation_base),
            payment_basepoint: PublicKey::from_secret_key(secp, &self.payment_base),
            delayed_payment_basepoint: PublicKey::from_secret_key(secp, &self.delayed_payment_base),
            htlc_basepoint: PublicKey::from_secret_key(secp, &self.htlc_base),
        }
    }

    /// Our per-commitment secret for commitment `number`.
    pub fn commitment_secret(&self, number: u64) -> Result<PerCommitmentSecret, Error> {
        let index = index_for_commitment(number).map_err(|_| Error::Transaction)?;
        generate_from_seed(&self.commitment_seed, index).map_err(|_| Error::Transaction)
    }

    /// Our per-commitment point for commitment `number`.
    pub fn commitment_point<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        number: u64,
    ) -> Result<PublicKey, Error> {
        per_commitment_point(secp, &self.commitment_secret(number)?).map_err(|_| Error::Transaction)
    }
}
