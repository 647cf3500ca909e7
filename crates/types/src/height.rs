use core::fmt;

/// A block height.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHeight(pub u32);

/// An absolute block height at which an HTLC times out (`cltv_expiry`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CltvExpiry(pub u32);

/// A number of blocks between two CLTV expiries (`cltv_expiry_delta`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CltvExpiryDelta(pub u16);

impl BlockHeight {
    /// The expiry `delta` blocks after this height, or `None` on overflow.
    pub fn checked_add_delta(self, delta: CltvExpiryDelta) -> Option<CltvExpiry> {
        self.0.checked_add(u32::from(delta.0)).map(CltvExpiry)
    }

    /// The height `blocks` later, or `None` on overflow.
    pub fn checked_add(self, blocks: u32) -> Option<BlockHeight> {
        self.0.checked_add(blocks).map(BlockHeight)
    }
}

impl CltvExpiry {
    /// The expiry `delta` blocks later, or `None` on overflow.
    pub fn checked_add(self, delta: CltvExpiryDelta) -> Option<CltvExpiry> {
        self.0.checked_add(u32::from(delta.0)).map(CltvExpiry)
    }

    /// The expiry `delta` blocks earlier, or `None` on underflow.
    pub fn checked_sub(self, delta: CltvExpiryDelta) -> Option<CltvExpiry> {
        self.0.checked_sub(u32::from(delta.0)).map(CltvExpiry)
    }

    /// Blocks from `height` until this expiry; `None` if it has already passed.
    pub fn blocks_after(self, height: BlockHeight) -> Option<u32> {
        self.0.checked_sub(height.0)
    }
}

impl fmt::Display for BlockHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for CltvExpiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for CltvExpiryDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_height_arithmetic() {
        assert_eq!(BlockHeight(100).checked_add_delta(CltvExpiryDelta(40)), Some(CltvExpiry(140)));
        assert_eq!(BlockHeight(u32::MAX).checked_add_delta(CltvExpiryDelta(1)), None);
        assert_eq!(CltvExpiry(10).checked_sub(CltvExpiryDelta(11)), None);
        assert_eq!(CltvExpiry(150).blocks_after(BlockHeight(100)), Some(50));
        assert_eq!(CltvExpiry(99).blocks_after(BlockHeight(100)), None);
    }
}
