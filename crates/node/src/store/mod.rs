//! Durable storage: one SQLite database, `shandian.sqlite`, in the node's data directory.
//!
//! What is stored: channel records (the channel crate's versioned bytes, opaque here) with a
//! per-channel update sequence, peers and the channel → peer mapping, outgoing payments and
//! their attempts (one per HTLC sent), incoming invoices, and forwarded HTLCs; and (schema
//! version 2) the closed channels the on-chain monitor follows, with their claim transactions.
//!
//! **Durability** (DESIGN.md §4, "persist before you speak"): the database runs in WAL mode
//! with `synchronous=FULL`, so every committed transaction has been fsynced to the WAL before
//! the call returns. The node saves a channel's record and only then sends the
//! `commitment_signed` or `revoke_and_ack` that commits to it. Several writes can share one
//! transaction (one fsync) with [`Store::write`]; that is how commitments are batched.
//!
//! **Versioning** (DESIGN.md §8): the schema version lives in `PRAGMA user_version`; migrations
//! run in order inside one transaction on [`Store::open`], and a database newer than this code
//! is refused with [`StoreError::NewerSchema`]. Channel records carry their own version.
//!
//! **Exactly once**: terminal outcomes are enforced by SQL triggers, not only by this code: a
//! succeeded payment, a paid invoice, a resolved attempt or forward never changes again, and a
//! payment cannot fail while it has HTLCs in flight. Resolution calls are idempotent and say
//! whether *this* call recorded the outcome ([`Resolution::Recorded`]), so after a crash each
//! outcome is reported to the user once.
//!
//! **Blocking**: every call does synchronous disk IO (an fsync per write transaction). From
//! tokio, hold the `Store` in an `Arc<std::sync::Mutex<Store>>` and call it inside
//! `tokio::task::spawn_blocking`. Because concurrent blocking tasks may run out of order, the
//! caller passes each channel write its own increasing update sequence and the store refuses
//! an older state ([`StoreError::StaleChannelUpdate`]).
//!
//! ```no_run
//! # fn example() -> Result<(), shandian_node::store::StoreError> {
//! use shandian_node::store::Store;
//! use shandian_types::{ChannelId, NodeId};
//! # let peer: NodeId = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798".parse().unwrap();
//! let mut store = Store::open("/tmp/node")?;
//! store.save_channel(&ChannelId([1; 32]), &peer, 1, b"record bytes")?;
//! for stored in store.load_channels()? {
//!     println!("{} at update {}", stored.channel_id, stored.update_seq);
//! }
//! # Ok(()) }
//! ```

mod channels;
mod error;
mod forwards;
mod invoices;
mod monitor_preimages;
mod monitors;
mod onchain_htlcs;
mod payments;
mod relay_fees;
mod schema;

pub use channels::{ArchivedChannel, PeerRecord, StoredChannel};
pub use error::StoreError;
pub use forwards::{Forward, ForwardStatus, NewForward};
pub use invoices::{Invoice, InvoicePaid, InvoiceStatus, NewInvoice};
pub use monitors::{ClaimStatus, FundingSpend, MonitoredChannel, StoredClaim};
pub use onchain_htlcs::{OnchainHtlc, OnchainOutcome};
pub use payments::{
    Attempt, AttemptStatus, NewAttempt, NewPayment, Payment, PaymentStart, PaymentStatus,
};
pub use relay_fees::RelayFees;
pub use schema::SCHEMA_VERSION;

use rusqlite::types::FromSql;
use rusqlite::{Connection, Row, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "shandian.sqlite";

/// How long a writer waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a resolving call recorded the outcome or found it already recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// This call made the transition; report the outcome.
    Recorded,
    /// The same outcome was already recorded (a replay after restart); nothing changed.
    AlreadyRecorded,
}

/// The node's database. See the [module docs](self) for the durability contract.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/shandian.sqlite` and brings its schema up to
    /// [`SCHEMA_VERSION`].
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let data_dir = data_dir.as_ref();
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::JournalMode(mode));
        }
        // FULL: in WAL mode, every commit fsyncs the log before returning (NORMAL would not).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::version(&self.conn)
    }

    /// Runs `f` in one durable transaction: all its writes land together or not at all, with a
    /// single fsync. An error from `f` rolls everything back.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let writer = Writer { tx };
        let value = f(&writer)?;
        writer.tx.commit()?;
        Ok(value)
    }
}

/// The writes of one [`Store::write`] transaction.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

/// A `u64` as SQLite's signed integer, or an error naming the value.
fn to_sql(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// Reads one column, mapping any type mismatch to [`StoreError::Corrupt`].
fn column<T: FromSql>(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<T, StoreError> {
    row.get(index).map_err(|_| StoreError::Corrupt { table, column: name })
}

/// Reads a non-negative integer column.
fn column_u64(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<u64, StoreError> {
    let value: i64 = column(row, index, table, name)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt { table, column: name })
}

/// Reads an optional non-negative integer column.
fn column_opt_u64(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<Option<u64>, StoreError> {
    let value: Option<i64> = column(row, index, table, name)?;
    value
        .map(|v| u64::try_from(v).map_err(|_| StoreError::Corrupt { table, column: name }))
        .transpose()
}

/// Reads a fixed-size blob column.
fn column_array<const N: usize>(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<[u8; N], StoreError> {
    let bytes: Vec<u8> = column(row, index, table, name)?;
    <[u8; N]>::try_from(bytes).map_err(|_| StoreError::Corrupt { table, column: name })
}

/// Reads an optional fixed-size blob column.
fn column_opt_array<const N: usize>(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<Option<[u8; N]>, StoreError> {
    let bytes: Option<Vec<u8>> = column(row, index, table, name)?;
    bytes
        .map(|b| <[u8; N]>::try_from(b).map_err(|_| StoreError::Corrupt { table, column: name }))
        .transpose()
}

/// Runs a prepared query and decodes every row with a fallible decoder.
fn collect<T, P: rusqlite::Params>(
    stmt: &mut rusqlite::Statement<'_>,
    params: P,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}
