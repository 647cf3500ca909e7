//! How HTLCs we offered ended on chain after their channel closed (BOLT 5): the monitor
//! records each outcome once it is final, and the channel manager hands it to the payment
//! logic exactly once, marking it reported in the same transaction as the payment logic's
//! own writes. A reported outcome is frozen (trigger).

use rusqlite::{params, Row};
use shandian_types::{ChannelId, PaymentPreimage};

use super::{collect, column, column_array, column_opt_array, column_u64, to_sql, Store};
use super::{StoreError, Writer};

const TABLE: &str = "onchain_htlcs";

/// How one of our offered HTLCs ended on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnchainOutcome {
    /// The counterparty claimed it with the preimage (taken from its witness).
    Fulfilled(PaymentPreimage),
    /// It can no longer be paid: our HTLC-timeout is deep enough, or the commitment that
    /// confirmed carries no output for it.
    Failed,
}

/// One recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnchainHtlc {
    /// The closed channel.
    pub channel_id: ChannelId,
    /// The HTLC's id on it.
    pub htlc_id: u64,
    /// How it ended.
    pub outcome: OnchainOutcome,
    /// The height at which the monitor learned it.
    pub height: u32,
    /// When the payment logic was told (unix seconds); `None` until then.
    pub reported_at: Option<u64>,
}

fn decode(row: &Row<'_>) -> Result<OnchainHtlc, StoreError> {
    let outcome: String = column(row, 2, TABLE, "outcome")?;
    let preimage: Option<[u8; 32]> = column_opt_array(row, 3, TABLE, "preimage")?;
    let outcome = match (outcome.as_str(), preimage) {
        ("fulfilled", Some(p)) => OnchainOutcome::Fulfilled(PaymentPreimage(p)),
        ("failed", None) => OnchainOutcome::Failed,
        _ => return Err(StoreError::Corrupt { table: TABLE, column: "outcome" }),
    };
    let reported: Option<i64> = column(row, 5, TABLE, "reported_at")?;
    Ok(OnchainHtlc {
        channel_id: ChannelId(column_array(row, 0, TABLE, "channel_id")?),
        htlc_id: column_u64(row, 1, TABLE, "htlc_id")?,
        outcome,
        height: u32::try_from(column_u64(row, 4, TABLE, "height")?)
            .map_err(|_| StoreError::Corrupt { table: TABLE, column: "height" })?,
        reported_at: reported
            .map(|r| {
                u64::try_from(r)
                    .map_err(|_| StoreError::Corrupt { table: TABLE, column: "reported_at" })
            })
            .transpose()?,
    })
}

const COLUMNS: &str = "channel_id, htlc_id, outcome, preimage, height, reported_at";

impl Writer<'_> {
    /// Records how an HTLC we offered ended on chain. The first outcome recorded for an HTLC
    /// stays; recording again is a no-op. Returns whether this call recorded it.
    pub fn record_onchain_htlc(
        &self,
        channel_id: &ChannelId,
        htlc_id: u64,
        outcome: OnchainOutcome,
        height: u32,
    ) -> Result<bool, StoreError> {
        let (text, preimage) = match outcome {
            OnchainOutcome::Fulfilled(p) => ("fulfilled", Some(p.0.to_vec())),
            OnchainOutcome::Failed => ("failed", None),
        };
        let changed = self.tx.execute(
            "INSERT INTO onchain_htlcs (channel_id, htlc_id, outcome, preimage, height)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (channel_id, htlc_id) DO NOTHING",
            params![&channel_id.0[..], to_sql(htlc_id, "htlc id")?, text, preimage, height],
        )?;
        Ok(changed == 1)
    }

    /// The outcomes not yet reported to the payment logic, oldest first.
    pub fn unreported_onchain_htlcs(&self) -> Result<Vec<OnchainHtlc>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM onchain_htlcs WHERE reported_at IS NULL
             ORDER BY height, channel_id, htlc_id"
        );
        let mut stmt = self.tx.prepare(&sql)?;
        collect(&mut stmt, [], decode)
    }

    /// Marks an outcome reported; `false` if it was already (or is unknown), so the caller
    /// reports each outcome once.
    pub fn mark_onchain_htlc_reported(
        &self,
        channel_id: &ChannelId,
        htlc_id: u64,
        at: u64,
    ) -> Result<bool, StoreError> {
        let changed = self.tx.execute(
            "UPDATE onchain_htlcs SET reported_at = ?3
             WHERE channel_id = ?1 AND htlc_id = ?2 AND reported_at IS NULL",
            params![&channel_id.0[..], to_sql(htlc_id, "htlc id")?, to_sql(at, "timestamp")?],
        )?;
        Ok(changed == 1)
    }
}

impl Store {
    /// Every on-chain HTLC outcome of a channel, by HTLC id.
    pub fn onchain_htlcs(&self, channel_id: &ChannelId) -> Result<Vec<OnchainHtlc>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM onchain_htlcs WHERE channel_id = ?1 ORDER BY htlc_id");
        let mut stmt = self.conn.prepare(&sql)?;
        collect(&mut stmt, [&channel_id.0[..]], decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_recorded_once_and_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let channel = ChannelId([3; 32]);
        let preimage = PaymentPreimage([9; 32]);
        store
            .write(|w| {
                assert!(w.record_onchain_htlc(
                    &channel,
                    1,
                    OnchainOutcome::Fulfilled(preimage),
                    7
                )?);
                assert!(w.record_onchain_htlc(&channel, 2, OnchainOutcome::Failed, 8)?);
                // The first outcome stays.
                assert!(!w.record_onchain_htlc(&channel, 1, OnchainOutcome::Failed, 9)?);
                Ok(())
            })
            .unwrap();
        let unreported = store.write(|w| w.unreported_onchain_htlcs()).unwrap();
        assert_eq!(unreported.len(), 2);
        assert_eq!(unreported[0].outcome, OnchainOutcome::Fulfilled(preimage));
        assert_eq!(unreported[1].outcome, OnchainOutcome::Failed);
        store
            .write(|w| {
                assert!(w.mark_onchain_htlc_reported(&channel, 1, 100)?);
                assert!(!w.mark_onchain_htlc_reported(&channel, 1, 101)?);
                assert!(!w.mark_onchain_htlc_reported(&channel, 5, 101)?);
                Ok(())
            })
            .unwrap();
        let left = store.write(|w| w.unreported_onchain_htlcs()).unwrap();
        assert_eq!(left.iter().map(|h| h.htlc_id).collect::<Vec<_>>(), vec![2]);
        let all = store.onchain_htlcs(&channel).unwrap();
        assert_eq!(all[0].reported_at, Some(100));
        // A reported outcome cannot be changed, even bypassing the code.
        let bypass = store.write(|w| {
            w.tx.execute(
                "UPDATE onchain_htlcs SET outcome = 'failed', preimage = NULL WHERE htlc_id = 1",
                [],
            )?;
            Ok(())
        });
        assert!(bypass.is_err());
    }
}
