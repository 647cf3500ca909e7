//! The channel's one error type. Each variant says what went wrong; [`Error::reaction`] says
//! what the node must do about it when the peer caused it.

use bitcoin::Amount;
use shandian_types::{FeeratePerKw, Msat};

/// What to do about a peer's protocol violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing: the input is harmless (e.g. a duplicate) and was dropped.
    Ignore,
    /// Send a `warning` and disconnect; the channel state is unchanged and may resume.
    Warn,
    /// Send an `error`, broadcast our latest commitment and forget the channel's future.
    FailChannel,
}

/// Everything that can go wrong in the channel state machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- Opening parameters (BOLT 2 open_channel / accept_channel).
    /// The `chain_hash` names a chain we do not operate on.
    #[error("unknown chain hash")]
    UnknownChain,
    /// `funding_satoshis` below our minimum.
    #[error("funding {0} is below our minimum")]
    FundingTooSmall(Amount),
    /// `funding_satoshis` >= 2^24 without `option_support_large_channel`, or above our maximum.
    #[error("funding {0} is too large")]
    FundingTooLarge(Amount),
    /// `push_msat` larger than the funding amount.
    #[error("push {0} exceeds the funding amount")]
    PushExceedsFunding(Msat),
    /// `to_self_delay` above what we accept.
    #[error("to_self_delay {0} is unreasonably large")]
    ToSelfDelayTooLarge(u16),
    /// `max_accepted_htlcs` above 483 (or zero).
    #[error("max_accepted_htlcs {0} is out of range")]
    MaxAcceptedHtlcsOutOfRange(u16),
    /// `max_accepted_htlcs` below our policy.
    #[error("max_accepted_htlcs {0} is too small")]
    MaxAcceptedHtlcsTooSmall(u16),
    /// `feerate_per_kw` outside our sanity range.
    #[error("feerate {0} is outside the acceptable range")]
    FeerateOutOfRange(FeeratePerKw),
    /// `dust_limit_satoshis` below 354 sat.
    #[error("dust limit {0} is below 354 sat")]
    DustLimitTooSmall(Amount),
    /// `dust_limit_satoshis` above our policy.
    #[error("dust limit {0} is too large")]
    DustLimitTooLarge(Amount),
    /// A `channel_reserve_satoshis` smaller than the other side's `dust_limit_satoshis`.
    #[error("reserve {reserve} is below dust limit {dust_limit}")]
    ReserveBelowDustLimit {
        /// The reserve.
        reserve: Amount,
        /// The dust limit it must cover.
        dust_limit: Amount,
    },
    /// `channel_reserve_satoshis` above our policy.
    #[error("channel reserve {0} is too large")]
    ReserveTooLarge(Amount),
    /// `htlc_minimum_msat` above our policy.
    #[error("htlc_minimum {0} is too large")]
    HtlcMinimumTooLarge(Msat),
    /// `max_htlc_value_in_flight_msat` below our policy.
    #[error("max_htlc_value_in_flight {0} is too small")]
    MaxInFlightTooSmall(Msat),
    /// The funder cannot pay the initial commitment's fee.
    #[error("the funder cannot pay the initial commitment fee")]
    FunderCannotPayFee,
    /// Both initial balances are at or below the reserve.
    #[error("both initial balances are at or below the channel reserve")]
    BothBalancesBelowReserve,
    /// No `channel_type`, or one we do not support.
    #[error("unsupported or missing channel_type")]
    UnsupportedChannelType,
    /// `accept_channel` names a different `channel_type` from our `open_channel`.
    #[error("channel_type differs from the one we proposed")]
    ChannelTypeMismatch,
    /// `minimum_depth` above our policy.
    #[error("minimum_depth {0} is unreasonably large")]
    MinimumDepthTooLarge(u32),
    /// The confirmed funding output does not pay the agreed amount to the agreed script.
    #[error("the funding output does not match the agreed amount and script")]
    WrongFundingOutput,

    // --- HTLCs and updates.
    /// An `id` that is not the next expected one.
    #[error("unexpected HTLC id {got}, expected {expected}")]
    UnexpectedHtlcId {
        /// What the peer sent.
        got: u64,
        /// What BOLT 2 requires.
        expected: u64,
    },
    /// A removal or retransmission refers to an HTLC that is not committed on both sides.
    #[error("unknown HTLC id {0}")]
    UnknownHtlcId(u64),
    /// A second removal of the same HTLC.
    #[error("HTLC {0} is already being removed")]
    HtlcAlreadyRemoved(u64),
    /// An HTLC of zero or below the receiver's `htlc_minimum_msat`.
    #[error("HTLC amount {0} is below htlc_minimum")]
    HtlcBelowMinimum(Msat),
    /// More HTLCs than the receiver's `max_accepted_htlcs`.
    #[error("more than max_accepted_htlcs ({0}) HTLCs")]
    TooManyHtlcs(u16),
    /// More value in flight than the receiver's `max_htlc_value_in_flight_msat`.
    #[error("HTLC value in flight over the limit {0}")]
    InFlightExceeded(Msat),
    /// A balance would drop below the channel reserve or could not pay the commitment fee.
    #[error("the sender cannot afford this while keeping its channel reserve")]
    ReserveBreached,
    /// A balance or HTLC amount would go negative or overflow.
    #[error("balance overflow or underflow")]
    InsufficientBalance,
    /// Our own HTLC would leave no room for a fee spike (twice the feerate).
    #[error("the fee spike buffer would be exhausted")]
    FeeSpikeBuffer,
    /// The trimmed HTLCs of a commitment would exceed `max_dust_htlc_exposure_msat`.
    #[error("dust exposure {0} over the limit")]
    DustExposureExceeded(Msat),
    /// `cltv_expiry` of 500000000 or more (a timestamp, not a height).
    #[error("cltv_expiry is not a block height")]
    CltvExpiryNotHeight,
    /// `update_fee` from the non-funder.
    #[error("update_fee from the side that does not pay the fee")]
    UpdateFeeFromNonFunder,
    /// The fulfill's preimage does not hash to the HTLC's payment hash.
    #[error("preimage does not match HTLC {0}")]
    WrongPreimage(u64),
    /// `update_fail_malformed_htlc` without the BADONION bit.
    #[error("failure code {0:#06x} lacks BADONION")]
    MalformedWithoutBadOnion(u16),
    /// An `update_add_htlc` after shutdown.
    #[error("new HTLC after shutdown")]
    AddAfterShutdown,

    // --- Commitment dance.
    /// A commitment signature does not verify.
    #[error("invalid commitment signature")]
    InvalidCommitmentSignature,
    /// An HTLC signature does not verify, or the count is wrong.
    #[error("invalid or missing HTLC signature")]
    InvalidHtlcSignature,
    /// `revoke_and_ack` when none was expected.
    #[error("unexpected revoke_and_ack")]
    UnexpectedRevocation,
    /// The revealed secret does not match the per-commitment point it revokes.
    #[error("revocation secret does not match the per-commitment point")]
    InvalidRevocationSecret,
    /// The secret cannot be stored in the shachain (it does not derive the earlier ones).
    #[error("revocation secret inconsistent with earlier secrets")]
    ShachainMismatch,

    // --- Reestablish and closing.
    /// `channel_reestablish` numbers that do not match any state we had.
    #[error("channel_reestablish numbers do not match our state")]
    ReestablishMismatch,
    /// The peer proved we lost state (it is ahead of us): we must not broadcast.
    #[error("the peer proved we lost state")]
    WeLostState,
    /// The peer claims a state it has lost; its claimed secret is wrong.
    #[error("the peer's data loss proof is invalid")]
    InvalidDataLossProof,
    /// A closing script that BOLT 2 does not allow.
    #[error("invalid shutdown script")]
    InvalidShutdownScript,
    /// The peer changed its upfront shutdown script.
    #[error("shutdown script differs from upfront_shutdown_script")]
    ShutdownScriptMismatch,
    /// A `closing_signed` fee outside the allowed range.
    #[error("closing fee out of range")]
    ClosingFeeOutOfRange,
    /// A closing signature does not verify.
    #[error("invalid closing signature")]
    InvalidClosingSignature,

    // --- Storage.
    /// A stored record that does not decode.
    #[error("corrupt channel record")]
    CorruptRecord,
    /// A stored record written by a newer version.
    #[error("unknown channel record version {0}")]
    UnknownRecordVersion(u16),
    /// The signer passed to restore a record is not the one the record was written with.
    #[error("signer does not match the channel record (key index or public keys)")]
    SignerMismatch,
    /// The signer revoked more commitments than the record knows: the record is stale.
    #[error("signer revoked {signer} commitments, record only {record}")]
    SignerAhead {
        /// Revocations the signer reports.
        signer: u64,
        /// Revocations the record reports.
        record: u64,
    },
    /// The signer is too far behind the record to catch up by replay: pass one restored at
    /// the record's revocation count.
    #[error("signer revoked {signer} commitments, record {record}: too far behind")]
    SignerBehind {
        /// Revocations the signer reports.
        signer: u64,
        /// Revocations the record reports.
        record: u64,
    },
    /// The signer refused or failed.
    #[error("signer: {0}")]
    Signer(shandian_tx::Error),

    // --- Generic.
    /// BOLT 1: a message of unknown odd type, which must be ignored.
    #[error("unknown odd message ignored")]
    UnknownOddMessage,
    /// A message that makes no sense in this phase.
    #[error("unexpected message in this channel phase")]
    UnexpectedMessage,
    /// A local command that this phase cannot perform.
    #[error("command not possible in this phase")]
    InvalidCommand,
    /// The peer is disconnected: updates wait for the reconnection.
    #[error("peer disconnected")]
    Disconnected,
    /// A preimage no commitment has a received HTLC for.
    #[error("no received HTLC with this preimage's hash")]
    UnknownPreimage,
    /// A transaction could not be built or signed.
    #[error("transaction error")]
    Transaction,
}

impl Error {
    /// The reaction BOLT 2 asks for when the *peer* caused this error. (A local command that
    /// fails is simply refused; the channel is unchanged.)
    pub fn reaction(&self) -> Reaction {
        match self {
            Error::UnknownOddMessage => Reaction::Ignore,
            Error::UnexpectedMessage | Error::Disconnected => Reaction::Warn,
            // BOLT 2: a peer that is ahead of us must not be answered with our (old) commitment;
            // we wait for it to close. The node must not broadcast.
            Error::WeLostState => Reaction::Warn,
            _ => Reaction::FailChannel,
        }
    }
}
