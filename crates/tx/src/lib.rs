//! BOLT 3 and BOLT 5 for Shandian: key derivation, per-commitment secrets (shachain), the
//! scripts and transactions of a channel (funding, commitment, HTLC-success/-timeout,
//! closing), the on-chain sweeps and justice transactions of BOLT 5, their expected weights,
//! and a [`Signer`](signer::Signer) that holds a channel's private keys.
//!
//! Sans-IO: nothing here touches the network, disk, clock or global randomness; keys and
//! entropy are passed in and transactions come out as values.

pub mod closing;
pub mod commitment;
pub mod error;
pub mod funding;
pub mod htlc_tx;
pub mod keys;
pub mod onchain;
pub mod script;
pub mod shachain;
pub mod sighash;
pub mod signer;
pub mod weights;

pub use closing::{ClosingOutput, ClosingSpec};
pub use commitment::{CommitmentSpec, CommitmentTx, Htlc, HtlcDirection, HtlcOutput, Side};
pub use error::Error;
pub use funding::Funding;
pub use keys::{ChannelPublicKeys, CommitmentKeys, PerCommitmentSecret};
pub use onchain::{SpendPath, Sweep, SweepInput};
pub use script::ChannelType;
pub use shachain::ShachainStore;
pub use signer::{CommitmentSignatures, InMemorySigner, Signer};
