//! The Lightning wire format: BigSize, TLV streams and (as they land) every peer message of
//! BOLT 1, 2 and 7, plus BOLT 9 feature negotiation.
//!
//! Sans-IO: this crate turns bytes into typed values and back. Decoding is total — any input
//! yields a value or a [`DecodeError`], never a panic — because every byte here may come from a
//! hostile peer.

pub mod bigsize;
mod error;
mod reader;
mod tlv;
mod writer;

pub use error::DecodeError;
pub use reader::{read_truncated, Reader};
pub use tlv::{DuplicateTlvType, TlvRecord, TlvStream};
pub use writer::{LengthOverflow, WriteExt};
