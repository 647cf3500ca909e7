//! Preimages the on-chain monitor needs: of HTLCs the counterparty offered us on a channel
//! that closed before we could fulfil them (BOLT 5: claim them on chain). Nothing is stored
//! for this alone: a preimage the node learns is in the fulfilled forward or the paid invoice
//! its batch writes, so [`Store::monitor_preimages`] gathers them per channel from there,
//! whether the channel closed before or after.

use shandian_types::{ChannelId, PaymentPreimage};

use super::{collect, column_array, Store, StoreError};

const TABLE: &str = "forwards or invoices";

impl Store {
    /// Every preimage the node knows that may pay an HTLC the counterparty offered us on
    /// `channel_id`: of forwards fulfilled downstream whose
    /// incoming HTLC is on the channel, and of invoices paid by an HTLC on it. The monitor
    /// keeps only those whose hash locks one of the channel's received HTLCs.
    pub fn monitor_preimages(
        &self,
        channel_id: &ChannelId,
    ) -> Result<Vec<PaymentPreimage>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT preimage FROM forwards
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
        let forwarded = PaymentPreimage([4; 32]);
        store
            .write(|w| {
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
        assert_eq!(store.monitor_preimages(&closed).unwrap(), vec![forwarded]);
        assert!(store.monitor_preimages(&open).unwrap().is_empty());
    }
}
