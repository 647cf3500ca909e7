//! BigSize (BOLT 1): Bitcoin's CompactSize, but big-endian and always minimally encoded.

use crate::error::DecodeError;

/// Decodes a BigSize at the start of `bytes`, returning the value and how many bytes it used.
pub fn decode(bytes: &[u8]) -> Result<(u64, usize), DecodeError> {
    let short =
        |needed: usize| DecodeError::ShortRead { needed: needed.saturating_sub(bytes.len()) };
    let tail = |len: usize| {
        bytes.get(1..).and_then(|t| t.get(..len)).ok_or_else(|| short(len.saturating_add(1)))
    };
    let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let (value, used, minimum) = match bytes.first() {
        None => return Err(short(1)),
        Some(&b) if b < 0xfd => return Ok((u64::from(b), 1)),
        Some(0xfd) => (be(tail(2)?), 3, 0xfd),
        Some(0xfe) => (be(tail(4)?), 5, 0x1_0000),
        Some(_) => (be(tail(8)?), 9, 0x1_0000_0000),
    };
    // BOLT 1: a value that fits a shorter form MUST NOT be accepted in a longer one.
    if value < minimum {
        return Err(DecodeError::NonCanonicalBigSize);
    }
    Ok((value, used))
}

/// Appends the minimal BigSize encoding of `value`.
pub fn encode(value: u64, out: &mut Vec<u8>) {
    match value {
        0..=0xfc => out.push(value as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

/// The number of bytes `encode(value)` produces.
pub fn encoded_len(value: u64) -> usize {
    match value {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}
