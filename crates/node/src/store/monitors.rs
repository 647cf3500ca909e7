//! Closed channels the on-chain monitor follows until their funds are back in the wallet:
//! the last funded channel record (to rebuild the claims), the transaction that spent the
//! funding output, and every claim transaction with its status.
//!
//! Transactions are stored as consensus bytes and claim kinds as text; this module does
//! not interpret them. A resolved channel is frozen (trigger).

use super::{
    collect, column, column_array, column_opt_array, column_opt_u64, column_u64, to_sql, Store,
    StoreError, Writer,
};
use rusqlite::{params, Row};
use shandian_types::ChannelId;

const CLOSED: &str = "closed_channels";
const CLAIMS: &str = "monitor_claims";

/// A closed channel under watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoredChannel {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its signer's key index (re-derive from the node seed).
    pub key_index: u32,
    /// The last `ChannelRecord::encode()` bytes of its funded phase.
    pub funded_record: Vec<u8>,
    /// Why it closed (text).
    pub reason: String,
    /// When the close was recorded (unix seconds).
    pub closed_at: u64,
    /// The transaction that spent the funding output, once seen.
    pub spend: Option<FundingSpend>,
    /// The height at which every claim was settled deep enough; `None` while watching.
    pub resolved_at: Option<u32>,
}

/// The funding output's spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingSpend {
    /// The spending transaction's id (internal byte order).
    pub txid: [u8; 32],
    /// The height of its block.
    pub height: u32,
    /// What kind of close it was (text).
    pub kind: String,
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    /// Not confirmed yet (waiting for its height, or in the mempool).
    Pending,
    /// Confirmed at `confirmed_height`.
    Confirmed,
    /// Its output was taken by another transaction (e.g. the counterparty's preimage claim).
    Lost,
}

impl ClaimStatus {
    fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Confirmed => "confirmed",
            ClaimStatus::Lost => "lost",
        }
    }

    fn parse(text: &str) -> Result<ClaimStatus, StoreError> {
        match text {
            "pending" => Ok(ClaimStatus::Pending),
            "confirmed" => Ok(ClaimStatus::Confirmed),
            "lost" => Ok(ClaimStatus::Lost),
            _ => Err(StoreError::Corrupt { table: CLAIMS, column: "status" }),
        }
    }
}

/// One claim transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    /// Its id (internal byte order).
    pub txid: [u8; 32],
    /// The channel it recovers funds of.
    pub channel_id: ChannelId,
    /// What it takes (text).
    pub kind: String,
    /// The signed transaction, consensus-encoded.
    pub tx: Vec<u8>,
    /// The first block height that can include it.
    pub valid_at: u32,
    /// The output it spends: transaction id and index.
    pub spends: ([u8; 32], u32),
    /// Its status.
    pub status: ClaimStatus,
    /// Where it confirmed.
    pub confirmed_height: Option<u32>,
}

fn u32_column(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<u32, StoreError> {
    u32::try_from(column_u64(row, index, table, name)?)
        .map_err(|_| StoreError::Corrupt { table, column: name })
}

impl Writer<'_> {
    /// Records a closed channel to watch (inside the batch that persists the close). Recording
    /// it again keeps the first record.
    pub fn record_closed_channel(
        &self,
        channel_id: &ChannelId,
        key_index: u32,
        funded_record: &[u8],
        reason: &str,
        at: u64,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO closed_channels (channel_id, key_index, funded_record, reason, closed_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (channel_id) DO NOTHING",
            params![&channel_id.0[..], key_index, funded_record, reason, to_sql(at, "timestamp")?],
        )?;
        Ok(())
    }

    /// Records (or, after a reorg, replaces) the funding output's spend.
    pub fn record_funding_spend(
        &self,
        channel_id: &ChannelId,
        spend: &FundingSpend,
    ) -> Result<(), StoreError> {
        let changed = self.tx.execute(
            "UPDATE closed_channels SET spend_txid = ?2, spend_height = ?3, close_kind = ?4
             WHERE channel_id = ?1",
            params![&channel_id.0[..], &spend.txid[..], spend.height, spend.kind],
        )?;
        if changed == 0 {
            return Err(StoreError::UnknownChannel(*channel_id));
        }
        Ok(())
    }

    /// Stores a claim; storing the same transaction again is a no-op.
    pub fn save_claim(&self, claim: &StoredClaim) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO monitor_claims (txid, channel_id, kind, tx, valid_at, spends_txid,
                 spends_vout, status, confirmed_height)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (txid) DO NOTHING",
            params![
                &claim.txid[..],
                &claim.channel_id.0[..],
                claim.kind,
                claim.tx,
                claim.valid_at,
                &claim.spends.0[..],
                claim.spends.1,
                claim.status.as_str(),
                claim.confirmed_height,
            ],
        )?;
        Ok(())
    }

    /// Sets a claim's status (`confirmed_height` with [`ClaimStatus::Confirmed`]).
    pub fn set_claim_status(
        &self,
        txid: &[u8; 32],
        status: ClaimStatus,
        confirmed_height: Option<u32>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE monitor_claims SET status = ?2, confirmed_height = ?3 WHERE txid = ?1",
            params![&txid[..], status.as_str(), confirmed_height],
        )?;
        Ok(())
    }

    /// Marks the channel resolved at `height`: nothing more to watch.
    pub fn resolve_closed_channel(
        &self,
        channel_id: &ChannelId,
        height: u32,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE closed_channels SET resolved_at = ?2 WHERE channel_id = ?1 AND resolved_at IS NULL",
            params![&channel_id.0[..], height],
        )?;
        Ok(())
    }
}

fn decode_channel(row: &Row<'_>) -> Result<MonitoredChannel, StoreError> {
    let spend_txid: Option<[u8; 32]> = column_opt_array(row, 5, CLOSED, "spend_txid")?;
    let spend = match spend_txid {
        Some(txid) => {
            let height = column_opt_u64(row, 6, CLOSED, "spend_height")?
                .and_then(|h| u32::try_from(h).ok())
                .ok_or(StoreError::Corrupt { table: CLOSED, column: "spend_height" })?;
            let kind: Option<String> = column(row, 7, CLOSED, "close_kind")?;
            let kind = kind.ok_or(StoreError::Corrupt { table: CLOSED, column: "close_kind" })?;
            Some(FundingSpend { txid, height, kind })
        }
        None => None,
    };
    let resolved_at = column_opt_u64(row, 8, CLOSED, "resolved_at")?
        .map(|h| {
            u32::try_from(h)
                .map_err(|_| StoreError::Corrupt { table: CLOSED, column: "resolved_at" })
        })
        .transpose()?;
    Ok(MonitoredChannel {
        channel_id: ChannelId(column_array(row, 0, CLOSED, "channel_id")?),
        key_index: u32_column(row, 1, CLOSED, "key_index")?,
        funded_record: column(row, 2, CLOSED, "funded_record")?,
        reason: column(row, 3, CLOSED, "reason")?,
        closed_at: column_u64(row, 4, CLOSED, "closed_at")?,
        spend,
        resolved_at,
    })
}

fn decode_claim(row: &Row<'_>) -> Result<StoredClaim, StoreError> {
    let status: String = column(row, 7, CLAIMS, "status")?;
    Ok(StoredClaim {
        txid: column_array(row, 0, CLAIMS, "txid")?,
        channel_id: ChannelId(column_array(row, 1, CLAIMS, "channel_id")?),
        kind: column(row, 2, CLAIMS, "kind")?,
        tx: column(row, 3, CLAIMS, "tx")?,
        valid_at: u32_column(row, 4, CLAIMS, "valid_at")?,
        spends: (
            column_array(row, 5, CLAIMS, "spends_txid")?,
            u32_column(row, 6, CLAIMS, "spends_vout")?,
        ),
        status: ClaimStatus::parse(&status)?,
        confirmed_height: column_opt_u64(row, 8, CLAIMS, "confirmed_height")?
            .map(|h| {
                u32::try_from(h)
                    .map_err(|_| StoreError::Corrupt { table: CLAIMS, column: "confirmed_height" })
            })
            .transpose()?,
    })
}

const CHANNEL_COLUMNS: &str = "channel_id, key_index, funded_record, reason, closed_at, spend_txid,
    spend_height, close_kind, resolved_at";

impl Store {
    /// Closed channels still under watch, oldest close first.
    pub fn unresolved_closed_channels(&self) -> Result<Vec<MonitoredChannel>, StoreError> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM closed_channels WHERE resolved_at IS NULL ORDER BY closed_at, channel_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        collect(&mut stmt, [], decode_channel)
    }

    /// Every closed channel recorded for the monitor, resolved or not.
    pub fn closed_channels(&self) -> Result<Vec<MonitoredChannel>, StoreError> {
        let sql =
            format!("SELECT {CHANNEL_COLUMNS} FROM closed_channels ORDER BY closed_at, channel_id");
        let mut stmt = self.conn.prepare(&sql)?;
        collect(&mut stmt, [], decode_channel)
    }

    /// The claims of one channel, in the order they were stored.
    pub fn claims(&self, channel_id: &ChannelId) -> Result<Vec<StoredClaim>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT txid, channel_id, kind, tx, valid_at, spends_txid, spends_vout, status,
                 confirmed_height FROM monitor_claims WHERE channel_id = ?1 ORDER BY rowid",
        )?;
        collect(&mut stmt, [&channel_id.0[..]], decode_claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(txid: u8, channel_id: ChannelId) -> StoredClaim {
        StoredClaim {
            txid: [txid; 32],
            channel_id,
            kind: "DelayedToLocal".into(),
            tx: vec![1, 2, 3],
            valid_at: 650,
            spends: ([9; 32], 1),
            status: ClaimStatus::Pending,
            confirmed_height: None,
        }
    }

    #[test]
    fn closed_channels_spends_and_claims_round_trip_until_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = ChannelId([5; 32]);
        store
            .write(|w| {
                w.record_closed_channel(&id, 7, b"record", "LocalForceClose", 100)?;
                // Again: the first record stays.
                w.record_closed_channel(&id, 8, b"other", "PeerError", 200)
            })
            .unwrap();
        let [stored] = &store.unresolved_closed_channels().unwrap()[..] else { panic!() };
        assert_eq!(
            (stored.key_index, &stored.funded_record[..], stored.reason.as_str()),
            (7, &b"record"[..], "LocalForceClose")
        );
        assert_eq!(stored.spend, None);

        let spend = FundingSpend { txid: [6; 32], height: 500, kind: "HolderLatest".into() };
        store
            .write(|w| {
                w.record_funding_spend(&id, &spend)?;
                w.save_claim(&claim(1, id))?;
                w.save_claim(&claim(1, id))?; // idempotent
                w.save_claim(&claim(2, id))?;
                w.set_claim_status(&[1; 32], ClaimStatus::Confirmed, Some(650))?;
                w.set_claim_status(&[2; 32], ClaimStatus::Lost, None)
            })
            .unwrap();
        let [stored] = &store.unresolved_closed_channels().unwrap()[..] else { panic!() };
        assert_eq!(stored.spend.as_ref(), Some(&spend));
        let claims = store.claims(&id).unwrap();
        assert_eq!(claims.len(), 2);
        assert_eq!(
            (claims[0].status, claims[0].confirmed_height),
            (ClaimStatus::Confirmed, Some(650))
        );
        assert_eq!(claims[1].status, ClaimStatus::Lost);
        assert_eq!(claims[0].spends, ([9; 32], 1));

        // A confirmed claim needs its height.
        assert!(store
            .write(|w| w.set_claim_status(&[2; 32], ClaimStatus::Confirmed, None))
            .is_err());
        // A spend of an unknown channel is refused.
        let other = ChannelId([4; 32]);
        assert!(matches!(
            store.write(|w| w.record_funding_spend(&other, &spend)),
            Err(StoreError::UnknownChannel(_))
        ));

        store.write(|w| w.resolve_closed_channel(&id, 660)).unwrap();
        assert!(store.unresolved_closed_channels().unwrap().is_empty());
        assert_eq!(store.closed_channels().unwrap()[0].resolved_at, Some(660));
        // Resolved rows are frozen.
        assert!(store.write(|w| w.record_funding_spend(&id, &spend)).is_err());
        // Reopening keeps everything.
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.claims(&id).unwrap().len(), 2);
        assert_eq!(store.schema_version().unwrap(), crate::store::SCHEMA_VERSION);
    }
}
