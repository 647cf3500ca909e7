//! Bounds-checked reading of wire fields; every read either succeeds or returns
//! [`DecodeError::ShortRead`], never panics.

use crate::bigsize;
use crate::error::DecodeError;

/// A cursor over bytes received from a peer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Consumes and returns all remaining bytes.
    pub fn read_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// Reads exactly `len` bytes.
    pub fn read_bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::ShortRead { needed: len.saturating_sub(self.rest.len()) });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.read_bytes(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    /// Reads a byte.
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `u16`.
    pub fn read_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `u32`.
    pub fn read_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `u64`.
    pub fn read_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.read_array()?))
    }

    /// Reads a BigSize (BOLT 1), rejecting non-minimal encodings.
    pub fn read_bigsize(&mut self) -> Result<u64, DecodeError> {
        let (value, used) = bigsize::decode(self.rest)?;
        self.rest = self.rest.get(used..).unwrap_or_default();
        Ok(value)
    }

    /// Reads a `u16` length followed by that many bytes (the BOLT `len*byte` pattern).
    pub fn read_u16_prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.read_u16()?;
        self.read_bytes(usize::from(len))
    }
}

/// Reads a truncated unsigned integer (BOLT 1 `tu16`/`tu32`/`tu64`): the whole of `bytes`,
/// big-endian, at most `max_len` bytes long, without leading zeros.
pub fn read_truncated(bytes: &[u8], max_len: usize) -> Result<u64, DecodeError> {
    if bytes.len() > max_len || bytes.first() == Some(&0) {
        return Err(DecodeError::NonMinimalTruncatedInt);
    }
    Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_order_and_reports_short_reads() {
        let mut r = Reader::new(&[0, 1, 0, 0, 0, 2, 9]);
        assert_eq!(r.read_u16(), Ok(1));
        assert_eq!(r.read_u32(), Ok(2));
        assert_eq!(r.read_u16(), Err(DecodeError::ShortRead { needed: 1 }));
        assert_eq!(r.read_u8(), Ok(9));
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_integers_must_be_minimal() {
        assert_eq!(read_truncated(&[], 8), Ok(0));
        assert_eq!(read_truncated(&[1, 0], 2), Ok(256));
        assert_eq!(read_truncated(&[0, 1], 2), Err(DecodeError::NonMinimalTruncatedInt));
        assert_eq!(read_truncated(&[1, 0, 0], 2), Err(DecodeError::NonMinimalTruncatedInt));
    }
}
