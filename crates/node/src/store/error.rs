//! What can go wrong reading or writing the store.

/// An error from the [`Store`](super::Store).
///
/// Data read from disk is never trusted: a row that does not decode is [`StoreError::Corrupt`],
/// not a panic.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating the data directory failed.
    #[error("cannot create the data directory: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite refused the operation (locked, disk full, constraint, I/O error, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// SQLite would not switch to write-ahead logging (for example on a network file system).
    #[error("the database refused WAL journal mode (got {0:?})")]
    JournalMode(String),
    /// The database was written by a newer Shandian; opening it could lose data, so we refuse.
    #[error("database schema version {found} is newer than this build knows ({known}); upgrade Shandian")]
    NewerSchema {
        /// The version found in the file.
        found: u32,
        /// The newest version this code knows.
        known: u32,
    },
    /// A stored row does not decode.
    #[error("corrupt row in {table}.{column}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column that failed to decode.
        column: &'static str,
    },
    /// A value is too large to store (SQLite integers are signed 64-bit).
    #[error("{0} is too large to store")]
    OutOfRange(&'static str),
    /// A channel write carried an update sequence not above the stored one: an older state must
    /// never overwrite a newer one.
    #[error("stale channel update: stored sequence {stored}, offered {offered}")]
    StaleChannelUpdate {
        /// The sequence on disk.
        stored: u64,
        /// The sequence of the refused write.
        offered: u64,
    },
    /// The channel was archived (closed); its record no longer changes.
    #[error("channel {0} is archived")]
    ChannelArchived(shandian_types::ChannelId),
    /// No such channel.
    #[error("unknown channel {0}")]
    UnknownChannel(shandian_types::ChannelId),
    /// A payment with this hash is already pending or has succeeded.
    #[error("payment {hash} already exists ({status})")]
    PaymentExists {
        /// The payment hash.
        hash: shandian_types::PaymentHash,
        /// Its current status.
        status: super::PaymentStatus,
    },
    /// The payment is no longer pending (it succeeded, or failed and was not retried).
    #[error("payment {hash} is {status}, not pending")]
    PaymentNotPending {
        /// The payment hash.
        hash: shandian_types::PaymentHash,
        /// Its current status.
        status: super::PaymentStatus,
    },
    /// The payment succeeded: it can never fail.
    #[error("payment {0} already succeeded")]
    PaymentSucceeded(shandian_types::PaymentHash),
    /// The attempt already ended the other way (a failed HTLC cannot succeed, and back).
    #[error("payment attempt {attempt_id} already {status}")]
    AttemptResolved {
        /// The attempt.
        attempt_id: i64,
        /// How it ended.
        status: super::AttemptStatus,
    },
    /// No payment with this hash.
    #[error("unknown payment {0}")]
    UnknownPayment(shandian_types::PaymentHash),
    /// No payment attempt with this id.
    #[error("unknown payment attempt {0}")]
    UnknownAttempt(i64),
    /// The preimage does not hash to the payment hash.
    #[error("preimage does not match payment hash {0}")]
    WrongPreimage(shandian_types::PaymentHash),
    /// A payment cannot fail while some of its HTLCs are still in flight: they could still
    /// succeed, and a payment resolves exactly once.
    #[error("payment {0} still has HTLCs in flight")]
    AttemptsInFlight(shandian_types::PaymentHash),
    /// An invoice with this payment hash already exists.
    #[error("invoice {0} already exists")]
    InvoiceExists(shandian_types::PaymentHash),
    /// The invoice is paid or expired: a payment to it must be refused.
    #[error("invoice {hash} is {status}")]
    InvoiceNotPayable {
        /// The payment hash.
        hash: shandian_types::PaymentHash,
        /// Its status.
        status: super::InvoiceStatus,
    },
    /// No invoice with this payment hash.
    #[error("unknown invoice {0}")]
    UnknownInvoice(shandian_types::PaymentHash),
    /// A forward for this incoming HTLC (or to this outgoing HTLC) is already recorded.
    #[error("forward of incoming HTLC {htlc_id} on {channel_id} already recorded")]
    ForwardExists {
        /// The incoming channel.
        channel_id: shandian_types::ChannelId,
        /// The incoming HTLC id.
        htlc_id: u64,
    },
    /// The forward already ended the other way (fulfilled cannot fail, and back).
    #[error("forward of HTLC {htlc_id} on {channel_id} already {status}")]
    ForwardResolved {
        /// The incoming channel.
        channel_id: shandian_types::ChannelId,
        /// The incoming HTLC id.
        htlc_id: u64,
        /// How it ended.
        status: super::ForwardStatus,
    },
    /// No forward for this HTLC.
    #[error("no forward of HTLC {htlc_id} on {channel_id}")]
    UnknownForward {
        /// The channel.
        channel_id: shandian_types::ChannelId,
        /// The HTLC id.
        htlc_id: u64,
    },
    /// A forward must not pay out more than it received.
    #[error("forward pays out more than it receives")]
    NegativeForwardFee,
}
