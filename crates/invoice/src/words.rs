//! Conversions between bytes, integers and the 5-bit words (bech32 field elements) that an
//! invoice's data part is made of.

use bech32::{ByteIterExt, Fe32, Fe32IterExt};

/// Packs bytes into words, padding the last word with zero bits (BOLT 11: MUST pad field
/// data to a multiple of 5 bits, using 0s).
pub(crate) fn from_bytes(bytes: &[u8]) -> impl Iterator<Item = Fe32> + '_ {
    bytes.iter().copied().bytes_to_fes()
}

/// Unpacks words into whole bytes, dropping the padding bits of an incomplete last byte.
pub(crate) fn to_bytes(words: &[Fe32]) -> Vec<u8> {
    words.iter().copied().fes_to_bytes().collect()
}

/// Unpacks words into bytes, padding the last byte with zero bits: how the signed data is
/// hashed (BOLT 11: "with 0 bits appended to pad to a byte boundary").
pub(crate) fn to_bytes_padded(words: &[Fe32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(words.len() * 5 / 8 + 1);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for word in words {
        acc = (acc << 5) | u16::from(word.to_u8());
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits > 0 {
        bytes.push((acc << (8 - bits)) as u8);
    }
    bytes
}

/// Reads big-endian words as an integer; `None` if it does not fit in 64 bits.
pub(crate) fn to_u64(words: &[Fe32]) -> Option<u64> {
    words.iter().try_fold(0u64, |acc, w| {
        acc.checked_mul(32).and_then(|v| v.checked_add(u64::from(w.to_u8())))
    })
}

/// `value` as exactly `count` big-endian words (the caller knows it fits).
pub(crate) fn from_u64_fixed(value: u64, count: usize) -> Vec<Fe32> {
    (0..count)
        .rev()
        .map(|i| word((value.checked_shr(5 * i as u32).unwrap_or(0) & 31) as u8))
        .collect()
}

/// `value` in the fewest big-endian words, with no leading zero word (zero is no words).
pub(crate) fn from_u64_minimal(value: u64) -> Vec<Fe32> {
    let significant_bits = 64 - value.leading_zeros() as usize;
    from_u64_fixed(value, significant_bits.div_ceil(5))
}

/// The word for a value below 32.
pub(crate) fn word(value: u8) -> Fe32 {
    // Masking keeps the value in range, so the conversion always succeeds.
    Fe32::try_from(value & 31).unwrap_or(Fe32::Q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padded_unpacking_keeps_the_partial_byte() {
        // Three words are 15 bits: one whole byte and 7 bits padded with a zero.
        let words = [word(31), word(31), word(31)];
        assert_eq!(to_bytes(&words), vec![0xff]);
        assert_eq!(to_bytes_padded(&words), vec![0xff, 0xfe]);
    }

    #[test]
    fn minimal_integers() {
        assert!(from_u64_minimal(0).is_empty());
        assert_eq!(from_u64_minimal(60), vec![word(1), word(28)]);
        assert_eq!(from_u64_minimal(604_800).len(), 4);
        assert_eq!(to_u64(&from_u64_minimal(u64::MAX)), Some(u64::MAX));
        assert_eq!(to_u64(&[word(31); 13]), None);
    }

    proptest! {
        #[test]
        fn integer_round_trip(value: u64) {
            let words = from_u64_minimal(value);
            prop_assert!(words.first() != Some(&Fe32::Q));
            prop_assert_eq!(to_u64(&words), Some(value));
        }

        #[test]
        fn bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let words: Vec<Fe32> = from_bytes(&bytes).collect();
            prop_assert_eq!(words.len(), (bytes.len() * 8).div_ceil(5));
            prop_assert_eq!(to_bytes(&words), bytes.clone());
            let padded = to_bytes_padded(&words);
            prop_assert!(padded.starts_with(&bytes));
            prop_assert!(padded[bytes.len()..].iter().all(|b| *b == 0));
        }
    }
}
