//! Channel records, peers and the channel → peer mapping.
//!
//! A record is the channel crate's versioned byte encoding (`ChannelRecord::encode`), stored
//! as is: this module never interprets it. Each write carries the caller's update sequence,
//! which must increase, so a delayed write of an older state can never replace a newer one.

use super::{
    collect, column, column_array, column_opt_u64, column_u64, to_sql, Store, StoreError, Writer,
};
use rusqlite::{params, OptionalExtension, Row};
use shandian_types::{ChannelId, NodeId};

/// An open channel's latest record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChannel {
    /// The channel.
    pub channel_id: ChannelId,
    /// The peer it is with.
    pub peer: NodeId,
    /// The sequence of the write that stored `record`.
    pub update_seq: u64,
    /// The channel crate's encoded record.
    pub record: Vec<u8>,
    /// Opened with `announce_channel` (the record does not say).
    pub announced: bool,
}

/// A closed channel's last record, kept for history and on-chain follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedChannel {
    /// The channel as it was last stored.
    pub channel: StoredChannel,
    /// When it was archived (unix seconds).
    pub closed_at: u64,
}

/// A peer we have channels with or connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// Its node id.
    pub node_id: NodeId,
    /// The last address we reached it at (`host:port`), if any.
    pub address: Option<String>,
    /// When this entry last changed (unix seconds).
    pub updated_at: u64,
}

const CHANNELS: &str = "channels";
const PEERS: &str = "peers";

impl Writer<'_> {
    /// Records `peer` and its last known address (keeping the old address if `None`).
    pub fn save_peer(
        &self,
        peer: &NodeId,
        address: Option<&str>,
        at: u64,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO peers (node_id, address, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (node_id) DO UPDATE SET
                 address = coalesce(excluded.address, address), updated_at = excluded.updated_at",
            params![&peer.as_bytes()[..], address, to_sql(at, "timestamp")?],
        )?;
        Ok(())
    }

    /// Stores `record` as channel `channel_id`'s state at `update_seq`, with `peer`. The
    /// sequence must be above the stored one ([`StoreError::StaleChannelUpdate`] otherwise);
    /// an archived channel is refused.
    pub fn save_channel(
        &self,
        channel_id: &ChannelId,
        peer: &NodeId,
        update_seq: u64,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let seq = to_sql(update_seq, "update_seq")?;
        let stored: Option<(i64, Option<i64>)> = self
            .tx
            .query_row(
                "SELECT update_seq, closed_at FROM channels WHERE channel_id = ?1",
                [&channel_id.0[..]],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match stored {
            Some((_, Some(_))) => return Err(StoreError::ChannelArchived(*channel_id)),
            Some((stored, None)) if stored >= seq => {
                let stored = u64::try_from(stored)
                    .map_err(|_| StoreError::Corrupt { table: CHANNELS, column: "update_seq" })?;
                return Err(StoreError::StaleChannelUpdate { stored, offered: update_seq });
            }
            _ => {}
        }
        self.tx.execute(
            "INSERT INTO peers (node_id, updated_at) VALUES (?1, 0) ON CONFLICT DO NOTHING",
            [&peer.as_bytes()[..]],
        )?;
        self.tx.execute(
            "INSERT INTO channels (channel_id, peer_id, update_seq, record) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel_id) DO UPDATE SET
                 peer_id = excluded.peer_id, update_seq = excluded.update_seq,
                 record = excluded.record",
            params![&channel_id.0[..], &peer.as_bytes()[..], seq, record],
        )?;
        Ok(())
    }

    /// Records that the channel was opened with `announce_channel` (its record does not carry
    /// the flag). A no-op for a channel not stored.
    pub fn mark_channel_announced(&self, channel_id: &ChannelId) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE channels SET announced = 1 WHERE channel_id = ?1",
            [&channel_id.0[..]],
        )?;
        Ok(())
    }

    /// Marks the channel closed at `at`: it leaves [`Store::load_channels`] and its last
    /// record is kept, frozen, for [`Store::archived_channels`]. Archiving twice is a no-op.
    pub fn archive_channel(&self, channel_id: &ChannelId, at: u64) -> Result<(), StoreError> {
        let changed = self.tx.execute(
            "UPDATE channels SET closed_at = ?2 WHERE channel_id = ?1 AND closed_at IS NULL",
            params![&channel_id.0[..], to_sql(at, "timestamp")?],
        )?;
        if changed == 0 && !self.channel_exists(channel_id)? {
            return Err(StoreError::UnknownChannel(*channel_id));
        }
        Ok(())
    }

    /// Deletes the channel's record for good (for channels that never reached the chain, or
    /// archived ones whose on-chain outputs are all swept).
    pub fn delete_channel(&self, channel_id: &ChannelId) -> Result<(), StoreError> {
        match self.tx.execute("DELETE FROM channels WHERE channel_id = ?1", [&channel_id.0[..]])? {
            0 => Err(StoreError::UnknownChannel(*channel_id)),
            _ => Ok(()),
        }
    }

    fn channel_exists(&self, channel_id: &ChannelId) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT 1 FROM channels WHERE channel_id = ?1", [&channel_id.0[..]], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }
}

impl Store {
    /// See [`Writer::save_peer`].
    pub fn save_peer(
        &mut self,
        peer: &NodeId,
        address: Option<&str>,
        at: u64,
    ) -> Result<(), StoreError> {
        self.write(|w| w.save_peer(peer, address, at))
    }

    /// One durable write of one channel state; see [`Writer::save_channel`]. Returns once the
    /// state is on disk: only then may the messages that commit to it be sent.
    pub fn save_channel(
        &mut self,
        channel_id: &ChannelId,
        peer: &NodeId,
        update_seq: u64,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.write(|w| w.save_channel(channel_id, peer, update_seq, record))
    }

    /// See [`Writer::archive_channel`].
    pub fn archive_channel(&mut self, channel_id: &ChannelId, at: u64) -> Result<(), StoreError> {
        self.write(|w| w.archive_channel(channel_id, at))
    }

    /// See [`Writer::delete_channel`].
    pub fn delete_channel(&mut self, channel_id: &ChannelId) -> Result<(), StoreError> {
        self.write(|w| w.delete_channel(channel_id))
    }

    /// Every open (not archived) channel's latest record: what a restarting node restores.
    pub fn load_channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT channel_id, peer_id, update_seq, record, announced FROM channels
             WHERE closed_at IS NULL ORDER BY channel_id",
        )?;
        collect(&mut stmt, [], decode_channel)
    }

    /// One channel's latest record, open or archived.
    pub fn channel(&self, channel_id: &ChannelId) -> Result<Option<StoredChannel>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT channel_id, peer_id, update_seq, record, announced FROM channels
             WHERE channel_id = ?1",
        )?;
        Ok(collect(&mut stmt, [&channel_id.0[..]], decode_channel)?.pop())
    }

    /// Closed channels, most recently closed first.
    pub fn archived_channels(&self) -> Result<Vec<ArchivedChannel>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT channel_id, peer_id, update_seq, record, announced, closed_at FROM channels
             WHERE closed_at IS NOT NULL ORDER BY closed_at DESC, channel_id",
        )?;
        collect(&mut stmt, [], |row| {
            let closed_at = column_opt_u64(row, 5, CHANNELS, "closed_at")?
                .ok_or(StoreError::Corrupt { table: CHANNELS, column: "closed_at" })?;
            Ok(ArchivedChannel { channel: decode_channel(row)?, closed_at })
        })
    }

    /// The ids of the open channels with `peer`.
    pub fn channels_with_peer(&self, peer: &NodeId) -> Result<Vec<ChannelId>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT channel_id FROM channels WHERE peer_id = ?1 AND closed_at IS NULL
             ORDER BY channel_id",
        )?;
        collect(&mut stmt, [&peer.as_bytes()[..]], |row| {
            column_array(row, 0, CHANNELS, "channel_id").map(ChannelId)
        })
    }

    /// Every known peer.
    pub fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT node_id, address, updated_at FROM peers ORDER BY node_id")?;
        collect(&mut stmt, [], |row| {
            Ok(PeerRecord {
                node_id: node_id(row, 0, PEERS, "node_id")?,
                address: column(row, 1, PEERS, "address")?,
                updated_at: column_u64(row, 2, PEERS, "updated_at")?,
            })
        })
    }
}

fn node_id(
    row: &Row<'_>,
    index: usize,
    table: &'static str,
    name: &'static str,
) -> Result<NodeId, StoreError> {
    let bytes: [u8; 33] = column_array(row, index, table, name)?;
    NodeId::from_bytes(bytes).map_err(|_| StoreError::Corrupt { table, column: name })
}

fn decode_channel(row: &Row<'_>) -> Result<StoredChannel, StoreError> {
    Ok(StoredChannel {
        channel_id: ChannelId(column_array(row, 0, CHANNELS, "channel_id")?),
        peer: node_id(row, 1, CHANNELS, "peer_id")?,
        update_seq: column_u64(row, 2, CHANNELS, "update_seq")?,
        record: column(row, 3, CHANNELS, "record")?,
        announced: column::<bool>(row, 4, CHANNELS, "announced")?,
    })
}
