//! Payments end to end: Alice, Bob and Charlie over real TCP on the embedded regtest chain.
//! Alice pays Charlie's invoice through Bob via its route hint and Bob earns his fee; each
//! refused payment gives its clear error; a forward failing at Bob is attributed to Bob; a
//! failed route is retried on the next hint; a restarted node resolves its payment.

mod payments_harness;

use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::Secp256k1;
use payments_harness::*;
use serde_json::json;
use shandian_invoice::Invoice;
use shandian_node::payments::PayError;
use shandian_node::store::{ForwardStatus, InvoiceStatus, PaymentStatus};
use shandian_regtest::RegtestChain;
use shandian_types::{Msat, NodeId};

const PAY_TIMEOUT: Duration = Duration::from_secs(60);

struct Three {
    chain: Arc<RegtestChain>,
    alice: TestNode,
    bob: TestNode,
    charlie: TestNode,
    _dir: tempfile::TempDir,
}

/// Alice –(her funds)– Bob –(his funds)– Charlie, both channels usable with known policies.
async fn three(
) -> (Three, shandian_node::channels::OpenedChannel, shandian_node::channels::OpenedChannel) {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let alice = TestNode::start(&chain, &dir.path().join("alice")).await;
    let bob = TestNode::start(&chain, &dir.path().join("bob")).await;
    let charlie = TestNode::start(&chain, &dir.path().join("charlie")).await;
    let all = [&alice, &bob, &charlie];
    fund_wallet(&chain, &alice, &[&bob, &charlie]).await;
    fund_wallet(&chain, &bob, &[&alice, &charlie]).await;
    alice.connect(&bob).await;
    bob.connect(&charlie).await;
    let ab = open(&chain, &all, &alice, &bob, Msat::ZERO).await;
    let bc = open(&chain, &all, &bob, &charlie, Msat::ZERO).await;
    (Three { chain, alice, bob, charlie, _dir: dir }, ab, bc)
}

fn hints(bolt11: &str) -> Vec<(NodeId, u64)> {
    let invoice = Invoice::decode(&Secp256k1::verification_only(), bolt11).unwrap();
    invoice.route_hints().map(|h| (h[0].src_node_id, h[0].short_channel_id.0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_pays_charlie_through_bob_and_every_failure_is_clear() {
    let (net, _ab, bc) = three().await;
    let Three { alice, bob, charlie, .. } = &net;
    let bob_id = NodeId::from(bob.id());
    let charlie_id = NodeId::from(charlie.id());

    // Through the API: Charlie's invoice hints Bob -> Charlie with Bob's policy.
    let (alice_api, bob_api, charlie_api) =
        (Api::serve(alice).await, Api::serve(bob).await, Api::serve(charlie).await);
    let (status, invoice) = charlie_api
        .call("invoice", json!({"amount_msat": 50_000_000, "description": "coffee"}))
        .await;
    assert_eq!(status, 200, "{invoice}");
    let bolt11 = invoice["bolt11"].as_str().unwrap().to_owned();
    let bc_scid = charlie.summary(bc.channel_id).await.unwrap().short_channel_id.unwrap();
    assert_eq!(hints(&bolt11), vec![(bob_id, bc_scid.0)]);

    let (status, paid) = alice_api.call("pay", json!({"invoice": bolt11})).await;
    assert_eq!(status, 200, "{paid}");
    let bob_policy = bob.summary(bc.channel_id).await.unwrap().local_policy;
    let fee = bob_policy.fee(Msat(50_000_000)).unwrap();
    assert_eq!(paid["amount_msat"], 50_000_000);
    assert_eq!(paid["fee_msat"], fee.0);
    assert_eq!(paid["attempts"], 1);
    assert_eq!(paid["route"], json!([bob_id.to_string(), charlie_id.to_string()]));
    assert_eq!(paid["payment_hash"], invoice["payment_hash"]);

    // Everyone's records agree: Alice paid, Bob earned the fee, Charlie was paid.
    let (_, payments) = alice_api.call("listpayments", json!({})).await;
    assert_eq!(payments["payments"][0]["status"], "succeeded");
    assert_eq!(payments["payments"][0]["fee_msat"], fee.0);
    assert_eq!(payments["payments"][0]["preimage"], paid["preimage"]);
    let (_, forwards) = bob_api.call("listforwards", json!({})).await;
    assert_eq!(forwards["forwards"][0]["status"], "fulfilled");
    assert_eq!(forwards["forwards"][0]["fee_msat"], fee.0);
    let (_, invoices) = charlie_api.call("listinvoices", json!({})).await;
    assert_eq!(invoices["invoices"][0]["status"], "paid");
    assert_eq!(invoices["invoices"][0]["received_msat"], 50_000_000);

    // Paying again is refused, with a stable code and one line.
    let (status, error) = alice_api.call("pay", json!({"invoice": bolt11})).await;
    assert_eq!((status, &error["error"]["code"]), (409, &json!("already_paid")), "{error}");
    let (status, error) = alice_api.call("pay", json!({"invoice": "lnbcrt1nope"})).await;
    assert_eq!((status, &error["error"]["code"]), (400, &json!("invalid_invoice")), "{error}");
    // More than any channel holds: no route.
    let big = charlie
        .payments
        .create_invoice(Some(Msat(5_000_000_000)), "car".into(), None)
        .await
        .unwrap();
    let err = alice.payments.pay(&big.bolt11, None, PAY_TIMEOUT).await.unwrap_err();
    assert!(err.to_string().starts_with("no route"), "{err}");
    // An expired invoice.
    let short =
        charlie.payments.create_invoice(Some(Msat(1000)), "soon".into(), Some(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = alice.payments.pay(&short.bolt11, None, PAY_TIMEOUT).await.unwrap_err();
    assert!(matches!(err, PayError::Expired(_)), "{err}");

    // A forward failing at Bob is attributed to Bob: Charlie invoices, then Bob spends his
    // side of the channel paying Charlie directly, so Alice's later payment cannot pass.
    let later = charlie
        .payments
        .create_invoice(Some(Msat(300_000_000)), "later".into(), None)
        .await
        .unwrap();
    let drain = charlie
        .payments
        .create_invoice(Some(Msat(850_000_000)), "drain".into(), None)
        .await
        .unwrap();
    let direct = bob.payments.pay(&drain.bolt11, None, PAY_TIMEOUT).await.expect("direct payment");
    assert_eq!((direct.fee, direct.route.clone()), (Msat::ZERO, vec![charlie_id]));
    let err = alice.payments.pay(&later.bolt11, None, PAY_TIMEOUT).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "payment failed at hop 0 ({bob_id}) with code temporary_channel_failure"
        )),
        "{text}"
    );
    let failed = alice.payments.list_payments().await.unwrap();
    let failed = failed.iter().find(|p| p.payment_hash == later.payment_hash).unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed);
    let forwards = bob.payments.list_forwards().await.unwrap();
    assert!(forwards.iter().all(|f| f.status != ForwardStatus::Pending));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_failing_at_bob_is_retried_through_the_other_hint() {
    let (net, _ab, bc) = three().await;
    let Three { chain, alice, bob, charlie, .. } = &net;
    let all = [alice, bob, charlie];
    let second = open(chain, &all, bob, charlie, Msat::ZERO).await;
    let invoice =
        charlie.payments.create_invoice(Some(Msat(20_000_000)), "tea".into(), None).await.unwrap();
    let hinted = hints(&invoice.bolt11);
    assert_eq!(hinted.len(), 2, "{hinted:?}");
    // Bob closes the channel of the first hint: forwarding over it fails at Bob.
    let first = hinted[0].1;
    let closing = if bob.summary(bc.channel_id).await.unwrap().short_channel_id.unwrap().0 == first
    {
        bc.channel_id
    } else {
        second.channel_id
    };
    bob.channels.close_channel(closing, false).await.expect("closes");
    bob.wait_summary(closing, "closing", |s| s.is_none_or(|s| !s.usable)).await;
    let paid = alice.payments.pay(&invoice.bolt11, None, PAY_TIMEOUT).await.expect("paid on retry");
    assert_eq!(paid.attempts, 2);
    let payments = alice.payments.list_payments().await.unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_interrupted_by_a_restart_resolves_exactly_once() {
    let (net, _ab, _bc) = three().await;
    let Three { chain, alice, bob, charlie, _dir } = net;
    let invoice =
        charlie.payments.create_invoice(Some(Msat(10_000_000)), "x".into(), None).await.unwrap();
    // Alice's caller gives up at once; Alice stops with the payment pending or done.
    let err = alice.payments.pay(&invoice.bolt11, None, Duration::from_millis(1)).await;
    assert!(matches!(err, Err(PayError::TimedOut) | Ok(_)), "{err:?}");
    let dir = alice.dir.clone();
    alice.stop().await;
    let alice = TestNode::start(&chain, &dir).await;
    alice.connect(&bob).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let payments = alice.payments.list_payments().await.unwrap();
        if payments.first().is_some_and(|p| p.status == PaymentStatus::Succeeded) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "payment never resolved: {payments:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let invoices = charlie.payments.list_invoices().await.unwrap();
    assert_eq!(invoices[0].status, InvoiceStatus::Paid);
    for node in [alice, bob, charlie] {
        node.stop().await;
    }
}
