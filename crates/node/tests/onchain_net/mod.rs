//! Alice –(her funds)– Bob –(his funds)– Charlie over real TCP on the embedded regtest chain,
//! each node with its channel manager, payments and monitor, for tests of HTLCs that end on
//! chain: Bob reaches Charlie through a relay that can swallow Charlie's messages, and
//! Charlie's incoming HTLCs wait at a gate until the test releases them.
#![allow(dead_code)] // Each test crate uses part of it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::payments_harness::*;
use bitcoin::Amount;
use shandian_channel::{Htlc, Update};
use shandian_node::channels::OpenedChannel;
use shandian_node::payments::{PayError, PaySuccess};
use shandian_node::store::{
    ClaimStatus, ForwardStatus, InvoiceStatus, OnchainOutcome, Store, StoreError,
};
use shandian_node::switch::{ChannelOps, HtlcHandler};
use shandian_regtest::RegtestChain;
use shandian_types::{BlockHeight, ChannelId, Msat, PaymentHash, PaymentPreimage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PAY_TIMEOUT: Duration = Duration::from_secs(600);

/// A TCP relay in front of a node; once `blackhole` is set, everything that node sends is
/// swallowed (the other side never hears it, the node thinks it was sent).
pub struct Relay {
    pub addr: SocketAddr,
    pub blackhole: Arc<AtomicBool>,
}

pub async fn relay(to: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let blackhole = Arc::new(AtomicBool::new(false));
    let hole = blackhole.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(to).await else { continue };
            let (mut in_read, mut in_write) = inbound.into_split();
            let (mut out_read, mut out_write) = outbound.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut in_read, &mut out_write).await;
            });
            let hole = hole.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = match out_read.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if !hole.load(Ordering::SeqCst) && in_write.write_all(&buf[..n]).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    Relay { addr, blackhole }
}

/// Charlie's payment logic behind a gate: incoming HTLCs wait until the test releases them.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<Mutex<Option<Box<dyn HtlcHandler>>>>,
    held: Arc<Mutex<Vec<(ChannelId, Htlc)>>>,
}

impl Gate {
    pub fn wrap(&self, inner: Box<dyn HtlcHandler>) -> Box<dyn HtlcHandler> {
        *self.inner.lock().unwrap() = Some(inner);
        Box::new(self.clone())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut dyn HtlcHandler) -> R) -> R {
        f(self.inner.lock().unwrap().as_mut().expect("wrapped").as_mut())
    }

    pub fn held(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    /// Hands the held HTLCs to the real payment logic, in one batch.
    pub async fn release(&self, node: &TestNode) {
        let gate = self.clone();
        node.channels
            .execute(move |ops| {
                let held: Vec<_> = gate.held.lock().unwrap().drain(..).collect();
                for (channel, htlc) in held {
                    gate.with(|h| h.htlc_incoming(ops, &channel, &htlc, false)).unwrap();
                }
            })
            .await
            .unwrap();
    }
}

impl HtlcHandler for Gate {
    fn htlc_incoming(
        &mut self,
        _: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc: &Htlc,
        _: bool,
    ) -> Result<(), StoreError> {
        let mut held = self.held.lock().unwrap();
        if !held.iter().any(|(c, h)| c == channel_id && h.id == htlc.id) {
            held.push((*channel_id, htlc.clone()));
        }
        Ok(())
    }

    fn htlc_fulfilled(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        preimage: PaymentPreimage,
    ) -> Result<(), StoreError> {
        self.with(|h| h.htlc_fulfilled(ops, channel_id, htlc_id, preimage))
    }

    fn htlc_failed(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        update: &Update,
    ) -> Result<(), StoreError> {
        self.with(|h| h.htlc_failed(ops, channel_id, htlc_id, update))
    }

    fn htlc_dropped(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
    ) -> Result<(), StoreError> {
        self.with(|h| h.htlc_dropped(ops, channel_id, htlc_id))
    }

    fn block_connected(
        &mut self,
        ops: &mut dyn ChannelOps,
        height: BlockHeight,
    ) -> Result<(), StoreError> {
        self.with(|h| h.block_connected(ops, height))
    }
}

pub struct Net {
    pub chain: Arc<RegtestChain>,
    pub alice: TestNode,
    pub bob: TestNode,
    pub charlie: TestNode,
    pub gate: Gate,
    pub relay: Relay,
    pub ab: OpenedChannel,
    pub bc: OpenedChannel,
    pub _dir: tempfile::TempDir,
}

impl Net {
    pub fn all(&self) -> [&TestNode; 3] {
        [&self.alice, &self.bob, &self.charlie]
    }

    pub async fn mine(&self, n: u32) {
        mine(&self.chain, &self.all(), n, &foreign_script()).await;
    }
}

/// Alice –(her funds)– Bob –(his funds)– Charlie; Bob reaches Charlie through a relay, and
/// Charlie's incoming HTLCs wait at a gate.
pub async fn net() -> Net {
    let dir = tempfile::tempdir().unwrap();
    let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
    let alice = TestNode::start(&chain, &dir.path().join("alice")).await;
    let bob = TestNode::start(&chain, &dir.path().join("bob")).await;
    let gate = Gate::default();
    let charlie = TestNode::start_with(&chain, &dir.path().join("charlie"), |h| gate.wrap(h)).await;
    let all = [&alice, &bob, &charlie];
    fund_wallet(&chain, &alice, &[&bob, &charlie]).await;
    fund_wallet(&chain, &bob, &[&alice, &charlie]).await;
    alice.connect(&bob).await;
    let relay = relay(charlie.node.listen_addr()).await;
    tokio::time::timeout(WAIT, bob.node.connect_now(charlie.id(), relay.addr))
        .await
        .expect("connects in time")
        .expect("connects");
    let ab = open(&chain, &all, &alice, &bob, Msat::ZERO).await;
    let bc = open(&chain, &all, &bob, &charlie, Msat::ZERO).await;
    Net { chain, alice, bob, charlie, gate, relay, ab, bc, _dir: dir }
}

/// Alice starts paying a fresh invoice of Charlie's; returns once Charlie holds the HTLC.
pub async fn pay_until_held(
    net: &Net,
    amount: Msat,
) -> (PaymentHash, tokio::task::JoinHandle<Result<PaySuccess, PayError>>) {
    let invoice = net.charlie.payments.create_invoice(Some(amount), "x".into(), None).await;
    let invoice = invoice.unwrap();
    let payments = net.alice.payments.clone();
    let bolt11 = invoice.bolt11.clone();
    let paying = tokio::spawn(async move { payments.pay(&bolt11, None, PAY_TIMEOUT).await });
    let deadline = tokio::time::Instant::now() + WAIT;
    while net.gate.held() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the HTLC never reached Charlie");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (invoice.payment_hash, paying)
}

/// Mines one block at a time until `paying` ends (at most `blocks`).
pub async fn mine_until_done<T>(net: &Net, paying: &tokio::task::JoinHandle<T>, blocks: u32) {
    for _ in 0..blocks {
        if paying.is_finished() {
            return;
        }
        net.mine(1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_finished(paying).await;
}

/// Waits until `paying` ends.
pub async fn wait_finished<T>(paying: &tokio::task::JoinHandle<T>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !paying.is_finished() {
        assert!(tokio::time::Instant::now() < deadline, "the payment never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Charlie fulfils the HTLC he holds, but his messages stop reaching Bob: Bob learns the
/// preimage only once they reconnect. (Charlie checks the HTLC's expiry against the height
/// when he accepts it: he must not wait for blocks to be mined.)
pub async fn charlie_fulfils_unheard(net: &Net) {
    net.relay.blackhole.store(true, Ordering::SeqCst);
    net.gate.release(&net.charlie).await;
    // Charlie has fulfilled (and signed) once his payment logic marked the invoice paid.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let invoices = net.charlie.payments.list_invoices().await.unwrap();
        if invoices.iter().any(|i| i.status == InvoiceStatus::Paid) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Charlie never took the payment");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// While Bob is down: mines one block at a time (followed by Alice and Charlie) until
/// Charlie's HTLC-success claim is confirmed.
pub async fn mine_until_charlie_claims(
    chain: &Arc<RegtestChain>,
    alice: &TestNode,
    charlie: &TestNode,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        mine(chain, &[alice, charlie], 1, &foreign_script()).await;
        let status = charlie.monitor.status().await;
        let success = status.iter().flat_map(|s| &s.claims).find(|c| c.kind == "HtlcSuccess");
        if success.is_some_and(|c| c.status == ClaimStatus::Confirmed) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Charlie's claim never confirmed");
    }
}

/// Waits until `node`'s monitor has seen the funding spend of `channel`; returns how it
/// closed.
pub async fn wait_for_close(node: &TestNode, channel: ChannelId) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = node.monitor.status().await;
        let close = status.iter().find(|s| s.channel_id == channel).and_then(|s| s.close.clone());
        if let Some(close) = close {
            return close;
        }
        assert!(tokio::time::Instant::now() < deadline, "the monitor never saw the close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `node`'s wallet holds `expected` in total.
pub async fn wait_balance(node: &TestNode, expected: Amount) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let total = node.chain.balance().await.total();
        if total == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "wallet holds {total}, not {expected}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn onchain_outcomes(node: &TestNode, channel: ChannelId) -> Vec<(OnchainOutcome, bool)> {
    let store = Store::open(&node.dir).unwrap();
    let all = store.onchain_htlcs(&channel).unwrap();
    all.into_iter().map(|h| (h.outcome, h.reported_at.is_some())).collect()
}

/// Bob, restarted after Charlie took the HTLC on chain with the preimage while Bob was down,
/// connects to Alice: he learned the preimage from the chain, reports it once, and fulfils
/// her upstream, so her payment for `hash` succeeds.
pub async fn bob_fulfils_alice_from_the_chain(
    alice: &TestNode,
    bob: &TestNode,
    bc: ChannelId,
    hash: PaymentHash,
    paying: tokio::task::JoinHandle<Result<PaySuccess, PayError>>,
) {
    alice.connect(bob).await;
    wait_finished(&paying).await;
    let paid = paying.await.unwrap().expect("Alice's payment succeeds");
    assert_eq!(paid.preimage.hash(), hash);
    assert_eq!(onchain_outcomes(bob, bc), vec![(OnchainOutcome::Fulfilled(paid.preimage), true)]);
    let forwards = bob.payments.list_forwards().await.unwrap();
    assert_eq!(forwards[0].status, ForwardStatus::Fulfilled);
}
