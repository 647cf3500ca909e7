//! Round trips: whatever is written comes back identical after reopening the database.

use proptest::prelude::*;
use shandian_node::store::{
    ForwardStatus, InvoiceStatus, NewAttempt, NewForward, NewInvoice, NewPayment, PaymentStatus,
    Store,
};
use shandian_types::{ChannelId, Msat, NodeId, PaymentPreimage, PaymentSecret};

const MAX: u64 = i64::MAX as u64;

fn peer() -> NodeId {
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798".parse().unwrap()
}

fn reopen(dir: &tempfile::TempDir, store: Store) -> Store {
    drop(store);
    Store::open(dir.path()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn channel_records_round_trip(
        writes in prop::collection::vec((any::<[u8; 32]>(), prop::collection::vec(any::<u8>(), 0..4096)), 1..8),
        seq in 0..MAX / 2,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut expected = std::collections::BTreeMap::new();
        for (i, (id, record)) in writes.iter().enumerate() {
            store.save_channel(&ChannelId(*id), &peer(), seq + i as u64, record).unwrap();
            expected.insert(*id, (seq + i as u64, record.clone()));
        }
        let store = reopen(&dir, store);
        let loaded: std::collections::BTreeMap<_, _> = store
            .load_channels()
            .unwrap()
            .into_iter()
            .map(|c| (c.channel_id.0, (c.update_seq, c.record)))
            .collect();
        prop_assert_eq!(loaded, expected);
    }

    #[test]
    fn payments_round_trip(
        preimage in any::<[u8; 32]>(),
        invoice in proptest::option::of(".{0,200}"),
        amount in 0..MAX,
        fee in 0..MAX,
        htlc_id in 0..MAX,
        route in prop::collection::vec(any::<u8>(), 0..512),
        at in 0..MAX,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let preimage = PaymentPreimage(preimage);
        let payment = NewPayment { payment_hash: preimage.hash(), invoice: invoice.clone(), amount: Msat(amount) };
        store.start_payment(&payment, at).unwrap();
        let attempt = NewAttempt {
            payment_hash: preimage.hash(),
            channel_id: ChannelId([3; 32]),
            htlc_id,
            amount: Msat(amount),
            fee: Msat(fee),
            route,
        };
        let id = store.add_attempt(&attempt, at).unwrap();
        store.succeed_attempt(id, &preimage, at).unwrap();
        let store = reopen(&dir, store);
        let stored = store.payment(&preimage.hash()).unwrap().unwrap();
        prop_assert_eq!(stored.invoice, invoice);
        prop_assert_eq!((stored.amount, stored.fee, stored.status), (Msat(amount), Some(Msat(fee)), PaymentStatus::Succeeded));
        prop_assert_eq!((stored.preimage, stored.created_at), (Some(preimage), at));
        let attempts = store.attempts(&preimage.hash()).unwrap();
        prop_assert_eq!(&attempts[0].attempt, &attempt);
    }

    #[test]
    fn invoices_round_trip(
        preimage in any::<[u8; 32]>(),
        secret in any::<[u8; 32]>(),
        bolt11 in ".{0,300}",
        amount in proptest::option::of(0..MAX),
        description in ".{0,300}",
        expiry_secs in 0..MAX / 2,
        created_at in 0..MAX / 2,
        received in 0..MAX,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let invoice = NewInvoice {
            preimage: PaymentPreimage(preimage),
            payment_secret: PaymentSecret(secret),
            bolt11,
            amount: amount.map(Msat),
            description,
            expiry_secs,
            created_at,
        };
        let hash = store.add_invoice(&invoice).unwrap();
        store.mark_invoice_paid(&hash, Msat(received), created_at).unwrap();
        let store = reopen(&dir, store);
        let stored = store.invoice(&hash).unwrap().unwrap();
        prop_assert_eq!(&stored.invoice, &invoice);
        prop_assert_eq!((stored.status, stored.received, stored.paid_at), (InvoiceStatus::Paid, Some(Msat(received)), Some(created_at)));
    }

    #[test]
    fn forwards_round_trip(
        ids in any::<([u8; 32], [u8; 32])>(),
        htlcs in (0..MAX, 0..MAX),
        preimage in any::<[u8; 32]>(),
        amounts in (0..MAX).prop_flat_map(|i| (Just(i), 0..=i)),
        failure in proptest::option::of(prop::collection::vec(any::<u8>(), 0..300)),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let preimage = PaymentPreimage(preimage);
        let forward = NewForward {
            in_channel_id: ChannelId(ids.0),
            in_htlc_id: htlcs.0,
            out_channel_id: ChannelId(ids.1),
            out_htlc_id: htlcs.1,
            payment_hash: preimage.hash(),
            in_amount: Msat(amounts.0),
            out_amount: Msat(amounts.1),
        };
        store.add_forward(&forward, 1).unwrap();
        let (resolved, _) = match &failure {
            Some(f) => store.fail_forward(&forward.out_channel_id, htlcs.1, f, 2).unwrap(),
            None => store.fulfil_forward(&forward.out_channel_id, htlcs.1, &preimage, 2).unwrap(),
        };
        let store = reopen(&dir, store);
        let stored = store.forward_by_incoming(&forward.in_channel_id, htlcs.0).unwrap().unwrap();
        prop_assert_eq!(&stored, &resolved);
        prop_assert_eq!(&stored.forward, &forward);
        prop_assert_eq!(stored.fee(), Msat(amounts.0 - amounts.1));
        let expected = if failure.is_some() { ForwardStatus::Failed } else { ForwardStatus::Fulfilled };
        prop_assert_eq!(stored.status, expected);
        prop_assert_eq!(stored.failure, failure);
    }
}
