//! [`Channel`]: the state machine's one handle. Every input consumes the channel and returns
//! the next phase with the actions to execute.

// The channel moves through every handler by value and comes back with the error so the
// reaction can use it; boxing it would only add an allocation per input.
#![allow(clippy::result_large_err)]

use crate::action::{Action, CloseReason, Event};
use crate::error::{Error, Reaction};
use crate::funded::Funded;
use crate::keys::ChannelSigner;
use crate::normal::{NewHtlc, Removal};
use crate::opening::{
    AwaitingFundingSigned, AwaitingFundingTx, ChannelConfig, InboundOpening, OpenRequest,
    OutboundOpening,
};
use crate::phases::{AwaitingConfirmation, Closed, Negotiating, Normal, ShuttingDown};
use crate::record::ChannelRecord;
use bitcoin::Transaction;
use shandian_types::{BlockHeight, ChannelId, FeeratePerKw, PaymentPreimage};
use shandian_wire::{ErrorMessage, Message, OpenChannel, Warning};

/// A local request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// (Funder) The signed, unbroadcast funding transaction paying the script of
    /// [`Event::FundingNeeded`].
    FundingTransaction(Transaction),
    /// Offer an HTLC.
    AddHtlc(NewHtlc),
    /// Remove (fulfill or fail) an HTLC the peer offered.
    RemoveHtlc {
        /// The peer's HTLC id.
        id: u64,
        /// How.
        removal: Removal,
    },
    /// Propose a new commitment feerate (funder only).
    UpdateFee(FeeratePerKw),
    /// Sign the pending updates now (send `commitment_signed`).
    Commit,
    /// Start a mutual close.
    Shutdown,
    /// Close unilaterally: broadcast our latest commitment.
    ForceClose,
    /// We know this preimage of an HTLC the peer offered us, but cannot fulfil it now (the
    /// peer is offline or not reestablished): keep it, so the fulfillment deadline applies
    /// (BOLT 2) and a later unilateral close claims the HTLC with it (BOLT 5). Accepted in
    /// every funded phase, connected or not; refused ([`Error::UnknownPreimage`]) when no
    /// commitment holds a received HTLC with its hash. Returns only a `Persist`; the fulfil
    /// itself goes out with [`Command::RemoveHtlc`] once the channel is reestablished.
    LearnPreimage(PaymentPreimage),
}

/// News from the blockchain about this channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// The funding transaction is in block `block_height` at `tx_index`, `depth` deep.
    FundingConfirmed {
        /// The confirmed transaction, checked against the agreed funding output.
        tx: Transaction,
        /// Its block height.
        block_height: u32,
        /// Its position in the block.
        tx_index: u32,
        /// Confirmations (1 = in the tip block).
        depth: u32,
    },
    /// A transaction spending the funding output confirmed.
    FundingSpent,
    /// A new chain tip.
    BlockConnected(BlockHeight),
}

/// One channel, in exactly one phase (DESIGN.md §3).
#[derive(Debug, Clone)]
pub enum Channel {
    /// (Funder) `open_channel` sent.
    OutboundOpening(OutboundOpening),
    /// (Funder) accepted; waiting for the node's funding transaction.
    AwaitingFundingTx(AwaitingFundingTx),
    /// (Fundee) `accept_channel` sent.
    InboundOpening(InboundOpening),
    /// (Funder) `funding_created` sent.
    AwaitingFundingSigned(AwaitingFundingSigned),
    /// Funding signed; waiting for depth and `channel_ready`.
    AwaitingConfirmation(AwaitingConfirmation),
    /// Operating.
    Normal(Normal),
    /// `shutdown` exchanged or in progress.
    ShuttingDown(ShuttingDown),
    /// `closing_signed` negotiation.
    Negotiating(Negotiating),
    /// Closed.
    Closed(Closed),
}

/// The blocks of grace after an offered HTLC's `cltv_expiry` before we fail the channel.
const HTLC_TIMEOUT_GRACE: u32 = 3;

/// BOLT 2 "fulfillment deadline": blocks before an incoming HTLC's `cltv_expiry` by which a
/// fulfilled HTLC must be gone from both commitments, else we fail the channel and claim
/// it on chain (`2R+G+S`: 18 is the spec's reasonable value).
pub const FULFILLMENT_SAFETY_MARGIN: u32 = 18;

type Step = Result<(Channel, Vec<Action>), (Channel, Error)>;

impl Channel {
    /// Opens a channel to a peer: returns the channel and the `open_channel` to send.
    pub fn open(
        config: ChannelConfig,
        signer: ChannelSigner,
        request: &OpenRequest,
    ) -> Result<(Channel, Vec<Action>), Error> {
        let (phase, msg) = OutboundOpening::new(config, signer, request)?;
        Ok((Channel::OutboundOpening(phase), vec![Action::Send(msg)]))
    }

    /// Answers a peer's `open_channel`: the channel and the `accept_channel` to send, or the
    /// error to send back (as an `error` message; there is no channel yet).
    pub fn accept(
        config: ChannelConfig,
        signer: ChannelSigner,
        open: &OpenChannel,
    ) -> Result<(Channel, Vec<Action>), Error> {
        let (phase, msg) = InboundOpening::new(config, signer, open)?;
        Ok((Channel::InboundOpening(phase), vec![Action::Send(msg)]))
    }

    /// The channel id (temporary until the funding outpoint is known).
    pub fn channel_id(&self) -> ChannelId {
        match self {
            Channel::OutboundOpening(p) => p.open.temporary_channel_id,
            Channel::AwaitingFundingTx(p) => p.negotiated.temporary_channel_id,
            Channel::InboundOpening(p) => p.temporary_channel_id(),
            Channel::AwaitingFundingSigned(p) => p.setup.channel_id,
            Channel::Closed(p) => p.channel_id,
            other => other.funded().map(|f| f.setup.channel_id).unwrap_or_default(),
        }
    }

    /// The funded core, in every phase that has one.
    pub fn funded(&self) -> Option<&Funded> {
        match self {
            Channel::AwaitingConfirmation(p) => Some(&p.funded),
            Channel::Normal(p) => Some(&p.funded),
            Channel::ShuttingDown(p) => Some(&p.funded),
            Channel::Negotiating(p) => Some(&p.funded),
            _ => None,
        }
    }

    /// From now on the caller sends [`Command::Commit`] after each batch of inputs, so a
    /// received `commitment_signed` or `revoke_and_ack` no longer signs by itself: the
    /// updates of the whole batch then share one signature (and its HTLC signatures). Not
    /// stored in records: call it again after a restore.
    pub fn sign_when_told(&mut self) {
        if let Some(funded) = self.funded_mut() {
            funded.sign_when_told = true;
        }
    }

    pub(crate) fn funded_mut(&mut self) -> Option<&mut Funded> {
        match self {
            Channel::AwaitingConfirmation(p) => Some(&mut p.funded),
            Channel::Normal(p) => Some(&mut p.funded),
            Channel::ShuttingDown(p) => Some(&mut p.funded),
            Channel::Negotiating(p) => Some(&mut p.funded),
            _ => None,
        }
    }

    /// Handles one message from the peer.
    pub fn handle_message(self, msg: &Message) -> (Channel, Vec<Action>) {
        let step = match msg {
            // BOLT 1: an `error` for this channel fails it.
            Message::Error(_) if !self.is_closed() => Ok(self.fail(CloseReason::PeerError, None)),
            Message::Error(_) => Ok((self, Vec::new())),
            Message::Warning(_) => Ok((self, Vec::new())),
            // BOLT 1: ignore unknown odd messages.
            Message::UnknownOdd { .. } => Err((self, Error::UnknownOddMessage)),
            _ => self.dispatch(msg),
        };
        finish(step)
    }

    fn dispatch(self, msg: &Message) -> Step {
        crate::dispatch::dispatch_message(self, msg)
    }

    /// Handles a local command. A refused command leaves the channel unchanged.
    pub fn handle_command(self, cmd: Command) -> (Channel, Result<Vec<Action>, Error>) {
        match crate::dispatch::dispatch_command(self, cmd) {
            Ok((channel, actions)) => {
                let (channel, actions) = finish(Ok((channel, actions)));
                (channel, Ok(actions))
            }
            Err((channel, error)) => (channel, Err(error)),
        }
    }

    /// Handles news from the chain.
    pub fn handle_chain_event(self, event: &ChainEvent) -> (Channel, Vec<Action>) {
        finish(crate::dispatch::dispatch_chain(self, event))
    }

    /// The connection to the peer dropped: BOLT 2 forgets uncommitted updates, and channels
    /// not yet funded are forgotten.
    pub fn disconnected(self) -> (Channel, Vec<Action>) {
        let channel_id = self.channel_id();
        let mut channel = match self {
            Channel::OutboundOpening(_)
            | Channel::AwaitingFundingTx(_)
            | Channel::InboundOpening(_)
            | Channel::AwaitingFundingSigned(_) => {
                let closed = Closed { channel_id, reason: CloseReason::PeerError };
                let event = Action::Event(Event::Closed(closed.reason.clone()));
                return (Channel::Closed(closed), vec![event]);
            }
            Channel::Negotiating(p) => {
                // BOLT 2: negotiation restarts after reconnection.
                let mut next =
                    ShuttingDown { funded: p.funded, info: p.info, counterparty_script: None };
                next.counterparty_script = Some(p.scripts.counterparty);
                Channel::ShuttingDown(next)
            }
            other => other,
        };
        if let Some(funded) = channel.funded_mut() {
            funded.disconnect();
        }
        (channel, Vec::new())
    }

    /// The connection is back: send `channel_reestablish`. Updates wait for the peer's.
    pub fn connected(self) -> (Channel, Vec<Action>) {
        let message = self.funded().map(Funded::reestablish_message);
        match message {
            Some(Ok(m)) => (self, vec![Action::Send(Message::from(m))]),
            Some(Err(e)) => finish(Err((self, e))),
            None => (self, Vec::new()),
        }
    }

    /// Fails the channel: send `error` (if given), broadcast our latest commitment, close.
    pub(crate) fn fail(self, reason: CloseReason, error: Option<&Error>) -> (Channel, Vec<Action>) {
        let channel_id = self.channel_id();
        let mut actions = Vec::new();
        if let Some(e) = error {
            let data = e.to_string().into_bytes();
            actions.push(Action::Send(Message::from(ErrorMessage { channel_id, data })));
            actions.push(Action::Event(Event::PeerViolation(e.clone())));
        }
        if let Some(funded) = self.funded() {
            if let Ok((commitment, htlc_txs)) = funded.holder_commitment_txs() {
                actions.push(Action::Broadcast(commitment));
                actions.push(Action::Event(Event::HolderHtlcTransactions(htlc_txs)));
            }
        }
        actions.push(Action::Event(Event::Closed(reason.clone())));
        (Channel::Closed(Closed { channel_id, reason }), actions)
    }

    /// BOLT 2: an offered HTLC past its timeout deadline, or a received one we fulfilled past
    /// its fulfillment deadline, in a current commitment fails the channel.
    pub(crate) fn htlc_timed_out(&self, height: BlockHeight) -> bool {
        let Some(funded) = self.funded() else {
            return false;
        };
        let log = funded.log();
        let specs = [&log.holder_commitment().spec, &log.counterparty_commitment().spec];
        let offered_expired = specs
            .iter()
            .flat_map(|s| s.offered.values())
            .any(|h| h.cltv_expiry.0.saturating_add(HTLC_TIMEOUT_GRACE) <= height.0);
        // BOLT 2: if an HTLC we fulfilled is in either current commitment past its
        // fulfillment deadline, MUST fail the channel.
        let fulfilled_stuck = specs
            .iter()
            .flat_map(|s| s.received.values())
            .filter(|h| funded.preimages.contains_key(&h.payment_hash))
            .any(|h| h.cltv_expiry.0.saturating_sub(FULFILLMENT_SAFETY_MARGIN) <= height.0);
        offered_expired || fulfilled_stuck
    }

    /// Whether nothing more can happen.
    pub fn is_closed(&self) -> bool {
        matches!(self, Channel::Closed(_))
    }
}

/// Applies the error reaction, then the persist-before-send rule: a batch that sends
/// anything other than bare updates, broadcasts or reports starts with a record of the
/// channel's final state.
fn finish(step: Step) -> (Channel, Vec<Action>) {
    let (channel, actions) = match step {
        Ok(ok) => ok,
        Err((channel, error)) => react(channel, error),
    };
    let needs_record = actions.iter().any(|a| match a {
        Action::Send(m) => !matches!(
            m,
            Message::UpdateAddHtlc(_)
                | Message::UpdateFulfillHtlc(_)
                | Message::UpdateFailHtlc(_)
                | Message::UpdateFailMalformedHtlc(_)
                | Message::UpdateFee(_)
                | Message::Warning(_)
                | Message::ChannelReestablish(_)
        ),
        Action::Broadcast(_) | Action::Event(_) => true,
        Action::Persist(_) => false,
    });
    if !needs_record {
        return (channel, actions);
    }
    let mut all = Vec::with_capacity(actions.len() + 1);
    all.push(Action::Persist(Box::new(ChannelRecord::new(&channel))));
    all.extend(actions);
    (channel, all)
}

fn react(channel: Channel, error: Error) -> (Channel, Vec<Action>) {
    let channel_id = channel.channel_id();
    if error == Error::WeLostState {
        // BOLT 2: MUST NOT broadcast our commitment; ask the peer to close.
        let data = error.to_string().into_bytes();
        let actions = vec![
            Action::Send(Message::from(ErrorMessage { channel_id, data })),
            Action::Event(Event::PeerViolation(error)),
            Action::Event(Event::Closed(CloseReason::DataLoss)),
        ];
        return (Channel::Closed(Closed { channel_id, reason: CloseReason::DataLoss }), actions);
    }
    match error.reaction() {
        Reaction::Ignore => (channel, Vec::new()),
        Reaction::Warn => {
            let data = error.to_string().into_bytes();
            let actions = vec![
                Action::Send(Message::from(Warning { channel_id, data })),
                Action::Event(Event::PeerViolation(error)),
            ];
            (channel, actions)
        }
        Reaction::FailChannel => {
            channel.fail(CloseReason::ProtocolViolation(error.clone()), Some(&error))
        }
    }
}
