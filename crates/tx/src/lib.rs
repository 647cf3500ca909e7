//! BOLT 3 and BOLT 5 for Shandian: key derivation, per-commitment secrets (shachain), the
//! scripts and transactions of a channel (funding, commitment, HTLC-success/-timeout,
//! closing), the on-chain sweeps and justice transactions of BOLT 5, their expected weights,
//! and a [`Signer`] that holds a channel's private keys.
//!
//! Sans-IO: nothing here touches the network, disk, clock or global randomness; keys and
//! entropy are passed in and transactions come out as values.
//!
//! # How the pieces fit
//!
//! - [`keys`]: `per_commitment_point`, `derive_pubkey`/`derive_privkey`, the revocation
//!   key pair, and [`CommitmentKeys::derive`] for all keys of one commitment.
//! - [`shachain`]: the secret generator and [`ShachainStore`] for the counterparty's secrets.
//! - [`CommitmentSpec::build`] gives a [`CommitmentTx`]: the unsigned transaction, where each
//!   HTLC landed (`htlc_outputs` in output order, `htlc_output_indices` per input HTLC), the
//!   base and actual fee. [`CommitmentTx::htlc_txs`] gives the second-stage transactions in
//!   the order of `htlc_signatures`.
//! - [`Signer`] signs the counterparty's commitment and HTLC transactions, our own for
//!   broadcast, closings and sweeps, and releases per-commitment secrets in order;
//!   [`signer::verify_commitment_signature`] and [`signer::verify_htlc_signatures`] check the
//!   counterparty's `commitment_signed`.
//! - [`ClosingSpec`] builds legacy and `option_simple_close` closing transactions.
//! - [`Sweep`] with [`SweepInput`]s from [`CommitmentTx`] (`to_local_sweep_input`,
//!   `to_remote_sweep_input`, `counterparty_htlc_claim_input`, `second_stage_sweep_input`,
//!   `justice_inputs`, `justice_second_stage_input`, `anchor_input`) builds BOLT 5
//!   transactions, fees from [`weights`].
//!
//! Every BOLT 3 vector (Appendix B to F) is a test, read from the spec text, and every
//! script path is checked with Bitcoin Core's interpreter in `tests/kernel_scripts.rs`.

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
