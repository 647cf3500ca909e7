//! JSON-RPC errors as Bitcoin Core reports them.

use core::fmt;

use serde::Deserialize;

/// A JSON-RPC error object: Bitcoin Core's numeric code and its message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, thiserror::Error)]
pub struct RpcError {
    /// Core's error code (see the associated constants).
    pub code: i64,
    /// Core's message.
    pub message: String,
}

impl RpcError {
    /// `RPC_MISC_ERROR`.
    pub const MISC_ERROR: i64 = -1;
    /// `RPC_TYPE_ERROR`: a parameter has the wrong type.
    pub const TYPE_ERROR: i64 = -3;
    /// `RPC_INVALID_ADDRESS_OR_KEY`: unknown transaction or block, bad address.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// `RPC_INVALID_PARAMETER`: e.g. a height out of range.
    pub const INVALID_PARAMETER: i64 = -8;
    /// `RPC_DESERIALIZATION_ERROR`: undecodable transaction or block.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// `RPC_VERIFY_ERROR`: generic verification failure (e.g. missing inputs).
    pub const VERIFY_ERROR: i64 = -25;
    /// `RPC_VERIFY_REJECTED`: rejected by policy or consensus.
    pub const VERIFY_REJECTED: i64 = -26;
    /// `RPC_VERIFY_ALREADY_IN_CHAIN` (-27; Core calls it `RPC_VERIFY_ALREADY_IN_UTXO_SET` now).
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    /// `RPC_IN_WARMUP`: the server is still starting.
    pub const IN_WARMUP: i64 = -28;
    /// `RPC_METHOD_NOT_FOUND`.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// `RPC_INVALID_PARAMS` (JSON-RPC level).
    pub const INVALID_PARAMS: i64 = -32602;
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}
