//! Appending wire fields to a buffer.

use crate::bigsize;

/// Helpers to append BOLT wire fields to a byte buffer.
pub trait WriteExt {
    /// Appends a big-endian `u16`.
    fn put_u16(&mut self, value: u16);
    /// Appends a big-endian `u32`.
    fn put_u32(&mut self, value: u32);
    /// Appends a big-endian `u64`.
    fn put_u64(&mut self, value: u64);
    /// Appends a BigSize (BOLT 1).
    fn put_bigsize(&mut self, value: u64);
    /// Appends a truncated integer (BOLT 1 `tu64`): big-endian without leading zero bytes.
    fn put_truncated(&mut self, value: u64);
    /// Appends a `u16` length and the bytes. Fails if `bytes` is longer than 65535.
    fn put_u16_prefixed(&mut self, bytes: &[u8]) -> Result<(), LengthOverflow>;
}

/// A field was longer than its `u16` length prefix can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("field of {0} bytes exceeds the 65535-byte limit of its length prefix")]
pub struct LengthOverflow(pub usize);

impl WriteExt for Vec<u8> {
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_bigsize(&mut self, value: u64) {
        bigsize::encode(value, self);
    }
    fn put_truncated(&mut self, value: u64) {
        let bytes = value.to_be_bytes();
        let skip = (value.leading_zeros() / 8) as usize;
        self.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
    fn put_u16_prefixed(&mut self, bytes: &[u8]) -> Result<(), LengthOverflow> {
        let len = u16::try_from(bytes.len()).map_err(|_| LengthOverflow(bytes.len()))?;
        self.put_u16(len);
        self.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::read_truncated;

    #[test]
    fn truncated_round_trip() {
        for value in [0, 1, 255, 256, 0x0100_0000, u64::MAX] {
            let mut buf = Vec::new();
            buf.put_truncated(value);
            assert_eq!(read_truncated(&buf, 8), Ok(value));
        }
        let mut buf = Vec::new();
        buf.put_truncated(0);
        assert!(buf.is_empty());
    }
}
