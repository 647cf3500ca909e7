//! The channel commands: `openchannel`, `listchannels`, `closechannel`. Each handler takes the
//! [`ChannelsHandle`] as an `Extension` (the daemon layers it onto [`routes`]).

use axum::routing::post;
use axum::{Extension, Json, Router};
use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use serde::Deserialize;
use serde_json::{json, Value};
use shandian_types::{ChannelId, Msat};

use super::commands::Params;
use super::error::CommandError;
use super::ApiState;
use crate::channels::{ChannelsError, ChannelsHandle};

type Reply = Result<Json<Value>, CommandError>;

/// `POST /v1/openchannel`, `/v1/listchannels`, `/v1/closechannel`; add
/// `.layer(Extension(channels_handle))`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/openchannel", post(openchannel))
        .route("/v1/listchannels", post(listchannels))
        .route("/v1/closechannel", post(closechannel))
}

impl From<ChannelsError> for CommandError {
    fn from(e: ChannelsError) -> CommandError {
        let message = e.to_string();
        match e {
            ChannelsError::PeerNotConnected(peer) => CommandError::UnknownPeer(peer.to_string()),
            ChannelsError::AmountOutOfRange { .. } | ChannelsError::PushTooLarge { .. } => {
                CommandError::InvalidParam(message)
            }
            ChannelsError::Funding(_) => CommandError::FundingFailed(message),
            ChannelsError::UnknownChannel(_) => CommandError::UnknownChannel(message),
            ChannelsError::Refused(_)
            | ChannelsError::ChannelClosed { .. }
            | ChannelsError::AlreadyClosing(_) => CommandError::ChannelRefused(message),
            ChannelsError::Chain(_) => CommandError::ChainFailed(message),
            ChannelsError::Stopped => CommandError::ShuttingDown,
            ChannelsError::Store(_)
            | ChannelsError::CorruptRecord { .. }
            | ChannelsError::KeyIndex(_)
            | ChannelsError::KeyIndexExhausted
            | ChannelsError::Thread(_) => CommandError::ChannelRefused(message),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenParams {
    node_id: String,
    amount_sat: u64,
    #[serde(default)]
    push_msat: u64,
    #[serde(default)]
    private: bool,
}

fn parse_node_id(text: &str) -> Result<PublicKey, CommandError> {
    text.parse().map_err(|_| {
        CommandError::InvalidParam(format!("bad node id {text:?}: expected 66 hex digits"))
    })
}

fn parse_channel_id(text: &str) -> Result<ChannelId, CommandError> {
    let bad =
        || CommandError::InvalidParam(format!("bad channel id {text:?}: expected 64 hex digits"));
    let bytes = bitcoin::hex::FromHex::from_hex(text).map_err(|_| bad())?;
    Ok(ChannelId(bytes))
}

/// `openchannel`: opens a channel with a connected peer, funded by the wallet; answers once
/// the funding transaction is broadcast.
pub(super) async fn openchannel(
    Extension(channels): Extension<ChannelsHandle>,
    Params(params): Params<OpenParams>,
) -> Reply {
    let peer = parse_node_id(&params.node_id)?;
    let amount = Amount::from_sat(params.amount_sat);
    let opened =
        channels.open_channel(peer, amount, Msat(params.push_msat), !params.private).await?;
    Ok(Json(json!({
        "channel_id": opened.channel_id.to_string(),
        "funding_txid": opened.funding_txid.to_string(),
        "funding_output": opened.funding_output,
    })))
}

/// `listchannels`: every channel, with its state and balances.
pub(super) async fn listchannels(
    Extension(channels): Extension<ChannelsHandle>,
    _: Params<super::commands::NoParams>,
) -> Reply {
    let list = channels.list_channels().await;
    Ok(Json(json!({ "channels": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CloseParams {
    channel_id: String,
    #[serde(default)]
    force: bool,
}

/// `closechannel`: a mutual close (answers once the closing transaction is broadcast), or
/// with `force`, broadcasts our latest commitment.
pub(super) async fn closechannel(
    Extension(channels): Extension<ChannelsHandle>,
    Params(params): Params<CloseParams>,
) -> Reply {
    let channel_id = parse_channel_id(&params.channel_id)?;
    let closing = channels.close_channel(channel_id, params.force).await?;
    Ok(Json(json!({
        "channel_id": closing.channel_id.to_string(),
        "closing_txid": closing.closing_txid.to_string(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_parse_as_64_hex_digits() {
        assert_eq!(parse_channel_id(&"ab".repeat(32)).unwrap(), ChannelId([0xab; 32]));
        for bad in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            assert!(parse_channel_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_map_to_stable_codes() {
        let peer =
            parse_node_id("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
                .unwrap();
        let code = |e: ChannelsError| CommandError::from(e).code();
        assert_eq!(code(ChannelsError::PeerNotConnected(peer)), "unknown_peer");
        assert_eq!(code(ChannelsError::UnknownChannel(ChannelId([1; 32]))), "unknown_channel");
        assert_eq!(code(ChannelsError::Funding("no money".into())), "funding_failed");
        assert_eq!(code(ChannelsError::Stopped), "shutting_down");
        let range = ChannelsError::AmountOutOfRange {
            amount: Amount::from_sat(1),
            min: Amount::from_sat(2),
            max: Amount::from_sat(3),
        };
        assert_eq!(code(range), "invalid_param");
    }
}
