//! The store: schema versions, reopening, channel records, and the exactly-once rules for
//! payments, invoices and forwards.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use rusqlite::Connection;
use shandian_node::store::{
    AttemptStatus, ForwardStatus, InvoicePaid, InvoiceStatus, NewAttempt, NewForward, NewInvoice,
    NewPayment, PaymentStart, PaymentStatus, Resolution, Store, StoreError, DATABASE_FILE,
    SCHEMA_VERSION,
};
use shandian_types::{ChannelId, Msat, NodeId, PaymentHash, PaymentPreimage, PaymentSecret};

fn node(n: u8) -> NodeId {
    let key = SecretKey::from_slice(&[n.max(1); 32]).expect("valid secret");
    NodeId::from(PublicKey::from_secret_key(&Secp256k1::new(), &key))
}

fn new_payment(preimage: &PaymentPreimage, amount: u64) -> NewPayment {
    NewPayment {
        payment_hash: preimage.hash(),
        invoice: Some("lnbcrt1...".into()),
        amount: Msat(amount),
    }
}

fn attempt(hash: PaymentHash, channel: u8, htlc_id: u64) -> NewAttempt {
    NewAttempt {
        payment_hash: hash,
        channel_id: ChannelId([channel; 32]),
        htlc_id,
        amount: Msat(10_000),
        fee: Msat(7),
        route: vec![1, 2, 3],
    }
}

fn new_invoice(preimage: u8) -> NewInvoice {
    NewInvoice {
        preimage: PaymentPreimage([preimage; 32]),
        payment_secret: PaymentSecret([0xee; 32]),
        bolt11: "lnbcrt10n1...".into(),
        amount: Some(Msat(1_000)),
        description: "coffee".into(),
        expiry_secs: 3600,
        created_at: 1_000,
    }
}

#[test]
fn opens_an_empty_directory_with_wal_and_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/data");
    let store = Store::open(&data_dir).unwrap();
    assert_eq!(store.path(), data_dir.join(DATABASE_FILE));
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.load_channels().unwrap().is_empty());
    drop(store);
    let conn = Connection::open(data_dir.join(DATABASE_FILE)).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn refuses_a_database_from_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let preimage = PaymentPreimage([9; 32]);
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.save_peer(&node(1), Some("127.0.0.1:9735"), 5).unwrap();
        store.save_channel(&ChannelId([1; 32]), &node(1), 1, b"state one").unwrap();
        store.save_channel(&ChannelId([1; 32]), &node(1), 2, b"state two").unwrap();
        store.save_channel(&ChannelId([2; 32]), &node(2), 1, b"other").unwrap();
        store.start_payment(&new_payment(&preimage, 10_000), 10).unwrap();
        let id = store.add_attempt(&attempt(preimage.hash(), 1, 0), 11).unwrap();
        store.succeed_attempt(id, &preimage, 12).unwrap();
        store.add_invoice(&new_invoice(3)).unwrap();
        store.add_forward(&forward(0, 900), 20).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let channels = store.load_channels().unwrap();
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[0].channel_id, ChannelId([1; 32]));
    assert_eq!((channels[0].update_seq, &channels[0].record[..]), (2, &b"state two"[..]));
    assert_eq!(channels[1].peer, node(2));
    let peers = store.peers().unwrap();
    assert_eq!(peers.len(), 2);
    let first = peers.iter().find(|p| p.node_id == node(1)).unwrap();
    assert_eq!(first.address.as_deref(), Some("127.0.0.1:9735"));
    let payment = store.payment(&preimage.hash()).unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!((payment.preimage, payment.fee), (Some(preimage), Some(Msat(7))));
    assert_eq!(
        store.invoice(&PaymentPreimage([3; 32]).hash()).unwrap().unwrap().status,
        InvoiceStatus::Unpaid
    );
    assert_eq!(store.forwards(None).unwrap().len(), 1);
}

#[test]
fn the_announce_flag_is_kept_with_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.save_channel(&ChannelId([1; 32]), &node(1), 1, b"public").unwrap();
    store.save_channel(&ChannelId([2; 32]), &node(1), 1, b"private").unwrap();
    store.write(|w| w.mark_channel_announced(&ChannelId([1; 32]))).unwrap();
    // A later state leaves the flag alone.
    store.save_channel(&ChannelId([1; 32]), &node(1), 2, b"public, later").unwrap();
    let reopened = Store::open(dir.path()).unwrap();
    let flags: Vec<(u8, bool)> = reopened
        .load_channels()
        .unwrap()
        .iter()
        .map(|c| (c.channel_id.0[0], c.announced))
        .collect();
    assert_eq!(flags, [(1, true), (2, false)]);
}

#[test]
fn channel_updates_only_move_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let id = ChannelId([7; 32]);
    store.save_channel(&id, &node(1), 5, b"five").unwrap();
    // A delayed write of an older state must not replace the newer one.
    let err = store.save_channel(&id, &node(1), 4, b"four").unwrap_err();
    assert!(matches!(err, StoreError::StaleChannelUpdate { stored: 5, offered: 4 }));
    assert!(matches!(
        store.save_channel(&id, &node(1), 5, b"again").unwrap_err(),
        StoreError::StaleChannelUpdate { .. }
    ));
    assert_eq!(store.channel(&id).unwrap().unwrap().record, b"five");
    assert_eq!(store.channels_with_peer(&node(1)).unwrap(), vec![id]);
    assert!(store.channels_with_peer(&node(2)).unwrap().is_empty());
}

#[test]
fn a_failed_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.save_channel(&ChannelId([2; 32]), &node(1), 3, b"three").unwrap();
    let err = store
        .write(|w| {
            w.save_channel(&ChannelId([1; 32]), &node(1), 1, b"new")?;
            w.save_channel(&ChannelId([2; 32]), &node(1), 2, b"stale")
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::StaleChannelUpdate { .. }));
    assert!(store.channel(&ChannelId([1; 32])).unwrap().is_none());
    assert_eq!(store.load_channels().unwrap().len(), 1);
}

#[test]
fn archived_channels_leave_the_open_set_and_freeze() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let id = ChannelId([4; 32]);
    store.save_channel(&id, &node(1), 1, b"last").unwrap();
    store.archive_channel(&id, 100).unwrap();
    store.archive_channel(&id, 200).unwrap();
    assert!(store.load_channels().unwrap().is_empty());
    let archived = store.archived_channels().unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!((archived[0].closed_at, &archived[0].channel.record[..]), (100, &b"last"[..]));
    assert!(matches!(
        store.save_channel(&id, &node(1), 2, b"x"),
        Err(StoreError::ChannelArchived(_))
    ));
    store.delete_channel(&id).unwrap();
    assert!(store.channel(&id).unwrap().is_none());
    assert!(matches!(store.delete_channel(&id), Err(StoreError::UnknownChannel(_))));
    assert!(matches!(store.archive_channel(&id, 1), Err(StoreError::UnknownChannel(_))));
}

#[test]
fn a_payment_succeeds_once_and_never_fails_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let preimage = PaymentPreimage([1; 32]);
    let hash = preimage.hash();
    assert_eq!(
        store.start_payment(&new_payment(&preimage, 10_000), 1).unwrap(),
        PaymentStart::Started
    );
    assert!(matches!(
        store.start_payment(&new_payment(&preimage, 10_000), 2),
        Err(StoreError::PaymentExists { status: PaymentStatus::Pending, .. })
    ));
    let a = store.add_attempt(&attempt(hash, 1, 0), 3).unwrap();
    let b = store.add_attempt(&attempt(hash, 2, 0), 3).unwrap();
    // In flight: cannot give up yet.
    assert!(matches!(
        store.fail_payment(&hash, "timeout", 4),
        Err(StoreError::AttemptsInFlight(_))
    ));
    assert!(matches!(
        store.succeed_attempt(a, &PaymentPreimage([2; 32]), 4),
        Err(StoreError::WrongPreimage(_))
    ));
    assert_eq!(
        store.fail_attempt(b, "temporary_channel_failure", 4).unwrap(),
        Resolution::Recorded
    );
    assert_eq!(
        store.fail_attempt(b, "temporary_channel_failure", 4).unwrap(),
        Resolution::AlreadyRecorded
    );
    assert_eq!(store.succeed_attempt(a, &preimage, 5).unwrap(), Resolution::Recorded);
    // Replays after a restart report nothing new.
    assert_eq!(store.succeed_attempt(a, &preimage, 6).unwrap(), Resolution::AlreadyRecorded);
    assert!(matches!(store.fail_payment(&hash, "late", 7), Err(StoreError::PaymentSucceeded(_))));
    assert!(matches!(
        store.fail_attempt(a, "late", 7),
        Err(StoreError::AttemptResolved { status: AttemptStatus::Succeeded, .. })
    ));
    assert!(matches!(
        store.succeed_attempt(b, &preimage, 7),
        Err(StoreError::AttemptResolved { status: AttemptStatus::Failed, .. })
    ));
    assert!(matches!(
        store.start_payment(&new_payment(&preimage, 10_000), 8),
        Err(StoreError::PaymentExists { status: PaymentStatus::Succeeded, .. })
    ));
    assert!(matches!(
        store.add_attempt(&attempt(hash, 3, 0), 8),
        Err(StoreError::PaymentNotPending { .. })
    ));
    let payment = store.payment(&hash).unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    // Only the attempt that did not fail paid a fee.
    assert_eq!(payment.fee, Some(Msat(7)));
    assert_eq!((payment.created_at, payment.updated_at), (1, 5));
    assert!(store.pending_payments().unwrap().is_empty());
    assert_eq!(store.attempt_by_htlc(&ChannelId([1; 32]), 0).unwrap().unwrap().attempt_id, a);
}

#[test]
fn a_failed_payment_fails_once_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let preimage = PaymentPreimage([5; 32]);
    let hash = preimage.hash();
    store.start_payment(&new_payment(&preimage, 1), 1).unwrap();
    let a = store.add_attempt(&attempt(hash, 1, 9), 2).unwrap();
    let pending = store.pending_payments().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1[0].status, AttemptStatus::InFlight);
    store.fail_attempt(a, "unknown_next_peer", 3).unwrap();
    assert_eq!(store.fail_payment(&hash, "no route", 4).unwrap(), Resolution::Recorded);
    assert_eq!(store.fail_payment(&hash, "no route", 5).unwrap(), Resolution::AlreadyRecorded);
    let failed = store.payment(&hash).unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.failure.as_deref(), failed.fee),
        (PaymentStatus::Failed, Some("no route"), None)
    );
    assert_eq!(store.start_payment(&new_payment(&preimage, 1), 6).unwrap(), PaymentStart::Retried);
    let b = store.add_attempt(&attempt(hash, 2, 0), 7).unwrap();
    assert_eq!(store.succeed_attempt(b, &preimage, 8).unwrap(), Resolution::Recorded);
    assert_eq!(store.attempts(&hash).unwrap().len(), 2);
    assert!(matches!(
        store.fail_payment(&PaymentHash([0; 32]), "x", 1),
        Err(StoreError::UnknownPayment(_))
    ));
    assert!(matches!(store.fail_attempt(999, "x", 1), Err(StoreError::UnknownAttempt(999))));
}

#[test]
fn the_database_itself_refuses_to_flip_an_outcome() {
    // Even a write that bypasses the API cannot turn a success into a failure.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let preimage = PaymentPreimage([6; 32]);
    store.start_payment(&new_payment(&preimage, 1), 1).unwrap();
    let a = store.add_attempt(&attempt(preimage.hash(), 1, 0), 2).unwrap();
    store.succeed_attempt(a, &preimage, 3).unwrap();
    store.add_invoice(&new_invoice(8)).unwrap();
    store.mark_invoice_paid(&PaymentPreimage([8; 32]).hash(), Msat(1_000), 5).unwrap();
    drop(store);
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    for sql in [
        "UPDATE payments SET status = 'failed', failure = 'x', preimage = NULL",
        "UPDATE payment_attempts SET status = 'failed', failure = 'x'",
        "UPDATE invoices SET status = 'unpaid', paid_at = NULL, received_msat = NULL",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("already"), "{sql}: {err}");
    }
}

#[test]
fn an_invoice_is_paid_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let hash = store.add_invoice(&new_invoice(1)).unwrap();
    assert_eq!(hash, PaymentPreimage([1; 32]).hash());
    assert!(matches!(store.add_invoice(&new_invoice(1)), Err(StoreError::InvoiceExists(_))));
    assert_eq!(store.mark_invoice_paid(&hash, Msat(1_100), 50).unwrap(), InvoicePaid::Recorded);
    assert_eq!(store.mark_invoice_paid(&hash, Msat(1_100), 60).unwrap(), InvoicePaid::AlreadyPaid);
    let invoice = store.invoice(&hash).unwrap().unwrap();
    assert_eq!(
        (invoice.status, invoice.paid_at, invoice.received),
        (InvoiceStatus::Paid, Some(50), Some(Msat(1_100)))
    );
    // Paid invoices never expire.
    assert_eq!(store.expire_invoices(u64::from(u32::MAX)).unwrap(), 0);
    assert!(matches!(
        store.mark_invoice_paid(&PaymentHash([0; 32]), Msat(1), 1),
        Err(StoreError::UnknownInvoice(_))
    ));
}

#[test]
fn an_expired_invoice_cannot_be_paid() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let hash = store.add_invoice(&new_invoice(2)).unwrap();
    let other = store.add_invoice(&NewInvoice { created_at: 5_000, ..new_invoice(3) }).unwrap();
    assert_eq!(store.expire_invoices(4_599).unwrap(), 0);
    assert_eq!(store.expire_invoices(4_600).unwrap(), 1);
    assert_eq!(store.invoice(&hash).unwrap().unwrap().status, InvoiceStatus::Expired);
    assert_eq!(store.invoice(&other).unwrap().unwrap().status, InvoiceStatus::Unpaid);
    assert!(matches!(
        store.mark_invoice_paid(&hash, Msat(1_000), 4_700),
        Err(StoreError::InvoiceNotPayable { status: InvoiceStatus::Expired, .. })
    ));
    assert_eq!(store.invoices().unwrap().len(), 2);
}

fn forward(htlc: u64, out_amount: u64) -> NewForward {
    NewForward {
        in_channel_id: ChannelId([1; 32]),
        in_htlc_id: htlc,
        out_channel_id: ChannelId([2; 32]),
        out_htlc_id: htlc + 100,
        payment_hash: PaymentPreimage([htlc as u8; 32]).hash(),
        in_amount: Msat(1_000),
        out_amount: Msat(out_amount),
    }
}

#[test]
fn a_forward_maps_downstream_outcomes_to_the_upstream_htlc_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.add_forward(&forward(1, 990), 10).unwrap();
    store.add_forward(&forward(2, 990), 10).unwrap();
    assert!(matches!(
        store.add_forward(&forward(1, 990), 11),
        Err(StoreError::ForwardExists { htlc_id: 1, .. })
    ));
    assert!(matches!(
        store.add_forward(&forward(3, 1_001), 11),
        Err(StoreError::NegativeForwardFee)
    ));
    let out = ChannelId([2; 32]);
    assert!(matches!(
        store.fulfil_forward(&out, 101, &PaymentPreimage([9; 32]), 12),
        Err(StoreError::WrongPreimage(_))
    ));
    let (fwd, res) = store.fulfil_forward(&out, 101, &PaymentPreimage([1; 32]), 12).unwrap();
    assert_eq!(
        (fwd.forward.in_channel_id, fwd.forward.in_htlc_id, res),
        (ChannelId([1; 32]), 1, Resolution::Recorded)
    );
    assert_eq!(fwd.fee(), Msat(10));
    let (_, res) = store.fulfil_forward(&out, 101, &PaymentPreimage([1; 32]), 13).unwrap();
    assert_eq!(res, Resolution::AlreadyRecorded);
    assert!(matches!(
        store.fail_forward(&out, 101, b"x", 14),
        Err(StoreError::ForwardResolved { status: ForwardStatus::Fulfilled, .. })
    ));
    let (fwd, res) = store.fail_forward(&out, 102, b"onion failure", 15).unwrap();
    assert_eq!(
        (fwd.status, fwd.failure.as_deref(), res),
        (ForwardStatus::Failed, Some(&b"onion failure"[..]), Resolution::Recorded)
    );
    assert!(matches!(
        store.fail_forward(&out, 103, b"x", 15),
        Err(StoreError::UnknownForward { htlc_id: 103, .. })
    ));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let fulfilled = store.forward_by_incoming(&ChannelId([1; 32]), 1).unwrap().unwrap();
    assert_eq!(
        (fulfilled.status, fulfilled.preimage),
        (ForwardStatus::Fulfilled, Some(PaymentPreimage([1; 32])))
    );
    assert_eq!(
        store.forward_by_outgoing(&out, 102).unwrap().unwrap().status,
        ForwardStatus::Failed
    );
    assert_eq!(store.forwards(Some(ForwardStatus::Pending)).unwrap().len(), 0);
    assert_eq!(store.forwards(None).unwrap().len(), 2);
}

#[test]
fn corrupt_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.save_channel(&ChannelId([1; 32]), &node(1), 1, b"ok").unwrap();
    store.add_invoice(&new_invoice(4)).unwrap();
    drop(store);
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    // A node id that is 33 bytes but not a curve point, and a preimage that does not match.
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         UPDATE peers SET node_id = zeroblob(33);
         UPDATE channels SET peer_id = zeroblob(33);
         PRAGMA ignore_check_constraints = ON;
         UPDATE invoices SET preimage = zeroblob(32);",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(
        store.load_channels(),
        Err(StoreError::Corrupt { table: "channels", column: "peer_id" })
    ));
    assert!(matches!(
        store.peers(),
        Err(StoreError::Corrupt { table: "peers", column: "node_id" })
    ));
    assert!(matches!(
        store.invoices(),
        Err(StoreError::Corrupt { table: "invoices", column: "preimage" })
    ));
}

#[test]
fn values_beyond_sqlite_integers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    assert!(matches!(
        store.save_channel(&ChannelId([1; 32]), &node(1), u64::MAX, b"x"),
        Err(StoreError::OutOfRange(_))
    ));
    let preimage = PaymentPreimage([1; 32]);
    assert!(matches!(
        store.start_payment(&new_payment(&preimage, u64::MAX), 1),
        Err(StoreError::OutOfRange(_))
    ));
}
