//! Two channel state machines wired through in-memory queues, with a checker that every
//! batch honours the persist-before-send rule, and Bitcoin Core script verification.
#![allow(dead_code)]

use bitcoin::consensus::serialize;
use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use shandian_channel::{
    Action, ChainEvent, Channel, ChannelConfig, ChannelRecord, ChannelSigner, ChannelType, Command,
    Error, Event, NewHtlc, OpenRequest, Policy, Removal,
};
use shandian_types::{ChannelId, CltvExpiry, FeeratePerKw, Msat, PaymentHash, PaymentPreimage};
use shandian_wire::{Message, OnionPacket, ONION_PACKET_LEN};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

pub const FUNDING: u64 = 10_000_000; // sat

/// The test node seed; side a derives its channel keys at index 1, side b at index 2.
pub const NODE_SEED: [u8; 32] = [0x5e; 32];

/// The signer of key index `index`, freshly derived from [`NODE_SEED`] (as after a restart).
pub fn signer(index: u32) -> ChannelSigner {
    ChannelSigner::from_node_seed(&NODE_SEED, index).unwrap()
}

/// Decodes stored bytes as a restarting node would: the signer re-derived from the seed.
pub fn decode_record(bytes: &[u8]) -> Result<ChannelRecord, Error> {
    ChannelRecord::decode_with_seed(bytes, &NODE_SEED)
}

pub fn config(tag: u8) -> ChannelConfig {
    let mut policy = Policy::new(ChainHash::REGTEST);
    policy.min_funding = Amount::from_sat(10_000);
    ChannelConfig {
        policy,
        dust_limit: Amount::from_sat(546),
        max_htlc_value_in_flight: Msat(FUNDING * 1000),
        htlc_minimum: Msat(1_000),
        to_self_delay: 144,
        max_accepted_htlcs: 483,
        reserve_permille: 10,
        minimum_depth: 3,
        max_dust_exposure: Msat(5_000_000_000),
        shutdown_script: ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([tag; 20])),
    }
}

/// One side: its channel, inbox, what it persisted, and what it reported.
pub struct Side {
    pub channel: Option<Channel>,
    pub inbox: VecDeque<Message>,
    pub record: Option<ChannelRecord>,
    pub events: Vec<Event>,
    pub broadcasts: Vec<Transaction>,
    pub preimages: BTreeMap<PaymentHash, PaymentPreimage>,
}

impl Side {
    fn new(channel: Channel) -> Side {
        Side {
            channel: Some(channel),
            inbox: VecDeque::new(),
            record: None,
            events: Vec::new(),
            broadcasts: Vec::new(),
            preimages: BTreeMap::new(),
        }
    }

    pub fn channel(&self) -> &Channel {
        self.channel.as_ref().expect("channel present")
    }

    pub fn take(&mut self) -> Channel {
        self.channel.take().expect("channel present")
    }
}

/// Messages whose sending must follow a persisted record (DESIGN.md §4).
fn needs_record(m: &Message) -> bool {
    matches!(
        m,
        Message::CommitmentSigned(_)
            | Message::RevokeAndAck(_)
            | Message::FundingCreated(_)
            | Message::FundingSigned(_)
            | Message::ClosingSigned(_)
            | Message::Shutdown(_)
    )
}

/// Whether `execute` round-trips every record through its byte encoding (benches turn it
/// off to measure the channel alone).
pub static ROUNDTRIP_RECORDS: AtomicBool = AtomicBool::new(true);

/// Executes one batch of actions for `me`, delivering sends to `peer`'s inbox. Panics if a
/// message that commits state goes out before a record was handed out in the same batch.
pub fn execute(me: &mut Side, peer: &mut VecDeque<Message>, actions: Vec<Action>) {
    let mut persisted = false;
    for action in actions {
        match action {
            Action::Persist(record) => {
                persisted = true;
                // Every persisted record of a funded channel survives its byte encoding
                // (unfunded ones are forgotten on restart, as BOLT 2 allows).
                if !ROUNDTRIP_RECORDS.load(Ordering::Relaxed) {
                    me.record = Some(*record);
                    continue;
                }
                let bytes = record.encode();
                let decoded = decode_record(&bytes).expect("record decodes");
                if record.channel.funded().is_some() {
                    assert_eq!(decoded.encode(), bytes, "record encoding is not stable");
                    me.record = Some(decoded);
                } else {
                    me.record = Some(*record);
                }
            }
            Action::Send(m) => {
                assert!(!needs_record(&m) || persisted, "sent {m:?} before persisting");
                peer.push_back(m);
            }
            Action::Broadcast(tx) => me.broadcasts.push(tx),
            Action::Event(e) => me.events.push(e),
        }
    }
}

pub struct Pair {
    pub a: Side,
    pub b: Side,
    pub funding_tx: Transaction,
    nonce: u64,
}

pub fn funding_tx(script: ScriptBuf, amount: Amount) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array([1; 32]), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: amount, script_pubkey: script }],
    }
}

pub fn request(anchors: bool, push: Msat) -> OpenRequest {
    OpenRequest {
        temporary_channel_id: ChannelId([9; 32]),
        funding: Amount::from_sat(FUNDING),
        push,
        feerate: FeeratePerKw(2500),
        channel_type: ChannelType { anchors, scid_alias: false },
        announce: true,
    }
}

impl Pair {
    /// Opens a channel from `a` (funder) to `b` up to `AwaitingConfirmation`.
    pub fn funded(anchors: bool, push: Msat) -> Pair {
        Pair::funded_with(anchors, push, |_, _| {})
    }

    /// Like [`Pair::funded`], with both configs adjusted by `tweak`.
    pub fn funded_with(
        anchors: bool,
        push: Msat,
        tweak: impl Fn(bool, &mut ChannelConfig),
    ) -> Pair {
        let (mut pair, script_pubkey, amount) = Pair::negotiate(anchors, push, tweak);
        pair.fund(funding_tx(script_pubkey, amount));
        pair
    }

    /// Negotiates a channel from `a` (funder) to `b` up to `FundingNeeded`: returns the pair
    /// with the funding output's script and amount, for the caller to build the funding
    /// transaction ([`Pair::fund`]).
    pub fn negotiate(
        anchors: bool,
        push: Msat,
        tweak: impl Fn(bool, &mut ChannelConfig),
    ) -> (Pair, ScriptBuf, Amount) {
        let (keys_a, keys_b) = (signer(1), signer(2));
        let (mut config_a, mut config_b) = (config(1), config(2));
        tweak(true, &mut config_a);
        tweak(false, &mut config_b);
        let (a, out) = Channel::open(config_a, keys_a, &request(anchors, push)).unwrap();
        let Some(Action::Send(Message::OpenChannel(open))) = out.first() else { panic!("open") };
        let (b, out_b) = Channel::accept(config_b, keys_b, open).unwrap();
        let mut pair = Pair {
            a: Side::new(a),
            b: Side::new(b),
            funding_tx: funding_tx(ScriptBuf::new(), Amount::ZERO),
            nonce: 0,
        };
        execute(&mut pair.b, &mut pair.a.inbox, out_b);
        pair.deliver(true);
        let Some(Event::FundingNeeded { script_pubkey, amount, .. }) =
            pair.a.events.last().cloned()
        else {
            panic!("funding needed")
        };
        (pair, script_pubkey, amount)
    }

    /// Hands `a` its funding transaction; both sides exchange signatures and `a` broadcasts it.
    pub fn fund(&mut self, tx: Transaction) {
        self.funding_tx = tx;
        self.command(true, Command::FundingTransaction(self.funding_tx.clone())).unwrap();
        self.run();
        assert_eq!(self.a.broadcasts.first(), Some(&self.funding_tx));
    }

    /// Opens and confirms: both sides reach `Normal`.
    pub fn open(anchors: bool, push: Msat) -> Pair {
        let mut pair = Pair::funded(anchors, push);
        pair.confirm(3);
        assert!(matches!(pair.a.channel(), Channel::Normal(_)), "a: {:?}", phase(pair.a.channel()));
        assert!(matches!(pair.b.channel(), Channel::Normal(_)), "b: {:?}", phase(pair.b.channel()));
        pair
    }

    pub fn confirm(&mut self, depth: u32) {
        self.confirm_at(100, 1, depth);
    }

    /// Tells both sides the funding transaction is `depth` deep, at `block_height`, index
    /// `tx_index`.
    pub fn confirm_at(&mut self, block_height: u32, tx_index: u32, depth: u32) {
        let event = ChainEvent::FundingConfirmed {
            tx: self.funding_tx.clone(),
            block_height,
            tx_index,
            depth,
        };
        for to_a in [true, false] {
            let side = if to_a { &mut self.a } else { &mut self.b };
            let (channel, actions) = side.take().handle_chain_event(&event);
            side.channel = Some(channel);
            let (me, peer) = self.sides(to_a);
            execute(me, &mut peer.inbox, actions);
        }
        self.run();
    }

    /// Drops the connection (losing everything in flight), restarts the sides marked in
    /// `crash` (a, b) from their last persisted record, and reconnects both.
    pub fn reconnect(&mut self, crash: (bool, bool)) {
        for (on_a, crashed) in [(true, crash.0), (false, crash.1)] {
            let (me, _) = self.sides(on_a);
            me.inbox.clear();
            let channel = match (crashed, me.record.clone()) {
                (true, Some(record)) => record.restore(),
                _ => me.take().disconnected().0,
            };
            me.channel = Some(channel);
        }
        for on_a in [true, false] {
            let (me, peer) = self.sides(on_a);
            let (channel, actions) = me.take().connected();
            me.channel = Some(channel);
            execute(me, &mut peer.inbox, actions);
        }
    }

    pub fn sides(&mut self, a: bool) -> (&mut Side, &mut Side) {
        if a {
            (&mut self.a, &mut self.b)
        } else {
            (&mut self.b, &mut self.a)
        }
    }

    /// Delivers one message from `to_a`'s inbox; returns false if it was empty.
    pub fn deliver(&mut self, to_a: bool) -> bool {
        let (me, peer) = self.sides(to_a);
        let Some(msg) = me.inbox.pop_front() else {
            return false;
        };
        let (channel, actions) = me.take().handle_message(&msg);
        me.channel = Some(channel);
        execute(me, &mut peer.inbox, actions);
        true
    }

    /// Delivers until both inboxes are empty.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            if !self.deliver(true) && !self.deliver(false) {
                return;
            }
        }
        panic!("no quiescence");
    }

    pub fn command(&mut self, on_a: bool, cmd: Command) -> Result<(), Error> {
        let (me, peer) = self.sides(on_a);
        let (channel, result) = me.take().handle_command(cmd);
        me.channel = Some(channel);
        execute(me, &mut peer.inbox, result?);
        Ok(())
    }

    /// Offers an HTLC from `from_a`; returns its preimage.
    pub fn add(&mut self, from_a: bool, amount: u64) -> Result<PaymentPreimage, Error> {
        self.nonce += 1;
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&self.nonce.to_be_bytes());
        let preimage = PaymentPreimage(bytes);
        let htlc = NewHtlc {
            amount: Msat(amount),
            payment_hash: preimage.hash(),
            cltv_expiry: CltvExpiry(1_000),
            onion: OnionPacket::new([0; ONION_PACKET_LEN]),
            blinding_point: None,
        };
        self.command(from_a, Command::AddHtlc(htlc))?;
        let (me, _) = self.sides(from_a);
        me.preimages.insert(preimage.hash(), preimage);
        Ok(preimage)
    }

    /// Settles every HTLC `on_a` received that is committed: fulfill (or fail when `fail`).
    pub fn settle_incoming(&mut self, on_a: bool, fail: bool) -> usize {
        let (me, peer) = self.sides(on_a);
        let incoming: Vec<_> = me
            .channel()
            .funded()
            .map(|f| f.log().unresolved_incoming().iter().map(|h| (h.id, h.payment_hash)).collect())
            .unwrap_or_default();
        me.events.retain(|e| !matches!(e, Event::HtlcIncoming { .. }));
        let removals: Vec<_> = incoming
            .into_iter()
            .map(|(id, hash)| match peer.preimages.get(&hash) {
                Some(p) if !fail => (id, Removal::Fulfill(*p)),
                _ => (id, Removal::Fail(vec![0; 32])),
            })
            .collect();
        let mut settled = 0;
        for (id, removal) in removals {
            // Refused while disconnected: the HTLC stays unresolved and is retried later.
            if self.command(on_a, Command::RemoveHtlc { id, removal }).is_ok() {
                settled += 1;
            }
        }
        settled
    }

    /// A full payment: add, commit, settle, commit.
    pub fn pay(&mut self, from_a: bool, amount: u64) {
        self.add(from_a, amount).unwrap();
        self.command(from_a, Command::Commit).unwrap();
        self.run();
        assert_eq!(self.settle_incoming(!from_a, false), 1);
        self.command(!from_a, Command::Commit).unwrap();
        self.run();
    }

    pub fn balances(&self) -> (Msat, Msat) {
        let spec = &self.a.channel().funded().unwrap().log().holder_commitment().spec;
        (spec.to_holder, spec.to_counterparty)
    }
}

pub fn phase(c: &Channel) -> &'static str {
    match c {
        Channel::OutboundOpening(_) => "OutboundOpening",
        Channel::AwaitingFundingTx(_) => "AwaitingFundingTx",
        Channel::InboundOpening(_) => "InboundOpening",
        Channel::AwaitingFundingSigned(_) => "AwaitingFundingSigned",
        Channel::AwaitingConfirmation(_) => "AwaitingConfirmation",
        Channel::Normal(_) => "Normal",
        Channel::ShuttingDown(_) => "ShuttingDown",
        Channel::Negotiating(_) => "Negotiating",
        Channel::Closed(_) => "Closed",
    }
}

/// Verifies every input of `tx` spending `spent` with Bitcoin Core's script interpreter.
pub fn kernel_verify(tx: &Transaction, spent: &[TxOut]) {
    let bytes = serialize(tx);
    let ktx = bitcoinkernel::Transaction::new(&bytes).expect("kernel parses tx");
    let scripts: Vec<_> = spent
        .iter()
        .map(|o| bitcoinkernel::ScriptPubkey::new(o.script_pubkey.as_bytes()).unwrap())
        .collect();
    let outs: Vec<_> = spent
        .iter()
        .zip(&scripts)
        .map(|(o, s)| bitcoinkernel::TxOut::new(s, o.value.to_sat() as i64))
        .collect();
    let data = bitcoinkernel::PrecomputedTransactionData::new(&ktx, &outs).unwrap();
    for (i, (o, script)) in spent.iter().zip(&scripts).enumerate() {
        let result = bitcoinkernel::verify(
            script,
            Some(o.value.to_sat() as i64),
            &ktx,
            i,
            Some(bitcoinkernel::VERIFY_ALL),
            &data,
        );
        assert!(
            result.is_ok(),
            "input {i} of {} fails Bitcoin Core verification: {result:?}",
            tx.compute_txid()
        );
    }
}

/// Verifies `side`'s latest commitment and its HTLC transactions with Bitcoin Core.
pub fn verify_holder_commitment(side: &Side, funding_tx: &Transaction) -> usize {
    let funded = side.channel().funded().expect("funded");
    let (commitment, htlc_txs) = funded.holder_commitment_txs().unwrap();
    let vout = funded.setup().funding.outpoint.vout as usize;
    kernel_verify(&commitment, &[funding_tx.output[vout].clone()]);
    for tx in &htlc_txs {
        let prev = tx.input[0].previous_output;
        assert_eq!(prev.txid, commitment.compute_txid());
        kernel_verify(tx, &[commitment.output[prev.vout as usize].clone()]);
    }
    htlc_txs.len()
}
