//! Nodes with channel managers over real TCP, on the embedded regtest chain or an in-memory
//! one, and a small HTLC handler that fulfils incoming HTLCs whose preimage it knows.
// Each test crate uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod handler;
pub mod memory_chain;
pub mod node;
pub mod regtest;
#[path = "../common/regtest_chain.rs"]
pub mod regtest_chain;

pub use handler::*;
pub use node::*;
pub use regtest::*;
pub use regtest_chain::*;
