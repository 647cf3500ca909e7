//! API errors: why the API could not start ([`ServeError`]), and why a call failed
//! ([`CommandError`]), sent as `{"error": {"code": "<kind>", "message": "<one line>"}}`.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why the API server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configured address is not a loopback address and remote access was not allowed.
    #[error("refusing to serve the API on non-loopback address {0} (allow it explicitly)")]
    NotLoopback(std::net::SocketAddr),
    /// Binding the API socket failed.
    #[error("cannot serve the API on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The token file could not be read or written.
    #[error("api token {path}: {source}")]
    Token {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The token file exists but does not hold 64 hex digits.
    #[error("api token {0} is corrupt (must be 64 hex digits)")]
    TokenCorrupt(PathBuf),
    /// The address file could not be written.
    #[error("api address file {path}: {source}")]
    AddressFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The node itself failed to start.
    #[error(transparent)]
    Node(#[from] crate::Error),
}

/// Why one API call failed. Each variant has a stable snake_case `code` and an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No or a wrong bearer token.
    #[error(
        "missing or wrong API token (send Authorization: Bearer <hex of <data_dir>/api-token>)"
    )]
    Unauthorized,
    /// No such command.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// Commands are called with POST.
    #[error("commands are called with POST")]
    MethodNotAllowed,
    /// The body is not JSON, or not the command's parameters.
    #[error("bad parameters: {0}")]
    BadParams(String),
    /// A parameter has the right type but a bad value.
    #[error("{0}")]
    InvalidParam(String),
    /// The invoice does not decode or its signature does not verify.
    #[error("invalid invoice: {0}")]
    InvalidInvoice(String),
    /// The peer is not connected.
    #[error("peer {0} is not connected")]
    UnknownPeer(String),
    /// Connecting to a peer failed.
    #[error("connecting to {peer} failed: {reason}")]
    ConnectFailed {
        /// `NODEID@HOST:PORT`.
        peer: String,
        /// Why.
        reason: String,
    },
    /// Connecting to a peer did not finish in time.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The wallet cannot pay this much (satoshis, fee included).
    #[error("insufficient funds: {needed} sat needed, {available} sat available")]
    InsufficientFunds {
        /// What was needed.
        needed: u64,
        /// What the wallet can spend.
        available: u64,
    },
    /// The chain backend or the wallet failed.
    #[error("on-chain operation failed: {0}")]
    Onchain(String),
    /// No such channel.
    #[error("{0}")]
    UnknownChannel(String),
    /// The wallet could not fund a channel (e.g. insufficient funds).
    #[error("{0}")]
    FundingFailed(String),
    /// The channel refused the request (wrong state, already closing, closed meanwhile).
    #[error("{0}")]
    ChannelRefused(String),
    /// The chain backend failed.
    #[error("{0}")]
    ChainFailed(String),
    /// An invoice or payment command failed (its code says why: no_route, already_paid, ...).
    #[error(transparent)]
    Payment(#[from] crate::payments::PayError),
}

impl CommandError {
    /// The machine-readable kind, as sent in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Unauthorized => "unauthorized",
            CommandError::UnknownCommand(_) => "unknown_command",
            CommandError::MethodNotAllowed => "method_not_allowed",
            CommandError::BadParams(_) => "bad_params",
            CommandError::InvalidParam(_) => "invalid_param",
            CommandError::InvalidInvoice(_) => "invalid_invoice",
            CommandError::UnknownPeer(_) => "unknown_peer",
            CommandError::ConnectFailed { .. } => "connect_failed",
            CommandError::ConnectTimeout(_) => "connect_timeout",
            CommandError::ShuttingDown => "shutting_down",
            CommandError::InsufficientFunds { .. } => "insufficient_funds",
            CommandError::Onchain(_) => "onchain_error",
            CommandError::UnknownChannel(_) => "unknown_channel",
            CommandError::FundingFailed(_) => "funding_failed",
            CommandError::ChannelRefused(_) => "channel_refused",
            CommandError::ChainFailed(_) => "chain_error",
            CommandError::Payment(e) => super::payment_commands::code(e),
        }
    }

    /// The HTTP status sent with it.
    pub fn status(&self) -> StatusCode {
        match self {
            CommandError::Unauthorized => StatusCode::UNAUTHORIZED,
            CommandError::UnknownCommand(_) => StatusCode::NOT_FOUND,
            CommandError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            CommandError::BadParams(_)
            | CommandError::InvalidParam(_)
            | CommandError::InvalidInvoice(_) => StatusCode::BAD_REQUEST,
            CommandError::UnknownPeer(_) => StatusCode::NOT_FOUND,
            CommandError::ConnectFailed { .. } => StatusCode::BAD_GATEWAY,
            CommandError::ConnectTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            CommandError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            CommandError::InsufficientFunds { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            CommandError::Onchain(_) => StatusCode::BAD_GATEWAY,
            CommandError::UnknownChannel(_) => StatusCode::NOT_FOUND,
            CommandError::FundingFailed(_) | CommandError::ChannelRefused(_) => {
                StatusCode::CONFLICT
            }
            CommandError::ChainFailed(_) => StatusCode::BAD_GATEWAY,
            CommandError::Payment(e) => super::payment_commands::status(e),
        }
    }
}

impl IntoResponse for CommandError {
    fn into_response(self) -> Response {
        // One line, whatever the cause said (serde errors can span several).
        let message = self.to_string().replace('\n', " ");
        let body = json!({ "error": { "code": self.code(), "message": message } });
        (self.status(), Json(body)).into_response()
    }
}
