//! Shandian's shared vocabulary: the newtypes every other crate speaks in.
//!
//! Units are types (DESIGN.md principle 7): millisatoshis, feerates, block heights and CLTV
//! deltas are distinct, so mixing them does not compile. Arithmetic that can overflow on values a
//! peer controls is checked and returns `Option`. Types a user types on a command line implement
//! `FromStr` and `Display` in the form the BOLTs and other implementations use
//! (e.g. a short channel id as `BLOCKxTXxOUTPUT`).
//!
//! This crate is sans-IO and has no knowledge of the wire format; encoding lives in
//! `shandian-wire`.

mod amount;
mod bytes32;
mod error;
mod features;
mod fee;
mod height;
mod node_id;
mod short_channel_id;

pub use amount::Msat;
pub use bytes32::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret};
pub use error::ParseError;
pub use features::Features;
pub use fee::FeeratePerKw;
pub use height::{BlockHeight, CltvExpiry, CltvExpiryDelta};
pub use node_id::NodeId;
pub use short_channel_id::ShortChannelId;

/// Re-exported so users of these types need not pin their own `bitcoin` version.
pub use bitcoin;
