//! Which channel a peer message is for.

use shandian_types::ChannelId;
use shandian_wire::Message;

/// Where a message from a peer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A new channel the peer opens.
    Open,
    /// One channel, by its (temporary or permanent) id.
    Channel(ChannelId),
    /// BOLT 1: an `error` with the all-zero channel id is about every channel with the peer.
    AllChannels,
    /// The peer's `channel_update` (for one of our channels, if the scid matches).
    ChannelUpdate,
    /// Nothing for the channel manager (other gossip, pings, unknown odd messages).
    Ignore,
}

/// Routes `message` (BOLT 2 messages name their channel; BOLT 1 errors and warnings may name
/// all of them).
pub(crate) fn route(message: &Message) -> Route {
    use Message as M;
    let id = match message {
        M::OpenChannel(_) => return Route::Open,
        M::AcceptChannel(m) => m.temporary_channel_id,
        M::FundingCreated(m) => m.temporary_channel_id,
        M::FundingSigned(m) => m.channel_id,
        M::ChannelReady(m) => m.channel_id,
        M::Shutdown(m) => m.channel_id,
        M::ClosingSigned(m) => m.channel_id,
        M::UpdateAddHtlc(m) => m.channel_id,
        M::UpdateFulfillHtlc(m) => m.channel_id,
        M::UpdateFailHtlc(m) => m.channel_id,
        M::UpdateFailMalformedHtlc(m) => m.channel_id,
        M::CommitmentSigned(m) => m.channel_id,
        M::RevokeAndAck(m) => m.channel_id,
        M::UpdateFee(m) => m.channel_id,
        M::ChannelReestablish(m) => m.channel_id,
        M::Error(m) if m.channel_id == ChannelId::default() => return Route::AllChannels,
        M::Error(m) => m.channel_id,
        // Warnings change nothing; the node logs them.
        M::Warning(_) => return Route::Ignore,
        M::ChannelUpdate(_) => return Route::ChannelUpdate,
        _ => return Route::Ignore,
    };
    Route::Channel(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shandian_wire::bolt1::ErrorMessage;

    #[test]
    fn errors_route_to_one_or_all_channels() {
        let one = Message::Error(ErrorMessage { channel_id: ChannelId([3; 32]), data: vec![] });
        assert_eq!(route(&one), Route::Channel(ChannelId([3; 32])));
        let all = Message::Error(ErrorMessage { channel_id: ChannelId([0; 32]), data: vec![] });
        assert_eq!(route(&all), Route::AllChannels);
    }
}
