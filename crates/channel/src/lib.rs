//! The BOLT 2 channel state machine, sans-IO.
//!
//! A channel is two parties moving money by exchanging signatures on ever newer commitment
//! transactions. This crate holds that protocol's state and rules and nothing else: no
//! sockets, files, clocks or randomness. Time, entropy, keys and chain data come in as
//! values; messages, persistence records, transactions and events come out as values.
//!
//! The layers, bottom up:
//! - [`spec`]: what a commitment contains (balances, HTLCs, feerate) and how updates change it;
//! - [`fees`]: BOLT 3 fee and trimming arithmetic over a spec;
//! - [`limits`]: the negotiated constraints and the checks BOLT 2 attaches to every update;
//! - [`update_log`]: each update's lifecycle across both commitments and revocations;
//! - [`params`]: validation of `open_channel` / `accept_channel` parameters.

#![forbid(unsafe_code)]

pub mod error;
pub mod fees;
pub mod limits;
pub mod params;
pub mod spec;
pub mod update_log;

pub use error::{Error, Reaction};
pub use limits::{ChannelLimits, Constraints, Side};
pub use spec::{CommitmentSpec, Htlc, Update};
pub use update_log::{Commitment, LockedIn, UpdateLog};
