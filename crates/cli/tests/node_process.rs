//! Two `shandian node` processes (following a `shandian chain` process) peer over TCP: the
//! second dials the first with `--connect`, both log the connection, and the node id survives
//! a restart. Without a chain, the node says how to get one.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `shandian node` whose log lines arrive on a channel.
struct NodeProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl NodeProcess {
    fn start(data_dir: &Path, chain: &common::ChainProcess, extra: &[String]) -> NodeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shandian"))
            .arg("node")
            .args(["--network", "regtest", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--bitcoind-rpc", &chain.url, "--bitcoind-cookie"])
            .arg(chain.dir.join(".cookie"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shandian node");
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        NodeProcess { child, lines }
    }

    /// Waits for a log line containing `needle` and returns it.
    fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no log line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Node id and listen address from the start-up line `node <id> listening on <addr>`.
    fn identity(&self) -> (String, String) {
        let line = self.wait_for(" listening on ");
        let after_node = line.split("node ").nth(1).unwrap();
        let node_id = after_node.split_whitespace().next().unwrap().to_owned();
        let addr = line.split("listening on ").nth(1).unwrap().split_whitespace().next().unwrap();
        assert_eq!(node_id.len(), 66, "{line}");
        assert!(node_id.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
        (node_id, addr.to_owned())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_node_processes_connect_and_keep_their_identity() {
    let alice_dir = tempfile::tempdir().unwrap();
    let bob_dir = tempfile::tempdir().unwrap();
    let chain_dir = tempfile::tempdir().unwrap();
    let chain = common::ChainProcess::start(chain_dir.path());

    let alice = NodeProcess::start(alice_dir.path(), &chain, &[]);
    let (alice_id, alice_addr) = alice.identity();

    let bob = NodeProcess::start(
        bob_dir.path(),
        &chain,
        &["--connect".into(), format!("{alice_id}@{alice_addr}")],
    );
    let (bob_id, _) = bob.identity();
    assert_ne!(alice_id, bob_id);
    // Both sides finish the handshake and exchange init.
    alice.wait_for(&format!("peer={bob_id}"));
    bob.wait_for(&format!("peer={alice_id}"));

    drop(bob);
    let bob_again = NodeProcess::start(bob_dir.path(), &chain, &[]);
    assert_eq!(bob_again.identity().0, bob_id, "the node secret is reused");
}

#[test]
fn a_malformed_connect_argument_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .arg("node")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--connect", "nonsense"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--connect nonsense"), "{stderr}");
}

#[test]
fn without_a_chain_the_node_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .arg("node")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("shandian chain") && stderr.contains("--bitcoind-rpc"), "{stderr}");
}
