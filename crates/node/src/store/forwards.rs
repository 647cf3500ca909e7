//! Forwarded HTLCs: which incoming HTLC each outgoing one pays for, so a restarted node knows
//! which upstream HTLC to fulfil (with the preimage) or fail (with the failure to pass back).
//!
//! A forward is recorded in the same transaction as the outgoing channel state that adds the
//! HTLC. `Fulfilled` and `Failed` mean the downstream outcome is known and the upstream HTLC
//! must be settled the same way; whether it already was lives in the upstream channel's record.

use super::{
    collect, column, column_array, column_opt_array, column_u64, to_sql, Resolution, Store,
    StoreError, Writer,
};
use core::fmt;
use rusqlite::{params, Row};
use shandian_types::{ChannelId, Msat, PaymentHash, PaymentPreimage};

/// Where a forward stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardStatus {
    /// The outgoing HTLC is unresolved.
    Pending,
    /// Downstream fulfilled it: fulfil upstream with the preimage. Final.
    Fulfilled,
    /// Downstream failed it: fail upstream with the stored failure. Final.
    Failed,
}

/// A forward to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewForward {
    /// The channel the HTLC came in on.
    pub in_channel_id: ChannelId,
    /// Its id there.
    pub in_htlc_id: u64,
    /// The channel we sent it out on.
    pub out_channel_id: ChannelId,
    /// Its id there.
    pub out_htlc_id: u64,
    /// The payment hash both HTLCs are locked to.
    pub payment_hash: PaymentHash,
    /// The incoming amount.
    pub in_amount: Msat,
    /// The outgoing amount (at most the incoming one; the difference is our fee).
    pub out_amount: Msat,
}

/// A stored forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// What was recorded.
    pub forward: NewForward,
    /// Where it stands.
    pub status: ForwardStatus,
    /// The preimage, once fulfilled.
    pub preimage: Option<PaymentPreimage>,
    /// The failure to pass upstream (the encrypted `reason` of `update_fail_htlc`, or our own
    /// failure message), once failed.
    pub failure: Option<Vec<u8>>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

impl Forward {
    /// Our fee: incoming minus outgoing amount.
    pub fn fee(&self) -> Msat {
        self.forward.in_amount.saturating_sub(self.forward.out_amount)
    }
}

const FORWARDS: &str = "forwards";

impl Writer<'_> {
    /// Records a forward. The same incoming or outgoing HTLC twice is refused.
    pub fn add_forward(&self, forward: &NewForward, at: u64) -> Result<(), StoreError> {
        if forward.out_amount > forward.in_amount {
            return Err(StoreError::NegativeForwardFee);
        }
        let inserted = self.tx.execute(
            "INSERT INTO forwards (in_channel_id, in_htlc_id, out_channel_id, out_htlc_id,
             payment_hash, in_amount_msat, out_amount_msat, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8) ON CONFLICT DO NOTHING",
            params![
                &forward.in_channel_id.0[..],
                to_sql(forward.in_htlc_id, "htlc_id")?,
                &forward.out_channel_id.0[..],
                to_sql(forward.out_htlc_id, "htlc_id")?,
                &forward.payment_hash.0[..],
                to_sql(forward.in_amount.0, "amount")?,
                to_sql(forward.out_amount.0, "amount")?,
                to_sql(at, "timestamp")?,
            ],
        )?;
        match inserted {
            0 => Err(StoreError::ForwardExists {
                channel_id: forward.in_channel_id,
                htlc_id: forward.in_htlc_id,
            }),
            _ => Ok(()),
        }
    }

    /// The outgoing HTLC `(out_channel_id, out_htlc_id)` was fulfilled with `preimage`.
    /// Returns the forward (to fulfil upstream) and whether this call recorded it.
    pub fn fulfil_forward(
        &self,
        out_channel_id: &ChannelId,
        out_htlc_id: u64,
        preimage: &PaymentPreimage,
        at: u64,
    ) -> Result<(Forward, Resolution), StoreError> {
        let forward = self.outgoing(out_channel_id, out_htlc_id)?;
        if preimage.hash() != forward.forward.payment_hash {
            return Err(StoreError::WrongPreimage(forward.forward.payment_hash));
        }
        self.resolve(forward, ForwardStatus::Fulfilled, Some(&preimage.0[..]), None, at)
    }

    /// The outgoing HTLC was failed; `failure` is what to pass upstream.
    pub fn fail_forward(
        &self,
        out_channel_id: &ChannelId,
        out_htlc_id: u64,
        failure: &[u8],
        at: u64,
    ) -> Result<(Forward, Resolution), StoreError> {
        let forward = self.outgoing(out_channel_id, out_htlc_id)?;
        self.resolve(forward, ForwardStatus::Failed, None, Some(failure), at)
    }

    fn outgoing(&self, channel_id: &ChannelId, htlc_id: u64) -> Result<Forward, StoreError> {
        let mut stmt = self.tx.prepare(&format!(
            // The id's live forward, if any, sorts last (ids of forgotten HTLCs are reused).
            "{SELECT_FORWARD} WHERE out_channel_id = ?1 AND out_htlc_id = ?2
                 ORDER BY status <> 'failed', created_at, rowid"
        ))?;
        collect(&mut stmt, params![&channel_id.0[..], to_sql(htlc_id, "htlc_id")?], decode_forward)?
            .pop()
            .ok_or(StoreError::UnknownForward { channel_id: *channel_id, htlc_id })
    }

    fn resolve(
        &self,
        mut forward: Forward,
        to: ForwardStatus,
        preimage: Option<&[u8]>,
        failure: Option<&[u8]>,
        at: u64,
    ) -> Result<(Forward, Resolution), StoreError> {
        if forward.status == to {
            return Ok((forward, Resolution::AlreadyRecorded));
        }
        if forward.status != ForwardStatus::Pending {
            return Err(StoreError::ForwardResolved {
                channel_id: forward.forward.in_channel_id,
                htlc_id: forward.forward.in_htlc_id,
                status: forward.status,
            });
        }
        self.tx.execute(
            "UPDATE forwards SET status = ?3, preimage = ?4, failure = ?5, updated_at = ?6
             WHERE in_channel_id = ?1 AND in_htlc_id = ?2",
            params![
                &forward.forward.in_channel_id.0[..],
                to_sql(forward.forward.in_htlc_id, "htlc_id")?,
                to.as_str(),
                preimage,
                failure,
                to_sql(at, "timestamp")?,
            ],
        )?;
        forward.status = to;
        forward.preimage = preimage.and_then(|p| <[u8; 32]>::try_from(p).ok()).map(PaymentPreimage);
        forward.failure = failure.map(<[u8]>::to_vec);
        forward.updated_at = at;
        Ok((forward, Resolution::Recorded))
    }
}

impl Store {
    /// See [`Writer::add_forward`].
    pub fn add_forward(&mut self, forward: &NewForward, at: u64) -> Result<(), StoreError> {
        self.write(|w| w.add_forward(forward, at))
    }

    /// See [`Writer::fulfil_forward`].
    pub fn fulfil_forward(
        &mut self,
        out_channel_id: &ChannelId,
        out_htlc_id: u64,
        preimage: &PaymentPreimage,
        at: u64,
    ) -> Result<(Forward, Resolution), StoreError> {
        self.write(|w| w.fulfil_forward(out_channel_id, out_htlc_id, preimage, at))
    }

    /// See [`Writer::fail_forward`].
    pub fn fail_forward(
        &mut self,
        out_channel_id: &ChannelId,
        out_htlc_id: u64,
        failure: &[u8],
        at: u64,
    ) -> Result<(Forward, Resolution), StoreError> {
        self.write(|w| w.fail_forward(out_channel_id, out_htlc_id, failure, at))
    }

    /// The forward of incoming HTLC `(in_channel_id, in_htlc_id)`, if any.
    pub fn forward_by_incoming(
        &self,
        in_channel_id: &ChannelId,
        in_htlc_id: u64,
    ) -> Result<Option<Forward>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_FORWARD} WHERE in_channel_id = ?1 AND in_htlc_id = ?2"))?;
        Ok(collect(
            &mut stmt,
            params![&in_channel_id.0[..], to_sql(in_htlc_id, "htlc_id")?],
            decode_forward,
        )?
        .pop())
    }

    /// The forward that sent outgoing HTLC `(out_channel_id, out_htlc_id)`, if any.
    pub fn forward_by_outgoing(
        &self,
        out_channel_id: &ChannelId,
        out_htlc_id: u64,
    ) -> Result<Option<Forward>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_FORWARD} WHERE out_channel_id = ?1 AND out_htlc_id = ?2"))?;
        Ok(collect(
            &mut stmt,
            params![&out_channel_id.0[..], to_sql(out_htlc_id, "htlc_id")?],
            decode_forward,
        )?
        .pop())
    }

    /// Every forward, oldest first; `status` filters.
    pub fn forwards(&self, status: Option<ForwardStatus>) -> Result<Vec<Forward>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_FORWARD} WHERE ?1 IS NULL OR status = ?1
             ORDER BY created_at, in_channel_id, in_htlc_id"
        ))?;
        collect(&mut stmt, [status.map(ForwardStatus::as_str)], decode_forward)
    }
}

const SELECT_FORWARD: &str = "SELECT in_channel_id, in_htlc_id, out_channel_id, out_htlc_id, \
     payment_hash, in_amount_msat, out_amount_msat, status, preimage, failure, created_at, \
     updated_at FROM forwards";

fn decode_forward(row: &Row<'_>) -> Result<Forward, StoreError> {
    let status: String = column(row, 7, FORWARDS, "status")?;
    Ok(Forward {
        forward: NewForward {
            in_channel_id: ChannelId(column_array(row, 0, FORWARDS, "in_channel_id")?),
            in_htlc_id: column_u64(row, 1, FORWARDS, "in_htlc_id")?,
            out_channel_id: ChannelId(column_array(row, 2, FORWARDS, "out_channel_id")?),
            out_htlc_id: column_u64(row, 3, FORWARDS, "out_htlc_id")?,
            payment_hash: PaymentHash(column_array(row, 4, FORWARDS, "payment_hash")?),
            in_amount: Msat(column_u64(row, 5, FORWARDS, "in_amount_msat")?),
            out_amount: Msat(column_u64(row, 6, FORWARDS, "out_amount_msat")?),
        },
        status: ForwardStatus::parse(&status)?,
        preimage: column_opt_array(row, 8, FORWARDS, "preimage")?.map(PaymentPreimage),
        failure: column(row, 9, FORWARDS, "failure")?,
        created_at: column_u64(row, 10, FORWARDS, "created_at")?,
        updated_at: column_u64(row, 11, FORWARDS, "updated_at")?,
    })
}

impl ForwardStatus {
    /// The name stored and shown (`pending`, `fulfilled`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardStatus::Pending => "pending",
            ForwardStatus::Fulfilled => "fulfilled",
            ForwardStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<ForwardStatus, StoreError> {
        match s {
            "pending" => Ok(ForwardStatus::Pending),
            "fulfilled" => Ok(ForwardStatus::Fulfilled),
            "failed" => Ok(ForwardStatus::Failed),
            _ => Err(StoreError::Corrupt { table: FORWARDS, column: "status" }),
        }
    }
}

impl fmt::Display for ForwardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
