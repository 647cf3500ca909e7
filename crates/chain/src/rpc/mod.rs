//! A bitcoind JSON-RPC client that works unchanged against Bitcoin Core and `shandian chain`.

mod auth;
mod client;
mod error;
mod transport;

pub use auth::RpcAuth;
#[cfg(feature = "embedded")]
pub(crate) use client::classify_rejection;
pub use client::{BlockchainInfo, RpcClient};
pub use error::RpcError;
