//! Forwarding fees set for one channel (`setchannelfee`), which take the place of the node's
//! configured ones in that channel's `channel_update` and in the forwarding checks.

use rusqlite::{params, Row};
use shandian_types::{ChannelId, CltvExpiryDelta, Msat};

use super::{collect, column_array, column_u64, to_sql, Store, StoreError, Writer};

const TABLE: &str = "channel_relay_fees";

/// What one channel charges to forward, as BOLT 7 `channel_update` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayFees {
    /// `fee_base_msat` (a u32 on the wire).
    pub base_fee: Msat,
    /// `fee_proportional_millionths`.
    pub proportional_millionths: u32,
    /// `cltv_expiry_delta`.
    pub cltv_expiry_delta: CltvExpiryDelta,
}

fn decode(row: &Row<'_>) -> Result<(ChannelId, RelayFees), StoreError> {
    let narrow = |index, name| -> Result<u64, StoreError> { column_u64(row, index, TABLE, name) };
    let corrupt = |column| StoreError::Corrupt { table: TABLE, column };
    let fees = RelayFees {
        base_fee: Msat(narrow(1, "base_fee_msat")?),
        proportional_millionths: u32::try_from(narrow(2, "fee_proportional_millionths")?)
            .map_err(|_| corrupt("fee_proportional_millionths"))?,
        cltv_expiry_delta: CltvExpiryDelta(
            u16::try_from(narrow(3, "cltv_expiry_delta")?)
                .map_err(|_| corrupt("cltv_expiry_delta"))?,
        ),
    };
    Ok((ChannelId(column_array(row, 0, TABLE, "channel_id")?), fees))
}

impl Writer<'_> {
    /// Sets (or replaces) a channel's fees.
    pub fn save_relay_fees(
        &self,
        channel_id: &ChannelId,
        fees: &RelayFees,
        at: u64,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO channel_relay_fees (channel_id, base_fee_msat,
                 fee_proportional_millionths, cltv_expiry_delta, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (channel_id) DO UPDATE SET base_fee_msat = ?2,
                 fee_proportional_millionths = ?3, cltv_expiry_delta = ?4, updated_at = ?5",
            params![
                channel_id.0.as_slice(),
                to_sql(fees.base_fee.0, "base_fee_msat")?,
                fees.proportional_millionths,
                fees.cltv_expiry_delta.0,
                to_sql(at, "updated_at")?,
            ],
        )?;
        Ok(())
    }
}

impl Store {
    /// Every channel's own fees.
    pub fn relay_fees(&self) -> Result<Vec<(ChannelId, RelayFees)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT channel_id, base_fee_msat, fee_proportional_millionths, cltv_expiry_delta
             FROM channel_relay_fees ORDER BY channel_id",
        )?;
        collect(&mut stmt, [], decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_set_replaced_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let fees = RelayFees {
            base_fee: Msat(2000),
            proportional_millionths: 150,
            cltv_expiry_delta: CltvExpiryDelta(72),
        };
        let cheaper = RelayFees { base_fee: Msat(0), ..fees };
        store.write(|w| w.save_relay_fees(&ChannelId([1; 32]), &fees, 10)).unwrap();
        store.write(|w| w.save_relay_fees(&ChannelId([2; 32]), &fees, 10)).unwrap();
        store.write(|w| w.save_relay_fees(&ChannelId([1; 32]), &cheaper, 11)).unwrap();
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(
            reopened.relay_fees().unwrap(),
            [(ChannelId([1; 32]), cheaper), (ChannelId([2; 32]), fees)]
        );
    }

    #[test]
    fn a_base_fee_beyond_the_wire_field_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let fees = RelayFees {
            base_fee: Msat(1 << 32),
            proportional_millionths: 1,
            cltv_expiry_delta: CltvExpiryDelta(40),
        };
        assert!(store.write(|w| w.save_relay_fees(&ChannelId([1; 32]), &fees, 1)).is_err());
        assert!(store.relay_fees().unwrap().is_empty());
    }
}
