//! The seam between the channel manager and the payment logic.
//!
//! The channel manager owns every channel and runs them in one actor that works in
//! **batches**: it takes every input waiting (peer messages, chain news, commands), feeds them
//! to the channels, and writes everything the batch changed in **one** store transaction
//! (one fsync). Only after that transaction commits does anything leave the node: messages,
//! broadcasts, replies to API callers (DESIGN.md §4, persist before you speak). Grouping the
//! fsyncs is also where the node's payment throughput comes from.
//!
//! The payment logic decides what HTLCs are *for* — our own payments, invoices we issued,
//! forwards. It implements [`HtlcHandler`]; the manager calls it inside a batch and hands it
//! a [`ChannelOps`], through which it reads the channels, offers and settles HTLCs, and writes
//! its own records into the batch's transaction, so a payment's state and the channel state
//! that carries it always land together.
//!
//! A handler error is a store error: the batch's state cannot be made durable, so the node
//! stops rather than speak from state it could lose.

use bitcoin::secp256k1::PublicKey;
use shandian_channel::{Htlc, NewHtlc, Removal, Update};
use shandian_types::{
    BlockHeight, ChannelId, CltvExpiryDelta, Msat, PaymentPreimage, ShortChannelId,
};

pub use crate::store::OnchainOutcome;
use crate::store::{StoreError, Writer};

/// What a node charges to forward over one direction of a channel, as BOLT 7's
/// `channel_update` advertises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPolicy {
    /// `fee_base_msat`.
    pub base_fee: Msat,
    /// `fee_proportional_millionths`.
    pub proportional_millionths: u32,
    /// `cltv_expiry_delta`.
    pub cltv_expiry_delta: CltvExpiryDelta,
    /// `htlc_minimum_msat`.
    pub htlc_minimum: Msat,
    /// `htlc_maximum_msat`.
    pub htlc_maximum: Msat,
}

impl RelayPolicy {
    /// The fee for forwarding `amount` (BOLT 7: base + amount × proportional / 1,000,000),
    /// or `None` on overflow.
    pub fn fee(&self, amount: Msat) -> Option<Msat> {
        let proportional =
            amount.0.checked_mul(u64::from(self.proportional_millionths))? / 1_000_000;
        self.base_fee.0.checked_add(proportional).map(Msat)
    }
}

/// One channel as the payment logic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer at the other end.
    pub peer: PublicKey,
    /// Set once the funding transaction is deep enough.
    pub short_channel_id: Option<ShortChannelId>,
    /// HTLCs can be offered now: both sides sent `channel_ready`, nobody sent `shutdown`, and
    /// the peer is connected.
    pub usable: bool,
    /// Opened with `announce_channel` (a public channel).
    pub public: bool,
    /// The funding amount.
    pub capacity: bitcoin::Amount,
    /// The most a new HTLC we offer may carry right now (after the reserve, the commitment
    /// fee the funder pays and the peer's in-flight limits).
    pub outbound: Msat,
    /// The most the peer can send us right now.
    pub inbound: Msat,
    /// The smallest HTLC the peer accepts from us.
    pub htlc_minimum: Msat,
    /// What we charge to forward out over this channel.
    pub local_policy: RelayPolicy,
    /// What the peer charges to forward to us over this channel, from its `channel_update`
    /// (what our invoices' route hints carry), once received.
    pub remote_policy: Option<RelayPolicy>,
}

/// Why the manager refused an HTLC operation.
#[derive(Debug, thiserror::Error)]
pub enum HtlcOpError {
    /// No such channel.
    #[error("unknown channel {0}")]
    UnknownChannel(ChannelId),
    /// The channel cannot carry new HTLCs now (not ready, shutting down, peer offline).
    #[error("channel {0} cannot take HTLCs now")]
    NotUsable(ChannelId),
    /// The channel refused it (over a limit, unknown HTLC id, ...).
    #[error("channel refused: {0}")]
    Refused(#[from] shandian_channel::Error),
}

/// What the payment logic may do inside a batch. Implemented by the channel manager.
pub trait ChannelOps {
    /// Our node id.
    fn node_id(&self) -> PublicKey;
    /// The height of the chain tip the channels have seen.
    fn best_block(&self) -> BlockHeight;
    /// Unix seconds, read once per batch.
    fn now(&self) -> u64;
    /// Every channel that is not closed.
    fn channels(&self) -> Vec<ChannelSummary>;
    /// One channel.
    fn channel(&self, channel_id: &ChannelId) -> Option<ChannelSummary>;
    /// The channel with this short channel id (what onion payloads name).
    fn channel_by_scid(&self, scid: ShortChannelId) -> Option<ChannelSummary>;
    /// Offers an HTLC on a channel; returns its id there. `update_add_htlc` leaves after the
    /// batch commits, and `commitment_signed` follows at the end of the batch.
    fn add_htlc(&mut self, channel_id: &ChannelId, htlc: NewHtlc) -> Result<u64, HtlcOpError>;
    /// Settles an HTLC the peer offered us (fulfil, fail or fail-malformed).
    fn settle_htlc(
        &mut self,
        channel_id: &ChannelId,
        htlc_id: u64,
        removal: Removal,
    ) -> Result<(), HtlcOpError>;
    /// The batch's store transaction: write payment, invoice and forward records here.
    fn store(&self) -> &Writer<'_>;
    /// Runs `task` once the batch has committed (e.g. to answer an API caller); dropped if the
    /// batch does not commit.
    fn after_commit(&mut self, task: Box<dyn FnOnce() + Send>);
}

/// What the channel manager tells the payment logic. Implemented by the payment logic; every
/// method runs inside a batch.
pub trait HtlcHandler: Send {
    /// An HTLC the peer offered on `channel_id` is irrevocably committed: forward it, settle
    /// it, or (when `must_fail`, BOLT 2 dust exposure) fail it. Also called after every
    /// restart for each incoming HTLC still unsettled, so it must be idempotent (a forward
    /// already recorded is not sent twice; a paid invoice is fulfilled again).
    fn htlc_incoming(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc: &Htlc,
        must_fail: bool,
    ) -> Result<(), StoreError>;

    /// The peer fulfilled the HTLC we offered on `channel_id` with id `htlc_id`: the preimage
    /// may be used upstream at once.
    fn htlc_fulfilled(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        preimage: PaymentPreimage,
    ) -> Result<(), StoreError>;

    /// The peer's failure of the HTLC we offered is irrevocably committed (`update` is the
    /// `update_fail_htlc` or `update_fail_malformed_htlc` it sent).
    fn htlc_failed(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        update: &Update,
    ) -> Result<(), StoreError>;

    /// An HTLC we offered will never be committed: it was refused or its channel closed
    /// before the peer signed it. Fail it upstream / retry the payment.
    fn htlc_dropped(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
    ) -> Result<(), StoreError>;

    /// An HTLC we offered on a channel that closed on chain ended there (BOLT 5): the
    /// counterparty claimed it with the preimage (use it upstream at once), or it can no
    /// longer be paid (fail it upstream / retry the payment). Called exactly once per HTLC,
    /// also across restarts: the manager marks the outcome reported in the same batch.
    ///
    /// By default, the same as an off-chain fulfil or a drop.
    fn htlc_resolved_on_chain(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        outcome: OnchainOutcome,
    ) -> Result<(), StoreError> {
        match outcome {
            OnchainOutcome::Fulfilled(preimage) => {
                self.htlc_fulfilled(ops, channel_id, htlc_id, preimage)
            }
            OnchainOutcome::Failed => self.htlc_dropped(ops, channel_id, htlc_id),
        }
    }

    /// A new chain tip (for invoice expiry and payment deadlines).
    fn block_connected(
        &mut self,
        ops: &mut dyn ChannelOps,
        height: BlockHeight,
    ) -> Result<(), StoreError>;
}
