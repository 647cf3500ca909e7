//! The CPU work per HTLC on the payment path, without the store's fsync (see `store.rs` for
//! that) or the channel's signatures (see the channel crate's `payment` bench):
//!
//! - `send`: the payer computes a two-hop route and builds its onion;
//! - `forward`: the relaying node peels the onion, decodes its payload and decides;
//! - `receive`: the payee peels, decodes and checks the HTLC against its invoice;
//! - `attribute`: the payer decodes a failure from the second hop;
//! - `payments_handler/forward`: the whole forward in Bob's handler, with the forward's row
//!   written into the batch's transaction (rolled back, no fsync).
//!
//! Measured 2026-11-24 on the 2-core VM shared with other helpers' builds (so upper bounds;
//! two runs, quiet / loaded): send 234 / 327 µs, forward 123 / 132 µs (the next hop's key
//! blinding is a point multiplication), receive 66 / 93 µs, attribute 30 / 62 µs (27 rounds
//! whatever the route length, BOLT 4), the handler's whole forward with its store row 200 µs
//! (loaded). So the payment logic's CPU allows roughly 2,000+ payments/s per core for a hop;
//! the node's throughput is bounded elsewhere (commitment signatures, fsync).

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shandian_channel::{NewHtlc, Removal};
use shandian_node::payments::receive::{self, KnownInvoice, Receipt};
use shandian_node::payments::{forward, Candidate, HintHop, Route};
use shandian_node::payments::{Payments, PaymentsConfig};
use shandian_node::store::{InvoiceStatus, Store, StoreError};
use shandian_node::switch::{ChannelOps, ChannelSummary, HtlcOpError, RelayPolicy};
use shandian_onion::{
    build_payment_onion, create_failure_packet, decode_failure, obfuscate_failure, peel,
    FailureMessage, FinalPayload, ForwardPayload, OnionPacket, Peeled,
};
use shandian_types::{
    BlockHeight, ChannelId, CltvExpiryDelta, Msat, NodeId, PaymentPreimage, PaymentSecret,
    ShortChannelId,
};
use shandian_wire::UpdateAddHtlc;

const HEIGHT: BlockHeight = BlockHeight(1000);
const NOW: u64 = 1_700_000_000;

struct Setup {
    bob: SecretKey,
    charlie: SecretKey,
    charlie_id: NodeId,
    candidate: Candidate,
    preimage: PaymentPreimage,
    secret: PaymentSecret,
}

fn setup() -> Setup {
    let secp = Secp256k1::new();
    let bob = SecretKey::from_slice(&[2; 32]).expect("key");
    let charlie = SecretKey::from_slice(&[3; 32]).expect("key");
    let bob_id = NodeId::from(PublicKey::from_secret_key(&secp, &bob));
    let charlie_id = NodeId::from(PublicKey::from_secret_key(&secp, &charlie));
    let hop = HintHop {
        from: bob_id,
        short_channel_id: ShortChannelId(23),
        fee_base_msat: 1000,
        fee_proportional_millionths: 100,
        cltv_expiry_delta: CltvExpiryDelta(40),
    };
    let candidate =
        Candidate { channel_id: ChannelId([12; 32]), first_node: bob_id, hops: vec![hop] };
    Setup {
        bob,
        charlie,
        charlie_id,
        candidate,
        preimage: PaymentPreimage([9; 32]),
        secret: PaymentSecret([5; 32]),
    }
}

fn route(s: &Setup) -> Route {
    shandian_node::payments::compute_route(
        &s.candidate,
        ShortChannelId(12),
        s.charlie_id,
        Msat(1_000_000),
        HEIGHT,
        CltvExpiryDelta(40),
    )
    .expect("route")
}

fn add(
    route: &Route,
    index: usize,
    packet: &OnionPacket,
    hash: shandian_types::PaymentHash,
) -> UpdateAddHtlc {
    UpdateAddHtlc {
        channel_id: ChannelId([12; 32]),
        id: 0,
        amount_msat: route.hops[index].amount,
        payment_hash: hash,
        cltv_expiry: route.hops[index].cltv_expiry,
        onion_routing_packet: shandian_wire::OnionPacket::new(packet.to_bytes()),
        blinding_point: None,
    }
}

fn out_channel(peer: NodeId) -> ChannelSummary {
    ChannelSummary {
        channel_id: ChannelId([23; 32]),
        peer: peer.public_key(),
        short_channel_id: Some(ShortChannelId(23)),
        usable: true,
        public: false,
        capacity: bitcoin::Amount::from_sat(1_000_000),
        outbound: Msat(500_000_000),
        inbound: Msat(500_000_000),
        htlc_minimum: Msat(1),
        local_policy: RelayPolicy {
            base_fee: Msat(1000),
            proportional_millionths: 100,
            cltv_expiry_delta: CltvExpiryDelta(40),
            htlc_minimum: Msat(1),
            htlc_maximum: Msat(u64::MAX),
        },
        remote_policy: None,
    }
}

fn per_htlc(c: &mut Criterion) {
    let s = setup();
    let secp = Secp256k1::new();
    let hash = s.preimage.hash();
    let session = SecretKey::from_slice(&[7; 32]).expect("key");
    let route = route(&s);
    let onion = build_payment_onion(&secp, &session, &route.payloads(s.secret, None), &hash)
        .expect("onion");
    let at_bob = add(&route, 0, &onion.packet, hash);
    let next = match peel(&secp, &s.bob, &onion.packet, hash.as_bytes()).expect("peel").peeled {
        Peeled::Forward { next_packet, .. } => *next_packet,
        Peeled::Final { .. } => panic!("bob forwards"),
    };
    let at_charlie = add(&route, 1, &next, hash);
    let out = out_channel(s.charlie_id);
    let invoice = KnownInvoice {
        preimage: s.preimage,
        payment_secret: s.secret,
        amount: Some(Msat(1_000_000)),
        created_at: NOW,
        expiry_secs: 3600,
        status: InvoiceStatus::Unpaid,
        received: None,
        paid_by: None,
    };

    let mut group = c.benchmark_group("payments_per_htlc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send", |b| {
        b.iter(|| {
            let route = self::route(&s);
            build_payment_onion(&secp, &session, &route.payloads(s.secret, None), &hash)
                .expect("onion")
        })
    });
    group.bench_function("forward", |b| {
        b.iter(|| {
            let packet = OnionPacket::from_bytes(at_bob.onion_routing_packet.as_bytes());
            let peeled = peel(&secp, &s.bob, &packet, hash.as_bytes()).expect("peel");
            let Peeled::Forward { payload, next_packet } = peeled.peeled else { panic!("forward") };
            let payload = ForwardPayload::decode(&payload).expect("payload");
            forward::check(&at_bob, &payload, Some(&out), HEIGHT, 36).expect("forwardable");
            next_packet
        })
    });
    group.bench_function("receive", |b| {
        b.iter(|| {
            let packet = OnionPacket::from_bytes(at_charlie.onion_routing_packet.as_bytes());
            let peeled = peel(&secp, &s.charlie, &packet, hash.as_bytes()).expect("peel");
            let Peeled::Final { payload } = peeled.peeled else { panic!("final") };
            let payload = FinalPayload::decode(&payload).expect("payload");
            let receipt = receive::check(
                &ChannelId([23; 32]),
                &at_charlie,
                &payload,
                Some(&invoice),
                HEIGHT,
                NOW,
                CltvExpiryDelta(40),
            );
            assert!(matches!(receipt, Receipt::Accept(_)));
        })
    });
    let mut failure =
        create_failure_packet(&onion.shared_secrets[1], &FailureMessage::TemporaryNodeFailure)
            .expect("failure");
    obfuscate_failure(&onion.shared_secrets[0], &mut failure);
    group.bench_function("attribute", |b| {
        b.iter(|| decode_failure(&onion.shared_secrets, &failure).expect("decodes").hop)
    });
    group.finish();
}

/// The channel manager's side, reduced to what a forward touches: one outgoing channel, HTLC
/// ids, and the batch's store transaction.
struct ForwardOps<'a, 'w> {
    writer: &'a shandian_node::store::Writer<'w>,
    out: &'a ChannelSummary,
    next_id: &'a mut u64,
    settled: usize,
}

impl ChannelOps for ForwardOps<'_, '_> {
    fn node_id(&self) -> PublicKey {
        self.out.peer
    }
    fn best_block(&self) -> BlockHeight {
        HEIGHT
    }
    fn now(&self) -> u64 {
        NOW
    }
    fn channels(&self) -> Vec<ChannelSummary> {
        vec![self.out.clone()]
    }
    fn channel(&self, _: &ChannelId) -> Option<ChannelSummary> {
        Some(self.out.clone())
    }
    fn channel_by_scid(&self, scid: ShortChannelId) -> Option<ChannelSummary> {
        (self.out.short_channel_id == Some(scid)).then(|| self.out.clone())
    }
    fn add_htlc(&mut self, _: &ChannelId, _: NewHtlc) -> Result<u64, HtlcOpError> {
        *self.next_id += 1;
        Ok(*self.next_id)
    }
    fn settle_htlc(&mut self, _: &ChannelId, _: u64, _: Removal) -> Result<(), HtlcOpError> {
        self.settled += 1;
        Ok(())
    }
    fn store(&self) -> &shandian_node::store::Writer<'_> {
        self.writer
    }
    fn after_commit(&mut self, _: Box<dyn FnOnce() + Send>) {}
}

/// Bob's handler forwarding one HTLC, with the forward written into the batch's transaction
/// (rolled back each time, so no fsync: that is the store bench's).
fn handler_forward(c: &mut Criterion) {
    let s = setup();
    let secp = Secp256k1::new();
    let hash = s.preimage.hash();
    let session = SecretKey::from_slice(&[7; 32]).expect("key");
    let route = route(&s);
    let onion = build_payment_onion(&secp, &session, &route.payloads(s.secret, None), &hash)
        .expect("onion");
    let mut add = add(&route, 0, &onion.packet, hash);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = PaymentsConfig::new(bitcoin::Network::Regtest);
    let (_payments, mut handler) = Payments::new(config, dir.path(), s.bob).expect("payments");
    let mut store = Store::open(dir.path()).expect("store");
    let out = out_channel(s.charlie_id);
    let mut next_id = 0u64;
    let mut group = c.benchmark_group("payments_handler");
    group.throughput(Throughput::Elements(1));
    group.bench_function("forward", |b| {
        b.iter(|| {
            add.id += 1;
            let result: Result<(), StoreError> = store.write(|writer| {
                let mut ops = ForwardOps { writer, out: &out, next_id: &mut next_id, settled: 0 };
                handler.htlc_incoming(&mut ops, &ChannelId([12; 32]), &add, false)?;
                assert_eq!(ops.settled, 0, "forwarded");
                Err(StoreError::OutOfRange("rolled back"))
            });
            assert!(result.is_err());
        })
    });
    group.finish();
}

criterion_group!(benches, per_htlc, handler_forward);
criterion_main!(benches);
