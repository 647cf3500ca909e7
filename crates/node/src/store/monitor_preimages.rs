//! Preimages the on-chain monitor needs (schema version 8): of HTLCs the counterparty
//! offered us on a channel that closed before we could fulfil them. The node learns such a
//! preimage late (a forward fulfilled downstream after the upstream channel closed) and
//! records it here before handing it to the monitor, which claims the HTLC on chain with it
//! (BOLT 5). [`Store::monitor_preimages`] also gathers what other tables already know for
//! the channel — fulfilled forwards whose incoming HTLC is on it, invoices paid through it —
//! so "preimage first, close later" reaches the monitor as well as "close first".

use rusqlite::{params, OptionalExtension};
use shandian_types::{ChannelId, PaymentPreimage};

use super::{collect, column_array, to_sql, Store, StoreError, Writer};

const TABLE: &str = "monitor_preimages";

impl Writer<'_> {
    /// Records `preimage` for the monitor of the closed channel `channel_id` (the channel
    /// manager does, in the batch that learns it, for a channel it knows closed). Recording
    /// it twice keeps the first.
    pub fn record_monitor_preimage(
        &self,
        channel_id: &ChannelId,
        preimage: &PaymentPreimage,
        at: u64,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR IGNORE INTO monitor_preimages (channel_id, payment_hash, preimage, learned_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                &channel_id.0[..],
                &preimage.hash().0[..],
                &preimage.0[..],
                to_sql(at, "learned_at")?
            ],
        )?;
        Ok(())
    }

    /// Whether `channel_id` is a closed channel recorded for the monitor (after a restart
    /// the channel manager no longer holds closed channels).
    pub fn is_monitored_channel(&self, channel_id: &ChannelId) -> Result<bool, StoreError> {
        let found: Option<i64> = self
            .tx
            .query_row(
                "SELECT 1 FROM closed_channels WHERE channel_id = ?1",
                [&channel_id.0[..]],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }
}

impl Store {
    /// Every preimage the node knows that may pay an HTLC the counterparty offered us on
    /// `channel_id`: recorded for the monitor, of forwards fulfilled downstream whose
    /// incoming HTLC is on the channel, and of invoices paid by an HTLC on it. The monitor
    /// keeps only those whose hash locks one of the channel's received HTLCs.
    pub fn monitor_preimages(
        &self,
        channel_id: &ChannelId,
    ) -> Result<Vec<PaymentPreimage>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT preimage FROM monitor_preimages WHERE channel_id = ?1
             UNION SELECT preimage FROM forwards
                 WHERE in_channel_id = ?1 AND status = 'fulfilled' AND preimage IS NOT NULL
             UNION SELECT preimage FROM invoices
                 WHERE paid_channel_id = ?1 AND status = 'paid'",
        )?;
        collect(&mut stmt, [&channel_id.0[..]], |row| {
            let bytes: [u8; 32] = column_array(row, 0, TABLE, "preimage")?;
            Ok(PaymentPreimage(bytes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewForward;
    use shandian_types::Msat;

    #[test]
    fn preimages_reach_the_monitor_from_every_table_of_their_channel() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let (closed, open) = (ChannelId([1; 32]), ChannelId([2; 32]));
        let (late, forwarded) = (PaymentPreimage([3; 32]), PaymentPreimage([4; 32]));
        store
            .write(|w| {
                w.record_closed_channel(&closed, 7, b"record", "LocalForceClose", 1)?;
                assert!(w.is_monitored_channel(&closed)?);
                assert!(!w.is_monitored_channel(&open)?);
                w.record_monitor_preimage(&closed, &late, 2)?;
                w.record_monitor_preimage(&closed, &late, 3)?;
                let forward = NewForward {
                    in_channel_id: closed,
                    in_htlc_id: 0,
                    out_channel_id: open,
                    out_htlc_id: 0,
                    payment_hash: forwarded.hash(),
                    in_amount: Msat(2_000),
                    out_amount: Msat(1_000),
                };
                w.add_forward(&forward, 1)?;
                w.fulfil_forward(&open, 0, &forwarded, 2)?;
                Ok(())
            })
            .unwrap();
        let mut found = store.monitor_preimages(&closed).unwrap();
        found.sort_by_key(|p| p.0);
        assert_eq!(found, vec![late, forwarded]);
        assert!(store.monitor_preimages(&open).unwrap().is_empty());
    }
}
