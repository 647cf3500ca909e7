//! The [`Message`] enum: one variant per BOLT 1, 2 and 7 message, decoded from and encoded to
//! a whole message (2-byte type followed by the payload).

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::writer::WriteExt;
use crate::{
    bolt1, channel_open, closing, commitment, gossip_announce, gossip_query, htlc, reestablish,
};

/// A message with a fixed BOLT type number whose payload this crate can decode and encode.
pub trait WireMessage: Sized {
    /// The message type (BOLT 1 "Lightning Message Format").
    const TYPE: u16;

    /// Decodes the payload (everything after the 2-byte type), including its TLV extension.
    fn decode_payload(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Appends the payload (everything after the 2-byte type).
    fn encode_payload(&self, out: &mut Vec<u8>);

    /// Decodes a payload given as a byte slice.
    fn from_payload(payload: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_payload(&mut Reader::new(payload))
    }

    /// The whole message: type and payload.
    fn encode_message(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16(Self::TYPE);
        self.encode_payload(&mut out);
        out
    }
}

macro_rules! messages {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// Every peer message this node understands.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Message {
            $($(#[$doc])* $variant($ty),)*
            /// A message of an odd type we do not know. BOLT 1: "upon receiving a message of
            /// _odd_, unknown type: MUST ignore the received message."
            UnknownOdd {
                /// Its type.
                msg_type: u16,
            },
        }

        impl Message {
            /// The message's type number.
            pub fn msg_type(&self) -> u16 {
                match self {
                    $(Message::$variant(_) => <$ty as WireMessage>::TYPE,)*
                    Message::UnknownOdd { msg_type } => *msg_type,
                }
            }

            fn decode_known(
                msg_type: u16,
                reader: &mut Reader<'_>,
            ) -> Option<Result<Message, DecodeError>> {
                $(
                    if msg_type == <$ty as WireMessage>::TYPE {
                        return Some(<$ty as WireMessage>::decode_payload(reader).map(Message::$variant));
                    }
                )*
                None
            }

            fn encode_payload(&self, out: &mut Vec<u8>) {
                match self {
                    $(Message::$variant(m) => m.encode_payload(out),)*
                    Message::UnknownOdd { .. } => {}
                }
            }
        }

        $(
            impl From<$ty> for Message {
                fn from(message: $ty) -> Message {
                    Message::$variant(message)
                }
            }
        )*
    };
}

messages! {
    /// BOLT 1 `init` (16).
    Init(bolt1::Init),
    /// BOLT 1 `error` (17).
    Error(bolt1::ErrorMessage),
    /// BOLT 1 `warning` (1).
    Warning(bolt1::Warning),
    /// BOLT 1 `ping` (18).
    Ping(bolt1::Ping),
    /// BOLT 1 `pong` (19).
    Pong(bolt1::Pong),
    /// BOLT 2 `open_channel` (32).
    OpenChannel(channel_open::OpenChannel),
    /// BOLT 2 `accept_channel` (33).
    AcceptChannel(channel_open::AcceptChannel),
    /// BOLT 2 `funding_created` (34).
    FundingCreated(channel_open::FundingCreated),
    /// BOLT 2 `funding_signed` (35).
    FundingSigned(channel_open::FundingSigned),
    /// BOLT 2 `channel_ready` (36).
    ChannelReady(channel_open::ChannelReady),
    /// BOLT 2 `shutdown` (38).
    Shutdown(closing::Shutdown),
    /// BOLT 2 `closing_signed` (39).
    ClosingSigned(closing::ClosingSigned),
    /// BOLT 2 `update_add_htlc` (128).
    UpdateAddHtlc(htlc::UpdateAddHtlc),
    /// BOLT 2 `update_fulfill_htlc` (130).
    UpdateFulfillHtlc(htlc::UpdateFulfillHtlc),
    /// BOLT 2 `update_fail_htlc` (131).
    UpdateFailHtlc(htlc::UpdateFailHtlc),
    /// BOLT 2 `update_fail_malformed_htlc` (135).
    UpdateFailMalformedHtlc(htlc::UpdateFailMalformedHtlc),
    /// BOLT 2 `commitment_signed` (132).
    CommitmentSigned(commitment::CommitmentSigned),
    /// BOLT 2 `revoke_and_ack` (133).
    RevokeAndAck(commitment::RevokeAndAck),
    /// BOLT 2 `update_fee` (134).
    UpdateFee(commitment::UpdateFee),
    /// BOLT 2 `channel_reestablish` (136).
    ChannelReestablish(reestablish::ChannelReestablish),
    /// BOLT 7 `channel_announcement` (256).
    ChannelAnnouncement(gossip_announce::ChannelAnnouncement),
    /// BOLT 7 `node_announcement` (257).
    NodeAnnouncement(gossip_announce::NodeAnnouncement),
    /// BOLT 7 `channel_update` (258).
    ChannelUpdate(gossip_announce::ChannelUpdate),
    /// BOLT 7 `announcement_signatures` (259).
    AnnouncementSignatures(gossip_announce::AnnouncementSignatures),
    /// BOLT 7 `query_short_channel_ids` (261).
    QueryShortChannelIds(gossip_query::QueryShortChannelIds),
    /// BOLT 7 `reply_short_channel_ids_end` (262).
    ReplyShortChannelIdsEnd(gossip_query::ReplyShortChannelIdsEnd),
    /// BOLT 7 `query_channel_range` (263).
    QueryChannelRange(gossip_query::QueryChannelRange),
    /// BOLT 7 `reply_channel_range` (264).
    ReplyChannelRange(gossip_query::ReplyChannelRange),
    /// BOLT 7 `gossip_timestamp_filter` (265).
    GossipTimestampFilter(gossip_query::GossipTimestampFilter),
}

/// The BOLT name of a message type this crate knows (`"update_add_htlc"`), for logs.
pub fn message_name(msg_type: u16) -> Option<&'static str> {
    Some(match msg_type {
        1 => "warning",
        16 => "init",
        17 => "error",
        18 => "ping",
        19 => "pong",
        32 => "open_channel",
        33 => "accept_channel",
        34 => "funding_created",
        35 => "funding_signed",
        36 => "channel_ready",
        38 => "shutdown",
        39 => "closing_signed",
        128 => "update_add_htlc",
        130 => "update_fulfill_htlc",
        131 => "update_fail_htlc",
        132 => "commitment_signed",
        133 => "revoke_and_ack",
        134 => "update_fee",
        135 => "update_fail_malformed_htlc",
        136 => "channel_reestablish",
        256 => "channel_announcement",
        257 => "node_announcement",
        258 => "channel_update",
        259 => "announcement_signatures",
        261 => "query_short_channel_ids",
        262 => "reply_short_channel_ids_end",
        263 => "query_channel_range",
        264 => "reply_channel_range",
        265 => "gossip_timestamp_filter",
        _ => return None,
    })
}

impl Message {
    /// The BOLT name of this message (`"unknown"` for [`Message::UnknownOdd`]), for logs.
    pub fn name(&self) -> &'static str {
        message_name(self.msg_type()).unwrap_or("unknown")
    }

    /// Decodes a whole message: the 2-byte big-endian type, then the payload.
    ///
    /// BOLT 1: an unknown odd type decodes to [`Message::UnknownOdd`] (ignore it); an unknown
    /// even type is [`DecodeError::UnknownEvenMessage`] (close the connection); a known message
    /// that is too short, or whose TLV extension is invalid, is an error (close the connection).
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut reader = Reader::new(bytes);
        let msg_type = reader.read_u16()?;
        match Message::decode_known(msg_type, &mut reader) {
            Some(result) => result,
            None if msg_type % 2 == 1 => Ok(Message::UnknownOdd { msg_type }),
            None => Err(DecodeError::UnknownEvenMessage(msg_type)),
        }
    }

    /// Encodes the whole message: type, then payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u16(self.msg_type());
        self.encode_payload(&mut out);
        out
    }
}
