//! Shandian's view of the Bitcoin chain.
//!
//! - [`ChainSource`], [`Broadcaster`] and [`FeeEstimator`]: the async, object-safe traits the
//!   rest of the node reads the chain, broadcasts and estimates fees through.
//! - [`RpcClient`]: those traits over Bitcoin Core's JSON-RPC (works unchanged against
//!   `shandian chain`).
//! - `EmbeddedChain` (feature `embedded`): those traits over the in-process regtest chain.
//! - [`Follower`]: a reorg-aware block follower (sans-IO core plus a polling driver).
//! - [`Wallet`]: the on-chain wallet (BDK, BIP 84 from the node seed, SQLite), synced from a
//!   [`ChainSource`], which funds channels with [`Wallet::fund_script`].
//!
//! This crate does IO (HTTP, files); everything that can be a pure state machine is kept one.

#[cfg(feature = "embedded")]
mod embedded;
mod error;
pub mod follower;
pub mod rpc;
mod source;
pub mod wallet;

#[cfg(feature = "embedded")]
pub use embedded::EmbeddedChain;
pub use error::{Error, MalformedReason};
pub use follower::{spawn_follower, ChainEvent, Follower, FollowerHandle};
pub use rpc::{RpcAuth, RpcClient, RpcError};
pub use source::{
    feerate_from_btc_per_kvb, BlockRef, Broadcaster, ChainFuture, ChainSource, FeeEstimator,
    HeaderInfo, TxLookup, UnspentOutput,
};
pub use wallet::{FundingTx, Wallet, WalletBalance};
