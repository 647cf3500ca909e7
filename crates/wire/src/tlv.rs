//! TLV streams (BOLT 1 "Type-Length-Value Format").
//!
//! [`TlvStream::decode`] enforces the stream-level rules: BigSize types and lengths, types in
//! strictly increasing order (so no duplicates), lengths that fit the stream, and the "it's OK to
//! be odd" rule against the set of types the caller understands. Interpreting each known record's
//! value is the caller's job; [`TlvStream::encode`] writes records back in canonical order.

use crate::bigsize;
use crate::error::DecodeError;
use crate::reader::Reader;
use crate::writer::WriteExt;

/// One record of a TLV stream, borrowing its value from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvRecord<'a> {
    /// The record type.
    pub tlv_type: u64,
    /// The record value (exactly `length` bytes).
    pub value: &'a [u8],
}

/// A validated TLV stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlvStream<'a> {
    records: Vec<TlvRecord<'a>>,
}

impl<'a> TlvStream<'a> {
    /// Parses `bytes` as a complete TLV stream, failing on any BOLT 1 violation and on any even
    /// type not in `known_types`. Unknown odd records are kept (see [`TlvStream::unknown_odd`]).
    pub fn decode(bytes: &'a [u8], known_types: &[u64]) -> Result<TlvStream<'a>, DecodeError> {
        let mut reader = Reader::new(bytes);
        let mut records: Vec<TlvRecord<'a>> = Vec::new();
        while !reader.is_empty() {
            let tlv_type = reader.read_bigsize()?;
            let length = reader.read_bigsize()?;
            let available = reader.remaining().len();
            let value = usize::try_from(length)
                .ok()
                .filter(|&len| len <= available)
                .and_then(|len| reader.read_bytes(len).ok())
                .ok_or(DecodeError::TlvLengthExceeds { tlv_type, length, available })?;
            // BOLT 1: MUST fail if the types are not strictly increasing (covers duplicates).
            if let Some(previous) = records.last().map(|r| r.tlv_type) {
                if tlv_type <= previous {
                    return Err(DecodeError::TlvNotIncreasing { previous, next: tlv_type });
                }
            }
            // BOLT 1: an unknown even type MUST fail the parse; an unknown odd one is ignored.
            if tlv_type % 2 == 0 && !known_types.contains(&tlv_type) {
                return Err(DecodeError::UnknownEvenTlv(tlv_type));
            }
            records.push(TlvRecord { tlv_type, value });
        }
        Ok(TlvStream { records })
    }

    /// The value of the record of `tlv_type`, if present.
    pub fn get(&self, tlv_type: u64) -> Option<&'a [u8]> {
        self.records.iter().find(|r| r.tlv_type == tlv_type).map(|r| r.value)
    }

    /// Every record, in stream order.
    pub fn records(&self) -> &[TlvRecord<'a>] {
        &self.records
    }

    /// Odd records whose type is not in `known_types`: ignored by us, but preserved when a
    /// message must be re-serialized exactly (e.g. signed gossip).
    pub fn unknown_odd<'s>(
        &'s self,
        known_types: &'s [u64],
    ) -> impl Iterator<Item = TlvRecord<'a>> + 's {
        self.records.iter().copied().filter(move |r| !known_types.contains(&r.tlv_type))
    }

    /// Writes `records` as a canonical stream: sorted by type. Duplicate types are a caller bug
    /// and are rejected.
    pub fn encode(records: &mut [(u64, Vec<u8>)]) -> Result<Vec<u8>, DuplicateTlvType> {
        records.sort_by_key(|(t, _)| *t);
        let duplicate = records.windows(2).find_map(|pair| match pair {
            [(a, _), (b, _)] if a == b => Some(*a),
            _ => None,
        });
        if let Some(tlv_type) = duplicate {
            return Err(DuplicateTlvType(tlv_type));
        }
        let mut out = Vec::new();
        for (tlv_type, value) in records.iter() {
            out.put_bigsize(*tlv_type);
            out.put_bigsize(value.len() as u64);
            out.extend_from_slice(value);
        }
        Ok(out)
    }

    /// The encoded size of one record.
    pub fn record_len(tlv_type: u64, value_len: usize) -> usize {
        bigsize::encoded_len(tlv_type)
            .saturating_add(bigsize::encoded_len(value_len as u64))
            .saturating_add(value_len)
    }
}

/// Two records to encode had the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TLV type {0} given twice")]
pub struct DuplicateTlvType(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_rules() {
        // type 1 len 1, type 3 len 0.
        let ok = [1, 1, 0xaa, 3, 0];
        let stream = TlvStream::decode(&ok, &[]).unwrap();
        assert_eq!(stream.get(1), Some(&[0xaa][..]));
        assert_eq!(stream.get(3), Some(&[][..]));
        assert_eq!(
            TlvStream::decode(&[3, 0, 1, 0], &[]),
            Err(DecodeError::TlvNotIncreasing { previous: 3, next: 1 })
        );
        assert_eq!(
            TlvStream::decode(&[1, 0, 1, 0], &[]),
            Err(DecodeError::TlvNotIncreasing { previous: 1, next: 1 })
        );
        assert_eq!(TlvStream::decode(&[2, 0], &[]), Err(DecodeError::UnknownEvenTlv(2)));
        assert!(TlvStream::decode(&[2, 0], &[2]).is_ok());
        assert!(matches!(
            TlvStream::decode(&[1, 2, 0], &[]),
            Err(DecodeError::TlvLengthExceeds { tlv_type: 1, length: 2, available: 1 })
        ));
    }

    #[test]
    fn encode_sorts_and_rejects_duplicates() {
        let mut records = vec![(3, vec![]), (1, vec![0xaa])];
        assert_eq!(TlvStream::encode(&mut records), Ok(vec![1, 1, 0xaa, 3, 0]));
        assert_eq!(TlvStream::encode(&mut [(1, vec![]), (1, vec![])]), Err(DuplicateTlvType(1)));
    }
}
