//! The BOLT 2 channel state machine, sans-IO.
//!
//! A channel is two parties moving money by exchanging signatures on ever newer commitment
//! transactions. This crate holds that protocol's state and rules and nothing else: no
//! sockets, files, clocks or randomness. Time, entropy, keys and chain data come in as
//! values; messages, persistence records, transactions and events come out as values.
//!
//! # Call contract
//!
//! The node owns one [`Channel`] value per channel and feeds it inputs. Every input consumes
//! the channel and returns the next one (possibly a different phase) plus a batch of
//! [`Action`]s:
//!
//! | input | call |
//! |---|---|
//! | create (we open) | [`Channel::open`] with a fresh [`ChannelSigner`] → send the `open_channel` |
//! | create (peer opens) | [`Channel::accept`] on a received `open_channel` |
//! | a peer message for this channel | [`Channel::handle_message`] |
//! | a local request ([`Command`]) | [`Channel::handle_command`] (a refused command returns `Err` and leaves the channel unchanged) |
//! | chain news ([`ChainEvent`]): funding depth, funding spent, new tip | [`Channel::handle_chain_event`] |
//! | the connection dropped / came back | [`Channel::disconnected`] / [`Channel::connected`] (sends `channel_reestablish`) |
//!
//! Keys: the channel holds a [`ChannelSigner`] — any `shandian_tx::Signer` (cloneable) plus
//! the key index the node derives it from (one fresh index per channel). The channel asks it
//! for signatures and points, and for a per-commitment secret only when it revokes that
//! commitment; it never sees a private key.
//!
//! There is no clock input: every deadline of BOLT 2 is a block height
//! ([`ChainEvent::BlockConnected`]).
//!
//! The caller executes each batch **in order**:
//! - [`Action::Persist`]: durably store the record (replace this channel's previous one) and
//!   wait for the write to complete (fsync) **before** performing any later action of the
//!   batch. A batch that sends `commitment_signed`, `revoke_and_ack`, `funding_created`,
//!   `funding_signed`, `shutdown` or `closing_signed`, broadcasts anything or reports any event
//!   always starts with one (DESIGN.md §4, persist before you speak). Store
//!   [`ChannelRecord::encode`]; it holds no private keys, only the signer's key index.
//!   After a crash: [`ChannelRecord::header`] gives the key index (and revocation count),
//!   re-derive the signer from the node seed ([`ChannelSigner::from_node_seed`], or
//!   [`ChannelSigner::new`] over `InMemorySigner::from_node_seed(..).with_revoked_count(..)`
//!   to skip the catch-up), [`ChannelRecord::decode`] with it, [`ChannelRecord::restore`],
//!   and reconnect.
//! - [`Action::Send`]: send the message to the peer.
//! - [`Action::Broadcast`]: hand the transaction to the chain backend.
//! - [`Action::Event`]: act on it (e.g. [`Event::FundingNeeded`]: build the funding
//!   transaction and pass it back with [`Command::FundingTransaction`]; [`Event::HtlcIncoming`]:
//!   forward or settle; [`Event::HtlcFulfilled`] / [`Event::HtlcFailed`]: settle upstream).
//!
//! Updates go out at once; `commitment_signed` goes out on [`Command::Commit`] (so callers
//! can batch many updates into one signature) and automatically whenever a received
//! `commitment_signed` or `revoke_and_ack` leaves changes to sign, unless the caller said
//! it commits after each batch of inputs ([`Channel::sign_when_told`]).
//!
//! A peer's protocol violation never panics: it is an [`Error`] whose [`Error::reaction`]
//! the channel applies itself — ignore, warn (send `warning`, keep the state), or fail the
//! channel (send `error`, broadcast our latest commitment, [`Event::Closed`]).
//!
//! # Phases
//!
//! One struct per phase (DESIGN.md §3): [`opening::OutboundOpening`] →
//! [`opening::AwaitingFundingTx`] → [`opening::AwaitingFundingSigned`] (funder) or
//! [`opening::InboundOpening`] (fundee) → [`phases::AwaitingConfirmation`] →
//! [`phases::Normal`] → [`phases::ShuttingDown`] → [`phases::Negotiating`] →
//! [`phases::Closed`].
//!
//! # Layers, bottom up
//! - [`spec`]: what a commitment contains (balances, HTLCs, feerate) and how updates change it;
//! - [`fees`]: BOLT 3 fee and trimming arithmetic over a spec;
//! - [`limits`]: the negotiated constraints and the checks BOLT 2 attaches to every update;
//! - [`update_log`]: each update's lifecycle across both commitments and revocations;
//! - [`params`]: validation of `open_channel` / `accept_channel` parameters;
//! - [`commitment`]: real BOLT 3 transactions from specs (via `shandian-tx`), signing and
//!   signature verification;
//! - [`funded`], [`normal`], `reestablish`, [`closing`]: the protocol on top.

#![forbid(unsafe_code)]

pub mod action;
pub mod channel;
pub mod closing;
mod codec;
pub mod commitment;
mod dispatch;
pub mod error;
pub mod fees;
pub mod funded;
pub mod keys;
pub mod limits;
pub mod normal;
pub mod opening;
pub mod params;
pub mod phases;
pub mod record;
mod reestablish;
pub mod spec;
pub mod update_log;

pub use action::{Action, CloseReason, Event};
pub use channel::{ChainEvent, Channel, Command, FULFILLMENT_SAFETY_MARGIN};
pub use error::{Error, Reaction};
pub use keys::{ChannelSigner, CloneableSigner};
pub use limits::{ChannelLimits, Constraints, Side};
pub use normal::{NewHtlc, Removal};
pub use opening::{ChannelConfig, OpenRequest};
pub use params::{ChannelType, Policy};
pub use phases::FUNDING_TIMEOUT_BLOCKS;
pub use record::{ChannelRecord, RecordHeader};
pub use spec::{CommitmentSpec, Htlc, Update};
pub use update_log::{Commitment, LockedIn, UpdateLog};
