//! The wallet commands: `newaddress`, `getbalance`, `sendtoaddress`. Their handlers take the
//! node's [`ChainBackend`] as an `Extension`.

use axum::routing::post;
use axum::{Extension, Json, Router};
use bitcoin::{Address, Amount};
use serde::Deserialize;
use serde_json::{json, Value};

use super::commands::{NoParams, Params};
use super::error::CommandError;
use super::ApiState;
use crate::onchain::{ChainBackend, OnchainError};

type Reply = Result<Json<Value>, CommandError>;

/// The wallet routes; the daemon layers `Extension(ChainBackend)` on them.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/newaddress", post(newaddress))
        .route("/v1/getbalance", post(getbalance))
        .route("/v1/sendtoaddress", post(sendtoaddress))
}

impl From<OnchainError> for CommandError {
    fn from(error: OnchainError) -> CommandError {
        match error {
            OnchainError::InsufficientFunds { needed, available } => {
                CommandError::InsufficientFunds { needed, available }
            }
            OnchainError::WrongNetwork => {
                CommandError::InvalidParam("address is for another network".into())
            }
            OnchainError::Stopped => CommandError::ShuttingDown,
            other => CommandError::Onchain(other.to_string()),
        }
    }
}

/// `newaddress`: a fresh wallet receive address.
async fn newaddress(Extension(chain): Extension<ChainBackend>, _: Params<NoParams>) -> Reply {
    let address = chain.new_address().await?;
    Ok(Json(json!({ "address": address.to_string() })))
}

/// `getbalance`: the wallet's balance in satoshis.
async fn getbalance(Extension(chain): Extension<ChainBackend>, _: Params<NoParams>) -> Reply {
    let balance = chain.balance().await;
    Ok(Json(json!({
        "confirmed_sat": balance.confirmed.to_sat(),
        "unconfirmed_sat": balance.unconfirmed.to_sat(),
        "immature_sat": balance.immature.to_sat(),
        "total_sat": balance.total().to_sat(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendParams {
    address: String,
    amount_sat: u64,
}

/// `sendtoaddress`: pays `amount_sat` to `address` from the wallet and broadcasts it.
async fn sendtoaddress(
    Extension(chain): Extension<ChainBackend>,
    Params(params): Params<SendParams>,
) -> Reply {
    let address: Address<bitcoin::address::NetworkUnchecked> = params
        .address
        .parse()
        .map_err(|e| CommandError::InvalidParam(format!("bad address: {e}")))?;
    let address = address
        .require_network(chain.network())
        .map_err(|_| CommandError::InvalidParam("address is for another network".into()))?;
    if params.amount_sat == 0 {
        return Err(CommandError::InvalidParam("amount_sat must be positive".into()));
    }
    let txid = chain.send_to_address(address, Amount::from_sat(params.amount_sat)).await?;
    Ok(Json(json!({ "txid": txid.to_string() })))
}
