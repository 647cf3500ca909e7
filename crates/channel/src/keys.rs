//! Our side's keys for one channel: a [`ChannelSigner`] wrapping the `shandian-tx`
//! [`Signer`] that holds the private keys, plus the key index the node re-derives it from.
//!
//! The channel never sees a private key: it asks the signer for public keys and
//! per-commitment points, for signatures, and for a per-commitment secret only when it
//! revokes that commitment. Records store the key index, never secrets.

use crate::error::Error;
use bitcoin::secp256k1::PublicKey;
use shandian_tx::keys::{ChannelPublicKeys, PerCommitmentSecret};
use shandian_tx::{InMemorySigner, Signer};

/// The most revocations [`ChannelSigner`] replays when restoring a record.
pub const MAX_CATCH_UP: u64 = 1 << 16;

/// A [`Signer`] the channel can clone (channels are values; snapshots and phase transitions
/// copy them). Implemented for every `Signer + Clone + Send + Sync`.
pub trait CloneableSigner: Signer + Send + Sync {
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn CloneableSigner>;
}

impl<T: Signer + Clone + Send + Sync + 'static> CloneableSigner for T {
    fn clone_box(&self) -> Box<dyn CloneableSigner> {
        Box::new(self.clone())
    }
}

/// The signer of one channel and its key index (what a record stores instead of keys).
pub struct ChannelSigner {
    key_index: u32,
    signer: Box<dyn CloneableSigner>,
}

impl Clone for ChannelSigner {
    fn clone(&self) -> ChannelSigner {
        ChannelSigner { key_index: self.key_index, signer: self.signer.clone_box() }
    }
}

impl core::fmt::Debug for ChannelSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChannelSigner")
            .field("key_index", &self.key_index)
            .field("revoked", &self.signer.revoked_count())
            .finish_non_exhaustive()
    }
}

/// Two signers are the same when they sign for the same keys.
impl PartialEq for ChannelSigner {
    fn eq(&self, other: &ChannelSigner) -> bool {
        self.key_index == other.key_index && self.signer.pubkeys() == other.signer.pubkeys()
    }
}

impl Eq for ChannelSigner {}

impl ChannelSigner {
    /// Wraps `signer`, whose keys the node derives from `key_index` (stored in records).
    pub fn new(key_index: u32, signer: impl CloneableSigner + 'static) -> ChannelSigner {
        ChannelSigner { key_index, signer: Box::new(signer) }
    }

    /// The in-memory signer of channel `key_index` derived from the node seed
    /// ([`InMemorySigner::from_node_seed`]).
    pub fn from_node_seed(seed: &[u8; 32], key_index: u32) -> Result<ChannelSigner, Error> {
        let signer = InMemorySigner::from_node_seed(seed, key_index).map_err(Error::Signer)?;
        Ok(ChannelSigner::new(key_index, signer))
    }

    /// The key index records store.
    pub fn key_index(&self) -> u32 {
        self.key_index
    }

    /// The signer.
    pub fn signer(&self) -> &dyn CloneableSigner {
        self.signer.as_ref()
    }

    /// The public keys we announce in `open_channel` / `accept_channel`.
    pub fn public_keys(&self) -> ChannelPublicKeys {
        *self.signer.pubkeys()
    }

    /// Our per-commitment point for commitment `number`.
    pub fn commitment_point(&self, number: u64) -> Result<PublicKey, Error> {
        self.signer.per_commitment_point(number).map_err(Error::Signer)
    }

    /// Revokes our commitment `number` (in order; again for an already revoked one) and
    /// returns its secret.
    pub(crate) fn revoke(&mut self, number: u64) -> Result<PerCommitmentSecret, Error> {
        self.signer.release_per_commitment_secret(number).map_err(Error::Signer)
    }

    /// How many of our commitments are revoked.
    pub fn revoked_count(&self) -> u64 {
        self.signer.revoked_count()
    }

    /// Brings a freshly derived signer up to `revoked` revocations (restore). A signer
    /// that revoked more than the record knows means the record is stale: refused.
    pub(crate) fn catch_up(&mut self, revoked: u64) -> Result<(), Error> {
        let have = self.revoked_count();
        if have > revoked {
            return Err(Error::SignerAhead { signer: have, record: revoked });
        }
        // Catching up costs one shachain derivation per step: a long way behind means the
        // caller should pass a signer at the header's revocation count (or the bytes lie).
        if revoked - have > MAX_CATCH_UP {
            return Err(Error::SignerBehind { signer: have, record: revoked });
        }
        for n in have..revoked {
            self.revoke(n)?;
        }
        Ok(())
    }
}
