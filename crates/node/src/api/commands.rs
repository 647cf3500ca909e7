//! One handler per command. Each takes its named parameters as a JSON object
//! ([`Params`]) and returns a JSON result or a [`CommandError`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::{Extension, Json};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{PublicKey, Secp256k1};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::CommandError;
use super::ApiState;
use shandian_types::NodeId;

use crate::daemon::DaemonInfo;
use crate::PeerInfo;

/// A command's parameters, from the request body: a JSON object (an empty body means `{}`).
pub(super) struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Params<T> {
    type Rejection = CommandError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| CommandError::BadParams(e.to_string()))?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
        serde_json::from_slice(body).map(Params).map_err(|e| CommandError::BadParams(e.to_string()))
    }
}

type Reply = Result<Json<Value>, CommandError>;

/// No parameters (an empty object; anything else is refused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoParams {}

/// `getinfo`: who and where this node is; in a daemon, also the chain tip it has processed
/// and its channel counts.
pub(super) async fn getinfo(
    State(api): State<ApiState>,
    daemon: Option<Extension<DaemonInfo>>,
    _: Params<NoParams>,
) -> Reply {
    let mut info = json!({
        "node_id": api.node.node_id().to_string(),
        "network": api.network.to_string(),
        "listen_address": api.node.listen_addr().to_string(),
        "api_address": api.addr.to_string(),
        "num_peers": api.node.peers().len(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(Extension(daemon)) = daemon {
        let tip = daemon.chain.best_block().await;
        let channels = daemon.channels.list_channels().await;
        let count = |states: &[&str]| channels.iter().filter(|c| states.contains(&c.state)).count();
        info["block_height"] = json!(tip.height.0);
        info["block_hash"] = json!(tip.hash.to_string());
        info["num_channels"] = json!(channels.len() - count(&["closed"]));
        info["num_active_channels"] = json!(count(&["normal"]));
        info["num_pending_channels"] = json!(count(&["opening", "awaiting_confirmation"]));
        info["num_closing_channels"] = json!(count(&["shutting_down", "negotiating"]));
    }
    Ok(Json(info))
}

/// A peer as `listpeers` and `connect` show it.
fn peer_json(peer: &PeerInfo) -> Value {
    json!({
        "node_id": peer.node_id.to_string(),
        "address": peer.addr.to_string(),
        "inbound": peer.inbound,
        "features": peer.features.to_be_bytes().to_lower_hex_string(),
        "negotiated_features": peer.negotiated.to_be_bytes().to_lower_hex_string(),
    })
}

/// `listpeers`: the peers past `init`, sorted by node id.
pub(super) async fn listpeers(State(api): State<ApiState>, _: Params<NoParams>) -> Reply {
    let mut peers = api.node.peers();
    peers.sort_by_key(|p| p.node_id.serialize());
    Ok(Json(json!({ "peers": peers.iter().map(peer_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectParams {
    /// `NODEID@HOST:PORT`.
    peer: String,
}

/// `connect`: dials the peer and waits until `init` is exchanged; the peer is then kept
/// connected (redialled) until `disconnect`.
pub(super) async fn connect(
    State(api): State<ApiState>,
    daemon: Option<Extension<DaemonInfo>>,
    Params(params): Params<ConnectParams>,
) -> Reply {
    let text = params.peer.clone();
    // Resolving a host name blocks; keep it off the runtime's threads.
    let parsed = tokio::task::spawn_blocking(move || crate::parse_peer_address(&text))
        .await
        .map_err(|_| CommandError::ShuttingDown)?;
    let (node_id, addr) = parsed.map_err(|e| CommandError::InvalidParam(e.to_string()))?;
    if node_id == api.node.node_id() {
        return Err(CommandError::InvalidParam("cannot connect to ourselves".into()));
    }
    let attempt = api.node.connect_now(node_id, addr);
    match tokio::time::timeout(api.connect_timeout, attempt).await {
        Ok(Ok(peer)) => {
            if let Some(Extension(daemon)) = daemon {
                remember_address(&daemon, node_id, addr).await;
            }
            Ok(Json(peer_json(&peer)))
        }
        Ok(Err(crate::ConnectionError::Shutdown)) => Err(CommandError::ShuttingDown),
        Ok(Err(reason)) => {
            Err(CommandError::ConnectFailed { peer: params.peer, reason: reason.to_string() })
        }
        Err(_) => Err(CommandError::ConnectTimeout(params.peer)),
    }
}

/// Stores the address a user connected to, so the node redials it after a restart (for the
/// peers it has channels with).
async fn remember_address(daemon: &DaemonInfo, node_id: PublicKey, addr: std::net::SocketAddr) {
    let saved = daemon
        .channels
        .execute(move |ops| {
            let address = addr.to_string();
            ops.store().save_peer(&NodeId::from(node_id), Some(&address), ops.now())
        })
        .await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(peer = %node_id, "cannot save the peer's address: {e}"),
        Err(e) => tracing::warn!(peer = %node_id, "cannot save the peer's address: {e}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeIdParams {
    node_id: String,
}

/// `disconnect`: closes the connection to a peer and stops redialling it.
pub(super) async fn disconnect(
    State(api): State<ApiState>,
    Params(params): Params<NodeIdParams>,
) -> Reply {
    let node_id: PublicKey = params.node_id.parse().map_err(|_| {
        CommandError::InvalidParam(format!(
            "bad node id {:?}: expected 66 hex digits",
            params.node_id
        ))
    })?;
    match api.node.disconnect(node_id) {
        Ok(()) => Ok(Json(json!({ "node_id": params.node_id, "disconnected": true }))),
        Err(crate::Error::ShuttingDown) => Err(CommandError::ShuttingDown),
        Err(_) => Err(CommandError::UnknownPeer(params.node_id)),
    }
}

/// `stop`: asks the node process to shut down gracefully; answers before it does.
pub(super) async fn stop(State(api): State<ApiState>, _: Params<NoParams>) -> Reply {
    api.stop.send_replace(true);
    Ok(Json(json!({ "stopping": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecodeInvoiceParams {
    invoice: String,
}

/// `decodeinvoice`: a BOLT 11 invoice as JSON (checks the signature).
pub(super) async fn decodeinvoice(Params(params): Params<DecodeInvoiceParams>) -> Reply {
    let secp = Secp256k1::verification_only();
    let text = shandian_invoice::strip_lightning_uri(&params.invoice);
    let invoice = shandian_invoice::Invoice::decode(&secp, text)
        .map_err(|e| CommandError::InvalidInvoice(e.to_string()))?;
    Ok(Json(invoice.to_json()))
}
