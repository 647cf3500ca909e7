//! Restart safety (issue 7, part 6), with real processes: Alice, Bob and Charlie as
//! `shandian node` processes following a `shandian chain` process. A node is killed with
//! SIGKILL in the middle of a payment (payer, forwarder or payee, at several moments) or of a
//! cooperative close, and started again. Afterwards the channels are back (reestablished),
//! every payment ended exactly once (one entry in `listpayments`, succeeded or failed, and
//! the invoice paid exactly when the payment succeeded), and both sides of every channel
//! agree on the balances, which moved by exactly the payment's amount and fee or not at all.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ChainProcess, NodeProcess, WAIT};
use serde_json::Value;

const CAPACITY_SAT: u64 = 1_000_000;
const AMOUNT_MSAT: u64 = 20_000_000;

struct Network {
    chain: ChainProcess,
    alice: NodeProcess,
    bob: NodeProcess,
    charlie: NodeProcess,
    /// Channel ids: Alice–Bob, Bob–Charlie.
    ab: String,
    bc: String,
    /// Kept (not deleted) when a test fails, for the nodes' logs.
    dir: Option<tempfile::TempDir>,
}

impl Drop for Network {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!("test directory kept for its logs: {}", dir.keep().display());
            }
        }
    }
}

/// One side of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sides {
    local: u64,
    remote: u64,
}

fn channel<'a>(listing: &'a Value, id: &str) -> Option<&'a Value> {
    listing["channels"].as_array()?.iter().find(|c| c["channel_id"].as_str() == Some(id))
}

fn is_normal(listing: &Value, id: &str) -> bool {
    channel(listing, id).is_some_and(|c| c["state"] == "normal")
}

impl Network {
    fn start() -> Network {
        let dir = tempfile::tempdir().unwrap();
        let chain = ChainProcess::start(&dir.path().join("chain"));
        let alice = NodeProcess::start(&dir.path().join("alice"), &chain);
        let bob = NodeProcess::start(&dir.path().join("bob"), &chain);
        let charlie = NodeProcess::start(&dir.path().join("charlie"), &chain);
        chain.mine_to(1, &alice.new_address());
        chain.mine_to(1, &bob.new_address());
        chain.mine(100);
        for node in [&alice, &bob] {
            node.wait_for("mature coins", &["getbalance"], |b| {
                b["confirmed_sat"].as_u64() > Some(0)
            });
        }
        alice.ok(&["connect", &bob.uri()]);
        bob.ok(&["connect", &charlie.uri()]);
        let amount = CAPACITY_SAT.to_string();
        let ab = alice.ok(&["openchannel", &bob.node_id(), &amount]);
        let bc = bob.ok(&["openchannel", &charlie.node_id(), &amount, "--private"]);
        for opened in [&ab, &bc] {
            chain.wait_in_mempool(opened["funding_txid"].as_str().unwrap());
        }
        let ab = ab["channel_id"].as_str().unwrap().to_owned();
        let bc = bc["channel_id"].as_str().unwrap().to_owned();
        chain.mine(6);
        let net = Network { chain, alice, bob, charlie, ab, bc, dir: Some(dir) };
        net.wait_normal();
        net
    }

    /// Waits until both channels are in `normal` on both sides.
    fn wait_normal(&self) {
        for (node, id) in [
            (&self.alice, &self.ab),
            (&self.bob, &self.ab),
            (&self.bob, &self.bc),
            (&self.charlie, &self.bc),
        ] {
            node.wait_for("channel normal", &["listchannels"], |l| is_normal(l, id));
        }
        for (node, peer) in [(&self.alice, &self.bob), (&self.bob, &self.charlie)] {
            let id = peer.node_id();
            node.wait_for("the peer connected", &["listpeers"], |l| {
                l["peers"].as_array().is_some_and(|p| p.iter().any(|p| p["node_id"] == id))
            });
        }
    }

    /// The balances of channel `id` as `a` and `b` see them, once both sides agree (no HTLC
    /// in flight and both views match); panics if they never do.
    fn agreed(&self, a: &NodeProcess, b: &NodeProcess, id: &str) -> (Sides, Sides) {
        let deadline = Instant::now() + WAIT;
        loop {
            let sides = |node: &NodeProcess| {
                let listing = node.ok(&["listchannels"]);
                channel(&listing, id).filter(|c| c["state"] == "normal").map(|c| {
                    let sides = Sides {
                        local: c["local_msat"].as_u64().unwrap(),
                        remote: c["remote_msat"].as_u64().unwrap(),
                    };
                    (sides, c["htlcs"].as_u64().unwrap())
                })
            };
            if let (Some((x, x_htlcs)), Some((y, y_htlcs))) = (sides(a), sides(b)) {
                if x.local == y.remote && x.remote == y.local && x_htlcs == 0 && y_htlcs == 0 {
                    // Nothing in flight: the channel's funds are all in the two balances.
                    assert_eq!(x.local + x.remote, CAPACITY_SAT * 1000, "{id}: funds lost");
                    return (x, y);
                }
                assert!(
                    Instant::now() < deadline,
                    "{id}: the sides never agreed: {x:?} ({x_htlcs} HTLCs) vs {y:?} ({y_htlcs})"
                );
            } else {
                assert!(Instant::now() < deadline, "{id}: not normal on both sides");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Alice's side of Alice–Bob, Bob's side of Bob–Charlie.
    fn balances(&self) -> (Sides, Sides) {
        let (alice, _) = self.agreed(&self.alice, &self.bob, &self.ab);
        let (bob, _) = self.agreed(&self.bob, &self.charlie, &self.bc);
        (alice, bob)
    }

    fn node(&mut self, who: Who) -> &mut NodeProcess {
        match who {
            Who::Alice => &mut self.alice,
            Who::Bob => &mut self.bob,
            Who::Charlie => &mut self.charlie,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Alice,
    Bob,
    Charlie,
}

/// `shandian pay` started in the background.
fn spawn_pay(dir: &Path, invoice: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["pay", invoice, "--timeout", "90", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The entries of Alice's `listpayments` for `hash`, once it is no longer pending.
fn final_payment(alice: &NodeProcess, hash: &str) -> Value {
    let listing = alice.wait_for("the payment to end", &["listpayments"], |l| {
        let mine: Vec<&Value> = entries(l, "payments", hash);
        mine.len() == 1 && mine[0]["status"] != "pending"
    });
    let mine = entries(&listing, "payments", hash);
    assert_eq!(mine.len(), 1, "exactly one payment for {hash}: {listing}");
    mine[0].clone()
}

fn entries<'a>(listing: &'a Value, key: &str, hash: &str) -> Vec<&'a Value> {
    listing[key]
        .as_array()
        .map(|all| all.iter().filter(|p| p["payment_hash"].as_str() == Some(hash)).collect())
        .unwrap_or_default()
}

/// Pays Charlie from Alice, kills `victim` `delay` after the payment starts, restarts it, and
/// checks that the payment ended exactly once and the balances moved accordingly.
fn crash_mid_payment(net: &mut Network, victim: Who, delay: Duration) {
    let (alice_before, bob_before) = net.balances();
    let invoice = net.charlie.ok(&["invoice", &AMOUNT_MSAT.to_string(), "crash test"]);
    let bolt11 = invoice["bolt11"].as_str().unwrap().to_owned();
    let hash = invoice["payment_hash"].as_str().unwrap().to_owned();

    let mut pay = spawn_pay(&net.alice.dir, &bolt11);
    std::thread::sleep(delay);
    net.node(victim).restart();
    let pay_succeeded = pay.wait().unwrap().success();
    net.wait_normal();

    let invoices = net.charlie.ok(&["listinvoices"]);
    let invoice = entries(&invoices, "invoices", &hash);
    assert_eq!(invoice.len(), 1, "{invoices}");
    let listing = net.alice.ok(&["listpayments"]);
    if entries(&listing, "payments", &hash).is_empty() {
        // Alice was killed before the payment was recorded: it never started.
        let context = format!("{victim:?} killed after {delay:?}: no payment");
        eprintln!("{context}");
        assert!(matches!(victim, Who::Alice) && !pay_succeeded, "{context}");
        assert_ne!(invoice[0]["status"], "paid", "{context}");
        assert_eq!(net.balances(), (alice_before, bob_before), "{context}");
        return;
    }
    let payment = final_payment(&net.alice, &hash);
    let (alice_after, bob_after) = net.balances();
    // The invoice's status may lag the payment's by one batch at Charlie.
    let invoices = net.charlie.ok(&["listinvoices"]);
    let invoice = entries(&invoices, "invoices", &hash);
    let context = format!("{victim:?} killed after {delay:?}: {payment}");
    eprintln!("{victim:?} killed after {delay:?}: {}", payment["status"]);
    match payment["status"].as_str() {
        Some("succeeded") => {
            let fee = payment["fee_msat"].as_u64().unwrap();
            assert_eq!(invoice[0]["status"], "paid", "{context}");
            assert_eq!(alice_after.local, alice_before.local - AMOUNT_MSAT - fee, "{context}");
            assert_eq!(bob_after.local, bob_before.local - AMOUNT_MSAT, "{context}");
            assert!(payment["preimage"].is_string(), "{context}");
        }
        Some("failed") => {
            assert_ne!(invoice[0]["status"], "paid", "{context}");
            assert_eq!(alice_after, alice_before, "{context}");
            assert_eq!(bob_after, bob_before, "{context}");
        }
        other => panic!("unexpected status {other:?}: {context}"),
    }
}

/// How long one payment takes from `shandian pay` starting to its exit (the median of 3).
fn payment_duration(net: &Network) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let invoice = net.charlie.ok(&["invoice", &AMOUNT_MSAT.to_string(), "timing"]);
            let started = Instant::now();
            net.alice.ok(&["pay", invoice["bolt11"].as_str().unwrap()]);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

#[test]
fn kill_9_mid_payment_at_each_hop_and_restart() {
    let mut net = Network::start();
    // Kill at fractions of a payment's duration, so the HTLC is on its way out, at Bob, at
    // Charlie or on its way back, depending on the run.
    let duration = payment_duration(&net);
    eprintln!("a payment takes {duration:?}");
    for percent in [20u32, 45, 70, 95] {
        for victim in [Who::Bob, Who::Alice, Who::Charlie] {
            crash_mid_payment(&mut net, victim, duration * percent / 100);
        }
    }
    // After all that, a plain payment still works end to end.
    crash_mid_payment(&mut net, Who::Bob, Duration::from_secs(5));
}

#[test]
fn kill_9_mid_close_and_restart() {
    let mut net = Network::start();
    let before = net.alice.ok(&["getbalance"])["total_sat"].as_u64().unwrap();
    let (alice_side, _) = net.balances();
    let mut close = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["closechannel", &net.ab, "--data-dir"])
        .arg(&net.alice.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    net.alice.restart();
    let _ = close.wait();
    // The close either went through before the kill or is asked for again; it completes.
    let listing = net.alice.wait_for("the channel back", &["listchannels"], |l| {
        channel(l, &net.ab).is_some_and(|c| c["state"] == "normal" || c["closing_txid"].is_string())
    });
    if !channel(&listing, &net.ab).is_some_and(|c| c["closing_txid"].is_string()) {
        // Not closed before the kill: close again once Bob is back.
        let bob_id = net.bob.node_id();
        net.alice.wait_for("Bob reconnected", &["listpeers"], |l| {
            l["peers"].as_array().is_some_and(|p| p.iter().any(|p| p["node_id"] == bob_id))
        });
        // Reestablishing takes a round trip after the connection: retry until it is done.
        let deadline = Instant::now() + WAIT;
        while !net.alice.run(&["closechannel", &net.ab]).status.success() {
            assert!(Instant::now() < deadline, "closechannel kept failing");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let closing = net.alice.wait_for("a closing tx", &["listchannels"], |l| {
        channel(l, &net.ab).is_some_and(|c| c["closing_txid"].is_string())
    });
    let txid = channel(&closing, &net.ab).unwrap()["closing_txid"].as_str().unwrap().to_owned();
    net.chain.wait_in_mempool(&txid);
    net.chain.mine(1);
    let tx = net.chain.rpc("getrawtransaction", serde_json::json!([txid, true]));
    // Bob's side is empty (nothing was paid), so every output is Alice's: her side minus the
    // closing fee she pays as the funder.
    let outputs: u64 = tx["vout"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["value"].as_f64().unwrap() * 1e8).round() as u64)
        .sum();
    assert!(outputs > 0 && outputs <= alice_side.local / 1000, "{tx}");
    let expected = before + outputs;
    net.alice.wait_for("the closed channel's funds", &["getbalance"], |b| {
        b["total_sat"].as_u64() == Some(expected)
    });
}

/// How many payments are in flight at once in the many-payments scenario.
const MANY: usize = 20;
/// What each of them pays.
const SMALL_MSAT: u64 = 3_000_000;

/// Starts `MANY` payments from Alice to Charlie at once (one `shandian pay` process each),
/// kills every one of `victims` `delay` after the start, restarts them, waits for every
/// payment to end, and checks them one by one and in sum: a payment succeeded exactly when
/// Charlie's invoice is paid, and the balances moved by exactly the amounts and fees of the
/// payments that succeeded. Returns how long the payments took when nobody was killed.
fn crash_many(net: &mut Network, victims: &[Who], delay: Duration) -> Duration {
    let (alice_before, bob_before) = net.balances();
    let invoices: Vec<(String, String)> = (0..MANY)
        .map(|i| {
            let invoice =
                net.charlie.ok(&["invoice", &SMALL_MSAT.to_string(), &format!("many {i}")]);
            let text = |key: &str| invoice[key].as_str().unwrap().to_owned();
            (text("bolt11"), text("payment_hash"))
        })
        .collect();
    let started = Instant::now();
    let pays: Vec<Child> =
        invoices.iter().map(|(bolt11, _)| spawn_pay(&net.alice.dir, bolt11)).collect();
    if !victims.is_empty() {
        std::thread::sleep(delay);
        for victim in victims {
            net.node(*victim).restart();
        }
    }
    for mut pay in pays {
        pay.wait().unwrap();
    }
    let took = started.elapsed();
    net.wait_normal();

    let context = format!("{victims:?} killed after {delay:?}");
    // Every payment Alice recorded ends (succeeded or failed), exactly once.
    let hashes: Vec<&str> = invoices.iter().map(|(_, hash)| hash.as_str()).collect();
    let payments = net.alice.wait_for("every payment to end", &["listpayments"], |l| {
        hashes.iter().all(|h| entries(l, "payments", h).iter().all(|p| p["status"] != "pending"))
    });
    let (alice_after, bob_after) = net.balances();
    let listed_invoices = net.charlie.ok(&["listinvoices"]);
    let (mut sent, mut received, mut outcomes) = (0, 0, Vec::new());
    for hash in &hashes {
        let invoice = entries(&listed_invoices, "invoices", hash);
        assert_eq!(invoice.len(), 1, "{context}: {listed_invoices}");
        let paid = invoice[0]["status"] == "paid";
        let mine = entries(&payments, "payments", hash);
        assert!(mine.len() <= 1, "{context}: one payment per hash: {payments}");
        let status = mine.first().and_then(|p| p["status"].as_str()).unwrap_or("never started");
        assert!(mine.is_empty() || matches!(status, "succeeded" | "failed"), "{context}: {status}");
        // Without Alice being killed every payment is recorded.
        assert!(!mine.is_empty() || victims.iter().any(|v| matches!(v, Who::Alice)), "{context}");
        assert_eq!(paid, status == "succeeded", "{context}: invoice {hash} vs payment {status}");
        if let Some(payment) = mine.first().filter(|_| status == "succeeded") {
            assert_eq!(payment["amount_msat"].as_u64(), Some(SMALL_MSAT), "{context}: {payment}");
            assert!(payment["preimage"].is_string(), "{context}: {payment}");
            sent += SMALL_MSAT + payment["fee_msat"].as_u64().unwrap();
            received += SMALL_MSAT;
        }
        outcomes.push(status);
    }
    let succeeded = outcomes.iter().filter(|s| **s == "succeeded").count();
    eprintln!("{context}: {succeeded} of {MANY} succeeded ({outcomes:?})");
    assert!(!victims.is_empty() || succeeded == MANY, "{context}: nobody was killed");
    // Alice paid exactly what the succeeded payments cost; Bob forwarded exactly their
    // amounts to Charlie (and kept the fees on the Alice–Bob channel).
    assert_eq!(alice_after.local, alice_before.local - sent, "{context}");
    assert_eq!(alice_after.remote, alice_before.remote + sent, "{context}");
    assert_eq!(bob_after.local, bob_before.local - received, "{context}");
    assert_eq!(bob_after.remote, bob_before.remote + received, "{context}");
    took
}

#[test]
fn kill_9_with_many_payments_in_flight() {
    let mut net = Network::start();
    // Nobody killed: how long MANY concurrent payments take here.
    let duration = crash_many(&mut net, &[], Duration::ZERO);
    eprintln!("{MANY} concurrent payments take {duration:?}");
    let at = |percent: u32| duration * percent / 100;
    crash_many(&mut net, &[Who::Bob], at(30));
    crash_many(&mut net, &[Who::Alice], at(50));
    crash_many(&mut net, &[Who::Charlie], at(40));
    crash_many(&mut net, &[Who::Alice, Who::Bob], at(70));
    crash_many(&mut net, &[Who::Bob], at(10));
    // After all that, every payment goes through again.
    crash_many(&mut net, &[], Duration::ZERO);
}
