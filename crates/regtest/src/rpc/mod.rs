//! The bitcoind-compatible JSON-RPC server.
//!
//! Methods answer with Bitcoin Core's JSON shapes and error codes, so clients written for
//! bitcoind work unchanged. Start it with [`serve`], or [`RpcServer::bind`] then
//! [`RpcServer::run`] to learn the bound address first.

mod auth;
mod blockchain;
mod descriptor;
mod dispatch;
mod extras;
mod mining;
mod params;
mod protocol;
mod script_json;
mod server;
mod transactions;

pub use auth::RpcAuth;
pub use server::{serve, RpcServer};
