use bitcoin::hex::DisplayHex;
use core::fmt;

/// A set of feature bits (BOLT 9), as carried in `init`, `node_announcement`, invoices and
/// `channel_type`.
///
/// On the wire a feature vector is big-endian: bit 0 is the least significant bit of the last
/// byte. This type stores the bits little-endian (byte `i` holds bits `8i..8i+8`) so setting a
/// high bit only appends. What each bit means and how two vectors combine is BOLT 9's business,
/// implemented in `shandian-wire`; this type is just the bits.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Features {
    /// Little-endian bytes with no trailing zero bytes, so equal sets compare equal.
    le_bytes: Vec<u8>,
}

impl Features {
    /// The empty set.
    pub fn new() -> Features {
        Features::default()
    }

    /// Reads a big-endian feature vector as it appears on the wire.
    pub fn from_be_bytes(be: &[u8]) -> Features {
        let mut le_bytes: Vec<u8> = be.iter().rev().copied().collect();
        trim(&mut le_bytes);
        Features { le_bytes }
    }

    /// The shortest big-endian encoding (no leading zero bytes).
    pub fn to_be_bytes(&self) -> Vec<u8> {
        self.le_bytes.iter().rev().copied().collect()
    }

    /// A set with exactly these bits.
    pub fn from_bits(bits: impl IntoIterator<Item = usize>) -> Features {
        let mut features = Features::new();
        for bit in bits {
            features.set(bit);
        }
        features
    }

    /// Sets `bit`.
    pub fn set(&mut self, bit: usize) {
        let byte = bit / 8;
        if self.le_bytes.len() <= byte {
            self.le_bytes.resize(byte + 1, 0);
        }
        if let Some(b) = self.le_bytes.get_mut(byte) {
            *b |= 1 << (bit % 8);
        }
    }

    /// Clears `bit`.
    pub fn clear(&mut self, bit: usize) {
        if let Some(b) = self.le_bytes.get_mut(bit / 8) {
            *b &= !(1 << (bit % 8));
        }
        trim(&mut self.le_bytes);
    }

    /// Whether `bit` is set.
    pub fn is_set(&self, bit: usize) -> bool {
        self.le_bytes.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.le_bytes.is_empty()
    }

    /// The set bits, lowest first.
    pub fn bits(&self) -> impl Iterator<Item = usize> + '_ {
        self.le_bytes.iter().enumerate().flat_map(|(i, byte)| {
            (0..8).filter(move |j| byte & (1 << j) != 0).map(move |j| i * 8 + j)
        })
    }

    /// The bits set in either.
    pub fn union(&self, other: &Features) -> Features {
        let len = self.le_bytes.len().max(other.le_bytes.len());
        let le_bytes = (0..len)
            .map(|i| {
                self.le_bytes.get(i).copied().unwrap_or(0)
                    | other.le_bytes.get(i).copied().unwrap_or(0)
            })
            .collect();
        Features { le_bytes }
    }

    /// The number of bytes needed for the highest set bit.
    pub fn byte_len(&self) -> usize {
        self.le_bytes.len()
    }
}

fn trim(le_bytes: &mut Vec<u8>) {
    while le_bytes.last() == Some(&0) {
        le_bytes.pop();
    }
}

impl fmt::Display for Features {
    /// Big-endian hex, as BOLT 9 and `decodeinvoice` print feature vectors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_be_bytes().as_hex())
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.bits()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_order_is_big_endian() {
        // Bits 0 and 9: 0x02 0x01 on the wire.
        let features = Features::from_be_bytes(&[0x02, 0x01]);
        assert!(features.is_set(0) && features.is_set(9) && !features.is_set(8));
        assert_eq!(features.bits().collect::<Vec<_>>(), vec![0, 9]);
        assert_eq!(features.to_string(), "0201");
    }

    #[test]
    fn leading_zero_bytes_are_not_significant() {
        assert_eq!(Features::from_be_bytes(&[0, 0, 1]), Features::from_bits([0]));
        let mut f = Features::from_bits([20]);
        f.clear(20);
        assert!(f.is_empty());
        assert_eq!(f.to_be_bytes(), Vec::<u8>::new());
    }

    proptest! {
        #[test]
        fn bits_round_trip(bits in proptest::collection::btree_set(0usize..300, 0..20)) {
            let features = Features::from_bits(bits.iter().copied());
            prop_assert_eq!(features.bits().collect::<Vec<_>>(), bits.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(Features::from_be_bytes(&features.to_be_bytes()), features);
        }
    }
}
