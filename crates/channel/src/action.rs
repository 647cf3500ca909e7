//! What the channel asks of its caller: the outputs of every `handle_*` call.

use crate::error::Error;
use crate::record::ChannelRecord;
use crate::spec::{Htlc, Update};
use bitcoin::{ScriptBuf, Transaction};
use shandian_types::{ChannelId, PaymentPreimage, ShortChannelId};
use shandian_wire::Message;

/// One output of the state machine. The caller executes a batch **in order**; see the crate
/// docs for the contract.
#[derive(Debug, Clone)]
pub enum Action {
    /// Durably store this record (replacing the previous one for this channel) before sending
    /// any later `Send` of the same batch.
    Persist(Box<ChannelRecord>),
    /// Send this message to the peer.
    Send(Message),
    /// Broadcast this transaction (funding, our commitment and its HTLC transactions, or the
    /// closing transaction).
    Broadcast(Transaction),
    /// Tell the node something happened.
    Event(Event),
}

/// Why a channel closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// Both sides signed a closing transaction.
    Cooperative,
    /// We broadcast our commitment on request.
    LocalForceClose,
    /// We failed the channel because of this peer violation.
    ProtocolViolation(Error),
    /// The peer sent an `error`.
    PeerError,
    /// A transaction spending the funding output confirmed.
    FundingSpent,
    /// The channel was not funded yet when the connection (or the node) went down; BOLT 2
    /// forgets it.
    Forgotten,
    /// The peer proved we lost state; we must wait for its commitment and not broadcast ours.
    DataLoss,
}

/// Things the node must act upon or report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// (Funder) Build and sign, but do not broadcast, a transaction paying `amount` to
    /// `script_pubkey`; then call [`crate::Command::FundingTransaction`].
    FundingNeeded {
        /// The channel's temporary id.
        temporary_channel_id: ChannelId,
        /// The 2-of-2 P2WSH output script.
        script_pubkey: ScriptBuf,
        /// The exact output amount.
        amount: bitcoin::Amount,
    },
    /// The channel id changed from the temporary one to the funding-derived one.
    ChannelIdChanged {
        /// The temporary id used so far.
        temporary: ChannelId,
        /// The permanent id.
        channel_id: ChannelId,
    },
    /// Watch the chain for this funding transaction output.
    WatchFunding {
        /// The funding transaction id.
        txid: bitcoin::Txid,
        /// The output index.
        output_index: u16,
        /// The depth required before the channel is ready.
        minimum_depth: u32,
    },
    /// Both sides sent `channel_ready`: HTLCs may flow.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
        /// Its short channel id.
        short_channel_id: ShortChannelId,
    },
    /// Our `update_add_htlc` went out with this id.
    HtlcOffered {
        /// The id the channel assigned.
        id: u64,
    },
    /// An HTLC from the peer is irrevocably committed: forward it, settle it, or (when
    /// `must_fail`) fail it (it pushed our dust exposure over the limit).
    HtlcIncoming {
        /// The HTLC.
        htlc: Box<Htlc>,
        /// BOLT 2: SHOULD fail this HTLC once it's committed.
        must_fail: bool,
    },
    /// The peer fulfilled our HTLC: the preimage may be used upstream at once.
    HtlcFulfilled {
        /// Our HTLC's id.
        id: u64,
        /// The preimage.
        preimage: PaymentPreimage,
    },
    /// The peer's failure of our HTLC is irrevocably committed: fail it upstream.
    HtlcFailed {
        /// The removal (fail or fail_malformed) as the peer sent it.
        update: Box<Update>,
    },
    /// Our latest commitment's second-stage HTLC transactions, signed by both sides, for the
    /// monitor to broadcast once their timelocks allow (with anchors, after adding fees).
    HolderHtlcTransactions(Vec<Transaction>),
    /// The peer violated the protocol; the reaction was applied (see [`crate::Reaction`]).
    PeerViolation(Error),
    /// `shutdown` was exchanged; no new HTLCs.
    ShuttingDown,
    /// The channel closed.
    Closed(CloseReason),
}
