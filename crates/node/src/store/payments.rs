//! Outgoing payments and their attempts (one attempt per HTLC sent).
//!
//! Lifecycle: [`Writer::start_payment`] (pending) → [`Writer::add_attempt`] for each HTLC,
//! recorded in the same transaction as the channel state that adds the HTLC → each attempt
//! ends with [`Writer::succeed_attempt`] or [`Writer::fail_attempt`] → the payment ends with
//! the first success (its preimage), or with [`Writer::fail_payment`] once no attempt is in
//! flight. After a crash, [`Store::pending_payments`] lists what is unresolved: pending
//! payments with no attempt in flight never sent an HTLC that can still settle and may be
//! failed; the others resolve when their channels settle the HTLCs.

use super::{
    collect, column, column_array, column_opt_array, column_opt_u64, column_u64, to_sql,
    Resolution, Store, StoreError, Writer,
};
use core::fmt;
use rusqlite::{params, OptionalExtension, Row};
use shandian_types::{ChannelId, Msat, PaymentHash, PaymentPreimage};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Not resolved yet.
    Pending,
    /// The preimage came back: final.
    Succeeded,
    /// Every attempt failed and no HTLC is in flight; may be retried with a new start.
    Failed,
}

/// Where one attempt (one HTLC) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// The HTLC is out; it may still settle either way.
    InFlight,
    /// Fulfilled: final.
    Succeeded,
    /// Failed back: final.
    Failed,
}

/// A payment to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    /// What it pays for.
    pub payment_hash: PaymentHash,
    /// The BOLT 11 invoice, if paid from one.
    pub invoice: Option<String>,
    /// The amount the recipient gets.
    pub amount: Msat,
}

/// How [`Writer::start_payment`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStart {
    /// A new payment.
    Started,
    /// A failed payment to the same hash starts again (its old attempts stay as history).
    Retried,
}

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// What it pays for.
    pub payment_hash: PaymentHash,
    /// The invoice, if any.
    pub invoice: Option<String>,
    /// The amount the recipient gets.
    pub amount: Msat,
    /// Routing fees paid (set on success).
    pub fee: Option<Msat>,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The proof of payment (set on success).
    pub preimage: Option<PaymentPreimage>,
    /// Why it failed (set on failure).
    pub failure: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// An HTLC to record for a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    /// The payment.
    pub payment_hash: PaymentHash,
    /// The first-hop channel.
    pub channel_id: ChannelId,
    /// The HTLC's id in that channel.
    pub htlc_id: u64,
    /// The amount delivered to the recipient by this HTLC.
    pub amount: Msat,
    /// The fees this route pays.
    pub fee: Msat,
    /// The route, in the payment code's own (versioned) encoding.
    pub route: Vec<u8>,
}

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its id in the store.
    pub attempt_id: i64,
    /// What was recorded.
    pub attempt: NewAttempt,
    /// Where it stands.
    pub status: AttemptStatus,
    /// Why it failed (set on failure).
    pub failure: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

const PAYMENTS: &str = "payments";
const ATTEMPTS: &str = "payment_attempts";

impl Writer<'_> {
    /// Starts paying `payment`, or restarts a failed payment to the same hash. A pending or
    /// succeeded payment to this hash is refused ([`StoreError::PaymentExists`]): never pay
    /// twice.
    pub fn start_payment(&self, payment: &NewPayment, at: u64) -> Result<PaymentStart, StoreError> {
        let hash = &payment.payment_hash;
        let amount = to_sql(payment.amount.0, "amount")?;
        let at = to_sql(at, "timestamp")?;
        match payment_status(&self.tx, hash)? {
            None => {
                self.tx.execute(
                    "INSERT INTO payments (payment_hash, invoice, amount_msat, status, created_at,
                     updated_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
                    params![&hash.0[..], payment.invoice, amount, at],
                )?;
                Ok(PaymentStart::Started)
            }
            Some(PaymentStatus::Failed) => {
                self.tx.execute(
                    "UPDATE payments SET status = 'pending', failure = NULL, invoice = ?2,
                     amount_msat = ?3, updated_at = ?4 WHERE payment_hash = ?1",
                    params![&hash.0[..], payment.invoice, amount, at],
                )?;
                Ok(PaymentStart::Retried)
            }
            Some(status) => Err(StoreError::PaymentExists { hash: *hash, status }),
        }
    }

    /// Records an HTLC sent for a pending payment; returns the attempt id.
    pub fn add_attempt(&self, attempt: &NewAttempt, at: u64) -> Result<i64, StoreError> {
        let hash = &attempt.payment_hash;
        match payment_status(&self.tx, hash)? {
            None => return Err(StoreError::UnknownPayment(*hash)),
            Some(PaymentStatus::Pending) => {}
            Some(status) => return Err(StoreError::PaymentNotPending { hash: *hash, status }),
        }
        self.tx.execute(
            "INSERT INTO payment_attempts (payment_hash, channel_id, htlc_id, amount_msat,
             fee_msat, route, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'inflight', ?7, ?7)",
            params![
                &hash.0[..],
                &attempt.channel_id.0[..],
                to_sql(attempt.htlc_id, "htlc_id")?,
                to_sql(attempt.amount.0, "amount")?,
                to_sql(attempt.fee.0, "fee")?,
                attempt.route,
                to_sql(at, "timestamp")?,
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The attempt's HTLC was fulfilled with `preimage`. Returns whether this call made the
    /// *payment* succeed (its fee is the sum of the fees of its attempts not failed). A replay
    /// is [`Resolution::AlreadyRecorded`].
    pub fn succeed_attempt(
        &self,
        attempt_id: i64,
        preimage: &PaymentPreimage,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        let (hash, status) = attempt_head(&self.tx, attempt_id)?;
        if preimage.hash() != hash {
            return Err(StoreError::WrongPreimage(hash));
        }
        let at = to_sql(at, "timestamp")?;
        match status {
            AttemptStatus::InFlight => {
                self.tx.execute(
                    "UPDATE payment_attempts SET status = 'succeeded', updated_at = ?2
                     WHERE attempt_id = ?1",
                    params![attempt_id, at],
                )?;
            }
            AttemptStatus::Succeeded => {}
            AttemptStatus::Failed => {
                return Err(StoreError::AttemptResolved { attempt_id, status })
            }
        }
        let changed = self.tx.execute(
            "UPDATE payments SET status = 'succeeded', preimage = ?2, updated_at = ?3,
                 fee_msat = (SELECT coalesce(sum(fee_msat), 0) FROM payment_attempts
                             WHERE payment_hash = ?1 AND status <> 'failed')
             WHERE payment_hash = ?1 AND status = 'pending'",
            params![&hash.0[..], &preimage.0[..], at],
        )?;
        Ok(if changed == 1 { Resolution::Recorded } else { Resolution::AlreadyRecorded })
    }

    /// The attempt's HTLC failed with `failure`. Returns whether this call recorded it.
    pub fn fail_attempt(
        &self,
        attempt_id: i64,
        failure: &str,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        match attempt_head(&self.tx, attempt_id)?.1 {
            AttemptStatus::InFlight => {
                self.tx.execute(
                    "UPDATE payment_attempts SET status = 'failed', failure = ?2, updated_at = ?3
                     WHERE attempt_id = ?1",
                    params![attempt_id, failure, to_sql(at, "timestamp")?],
                )?;
                Ok(Resolution::Recorded)
            }
            AttemptStatus::Failed => Ok(Resolution::AlreadyRecorded),
            status => Err(StoreError::AttemptResolved { attempt_id, status }),
        }
    }

    /// Gives up on the payment. Refused while an attempt is in flight (it could still
    /// succeed) and for a succeeded payment. Returns whether this call recorded the failure.
    pub fn fail_payment(
        &self,
        hash: &PaymentHash,
        failure: &str,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        match payment_status(&self.tx, hash)? {
            None => Err(StoreError::UnknownPayment(*hash)),
            Some(PaymentStatus::Succeeded) => Err(StoreError::PaymentSucceeded(*hash)),
            Some(PaymentStatus::Failed) => Ok(Resolution::AlreadyRecorded),
            Some(PaymentStatus::Pending) => {
                let in_flight: bool = self.tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM payment_attempts
                     WHERE payment_hash = ?1 AND status = 'inflight')",
                    [&hash.0[..]],
                    |row| row.get(0),
                )?;
                if in_flight {
                    return Err(StoreError::AttemptsInFlight(*hash));
                }
                self.tx.execute(
                    "UPDATE payments SET status = 'failed', failure = ?2, updated_at = ?3
                     WHERE payment_hash = ?1",
                    params![&hash.0[..], failure, to_sql(at, "timestamp")?],
                )?;
                Ok(Resolution::Recorded)
            }
        }
    }
}

impl Store {
    /// See [`Writer::start_payment`].
    pub fn start_payment(
        &mut self,
        payment: &NewPayment,
        at: u64,
    ) -> Result<PaymentStart, StoreError> {
        self.write(|w| w.start_payment(payment, at))
    }

    /// See [`Writer::add_attempt`].
    pub fn add_attempt(&mut self, attempt: &NewAttempt, at: u64) -> Result<i64, StoreError> {
        self.write(|w| w.add_attempt(attempt, at))
    }

    /// See [`Writer::succeed_attempt`].
    pub fn succeed_attempt(
        &mut self,
        attempt_id: i64,
        preimage: &PaymentPreimage,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        self.write(|w| w.succeed_attempt(attempt_id, preimage, at))
    }

    /// See [`Writer::fail_attempt`].
    pub fn fail_attempt(
        &mut self,
        attempt_id: i64,
        failure: &str,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        self.write(|w| w.fail_attempt(attempt_id, failure, at))
    }

    /// See [`Writer::fail_payment`].
    pub fn fail_payment(
        &mut self,
        hash: &PaymentHash,
        failure: &str,
        at: u64,
    ) -> Result<Resolution, StoreError> {
        self.write(|w| w.fail_payment(hash, failure, at))
    }

    /// One payment.
    pub fn payment(&self, hash: &PaymentHash) -> Result<Option<Payment>, StoreError> {
        let mut stmt = self.conn.prepare(&format!("{SELECT_PAYMENT} WHERE payment_hash = ?1"))?;
        Ok(collect(&mut stmt, [&hash.0[..]], decode_payment)?.pop())
    }

    /// Every payment, oldest first.
    pub fn payments(&self) -> Result<Vec<Payment>, StoreError> {
        let mut stmt =
            self.conn.prepare(&format!("{SELECT_PAYMENT} ORDER BY created_at, payment_hash"))?;
        collect(&mut stmt, [], decode_payment)
    }

    /// The unresolved payments, each with all its attempts: what a restarting node resolves.
    pub fn pending_payments(&self) -> Result<Vec<(Payment, Vec<Attempt>)>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_PAYMENT} WHERE status = 'pending' ORDER BY created_at, payment_hash"
        ))?;
        let payments = collect(&mut stmt, [], decode_payment)?;
        payments
            .into_iter()
            .map(|p| {
                let attempts = self.attempts(&p.payment_hash)?;
                Ok((p, attempts))
            })
            .collect()
    }

    /// A payment's attempts, in the order they were made.
    pub fn attempts(&self, hash: &PaymentHash) -> Result<Vec<Attempt>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_ATTEMPT} WHERE payment_hash = ?1 ORDER BY attempt_id"))?;
        collect(&mut stmt, [&hash.0[..]], decode_attempt)
    }

    /// The attempt that sent HTLC `htlc_id` on `channel_id`, if it was one of ours (the live
    /// one when the id was used again after its first HTLC was forgotten unsigned).
    pub fn attempt_by_htlc(
        &self,
        channel_id: &ChannelId,
        htlc_id: u64,
    ) -> Result<Option<Attempt>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            // The id's live attempt, if any, sorts last (ids of forgotten HTLCs are reused).
            "{SELECT_ATTEMPT} WHERE channel_id = ?1 AND htlc_id = ?2
                 ORDER BY status <> 'failed', attempt_id"
        ))?;
        Ok(collect(
            &mut stmt,
            params![&channel_id.0[..], to_sql(htlc_id, "htlc_id")?],
            decode_attempt,
        )?
        .pop())
    }
}

const SELECT_PAYMENT: &str = "SELECT payment_hash, invoice, amount_msat, fee_msat, status, \
     preimage, failure, created_at, updated_at FROM payments";
const SELECT_ATTEMPT: &str = "SELECT attempt_id, payment_hash, channel_id, htlc_id, amount_msat, \
     fee_msat, route, status, failure, created_at, updated_at FROM payment_attempts";

fn payment_status(
    conn: &rusqlite::Connection,
    hash: &PaymentHash,
) -> Result<Option<PaymentStatus>, StoreError> {
    let status: Option<String> = conn
        .query_row("SELECT status FROM payments WHERE payment_hash = ?1", [&hash.0[..]], |row| {
            row.get(0)
        })
        .optional()?;
    status.map(|s| PaymentStatus::parse(&s)).transpose()
}

fn attempt_head(
    conn: &rusqlite::Connection,
    attempt_id: i64,
) -> Result<(PaymentHash, AttemptStatus), StoreError> {
    let head: Option<(Vec<u8>, String)> = conn
        .query_row(
            "SELECT payment_hash, status FROM payment_attempts WHERE attempt_id = ?1",
            [attempt_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (hash, status) = head.ok_or(StoreError::UnknownAttempt(attempt_id))?;
    let hash = <[u8; 32]>::try_from(hash)
        .map_err(|_| StoreError::Corrupt { table: ATTEMPTS, column: "payment_hash" })?;
    Ok((PaymentHash(hash), AttemptStatus::parse(&status)?))
}

fn decode_payment(row: &Row<'_>) -> Result<Payment, StoreError> {
    let status: String = column(row, 4, PAYMENTS, "status")?;
    Ok(Payment {
        payment_hash: PaymentHash(column_array(row, 0, PAYMENTS, "payment_hash")?),
        invoice: column(row, 1, PAYMENTS, "invoice")?,
        amount: Msat(column_u64(row, 2, PAYMENTS, "amount_msat")?),
        fee: column_opt_u64(row, 3, PAYMENTS, "fee_msat")?.map(Msat),
        status: PaymentStatus::parse(&status)?,
        preimage: column_opt_array(row, 5, PAYMENTS, "preimage")?.map(PaymentPreimage),
        failure: column(row, 6, PAYMENTS, "failure")?,
        created_at: column_u64(row, 7, PAYMENTS, "created_at")?,
        updated_at: column_u64(row, 8, PAYMENTS, "updated_at")?,
    })
}

fn decode_attempt(row: &Row<'_>) -> Result<Attempt, StoreError> {
    let status: String = column(row, 7, ATTEMPTS, "status")?;
    Ok(Attempt {
        attempt_id: column(row, 0, ATTEMPTS, "attempt_id")?,
        attempt: NewAttempt {
            payment_hash: PaymentHash(column_array(row, 1, ATTEMPTS, "payment_hash")?),
            channel_id: ChannelId(column_array(row, 2, ATTEMPTS, "channel_id")?),
            htlc_id: column_u64(row, 3, ATTEMPTS, "htlc_id")?,
            amount: Msat(column_u64(row, 4, ATTEMPTS, "amount_msat")?),
            fee: Msat(column_u64(row, 5, ATTEMPTS, "fee_msat")?),
            route: column(row, 6, ATTEMPTS, "route")?,
        },
        status: AttemptStatus::parse(&status)?,
        failure: column(row, 8, ATTEMPTS, "failure")?,
        created_at: column_u64(row, 9, ATTEMPTS, "created_at")?,
        updated_at: column_u64(row, 10, ATTEMPTS, "updated_at")?,
    })
}

impl PaymentStatus {
    /// The name stored and shown (`pending`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<PaymentStatus, StoreError> {
        match s {
            "pending" => Ok(PaymentStatus::Pending),
            "succeeded" => Ok(PaymentStatus::Succeeded),
            "failed" => Ok(PaymentStatus::Failed),
            _ => Err(StoreError::Corrupt { table: PAYMENTS, column: "status" }),
        }
    }
}

impl AttemptStatus {
    /// The name stored and shown (`inflight`, `succeeded`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::InFlight => "inflight",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<AttemptStatus, StoreError> {
        match s {
            "inflight" => Ok(AttemptStatus::InFlight),
            "succeeded" => Ok(AttemptStatus::Succeeded),
            "failed" => Ok(AttemptStatus::Failed),
            _ => Err(StoreError::Corrupt { table: ATTEMPTS, column: "status" }),
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
