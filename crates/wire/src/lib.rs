//! The Lightning wire format: BigSize, TLV streams, every peer message of BOLT 1, 2 and 7, and
//! BOLT 9 feature negotiation.
//!
//! Sans-IO: this crate turns bytes into typed values and back. Decoding is total — any input
//! yields a value or a [`DecodeError`], never a panic — because every byte here may come from a
//! hostile peer.
//!
//! Decode a whole message (2-byte type + payload) with [`Message::decode`] and encode one with
//! [`Message::encode`]. Each message struct also implements [`WireMessage`] for working with one
//! message type directly.

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
pub use message::{Message, WireMessage};
pub use reader::{read_truncated, Reader};
pub use reestablish::{ChannelReestablish, FundingTxidFlags};
pub use tlv::{DuplicateTlvType, TlvRecord, TlvStream};
pub use writer::{LengthOverflow, WriteExt};
