//! The Lightning wire format: BigSize, TLV streams, every peer message of BOLT 1, 2 and 7, and
//! BOLT 9 feature negotiation.
//!
//! Sans-IO: this crate turns bytes into typed values and back. Decoding is total — any input
//! yields a value or a [`DecodeError`], never a panic — because every byte here may come from a
//! hostile peer.
//!
//! # Messages
//!
//! Decode a whole message (2-byte type + payload, as the BOLT 8 transport delivers it) with
//! [`Message::decode`] and encode one with [`Message::encode`]; [`Message::msg_type`] gives the
//! type number. Each message struct also implements [`WireMessage`] (`TYPE`,
//! `decode_payload`, `encode_payload`) and converts into [`Message`] with `From`.
//!
//! The BOLT 1 rules are applied here, so callers only act on the outcome:
//! - an unknown odd type decodes to [`Message::UnknownOdd`]: ignore it;
//! - an unknown even type is [`DecodeError::UnknownEvenMessage`]: close the connection;
//! - a known message that is too short, has an invalid point or signature, or whose TLV
//!   extension breaks the TLV rules is another [`DecodeError`]: close the connection.
//!
//! The tail of every message is parsed as its TLV extension (unknown odd records ignored,
//! unknown even ones rejected), except for the three signed gossip messages, which keep their
//! tail verbatim in `excess_data` because the signature covers it; use [`signed_part`] and
//! [`signature_hash`] to verify them as received.
//!
//! # Features
//!
//! [`features`] names the BOLT 9 bits ([`features::bits`]), their contexts and dependencies,
//! reports unknown required bits ([`FeaturesExt::unknown_required_bits`]) and computes what two
//! `init`s agree on ([`negotiate`], [`Init::negotiate`]).

// Peer input never panics (DESIGN.md principle 5): these are enforced mechanically outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

mod address;
pub mod bigsize;
pub mod bolt1;
pub mod channel_open;
pub mod closing;
pub mod commitment;
mod error;
mod extension;
pub mod features;
mod fields;
pub mod gossip_announce;
pub mod gossip_query;
pub mod htlc;
mod message;
mod reader;
pub mod reestablish;
mod tlv;
mod writer;

pub use address::NetAddress;
pub use bolt1::{ErrorMessage, Init, Ping, Pong, Warning};
pub use channel_open::{
    AcceptChannel, ChannelKeys, ChannelReady, FundingCreated, FundingSigned, OpenChannel,
    OpeningTlvs,
};
pub use closing::{ClosingSigned, FeeRange, Shutdown};
pub use commitment::{CommitmentSigned, RevokeAndAck, UpdateFee};
pub use error::DecodeError;
pub use features::{
    feature_info, feature_name, negotiate, Contexts, FeatureError, FeatureInfo, FeaturesExt,
    KNOWN_FEATURES,
};
pub use gossip_announce::{
    signature_hash, signed_part, AnnouncementSignatures, ChannelAnnouncement, ChannelUpdate,
    NodeAnnouncement,
};
pub use gossip_query::{
    ChannelUpdateChecksums, ChannelUpdateTimestamps, EncodedElement, EncodedList,
    GossipTimestampFilter, QueryChannelRange, QueryFlags, QueryShortChannelIds, ReplyChannelRange,
    ReplyShortChannelIdsEnd,
};
pub use htlc::{
    AttributionData, OnionPacket, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc,
    UpdateFulfillHtlc, ONION_PACKET_LEN,
};
pub use message::{message_name, Message, WireMessage};
pub use reader::{read_truncated, Reader};
pub use reestablish::{ChannelReestablish, FundingTxidFlags};
pub use tlv::{DuplicateTlvType, TlvRecord, TlvStream};
pub use writer::{LengthOverflow, WriteExt};
