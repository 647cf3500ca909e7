//! The payment logic of three (or four) nodes, each with its own store and handler, wired
//! through a test double of the channel manager: what one node's `ChannelOps` offers or
//! settles is delivered to the node at the other end of the channel, as the real manager
//! would after the commitment dance. Covers paying through a route hint, fees, every refusal,
//! attribution of a failure to the hop that failed, retries, and restarts.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use shandian_channel::{NewHtlc, Removal, Update};
use shandian_invoice::{Currency, InvoiceBuilder};
use shandian_types::{
    BlockHeight, ChannelId, CltvExpiryDelta, Msat, NodeId, PaymentPreimage, PaymentSecret,
    ShortChannelId,
};
use shandian_wire::{UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc};

use super::*;
use crate::store::{ForwardStatus, InvoiceStatus, PaymentStatus, Writer};
use crate::switch::{ChannelSummary, HtlcOpError, RelayPolicy};

const NOW: u64 = 1_700_000_000;
const HEIGHT: BlockHeight = BlockHeight(1000);

/// Everything a node's fake manager holds besides its store.
struct View {
    node_id: PublicKey,
    height: BlockHeight,
    now: u64,
    channels: Vec<ChannelSummary>,
    next_htlc: HashMap<ChannelId, u64>,
    added: Vec<(ChannelId, u64, NewHtlc)>,
    settled: Vec<(ChannelId, u64, Removal)>,
}

struct Core {
    store: Store,
    view: View,
}

struct FakeOps<'a, 'w> {
    writer: &'a Writer<'w>,
    view: &'a mut View,
    after: &'a mut Vec<Box<dyn FnOnce() + Send>>,
}

impl ChannelOps for FakeOps<'_, '_> {
    fn node_id(&self) -> PublicKey {
        self.view.node_id
    }
    fn best_block(&self) -> BlockHeight {
        self.view.height
    }
    fn now(&self) -> u64 {
        self.view.now
    }
    fn channels(&self) -> Vec<ChannelSummary> {
        self.view.channels.clone()
    }
    fn channel(&self, channel_id: &ChannelId) -> Option<ChannelSummary> {
        self.view.channels.iter().find(|c| c.channel_id == *channel_id).cloned()
    }
    fn channel_by_scid(&self, scid: ShortChannelId) -> Option<ChannelSummary> {
        self.view.channels.iter().find(|c| c.short_channel_id == Some(scid)).cloned()
    }
    fn add_htlc(&mut self, channel_id: &ChannelId, htlc: NewHtlc) -> Result<u64, HtlcOpError> {
        let channel = self.channel(channel_id).ok_or(HtlcOpError::UnknownChannel(*channel_id))?;
        if !channel.usable {
            return Err(HtlcOpError::NotUsable(*channel_id));
        }
        let next = self.view.next_htlc.entry(*channel_id).or_insert(0);
        let id = *next;
        *next += 1;
        self.view.added.push((*channel_id, id, htlc));
        Ok(id)
    }
    fn settle_htlc(
        &mut self,
        channel_id: &ChannelId,
        htlc_id: u64,
        removal: Removal,
    ) -> Result<(), HtlcOpError> {
        self.view.settled.push((*channel_id, htlc_id, removal));
        Ok(())
    }
    fn store(&self) -> &Writer<'_> {
        self.writer
    }
    fn after_commit(&mut self, task: Box<dyn FnOnce() + Send>) {
        self.after.push(task);
    }
}

impl Core {
    fn batch<R>(&mut self, f: impl FnOnce(&mut dyn ChannelOps) -> Result<R, StoreError>) -> R {
        let Core { store, view } = self;
        let mut after = Vec::new();
        let result = store
            .write(|writer| f(&mut FakeOps { writer, view, after: &mut after }))
            .expect("batch commits");
        for task in after {
            task();
        }
        result
    }
}

#[derive(Clone)]
struct Runner(Arc<Mutex<Core>>);

impl BatchRunner for Runner {
    fn run(&self, batch: Batch) -> Pin<Box<dyn Future<Output = Result<(), PayError>> + Send + '_>> {
        Box::pin(async move {
            self.0.lock().unwrap().batch(batch);
            Ok(())
        })
    }
}

struct TestNode {
    dir: tempfile::TempDir,
    secret: SecretKey,
    id: NodeId,
    core: Arc<Mutex<Core>>,
    handler: Box<dyn HtlcHandler>,
    handle: PaymentsHandle,
}

fn key(seed: u8) -> (SecretKey, NodeId) {
    let secret = SecretKey::from_slice(&[seed; 32]).unwrap();
    let id = NodeId::from(PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret));
    (secret, id)
}

fn policy(base: u64) -> RelayPolicy {
    RelayPolicy {
        base_fee: Msat(base),
        proportional_millionths: 100,
        cltv_expiry_delta: CltvExpiryDelta(40),
        htlc_minimum: Msat(1),
        htlc_maximum: Msat(10_000_000_000),
    }
}

/// One side's view of channel `id` to `peer`.
fn channel(id: u8, peer: NodeId, remote: Option<RelayPolicy>) -> ChannelSummary {
    ChannelSummary {
        channel_id: ChannelId([id; 32]),
        peer: peer.public_key(),
        short_channel_id: Some(ShortChannelId(u64::from(id))),
        usable: true,
        public: false,
        capacity: bitcoin::Amount::from_sat(1_000_000),
        outbound: Msat(400_000_000),
        inbound: Msat(400_000_000),
        htlc_minimum: Msat(1),
        local_policy: policy(1000),
        remote_policy: remote,
    }
}

impl TestNode {
    async fn start(dir: tempfile::TempDir, seed: u8, channels: Vec<ChannelSummary>) -> TestNode {
        let (secret, id) = key(seed);
        let store = Store::open(dir.path()).unwrap();
        let view = View {
            node_id: id.public_key(),
            height: HEIGHT,
            now: NOW,
            channels,
            next_htlc: HashMap::new(),
            added: Vec::new(),
            settled: Vec::new(),
        };
        let core = Arc::new(Mutex::new(Core { store, view }));
        let config = PaymentsConfig::new(bitcoin::Network::Regtest);
        let (payments, handler) = Payments::new(config, dir.path(), secret).unwrap();
        let handle = payments.start(Runner(core.clone())).await.unwrap();
        TestNode { dir, secret, id, core, handler, handle }
    }

    async fn new(seed: u8, channels: Vec<ChannelSummary>) -> TestNode {
        TestNode::start(tempfile::tempdir().unwrap(), seed, channels).await
    }

    /// The same node after a crash: new handler and handle over the same store, with the
    /// HTLC ids the channels had reached.
    async fn restart(self) -> TestNode {
        let (channels, next) = {
            let core = self.core.lock().unwrap();
            (core.view.channels.clone(), core.view.next_htlc.clone())
        };
        let seed = self.secret.secret_bytes()[0];
        let node = TestNode::start(self.dir, seed, channels).await;
        node.core.lock().unwrap().view.next_htlc = next;
        node
    }

    fn with<R>(
        &mut self,
        f: impl FnOnce(&mut dyn HtlcHandler, &mut dyn ChannelOps) -> Result<R, StoreError>,
    ) -> R {
        let handler = &mut self.handler;
        self.core.lock().unwrap().batch(|ops| f(handler.as_mut(), ops))
    }

    fn set_usable(&self, channel: u8, usable: bool) {
        let mut core = self.core.lock().unwrap();
        for c in core.view.channels.iter_mut().filter(|c| c.channel_id.0[0] == channel) {
            c.usable = usable;
        }
    }

    fn take_added(&self) -> Vec<(ChannelId, u64, NewHtlc)> {
        std::mem::take(&mut self.core.lock().unwrap().view.added)
    }

    fn take_settled(&self) -> Vec<(ChannelId, u64, Removal)> {
        std::mem::take(&mut self.core.lock().unwrap().view.settled)
    }

    fn store(&self) -> Store {
        Store::open(self.dir.path()).unwrap()
    }
}

fn add_message(channel_id: ChannelId, id: u64, htlc: &NewHtlc) -> UpdateAddHtlc {
    UpdateAddHtlc {
        channel_id,
        id,
        amount_msat: htlc.amount,
        payment_hash: htlc.payment_hash,
        cltv_expiry: htlc.cltv_expiry,
        onion_routing_packet: htlc.onion.clone(),
        blinding_point: None,
    }
}

/// Nodes joined by channels: delivers what each node offers or settles to the other end.
struct Network {
    nodes: Vec<TestNode>,
}

impl Network {
    /// The other end of `channel` from node `from`.
    fn peer_of(&self, from: usize, channel: ChannelId) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| {
            i != from
                && self.nodes[i]
                    .core
                    .lock()
                    .unwrap()
                    .view
                    .channels
                    .iter()
                    .any(|c| c.channel_id == channel)
        })
    }

    /// Delivers everything pending once; returns whether anything moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        for from in 0..self.nodes.len() {
            for (channel, id, htlc) in self.nodes[from].take_added() {
                moved = true;
                let Some(to) = self.peer_of(from, channel) else { continue };
                let add = add_message(channel, id, &htlc);
                self.nodes[to].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
            }
            for (channel, id, removal) in self.nodes[from].take_settled() {
                moved = true;
                let Some(to) = self.peer_of(from, channel) else { continue };
                self.nodes[to].with(|h, ops| match removal {
                    Removal::Fulfill(preimage) => h.htlc_fulfilled(ops, &channel, id, preimage),
                    Removal::Fail(reason) => {
                        let update = Update::Fail(UpdateFailHtlc {
                            channel_id: channel,
                            id,
                            reason,
                            attribution_data: None,
                        });
                        h.htlc_failed(ops, &channel, id, &update)
                    }
                    Removal::Malformed { sha256_of_onion, failure_code } => {
                        let update = Update::FailMalformed(UpdateFailMalformedHtlc {
                            channel_id: channel,
                            id,
                            sha256_of_onion,
                            failure_code,
                        });
                        h.htlc_failed(ops, &channel, id, &update)
                    }
                });
            }
        }
        moved
    }

    /// Pays `bolt11` from node `from`, delivering messages until the payment returns.
    async fn pay(
        &mut self,
        from: usize,
        bolt11: &str,
        amount: Option<Msat>,
    ) -> Result<PaySuccess, PayError> {
        let handle = self.nodes[from].handle.clone();
        let bolt11 = bolt11.to_owned();
        let task =
            tokio::spawn(async move { handle.pay(&bolt11, amount, Duration::from_secs(60)).await });
        for _ in 0..2000 {
            if !self.step() && task.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        task.await.unwrap()
    }
}

async fn invoice(node: &TestNode, amount: u64) -> IssuedInvoice {
    node.handle.create_invoice(Some(Msat(amount)), "coffee".into(), None).await.unwrap()
}

/// Alice (1) – Bob (2) over channel 12; Bob – Charlie (3) over channels 23 (and 24 if
/// `second`). Charlie knows Bob's policy for them, so his invoices hint them.
async fn three_nodes(second: bool) -> Network {
    let (_, alice) = key(1);
    let (_, bob) = key(2);
    let (_, charlie) = key(3);
    let mut bob_channels =
        vec![channel(12, alice, Some(policy(1000))), channel(23, charlie, Some(policy(1000)))];
    let mut charlie_channels = vec![channel(23, bob, Some(policy(1000)))];
    if second {
        bob_channels.push(channel(24, charlie, Some(policy(1000))));
        charlie_channels.push(channel(24, bob, Some(policy(1000))));
    }
    let nodes = vec![
        TestNode::new(1, vec![channel(12, bob, Some(policy(1000)))]).await,
        TestNode::new(2, bob_channels).await,
        TestNode::new(3, charlie_channels).await,
    ];
    Network { nodes }
}

#[tokio::test]
async fn alice_pays_charlie_through_bob_via_the_route_hint_and_bob_earns_his_fee() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 1_000_000).await;
    let decoded = Invoice::decode(&Secp256k1::verification_only(), &issued.bolt11).unwrap();
    let hints: Vec<_> = decoded.route_hints().collect();
    assert_eq!(hints.len(), 1);
    assert_eq!(
        (hints[0][0].src_node_id, hints[0][0].short_channel_id),
        (net.nodes[1].id, ShortChannelId(23))
    );

    let paid = net.pay(0, &issued.bolt11, None).await.unwrap();
    // Bob's fee: 1000 + 100 ppm of 1,000,000.
    assert_eq!((paid.amount, paid.fee, paid.attempts), (Msat(1_000_000), Msat(1100), 1));
    assert_eq!(paid.route, vec![net.nodes[1].id, net.nodes[2].id]);
    assert_eq!(paid.preimage.hash(), issued.payment_hash);

    let payments = net.nodes[0].handle.list_payments().await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!((payments[0].status, payments[0].fee), (PaymentStatus::Succeeded, Some(Msat(1100))));
    let forwards = net.nodes[1].handle.list_forwards().await.unwrap();
    assert_eq!(forwards.len(), 1);
    assert_eq!((forwards[0].status, forwards[0].fee()), (ForwardStatus::Fulfilled, Msat(1100)));
    let invoices = net.nodes[2].handle.list_invoices().await.unwrap();
    assert_eq!(
        (invoices[0].status, invoices[0].received),
        (InvoiceStatus::Paid, Some(Msat(1_000_000)))
    );

    // Paying it again is refused before anything is sent.
    let again = net.pay(0, &issued.bolt11, None).await.unwrap_err();
    assert!(matches!(again, PayError::AlreadyPaid), "{again}");
}

#[tokio::test]
async fn a_failure_at_bob_is_attributed_to_bob() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 1_000_000).await;
    net.nodes[1].set_usable(23, false);
    let err = net.pay(0, &issued.bolt11, None).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PayError::NoRoute(_)), "{text}");
    let bob = net.nodes[1].id.to_string();
    assert!(
        text.contains(&format!(
            "payment failed at hop 0 ({bob}) with code temporary_channel_failure (0x1007)"
        )),
        "{text}"
    );
    let payments = net.nodes[0].store().payments().unwrap();
    assert_eq!(payments[0].status, PaymentStatus::Failed);
    let invoices = net.nodes[2].store().invoices().unwrap();
    assert_eq!(invoices[0].status, InvoiceStatus::Unpaid);
}

#[tokio::test]
async fn a_forward_dropped_downstream_fails_back_as_bobs_failure() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 1_000_000).await;
    let handle = net.nodes[0].handle.clone();
    let bolt11 = issued.bolt11.clone();
    let task =
        tokio::spawn(async move { handle.pay(&bolt11, None, Duration::from_secs(60)).await });
    let (channel, id, htlc) = loop {
        if let Some(added) = net.nodes[0].take_added().pop() {
            break added;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let add = add_message(channel, id, &htlc);
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    // Bob's HTLC to Charlie never gets committed (say, Charlie disconnected first).
    let (out_channel, out_id, _) = net.nodes[1].take_added().pop().unwrap();
    net.nodes[1].with(|h, ops| h.htlc_dropped(ops, &out_channel, out_id));
    for _ in 0..1000 {
        if !net.step() && task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let err = task.await.unwrap().unwrap_err().to_string();
    let bob = net.nodes[1].id.to_string();
    assert!(err.contains(&format!("hop 0 ({bob}) with code temporary_channel_failure")), "{err}");
    let forwards = net.nodes[1].store().forwards(None).unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Failed);
    // Seen again after a restart, the failed forward fails upstream again, nothing more.
    let bob_node = net.nodes.remove(1).restart().await;
    net.nodes.insert(1, bob_node);
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    assert!(net.nodes[1].take_added().is_empty());
    assert!(matches!(net.nodes[1].take_settled().as_slice(), [(_, 0, Removal::Fail(_))]));
}

#[tokio::test]
async fn a_failed_route_is_retried_on_the_next_one() {
    let mut net = three_nodes(true).await;
    let issued = invoice(&net.nodes[2], 5_000_000).await;
    // The first hint Charlie gives goes first; make Bob's side of it fail.
    let decoded = Invoice::decode(&Secp256k1::verification_only(), &issued.bolt11).unwrap();
    let first = decoded.route_hints().next().unwrap()[0].short_channel_id;
    net.nodes[1].set_usable(u8::try_from(first.0).unwrap(), false);
    let paid = net.pay(0, &issued.bolt11, None).await.unwrap();
    assert_eq!(paid.attempts, 2);
    let attempts = net.nodes[0].store().attempts(&issued.payment_hash).unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].failure.as_deref().unwrap().contains("temporary_channel_failure"));
    let forwards = net.nodes[1].store().forwards(None).unwrap();
    assert_eq!(forwards.len(), 1, "the failed attempt never left Bob");
}

#[tokio::test]
async fn the_payee_refusing_ends_the_payment_with_its_code() {
    let mut net = three_nodes(true).await;
    // Charlie signs an invoice he never stored: he does not know the hash.
    let (charlie_secret, _) = key(3);
    let bolt11 = InvoiceBuilder::new(Currency::Regtest)
        .timestamp(NOW)
        .amount_msat(Msat(10_000))
        .payment_hash(PaymentPreimage([1; 32]).hash())
        .payment_secret(PaymentSecret([2; 32]))
        .description("unknown")
        .route_hint(vec![shandian_invoice::RouteHintHop {
            src_node_id: net.nodes[1].id,
            short_channel_id: ShortChannelId(23),
            fee_base_msat: 1000,
            fee_proportional_millionths: 100,
            cltv_expiry_delta: CltvExpiryDelta(40),
        }])
        .sign(&charlie_secret)
        .unwrap()
        .to_string();
    let err = net.pay(0, &bolt11, None).await.unwrap_err();
    let charlie = net.nodes[2].id.to_string();
    let expected = format!("payment failed at hop 1 ({charlie}) with code incorrect_or_unknown_payment_details (0x400f)");
    assert!(matches!(&err, PayError::Failed(text) if text == &expected), "{err}");
    // No retry over the second channel: the payee's answer would not change.
    assert_eq!(net.nodes[0].store().attempts(&PaymentPreimage([1; 32]).hash()).unwrap().len(), 1);
}

#[tokio::test]
async fn invoices_that_cannot_be_paid_are_refused_with_a_clear_error() {
    let mut net = three_nodes(false).await;
    let (charlie_secret, _) = key(3);
    let build = |currency: Currency, amount: Option<u64>, timestamp: u64| {
        let mut builder = InvoiceBuilder::new(currency)
            .timestamp(timestamp)
            .payment_hash(PaymentPreimage([7; 32]).hash())
            .payment_secret(PaymentSecret([2; 32]))
            .description("x")
            .expiry(600);
        if let Some(amount) = amount {
            builder = builder.amount_msat(Msat(amount));
        }
        builder.sign(&charlie_secret).unwrap().to_string()
    };
    let cases = [
        (build(Currency::Regtest, Some(1000), NOW - 601), None, "invoice expired at"),
        (
            build(Currency::Bitcoin, Some(1000), NOW),
            None,
            "wrong network: the invoice is for bitcoin",
        ),
        (build(Currency::Regtest, None, NOW), None, "amount required"),
        (build(Currency::Regtest, Some(1000), NOW), Some(999), "amount mismatch"),
        (build(Currency::Regtest, Some(1000), NOW), None, "no route to the payee"),
        ("lnbcrt1garbage".to_owned(), None, "invalid invoice"),
    ];
    for (bolt11, amount, expected) in cases {
        let err = net.pay(0, &bolt11, amount.map(Msat)).await.unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err} should start with {expected}");
        assert!(!err.contains('\n'));
    }
    let own = invoice(&net.nodes[0], 1000).await;
    let err = net.pay(0, &own.bolt11, None).await.unwrap_err();
    assert!(matches!(err, PayError::OwnInvoice));
}

#[tokio::test]
async fn a_pending_payment_resolves_after_a_restart_and_forwards_replay_idempotently() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 2_000_000).await;
    let handle = net.nodes[0].handle.clone();
    let bolt11 = issued.bolt11.clone();
    // The caller gives up at once: the HTLC stays out.
    let err = handle.pay(&bolt11, None, Duration::from_millis(1)).await.unwrap_err();
    assert!(matches!(err, PayError::TimedOut), "{err}");
    // Alice crashes with the HTLC out, then Bob forwards it and crashes too.
    let (channel, id, htlc) = net.nodes[0].take_added().pop().unwrap();
    let alice = net.nodes.remove(0).restart().await;
    net.nodes.insert(0, alice);
    let add = add_message(channel, id, &htlc);
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    let forwarded = net.nodes[1].take_added();
    assert_eq!(forwarded.len(), 1);
    let bob = net.nodes.remove(1).restart().await;
    net.nodes.insert(1, bob);
    // The manager replays the incoming HTLC: nothing is forwarded twice.
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    assert!(net.nodes[1].take_added().is_empty());
    assert!(net.nodes[1].take_settled().is_empty());
    // Charlie gets the forward and the preimage flows back to Alice's restarted node.
    let (out_channel, out_id, out_htlc) = forwarded.into_iter().next().unwrap();
    let add_out = add_message(out_channel, out_id, &out_htlc);
    net.nodes[2].with(|h, ops| h.htlc_incoming(ops, &out_channel, &add_out, false));
    for _ in 0..4 {
        net.step();
    }
    let payment = net.nodes[0].store().payment(&issued.payment_hash).unwrap().unwrap();
    assert_eq!((payment.status, payment.fee), (PaymentStatus::Succeeded, Some(Msat(1200))));
    // A replay after the forward was fulfilled fulfils upstream again, once more.
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    let settled = net.nodes[1].take_settled();
    assert!(
        matches!(settled.as_slice(), [(c, i, Removal::Fulfill(p))] if *c == channel && *i == id && p.hash() == issued.payment_hash)
    );
}

#[tokio::test]
async fn a_paid_invoice_leaves_memory_and_its_htlc_still_replays_from_the_store() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 2_000_000).await;
    let unpaid = |node: &TestNode| node.handle.state.lock().unwrap().invoices.len();
    assert_eq!(unpaid(&net.nodes[2]), 1);
    let handle = net.nodes[0].handle.clone();
    let _ = handle.pay(&issued.bolt11, None, Duration::from_millis(1)).await;
    let (channel, id, htlc) = net.nodes[0].take_added().pop().unwrap();
    let add = add_message(channel, id, &htlc);
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    let (out_channel, out_id, out_htlc) = net.nodes[1].take_added().pop().unwrap();
    let add_out = add_message(out_channel, out_id, &out_htlc);
    let fulfilled = |settled: Vec<(ChannelId, u64, Removal)>| {
        matches!(settled.as_slice(), [(c, i, Removal::Fulfill(p))]
            if (*c, *i) == (out_channel, out_id) && p.hash() == issued.payment_hash)
    };
    net.nodes[2].with(|h, ops| h.htlc_incoming(ops, &out_channel, &add_out, false));
    assert!(fulfilled(net.nodes[2].take_settled()));
    assert_eq!(unpaid(&net.nodes[2]), 0, "a paid invoice is only in the store");
    // The same HTLC handed over again (a reconnection, a restart) is fulfilled again.
    net.nodes[2].with(|h, ops| h.htlc_incoming(ops, &out_channel, &add_out, false));
    assert!(fulfilled(net.nodes[2].take_settled()));
    let charlie = net.nodes.remove(2).restart().await;
    net.nodes.insert(2, charlie);
    assert_eq!(unpaid(&net.nodes[2]), 0);
    net.nodes[2].with(|h, ops| h.htlc_incoming(ops, &out_channel, &add_out, false));
    assert!(fulfilled(net.nodes[2].take_settled()));
    // Another HTLC for the paid invoice is refused.
    let other = add_message(out_channel, out_id + 1, &out_htlc);
    net.nodes[2].with(|h, ops| h.htlc_incoming(ops, &out_channel, &other, false));
    let settled = net.nodes[2].take_settled();
    assert!(matches!(settled.as_slice(), [(_, i, Removal::Fail(_))] if *i == out_id + 1));
}

#[tokio::test]
async fn a_restart_fails_a_payment_that_never_sent_an_htlc() {
    let node = TestNode::new(1, vec![]).await;
    node.core.lock().unwrap().batch(|ops| {
        let payment = crate::store::NewPayment {
            payment_hash: PaymentPreimage([3; 32]).hash(),
            invoice: None,
            amount: Msat(5),
        };
        ops.store().start_payment(&payment, NOW)
    });
    let node = node.restart().await;
    let payment = node.store().payment(&PaymentPreimage([3; 32]).hash()).unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Failed);
}

#[tokio::test]
async fn a_malformed_onion_is_failed_as_malformed_and_becomes_bobs_failure_upstream() {
    let mut net = three_nodes(false).await;
    let (channel, _) = (ChannelId([12; 32]), ());
    let mut bytes = [0u8; 1366];
    bytes[1] = 2; // a valid-looking key prefix, but the HMAC cannot match
    let add = UpdateAddHtlc {
        channel_id: channel,
        id: 0,
        amount_msat: Msat(1000),
        payment_hash: PaymentPreimage([1; 32]).hash(),
        cltv_expiry: shandian_types::CltvExpiry(2000),
        onion_routing_packet: shandian_wire::OnionPacket::new(bytes),
        blinding_point: None,
    };
    net.nodes[1].with(|h, ops| h.htlc_incoming(ops, &channel, &add, false));
    let settled = net.nodes[1].take_settled();
    let [(_, 0, Removal::Malformed { failure_code, .. })] = settled.as_slice() else {
        panic!("{settled:?}")
    };
    assert_ne!(failure_code & 0x8000, 0, "BADONION");
}

#[tokio::test]
async fn an_invoice_expired_at_the_payee_is_refused_there() {
    let mut net = three_nodes(false).await;
    let issued = invoice(&net.nodes[2], 1_000_000).await;
    // Expire Charlie's invoice: a block an hour later.
    net.nodes[2].core.lock().unwrap().view.now = NOW + 3601;
    net.nodes[2].with(|h, ops| h.block_connected(ops, BlockHeight(1001)));
    assert_eq!(net.nodes[2].store().invoices().unwrap()[0].status, InvoiceStatus::Expired);
    net.nodes[0].core.lock().unwrap().view.now = NOW + 10;
    let err = net.pay(0, &issued.bolt11, None).await.unwrap_err();
    assert!(err.to_string().contains("incorrect_or_unknown_payment_details"), "{err}");
}

/// Peer input: whatever payload the onion carries and whatever amount and expiry the HTLC
/// has, the handler never panics and does exactly one thing with it (forward or settle).
#[test]
fn any_incoming_htlc_is_forwarded_or_settled_exactly_once() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, alice) = key(1);
    let (_, charlie) = key(3);
    let (_, bob_id) = key(2);
    let channels =
        vec![channel(12, alice, Some(policy(1000))), channel(23, charlie, Some(policy(1000)))];
    let bob = std::cell::RefCell::new(runtime.block_on(TestNode::new(2, channels)));
    let secp = Secp256k1::new();
    let session = SecretKey::from_slice(&[8; 32]).unwrap();
    let next_id = std::cell::Cell::new(0u64);
    // Random bytes, or well-formed forward and final payloads with random values (so the
    // checks after decoding run too).
    let forward = (any::<u64>(), any::<u32>(), prop_oneof![Just(23u64), any::<u64>()]).prop_map(
        |(amount, expiry, scid)| {
            shandian_onion::ForwardPayload {
                amt_to_forward: Msat(amount),
                outgoing_cltv_value: shandian_types::CltvExpiry(expiry),
                short_channel_id: ShortChannelId(scid),
            }
            .encode()
        },
    );
    let last =
        (any::<u64>(), any::<u32>(), any::<[u8; 32]>()).prop_map(|(amount, expiry, secret)| {
            let mut payload =
                shandian_onion::FinalPayload::new(Msat(amount), shandian_types::CltvExpiry(expiry));
            payload.payment_data = Some(shandian_onion::PaymentData {
                payment_secret: PaymentSecret(secret),
                total_msat: Msat(amount),
            });
            payload.encode()
        });
    let payload = prop_oneof![proptest::collection::vec(any::<u8>(), 2..300), forward, last];
    let strategy = (payload, any::<bool>(), 0..2_000_000_000u64, 900..1200u32, any::<bool>());
    let config = proptest::test_runner::Config::with_cases(128);
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |(payload, two_hops, amount, expiry, must_fail)| {
        let hash = PaymentPreimage([9; 32]).hash();
        let mut hops = vec![(bob_id.public_key(), payload)];
        if two_hops {
            let last =
                shandian_onion::FinalPayload::new(Msat(amount), shandian_types::CltvExpiry(expiry));
            hops.push((charlie.public_key(), last.encode()));
        }
        let onion = shandian_onion::build_onion(&secp, &session, &hops, hash.as_bytes()).unwrap();
        let add = UpdateAddHtlc {
            channel_id: ChannelId([12; 32]),
            id: next_id.get(),
            amount_msat: Msat(amount),
            payment_hash: hash,
            cltv_expiry: shandian_types::CltvExpiry(expiry),
            onion_routing_packet: shandian_wire::OnionPacket::new(onion.packet.to_bytes()),
            blinding_point: None,
        };
        next_id.set(next_id.get() + 1);
        let mut bob = bob.borrow_mut();
        let channel = ChannelId([12; 32]);
        bob.with(|h, ops| h.htlc_incoming(ops, &channel, &add, must_fail));
        let (added, settled) = (bob.take_added(), bob.take_settled());
        prop_assert_eq!(added.len() + settled.len(), 1);
        if must_fail {
            prop_assert!(added.is_empty());
        }
        Ok(())
    });
    result.unwrap();
}

#[tokio::test]
async fn an_attempt_with_an_unreadable_route_still_resolves_after_a_restart() {
    let (_, bob) = key(2);
    let node = TestNode::new(1, vec![channel(12, bob, None)]).await;
    let hash = PaymentPreimage([4; 32]).hash();
    node.core.lock().unwrap().batch(|ops| {
        let payment =
            crate::store::NewPayment { payment_hash: hash, invoice: None, amount: Msat(5) };
        ops.store().start_payment(&payment, NOW)?;
        let attempt = crate::store::NewAttempt {
            payment_hash: hash,
            channel_id: ChannelId([12; 32]),
            htlc_id: 0,
            amount: Msat(5),
            fee: Msat(0),
            route: b"not a route".to_vec(),
        };
        ops.store().add_attempt(&attempt, NOW)
    });
    let mut node = node.restart().await;
    let update = Update::Fail(UpdateFailHtlc {
        channel_id: ChannelId([12; 32]),
        id: 0,
        reason: vec![0; 300],
        attribution_data: None,
    });
    node.with(|h, ops| h.htlc_failed(ops, &ChannelId([12; 32]), 0, &update));
    let payment = node.store().payment(&hash).unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Failed);
    assert!(payment.failure.unwrap().starts_with("payment failed somewhere on the route"));
}
