//! Crash safety: a child process writes to the store in a loop and is SIGKILLed at random
//! moments; afterwards the database opens, passes SQLite's integrity check, and holds every
//! write whose call had returned (the child prints an acknowledgement after each), intact.
//! Batches are atomic, and in-flight payments left by a crash resolve exactly once.
//!
//! SIGKILL loses the process, not the OS page cache, so this proves atomicity and recovery
//! of the WAL, not the fsync itself (that needs power-loss testing; `synchronous=FULL` is
//! what the store relies on for it).

use shandian_node::store::{
    AttemptStatus, NewAttempt, NewInvoice, NewPayment, PaymentStatus, Resolution, Store,
};
use shandian_types::{ChannelId, Msat, NodeId, PaymentPreimage, PaymentSecret};
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "SHANDIAN_STORE_CRASH_CHILD";
const SINGLE_CHANNELS: u64 = 8;
/// Channels always written together in one transaction.
const BATCH_CHANNELS: [u8; 4] = [100, 101, 102, 103];

fn peer() -> NodeId {
    "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798".parse().unwrap()
}

/// The record stored for channel `c` at sequence `n`: its length and bytes depend on both,
/// so a torn or misplaced write cannot pass for a good one.
fn record(c: u8, n: u64) -> Vec<u8> {
    let len = 16 + (n * 37 % 2000) as usize;
    let mut bytes = Vec::with_capacity(len);
    bytes.extend_from_slice(&u64::from(c).to_be_bytes());
    bytes.extend_from_slice(&n.to_be_bytes());
    bytes.extend(
        (16..len).map(|i| (i as u64).wrapping_mul(31).wrapping_add(n ^ u64::from(c)) as u8),
    );
    bytes
}

fn preimage(n: u64) -> PaymentPreimage {
    let mut p = [0u8; 32];
    p[..8].copy_from_slice(&n.to_be_bytes());
    PaymentPreimage(p)
}

fn ack(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // Only printed after the write returned; if stdout is gone the parent is gone too.
    let _ = writeln!(out, "ACK {line}");
    let _ = out.flush();
}

/// Child entry point: does nothing unless re-executed by `sigkill_loses_no_acknowledged_write`
/// with the data directory in `SHANDIAN_STORE_CRASH_CHILD`.
#[test]
fn crash_child_writer() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        write_forever(Path::new(&dir));
    }
}

/// What a restarting node does: every pending payment resolves once (HTLCs in flight settle
/// with the preimage here; payments that never sent one fail).
fn resolve_pending(store: &mut Store, at: u64) -> Vec<(u64, Resolution)> {
    let mut resolved = Vec::new();
    for (payment, attempts) in store.pending_payments().unwrap() {
        let inflight: Vec<_> =
            attempts.iter().filter(|a| a.status == AttemptStatus::InFlight).collect();
        let outcome = match inflight.first() {
            Some(a) => {
                let p =
                    preimage(u64::from_be_bytes(a.attempt.route.as_slice().try_into().unwrap()));
                store.succeed_attempt(a.attempt_id, &p, at).unwrap()
            }
            None => {
                store.fail_payment(&payment.payment_hash, "no HTLC sent before crash", at).unwrap()
            }
        };
        resolved.push((payment.amount.0, outcome));
    }
    resolved
}

fn write_forever(dir: &Path) -> ! {
    let mut store = Store::open(dir).unwrap();
    for (n, outcome) in resolve_pending(&mut store, 1) {
        ack(format_args!("resolved {n} {outcome:?}"));
    }
    let start = store.load_channels().unwrap().iter().map(|c| c.update_seq).max().unwrap_or(0);
    let peer = peer();
    for n in start + 1.. {
        let c = (n % SINGLE_CHANNELS) as u8;
        store.save_channel(&ChannelId([c; 32]), &peer, n, &record(c, n)).unwrap();
        ack(format_args!("channel {c} {n}"));
        if n % 3 == 0 {
            store
                .write(|w| {
                    for c in BATCH_CHANNELS {
                        w.save_channel(&ChannelId([c; 32]), &peer, n, &record(c, n))?;
                    }
                    Ok(())
                })
                .unwrap();
            ack(format_args!("batch {n}"));
        }
        let p = preimage(n);
        // The amount carries n so the parent can find the payment again.
        let payment = NewPayment {
            payment_hash: p.hash(),
            invoice: Some(format!("inv{n}")),
            amount: Msat(n),
        };
        store.start_payment(&payment, n).unwrap();
        ack(format_args!("started {n}"));
        let attempt = NewAttempt {
            payment_hash: p.hash(),
            channel_id: ChannelId([c; 32]),
            htlc_id: n,
            amount: Msat(n),
            fee: Msat(1),
            route: n.to_be_bytes().to_vec(),
        };
        let id = store.add_attempt(&attempt, n).unwrap();
        ack(format_args!("attempt {n}"));
        assert_eq!(store.succeed_attempt(id, &p, n).unwrap(), Resolution::Recorded);
        ack(format_args!("succeeded {n}"));
        let invoice = NewInvoice {
            preimage: p,
            payment_secret: PaymentSecret([1; 32]),
            bolt11: format!("inv{n}"),
            amount: None,
            description: String::new(),
            expiry_secs: 3600,
            created_at: n,
        };
        store
            .write(|w| {
                w.add_invoice(&invoice)?;
                w.mark_invoice_paid(&p.hash(), Msat(n), n)
            })
            .unwrap();
        ack(format_args!("paid {n}"));
    }
    unreachable_end()
}

fn unreachable_end() -> ! {
    // `n` would need 2^64 iterations to run out.
    std::process::exit(3)
}

fn random_millis(range: std::ops::Range<u64>) -> u64 {
    let r = std::collections::hash_map::RandomState::new().hash_one(0u8);
    range.start + r % (range.end - range.start)
}

/// Runs the child until a random SIGKILL; returns the acknowledged lines.
fn crash_once(dir: &Path) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (acks, acked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines = BufReader::new(stdout).lines().map_while(Result::ok);
        for ack in lines.filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned)) {
            let _ = acks.send(ack);
        }
    });
    // The kill lands a random time after the child's first acknowledged write, not after its
    // start: on a loaded machine starting the child alone can take longer than the window.
    let first = acked.recv_timeout(Duration::from_secs(120)).expect("the child never wrote");
    std::thread::sleep(Duration::from_millis(random_millis(50..800)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The reader ends with the child's stdout; every line it read is in the channel.
    std::iter::once(first).chain(acked.iter()).collect()
}

#[derive(Default)]
struct Acked {
    channels: BTreeMap<u8, u64>,
    batches: u64,
    started: Vec<u64>,
    attempts: Vec<u64>,
    succeeded: Vec<u64>,
    paid: Vec<u64>,
    resolved: usize,
}

fn tally(acked: &mut Acked, lines: &[String]) {
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| words[i].parse::<u64>().unwrap();
        match words[0] {
            "channel" => {
                acked.channels.insert(n(1) as u8, n(2));
            }
            "batch" => acked.batches = n(1),
            "started" => acked.started.push(n(1)),
            "attempt" => acked.attempts.push(n(1)),
            "succeeded" => acked.succeeded.push(n(1)),
            "paid" => acked.paid.push(n(1)),
            "resolved" => acked.resolved += 1,
            other => panic!("unexpected ack {other}"),
        }
    }
}

fn check(dir: &Path, acked: &Acked) {
    let store = Store::open(dir).unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let channels: BTreeMap<u8, (u64, Vec<u8>)> = store
        .load_channels()
        .unwrap()
        .into_iter()
        .map(|c| (c.channel_id.0[0], (c.update_seq, c.record)))
        .collect();
    for (c, (seq, bytes)) in &channels {
        assert_eq!(bytes, &record(*c, *seq), "channel {c} record intact");
    }
    for (c, n) in &acked.channels {
        assert!(channels[c].0 >= *n, "channel {c}: acked {n}, stored {}", channels[c].0);
    }
    if acked.batches > 0 {
        // All-or-nothing: the batch channels always hold the same sequence.
        let seqs: Vec<u64> = BATCH_CHANNELS.iter().map(|c| channels[c].0).collect();
        assert!(seqs.iter().all(|s| *s == seqs[0] && *s >= acked.batches), "{seqs:?}");
    }
    for n in &acked.started {
        assert!(store.payment(&preimage(*n).hash()).unwrap().is_some(), "payment {n}");
    }
    for n in &acked.attempts {
        let c = (n % SINGLE_CHANNELS) as u8;
        let attempt = store.attempt_by_htlc(&ChannelId([c; 32]), *n).unwrap().unwrap();
        assert_eq!(attempt.attempt.payment_hash, preimage(*n).hash());
    }
    for n in &acked.succeeded {
        let payment = store.payment(&preimage(*n).hash()).unwrap().unwrap();
        assert_eq!(
            (payment.status, payment.preimage),
            (PaymentStatus::Succeeded, Some(preimage(*n)))
        );
    }
    for n in &acked.paid {
        assert!(store.invoice(&preimage(*n).hash()).unwrap().unwrap().paid_at == Some(*n));
    }
}

#[test]
fn sigkill_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Acked::default();
    for round in 0..6 {
        let lines = crash_once(dir.path());
        assert!(!lines.is_empty(), "round {round}: the child wrote nothing");
        tally(&mut acked, &lines);
        check(dir.path(), &acked);
    }
    // Recovery: every payment ends exactly once, and a second recovery finds nothing to do.
    let mut store = Store::open(dir.path()).unwrap();
    resolve_pending(&mut store, 2);
    assert!(store.pending_payments().unwrap().is_empty());
    assert!(resolve_pending(&mut store, 3).is_empty());
    let payments = store.payments().unwrap();
    assert!(payments.iter().all(|p| p.status != PaymentStatus::Pending));
    assert!(payments.len() >= acked.started.len());
}
