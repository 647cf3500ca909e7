//! The schema and its migrations. The version is SQLite's `PRAGMA user_version`.
//!
//! To change the schema, append a migration to [`MIGRATIONS`]; never edit a released one.
//! Tables are `STRICT` (SQLite checks column types), and the rules that make outcomes final
//! are triggers, so no code path can break them.

use super::StoreError;
use rusqlite::Connection;

/// The schema version this code writes: the number of migrations.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration `i` takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// Version 1: peers, channels, payments and attempts, invoices, forwards.
const V1: &str = r#"
CREATE TABLE peers (
    node_id    BLOB PRIMARY KEY CHECK (length(node_id) = 33),
    address    TEXT,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE channels (
    channel_id BLOB PRIMARY KEY CHECK (length(channel_id) = 32),
    peer_id    BLOB NOT NULL REFERENCES peers (node_id),
    update_seq INTEGER NOT NULL CHECK (update_seq >= 0),
    record     BLOB NOT NULL,
    closed_at  INTEGER
) STRICT;
CREATE INDEX channels_by_peer ON channels (peer_id);
CREATE TRIGGER channel_update_seq_increases BEFORE UPDATE OF update_seq ON channels
WHEN NEW.update_seq <= OLD.update_seq
BEGIN SELECT RAISE(ABORT, 'channel update_seq must increase'); END;
CREATE TRIGGER archived_channel_is_frozen BEFORE UPDATE ON channels
WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'channel is archived'); END;

CREATE TABLE payments (
    payment_hash BLOB PRIMARY KEY CHECK (length(payment_hash) = 32),
    invoice      TEXT,
    amount_msat  INTEGER NOT NULL CHECK (amount_msat >= 0),
    fee_msat     INTEGER CHECK (fee_msat >= 0),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    preimage     BLOB CHECK (length(preimage) = 32),
    failure      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK ((status = 'succeeded') = (preimage IS NOT NULL AND fee_msat IS NOT NULL)),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
) STRICT;
CREATE INDEX payments_by_status ON payments (status);
CREATE TRIGGER payment_success_is_final BEFORE UPDATE ON payments
WHEN OLD.status = 'succeeded'
BEGIN SELECT RAISE(ABORT, 'payment already succeeded'); END;
CREATE TRIGGER payment_failure_is_not_success BEFORE UPDATE ON payments
WHEN OLD.status = 'failed' AND NEW.status = 'succeeded'
BEGIN SELECT RAISE(ABORT, 'payment already failed'); END;
CREATE TRIGGER payment_fails_only_when_settled BEFORE UPDATE ON payments
WHEN NEW.status = 'failed' AND OLD.status <> 'failed' AND EXISTS (
    SELECT 1 FROM payment_attempts
    WHERE payment_hash = NEW.payment_hash AND status = 'inflight')
BEGIN SELECT RAISE(ABORT, 'payment has HTLCs in flight'); END;

CREATE TABLE payment_attempts (
    attempt_id   INTEGER PRIMARY KEY,
    payment_hash BLOB NOT NULL REFERENCES payments (payment_hash),
    channel_id   BLOB NOT NULL CHECK (length(channel_id) = 32),
    htlc_id      INTEGER NOT NULL CHECK (htlc_id >= 0),
    amount_msat  INTEGER NOT NULL CHECK (amount_msat >= 0),
    fee_msat     INTEGER NOT NULL CHECK (fee_msat >= 0),
    route        BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('inflight', 'succeeded', 'failed')),
    failure      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (channel_id, htlc_id),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
) STRICT;
CREATE INDEX attempts_by_payment ON payment_attempts (payment_hash);
CREATE TRIGGER attempt_outcome_is_final BEFORE UPDATE ON payment_attempts
WHEN OLD.status <> 'inflight'
BEGIN SELECT RAISE(ABORT, 'attempt already resolved'); END;

CREATE TABLE invoices (
    payment_hash   BLOB PRIMARY KEY CHECK (length(payment_hash) = 32),
    preimage       BLOB NOT NULL CHECK (length(preimage) = 32),
    payment_secret BLOB NOT NULL CHECK (length(payment_secret) = 32),
    bolt11         TEXT NOT NULL,
    amount_msat    INTEGER CHECK (amount_msat >= 0),
    description    TEXT NOT NULL,
    expiry_secs    INTEGER NOT NULL CHECK (expiry_secs >= 0),
    created_at     INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'expired')),
    paid_at        INTEGER,
    received_msat  INTEGER CHECK (received_msat >= 0),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL AND received_msat IS NOT NULL))
) STRICT;
CREATE INDEX invoices_by_status ON invoices (status);
CREATE TRIGGER invoice_outcome_is_final BEFORE UPDATE ON invoices
WHEN OLD.status <> 'unpaid'
BEGIN SELECT RAISE(ABORT, 'invoice already paid or expired'); END;

CREATE TABLE forwards (
    in_channel_id   BLOB NOT NULL CHECK (length(in_channel_id) = 32),
    in_htlc_id      INTEGER NOT NULL CHECK (in_htlc_id >= 0),
    out_channel_id  BLOB NOT NULL CHECK (length(out_channel_id) = 32),
    out_htlc_id     INTEGER NOT NULL CHECK (out_htlc_id >= 0),
    payment_hash    BLOB NOT NULL CHECK (length(payment_hash) = 32),
    in_amount_msat  INTEGER NOT NULL CHECK (in_amount_msat >= 0),
    out_amount_msat INTEGER NOT NULL CHECK (out_amount_msat >= 0),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'failed')),
    preimage        BLOB CHECK (length(preimage) = 32),
    failure         BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (in_channel_id, in_htlc_id),
    UNIQUE (out_channel_id, out_htlc_id),
    CHECK (out_amount_msat <= in_amount_msat),
    CHECK ((status = 'fulfilled') = (preimage IS NOT NULL)),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
) STRICT;
CREATE INDEX forwards_by_status ON forwards (status);
CREATE TRIGGER forward_outcome_is_final BEFORE UPDATE ON forwards
WHEN OLD.status <> 'pending'
BEGIN SELECT RAISE(ABORT, 'forward already resolved'); END;
"#;

/// Version 2: closed channels the on-chain monitor follows, and their claim transactions.
const V2: &str = r#"
CREATE TABLE closed_channels (
    channel_id    BLOB PRIMARY KEY CHECK (length(channel_id) = 32),
    key_index     INTEGER NOT NULL CHECK (key_index >= 0),
    funded_record BLOB NOT NULL,
    reason        TEXT NOT NULL,
    closed_at     INTEGER NOT NULL,
    spend_txid    BLOB CHECK (length(spend_txid) = 32),
    spend_height  INTEGER CHECK (spend_height >= 0),
    close_kind    TEXT,
    resolved_at   INTEGER CHECK (resolved_at >= 0),
    CHECK ((spend_txid IS NULL) = (spend_height IS NULL AND close_kind IS NULL))
) STRICT;
CREATE TRIGGER resolved_channel_is_frozen BEFORE UPDATE ON closed_channels
WHEN OLD.resolved_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'closed channel already resolved'); END;

CREATE TABLE monitor_claims (
    txid             BLOB PRIMARY KEY CHECK (length(txid) = 32),
    channel_id       BLOB NOT NULL REFERENCES closed_channels (channel_id),
    kind             TEXT NOT NULL,
    tx               BLOB NOT NULL,
    valid_at         INTEGER NOT NULL CHECK (valid_at >= 0),
    spends_txid      BLOB NOT NULL CHECK (length(spends_txid) = 32),
    spends_vout      INTEGER NOT NULL CHECK (spends_vout >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'lost')),
    confirmed_height INTEGER CHECK (confirmed_height >= 0),
    CHECK ((status = 'confirmed') = (confirmed_height IS NOT NULL))
) STRICT;
CREATE INDEX claims_by_channel ON monitor_claims (channel_id);
"#;

/// Version 3: how our offered HTLCs ended on chain, as the monitor learned it, and whether
/// the payment logic was told (exactly once).
const V3: &str = r#"
CREATE TABLE onchain_htlcs (
    channel_id  BLOB NOT NULL CHECK (length(channel_id) = 32),
    htlc_id     INTEGER NOT NULL CHECK (htlc_id >= 0),
    outcome     TEXT NOT NULL CHECK (outcome IN ('fulfilled', 'failed')),
    preimage    BLOB CHECK (length(preimage) = 32),
    height      INTEGER NOT NULL CHECK (height >= 0),
    reported_at INTEGER CHECK (reported_at >= 0),
    PRIMARY KEY (channel_id, htlc_id),
    CHECK ((outcome = 'fulfilled') = (preimage IS NOT NULL))
) STRICT;
CREATE INDEX onchain_htlcs_unreported ON onchain_htlcs (reported_at) WHERE reported_at IS NULL;
CREATE TRIGGER onchain_htlc_is_final BEFORE UPDATE ON onchain_htlcs
WHEN OLD.reported_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'on-chain HTLC outcome already reported'); END;
"#;

/// Version 4: an HTLC id names an attempt or a forward only while its HTLC lives. BOLT 2
/// forgets HTLCs offered but not yet signed when the connection drops (or the node
/// restarts), and their ids are used again: the attempt or forward that sent such an HTLC
/// fails, and the id's next HTLC gets a new row. So `(channel, htlc id)` is unique among the
/// rows that did not fail, not among all rows (v1 made the next payment over a reused id
/// fail to record its attempt). SQLite cannot drop a constraint: both tables are rebuilt.
const V4: &str = r#"
DROP TRIGGER payment_fails_only_when_settled;
CREATE TABLE payment_attempts_v4 (
    attempt_id   INTEGER PRIMARY KEY,
    payment_hash BLOB NOT NULL REFERENCES payments (payment_hash),
    channel_id   BLOB NOT NULL CHECK (length(channel_id) = 32),
    htlc_id      INTEGER NOT NULL CHECK (htlc_id >= 0),
    amount_msat  INTEGER NOT NULL CHECK (amount_msat >= 0),
    fee_msat     INTEGER NOT NULL CHECK (fee_msat >= 0),
    route        BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('inflight', 'succeeded', 'failed')),
    failure      TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK ((status = 'failed') = (failure IS NOT NULL))
) STRICT;
INSERT INTO payment_attempts_v4 (attempt_id, payment_hash, channel_id, htlc_id, amount_msat,
    fee_msat, route, status, failure, created_at, updated_at)
SELECT attempt_id, payment_hash, channel_id, htlc_id, amount_msat, fee_msat, route, status,
    failure, created_at, updated_at FROM payment_attempts;
DROP TABLE payment_attempts;
ALTER TABLE payment_attempts_v4 RENAME TO payment_attempts;
CREATE INDEX attempts_by_payment ON payment_attempts (payment_hash);
CREATE UNIQUE INDEX live_attempt_by_htlc ON payment_attempts (channel_id, htlc_id)
WHERE status <> 'failed';
CREATE TRIGGER attempt_outcome_is_final BEFORE UPDATE ON payment_attempts
WHEN OLD.status <> 'inflight'
BEGIN SELECT RAISE(ABORT, 'attempt already resolved'); END;
CREATE TRIGGER payment_fails_only_when_settled BEFORE UPDATE ON payments
WHEN NEW.status = 'failed' AND OLD.status <> 'failed' AND EXISTS (
    SELECT 1 FROM payment_attempts
    WHERE payment_hash = NEW.payment_hash AND status = 'inflight')
BEGIN SELECT RAISE(ABORT, 'payment has HTLCs in flight'); END;

CREATE TABLE forwards_v4 (
    in_channel_id   BLOB NOT NULL CHECK (length(in_channel_id) = 32),
    in_htlc_id      INTEGER NOT NULL CHECK (in_htlc_id >= 0),
    out_channel_id  BLOB NOT NULL CHECK (length(out_channel_id) = 32),
    out_htlc_id     INTEGER NOT NULL CHECK (out_htlc_id >= 0),
    payment_hash    BLOB NOT NULL CHECK (length(payment_hash) = 32),
    in_amount_msat  INTEGER NOT NULL CHECK (in_amount_msat >= 0),
    out_amount_msat INTEGER NOT NULL CHECK (out_amount_msat >= 0),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'failed')),
    preimage        BLOB CHECK (length(preimage) = 32),
    failure         BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (in_channel_id, in_htlc_id),
    CHECK (out_amount_msat <= in_amount_msat),
    CHECK ((status = 'fulfilled') = (preimage IS NOT NULL)),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
) STRICT;
INSERT INTO forwards_v4 (in_channel_id, in_htlc_id, out_channel_id, out_htlc_id, payment_hash,
    in_amount_msat, out_amount_msat, status, preimage, failure, created_at, updated_at)
SELECT in_channel_id, in_htlc_id, out_channel_id, out_htlc_id, payment_hash, in_amount_msat,
    out_amount_msat, status, preimage, failure, created_at, updated_at FROM forwards
ORDER BY rowid;
DROP TABLE forwards;
ALTER TABLE forwards_v4 RENAME TO forwards;
CREATE INDEX forwards_by_status ON forwards (status);
CREATE UNIQUE INDEX live_forward_by_out_htlc ON forwards (out_channel_id, out_htlc_id)
WHERE status <> 'failed';
CREATE TRIGGER forward_outcome_is_final BEFORE UPDATE ON forwards
WHEN OLD.status <> 'pending'
BEGIN SELECT RAISE(ABORT, 'forward already resolved'); END;
"#;

/// Version 5: the HTLC that paid an invoice, so that after a restart exactly that HTLC,
/// handed over again, is fulfilled again (before, only its amount identified it).
const V5: &str = r#"
ALTER TABLE invoices ADD COLUMN paid_channel_id BLOB CHECK (length(paid_channel_id) = 32);
ALTER TABLE invoices ADD COLUMN paid_htlc_id INTEGER CHECK (paid_htlc_id >= 0);
"#;

/// Version 6: forwarding fees set for one channel, in place of the configured ones.
const V6: &str = r#"
CREATE TABLE channel_relay_fees (
    channel_id                  BLOB PRIMARY KEY CHECK (length(channel_id) = 32),
    base_fee_msat               INTEGER NOT NULL CHECK (base_fee_msat BETWEEN 0 AND 4294967295),
    fee_proportional_millionths INTEGER NOT NULL
        CHECK (fee_proportional_millionths BETWEEN 0 AND 4294967295),
    cltv_expiry_delta           INTEGER NOT NULL CHECK (cltv_expiry_delta BETWEEN 0 AND 65535),
    updated_at                  INTEGER NOT NULL
) STRICT;
"#;

/// Version 7: whether a channel was opened with `announce_channel` (the channel record does
/// not say; before, a restart treated every channel as unannounced).
const V7: &str = r#"
ALTER TABLE channels ADD COLUMN announced INTEGER NOT NULL DEFAULT 0 CHECK (announced IN (0, 1));
"#;

/// The database's schema version.
pub(super) fn version(conn: &Connection) -> Result<u32, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    // user_version is a signed 32-bit field; a negative value is not one we wrote.
    u32::try_from(version)
        .map_err(|_| StoreError::Corrupt { table: "pragma", column: "user_version" })
}

/// Applies the missing migrations in one transaction, or refuses a newer database.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let found = version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found, known: SCHEMA_VERSION });
    }
    let pending = MIGRATIONS.iter().zip(1u32..).skip(found as usize);
    for (sql, target) in pending {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", target)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn
    }

    #[test]
    fn migrates_an_empty_database_to_the_current_version() {
        let mut conn = memory();
        assert_eq!(version(&conn).unwrap(), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            [
                "channel_relay_fees",
                "channels",
                "closed_channels",
                "forwards",
                "invoices",
                "monitor_claims",
                "onchain_htlcs",
                "payment_attempts",
                "payments",
                "peers"
            ]
        );
        // Migrating again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn refuses_a_newer_schema_and_leaves_it_untouched() {
        let mut conn = memory();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(
            err,
            StoreError::NewerSchema { found, known } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION
        ));
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION + 1);
    }

    #[test]
    fn a_failing_migration_rolls_back_entirely() {
        let mut conn = memory();
        // A table the migration wants to create already exists: the migration fails and the
        // version stays 0 with nothing half-created.
        conn.execute_batch("CREATE TABLE payments (x INTEGER)").unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 0);
        let peers: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'peers'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(peers, 0);
    }

    /// An attempt and a forward over HTLC id 7 of channel [2; 32] whose HTLC was forgotten
    /// (failed), as a v3 database holds them.
    const V3_ROWS: &str = "
        INSERT INTO payments VALUES (x'1111111111111111111111111111111111111111111111111111111111111111',
            NULL, 1000, NULL, 'failed', NULL, 'dropped', 1, 2);
        INSERT INTO payment_attempts VALUES (5, x'1111111111111111111111111111111111111111111111111111111111111111',
            x'0202020202020202020202020202020202020202020202020202020202020202', 7, 1000, 1, x'01',
            'failed', 'dropped', 1, 2);
        INSERT INTO forwards VALUES (x'0101010101010101010101010101010101010101010101010101010101010101', 3,
            x'0202020202020202020202020202020202020202020202020202020202020202', 7,
            x'1111111111111111111111111111111111111111111111111111111111111111', 1100, 1000, 'failed',
            NULL, x'00', 1, 2);";

    #[test]
    fn v4_keeps_the_rows_and_lets_a_forgotten_htlc_id_be_used_again_once() {
        let mut conn = memory();
        for (sql, target) in MIGRATIONS.iter().take(3).zip(1u32..) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", target).unwrap();
        }
        conn.execute_batch(V3_ROWS).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let count = |table: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
        };
        assert_eq!((count("payment_attempts"), count("forwards")), (1, 1));
        // The payment is retried over the reused id 7: a second attempt row, live.
        conn.execute_batch(
            "UPDATE payments SET status = 'pending', failure = NULL;
             INSERT INTO payment_attempts SELECT 6, payment_hash, channel_id, 7, 1000, 1, x'01',
                 'inflight', NULL, 3, 3 FROM payment_attempts WHERE attempt_id = 5;",
        )
        .unwrap();
        // A third one over the same id while the second lives is refused.
        let again = "INSERT INTO payment_attempts SELECT 7, payment_hash, channel_id, 7, 1000, 1,
             x'01', 'inflight', NULL, 3, 3 FROM payment_attempts WHERE attempt_id = 5";
        assert!(conn.execute_batch(again).is_err());
        // The rules that make outcomes final still hold on the rebuilt tables.
        assert!(conn
            .execute_batch("UPDATE payments SET status = 'failed', failure = 'x'")
            .is_err());
        assert!(conn
            .execute_batch("UPDATE payment_attempts SET status = 'inflight', failure = NULL WHERE attempt_id = 5")
            .is_err());
        // Likewise for a forward whose outgoing HTLC reused id 7.
        let forward = |in_htlc: u32| {
            format!(
                "INSERT INTO forwards SELECT in_channel_id, {in_htlc}, out_channel_id, 7,
                 payment_hash, 1100, 1000, 'pending', NULL, NULL, 3, 3 FROM forwards
                 WHERE in_htlc_id = 3"
            )
        };
        conn.execute_batch(&forward(4)).unwrap();
        assert!(conn.execute_batch(&forward(5)).is_err());
        assert!(conn
            .execute_batch(
                "UPDATE forwards SET status = 'pending', failure = NULL WHERE in_htlc_id = 3"
            )
            .is_err());
    }
}
