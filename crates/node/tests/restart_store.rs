//! What the store must allow after a restart or a reconnection: BOLT 2 forgets HTLCs
//! offered but not signed yet, and their ids are used again. The attempt or forward that
//! sent the forgotten HTLC failed; the next HTLC with the same id is a new attempt or
//! forward, recorded and resolved on its own, and found by its HTLC id.

use shandian_node::store::{
    AttemptStatus, ForwardStatus, NewAttempt, NewForward, NewPayment, PaymentStatus, Store,
    StoreError,
};
use shandian_types::{ChannelId, Msat, PaymentPreimage};

fn attempt(preimage: &PaymentPreimage, htlc_id: u64) -> NewAttempt {
    NewAttempt {
        payment_hash: preimage.hash(),
        channel_id: ChannelId([2; 32]),
        htlc_id,
        amount: Msat(10_000),
        fee: Msat(7),
        route: vec![1],
    }
}

fn pay(store: &mut Store, preimage: &PaymentPreimage) {
    let payment = NewPayment { payment_hash: preimage.hash(), invoice: None, amount: Msat(10_000) };
    store.start_payment(&payment, 1).unwrap();
}

#[test]
fn a_forgotten_htlc_id_carries_the_next_payment() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let (first, second) = (PaymentPreimage([1; 32]), PaymentPreimage([2; 32]));
    pay(&mut store, &first);
    let dropped = store.add_attempt(&attempt(&first, 7), 2).unwrap();
    store.fail_attempt(dropped, "our channel dropped the HTLC", 3).unwrap();
    store.fail_payment(&first.hash(), "our channel dropped the HTLC", 3).unwrap();
    // Id 7 again, for another payment: recorded, and what the id now names.
    pay(&mut store, &second);
    let live = store.add_attempt(&attempt(&second, 7), 4).unwrap();
    let found = store.attempt_by_htlc(&ChannelId([2; 32]), 7).unwrap().unwrap();
    assert_eq!((found.attempt_id, found.status), (live, AttemptStatus::InFlight));
    // While it lives, id 7 cannot name a third attempt.
    let third = PaymentPreimage([3; 32]);
    pay(&mut store, &third);
    assert!(matches!(store.add_attempt(&attempt(&third, 7), 5), Err(StoreError::Sqlite(_))));
    // It succeeds on its own; the first payment stays failed, and the store says so after
    // reopening.
    store.succeed_attempt(live, &second, 6).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let status = |p: &PaymentPreimage| store.payment(&p.hash()).unwrap().unwrap().status;
    assert_eq!(status(&first), PaymentStatus::Failed);
    assert_eq!(status(&second), PaymentStatus::Succeeded);
    let found = store.attempt_by_htlc(&ChannelId([2; 32]), 7).unwrap().unwrap();
    assert_eq!(found.attempt_id, live);
}

fn forward(in_htlc_id: u64, preimage: &PaymentPreimage) -> NewForward {
    NewForward {
        in_channel_id: ChannelId([1; 32]),
        in_htlc_id,
        out_channel_id: ChannelId([2; 32]),
        out_htlc_id: 7,
        payment_hash: preimage.hash(),
        in_amount: Msat(1_100),
        out_amount: Msat(1_000),
    }
}

#[test]
fn a_forgotten_outgoing_htlc_id_carries_the_next_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let (first, second) = (PaymentPreimage([1; 32]), PaymentPreimage([2; 32]));
    store.add_forward(&forward(3, &first), 1).unwrap();
    let out = ChannelId([2; 32]);
    let (failed, _) = store.fail_forward(&out, 7, &[0], 2).unwrap();
    assert_eq!(failed.forward.in_htlc_id, 3);
    store.add_forward(&forward(4, &second), 3).unwrap();
    // Outcomes on id 7 now belong to the second forward.
    let (fulfilled, _) = store.fulfil_forward(&out, 7, &second, 4).unwrap();
    assert_eq!((fulfilled.forward.in_htlc_id, fulfilled.status), (4, ForwardStatus::Fulfilled));
    let all = store.forwards(None).unwrap();
    let statuses: Vec<_> = all.iter().map(|f| (f.forward.in_htlc_id, f.status)).collect();
    assert_eq!(statuses, [(3, ForwardStatus::Failed), (4, ForwardStatus::Fulfilled)]);
}
