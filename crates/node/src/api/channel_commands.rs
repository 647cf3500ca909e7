//! The channel commands: `openchannel`, `listchannels`, `closechannel`, `setchannelfee`. Each
//! handler takes the
//! [`ChannelsHandle`] as an `Extension` (the daemon layers it onto [`routes`]).

use axum::routing::post;
use axum::{Extension, Json, Router};
use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use serde::Deserialize;
use serde_json::{json, Value};
use shandian_types::{ChannelId, CltvExpiryDelta, Msat};

use super::commands::Params;
use super::error::CommandError;
use super::ApiState;
use crate::channels::{ChannelsError, ChannelsHandle, FeesInfo, RelayFeesChange};

type Reply = Result<Json<Value>, CommandError>;

/// `POST /v1/openchannel`, `/v1/listchannels`, `/v1/closechannel`, `/v1/setchannelfee`; add
/// `.layer(Extension(channels_handle))`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/openchannel", post(openchannel))
        .route("/v1/listchannels", post(listchannels))
        .route("/v1/closechannel", post(closechannel))
        .route("/v1/setchannelfee", post(setchannelfee))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeeParams {
    channel_id: String,
    base_msat: Option<u32>,
    ppm: Option<u32>,
    cltv_expiry_delta: Option<u16>,
}

/// The `cltv_expiry_delta` range we accept: below 18 blocks a forward could lose its incoming
/// HTLC to a timeout before it learns the preimage on chain (BOLT 2's recommendation is 34 or
/// more); above 2016 (two weeks) payments over the channel would be locked for too long.
const CLTV_EXPIRY_DELTA_RANGE: std::ops::RangeInclusive<u16> = 18..=2016;

/// `setchannelfee`: a channel's own forwarding fees (what is not given stays); the peer gets a
/// new `channel_update`. Answers with the fees now in force.
pub(super) async fn setchannelfee(
    Extension(channels): Extension<ChannelsHandle>,
    Params(params): Params<FeeParams>,
) -> Reply {
    let channel_id = parse_channel_id(&params.channel_id)?;
    if params.base_msat.is_none() && params.ppm.is_none() && params.cltv_expiry_delta.is_none() {
        return Err(CommandError::InvalidParam(
            "nothing to set: give base_msat, ppm or cltv_expiry_delta".into(),
        ));
    }
    if let Some(delta) = params.cltv_expiry_delta.filter(|d| !CLTV_EXPIRY_DELTA_RANGE.contains(d)) {
        return Err(CommandError::InvalidParam(format!(
            "cltv_expiry_delta {delta} is outside {}..={}",
            CLTV_EXPIRY_DELTA_RANGE.start(),
            CLTV_EXPIRY_DELTA_RANGE.end()
        )));
    }
    let change = RelayFeesChange {
        base_fee: params.base_msat,
        proportional_millionths: params.ppm,
        cltv_expiry_delta: params.cltv_expiry_delta.map(CltvExpiryDelta),
    };
    let policy = channels.set_relay_fees(channel_id, change).await?;
    Ok(Json(json!({
        "channel_id": channel_id.to_string(),
        "fees": FeesInfo::from(policy),
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
