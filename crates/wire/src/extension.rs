//! The TLV `extension` at the end of a message (BOLT 1 "Lightning Message Format").
//!
//! Every message's tail is parsed as a TLV stream with the record types that message defines,
//! so the stream rules (order, lengths, unknown even types) are enforced uniformly; unknown odd
//! records are ignored, as BOLT 1 allows.

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::tlv::TlvStream;
use crate::writer::WriteExt;

/// Reads the rest of the message as its extension stream, knowing `known` record types.
pub(crate) fn read_extension<'a>(
    reader: &mut Reader<'a>,
    known: &[u64],
) -> Result<TlvStream<'a>, DecodeError> {
    TlvStream::decode(reader.read_rest(), known)
}

/// Decodes the value of record `tlv_type`, if present, with `read`; the value must be consumed
/// exactly (BOLT 1: "if `length` is not exactly equal to that required ... MUST fail").
pub(crate) fn decode_record<'a, T>(
    stream: &TlvStream<'a>,
    tlv_type: u64,
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    let Some(value) = stream.get(tlv_type) else {
        return Ok(None);
    };
    let mut reader = Reader::new(value);
    let decoded = read(&mut reader).map_err(|e| match e {
        DecodeError::ShortRead { .. } => DecodeError::InvalidTlvValue { tlv_type },
        other => other,
    })?;
    if !reader.is_empty() {
        return Err(DecodeError::InvalidTlvValue { tlv_type });
    }
    Ok(Some(decoded))
}

/// Appends one record. Callers write records in increasing type order (BOLT 1: MUST order
/// `tlv_record`s by strictly-increasing `type`).
pub(crate) fn put_record(out: &mut Vec<u8>, tlv_type: u64, value: &[u8]) {
    out.put_bigsize(tlv_type);
    out.put_bigsize(value.len() as u64);
    out.extend_from_slice(value);
}

/// Appends a record whose value is produced by `write`.
pub(crate) fn put_record_with(out: &mut Vec<u8>, tlv_type: u64, write: impl FnOnce(&mut Vec<u8>)) {
    let mut value = Vec::new();
    write(&mut value);
    put_record(out, tlv_type, &value);
}
