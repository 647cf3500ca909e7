//! Nodes with channel managers over real TCP, on the embedded regtest chain or an in-memory
//! one, and a small HTLC handler that fulfils incoming HTLCs whose preimage it knows.
#![allow(dead_code)]

pub mod handler;
pub mod memory_chain;
pub mod node;
pub mod regtest;

pub use handler::*;
pub use node::*;
pub use regtest::*;
