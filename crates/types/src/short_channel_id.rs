use crate::error::ParseError;
use core::fmt;
use core::str::FromStr;

/// A channel's position in the chain (BOLT 7): 3 bytes of block height, 3 bytes of transaction
/// index in that block, 2 bytes of output index, packed big-endian into a `u64`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    /// Packs the three parts, or `None` if block or tx index exceed 24 bits.
    pub fn new(block: u32, tx_index: u32, output_index: u16) -> Option<ShortChannelId> {
        if block >= 1 << 24 || tx_index >= 1 << 24 {
            return None;
        }
        Some(ShortChannelId(
            (u64::from(block) << 40) | (u64::from(tx_index) << 16) | u64::from(output_index),
        ))
    }

    /// The height of the block holding the funding transaction.
    pub fn block(self) -> u32 {
        // Lossless: the top 24 bits.
        (self.0 >> 40) as u32
    }

    /// The funding transaction's index in its block.
    pub fn tx_index(self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }

    /// The funding output's index in its transaction.
    pub fn output_index(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Display for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block(), self.tx_index(), self.output_index())
    }
}

impl fmt::Debug for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortChannelId({self})")
    }
}

/// Parses `BLOCKxTXxOUTPUT`, e.g. `539268x845x1`.
impl FromStr for ShortChannelId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('x');
        let (Some(block), Some(tx), Some(out), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::ShortChannelId);
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !(digits(block) && digits(tx) && digits(out)) {
            return Err(ParseError::ShortChannelId);
        }
        let block = block.parse().map_err(|_| ParseError::ShortChannelId)?;
        let tx = tx.parse().map_err(|_| ParseError::ShortChannelId)?;
        let out = out.parse().map_err(|_| ParseError::ShortChannelId)?;
        ShortChannelId::new(block, tx, out).ok_or(ParseError::ShortChannelId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bolt7_example() {
        // BOLT 7: block 539268, transaction 845, output 1.
        let scid: ShortChannelId = "539268x845x1".parse().unwrap();
        assert_eq!(scid.0, 0x083a_8400_034d_0001);
        assert_eq!(scid.to_string(), "539268x845x1");
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "1x2",
            "1x2x3x4",
            "1x-2x3",
            "16777216x0x0",
            "0x16777216x0",
            "0x0x65536",
            "ax1x1",
            "+1x1x1",
        ] {
            assert!(bad.parse::<ShortChannelId>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(raw: u64) {
            let scid = ShortChannelId(raw);
            prop_assert_eq!(scid.to_string().parse::<ShortChannelId>(), Ok(scid));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = s.parse::<ShortChannelId>();
        }
    }
}
