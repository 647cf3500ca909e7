//! BOLT 3 per-commitment secrets: the generator (`generate_from_seed`) and the compact
//! receiver storage of at most 49 secrets.

use crate::error::Error;
use crate::keys::PerCommitmentSecret;
use bitcoin::hashes::{sha256, Hash};

/// The first index used: 2^48 - 1. Indices count down from here.
pub const MAX_INDEX: u64 = (1 << 48) - 1;

/// The shachain index of the secret for `commitment_number` (BOLT 2 counts commitments up
/// from 0; BOLT 3 indices count down from 2^48 - 1).
pub fn index_for_commitment(commitment_number: u64) -> Result<u64, Error> {
    MAX_INDEX
        .checked_sub(commitment_number)
        .ok_or(Error::CommitmentNumberOutOfRange(commitment_number))
}

/// `derive_secret(base, bits, I)`: flips and hashes bits `bits-1` down to 0 that are set in I.
fn derive(base: &[u8; 32], bits: u32, index: u64) -> [u8; 32] {
    let mut p = *base;
    for b in (0..bits).rev() {
        if index & (1u64 << b) != 0 {
            // flip(B): the (B mod 8) bit of the (B div 8) byte.
            p[(b / 8) as usize] ^= 1 << (b % 8);
            p = sha256::Hash::hash(&p).to_byte_array();
        }
    }
    p
}

/// `generate_from_seed(seed, I)` of BOLT 3.
pub fn generate_from_seed(seed: &[u8; 32], index: u64) -> Result<PerCommitmentSecret, Error> {
    if index > MAX_INDEX {
        return Err(Error::ShachainIndexOutOfRange(index));
    }
    Ok(derive(seed, 48, index))
}

/// `where_to_put_secret(I)`: the number of trailing zeros, 48 for I = 0.
fn bucket(index: u64) -> usize {
    (index.trailing_zeros().min(48)) as usize
}

/// The receiver's compact store: one (index, secret) per bucket, 49 buckets.
#[derive(Clone, PartialEq, Eq)]
pub struct ShachainStore {
    known: [Option<(u64, [u8; 32])>; 49],
    /// The index expected next (`None` once index 0 was received).
    next: Option<u64>,
}

impl core::fmt::Debug for ShachainStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Secrets stay out of logs.
        f.debug_struct("ShachainStore").field("next", &self.next).finish()
    }
}

impl Default for ShachainStore {
    fn default() -> Self {
        ShachainStore::new()
    }
}

impl ShachainStore {
    /// An empty store, expecting index 2^48 - 1 first.
    pub fn new() -> ShachainStore {
        ShachainStore { known: [None; 49], next: Some(MAX_INDEX) }
    }

    /// The index the next `insert` must carry, `None` when the chain is exhausted.
    pub fn next_index(&self) -> Option<u64> {
        self.next
    }

    /// `insert_secret(secret, I)`: stores the secret after checking it derives every
    /// earlier secret it should (BOLT 3: otherwise the secrets were not generated from the
    /// same seed). Secrets must arrive in descending index order.
    pub fn insert(&mut self, index: u64, secret: PerCommitmentSecret) -> Result<(), Error> {
        let expected = self.next.ok_or(Error::ShachainIndexOutOfRange(index))?;
        if index != expected {
            return Err(Error::ShachainOutOfOrder { expected, got: index });
        }
        let b = bucket(index);
        for (known_index, known_secret) in self.known.iter().take(b).flatten() {
            if derive(&secret, b as u32, *known_index) != *known_secret {
                return Err(Error::ShachainMismatch(index));
            }
        }
        if let Some(slot) = self.known.get_mut(b) {
            *slot = Some((index, secret));
        }
        self.next = index.checked_sub(1);
        Ok(())
    }

    /// `derive_old_secret(I)`: the secret for an index already received.
    pub fn get(&self, index: u64) -> Result<PerCommitmentSecret, Error> {
        for (b, entry) in self.known.iter().enumerate() {
            if let Some((known_index, secret)) = entry {
                let mask = !((1u64 << b) - 1);
                if index & mask == *known_index {
                    return Ok(derive(secret, b as u32, index));
                }
            }
        }
        Err(Error::ShachainUnknown(index))
    }

    /// The stored (index, secret) pairs, for persistence.
    pub fn entries(&self) -> impl Iterator<Item = (u64, PerCommitmentSecret)> + '_ {
        self.known.iter().flatten().copied()
    }

    /// Rebuilds a store from persisted entries, re-checking every consistency rule.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (u64, PerCommitmentSecret)>,
    ) -> Result<ShachainStore, Error> {
        let mut store = ShachainStore::new();
        let mut sorted: Vec<_> = entries.into_iter().collect();
        sorted.sort_by_key(|entry| core::cmp::Reverse(entry.0));
        for (index, secret) in sorted {
            if index > MAX_INDEX {
                return Err(Error::ShachainIndexOutOfRange(index));
            }
            let b = bucket(index);
            for (known_index, known_secret) in store.known.iter().take(b).flatten() {
                if derive(&secret, b as u32, *known_index) != *known_secret {
                    return Err(Error::ShachainMismatch(index));
                }
            }
            if let Some(slot) = store.known.get_mut(b) {
                *slot = Some((index, secret));
            }
            store.next = index.checked_sub(1);
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_counts_trailing_zeros() {
        assert_eq!(bucket(0), 48);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(MAX_INDEX - 1), 1);
        assert_eq!(bucket(1 << 47), 47);
    }

    #[test]
    fn store_derives_all_received_and_round_trips() {
        let seed = [7u8; 32];
        let mut store = ShachainStore::new();
        for i in 0..1000u64 {
            let index = MAX_INDEX - i;
            store.insert(index, generate_from_seed(&seed, index).unwrap()).unwrap();
        }
        assert!(store.entries().count() <= 49);
        for i in 0..1000u64 {
            let index = MAX_INDEX - i;
            assert_eq!(store.get(index), generate_from_seed(&seed, index));
        }
        assert_eq!(store.get(MAX_INDEX - 1000), Err(Error::ShachainUnknown(MAX_INDEX - 1000)));
        let rebuilt = ShachainStore::from_entries(store.entries()).unwrap();
        assert_eq!(rebuilt, store);
        assert_eq!(
            store.insert(5, [0; 32]),
            Err(Error::ShachainOutOfOrder { expected: MAX_INDEX - 1000, got: 5 })
        );
    }
}
