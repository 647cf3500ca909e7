//! Shared test fixtures.

pub mod memory_chain;
