//! Two `shandian node` processes driven only through the client commands: getinfo, connect,
//! listpeers, disconnect and stop; bad input, an absent node and API errors exit non-zero
//! with one line on stderr.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A `shandian node` process with its API on a free loopback port.
struct NodeProcess {
    child: Child,
}

impl NodeProcess {
    fn start(data_dir: &Path) -> NodeProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_shandian"))
            .arg("node")
            .args(["--network", "regtest", "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start shandian node");
        let address = data_dir.join("api-address");
        let deadline = Instant::now() + WAIT;
        while !address.exists() {
            assert!(Instant::now() < deadline, "the node never wrote {}", address.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        NodeProcess { child }
    }

    /// Waits for the process to exit on its own; returns whether it exited successfully.
    fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "the node did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shandian(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run shandian")
}

/// Runs a client command that must succeed and returns its JSON output.
fn ok(args: &[&str], data_dir: &Path) -> Value {
    let output = shandian(args, data_dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?} failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

/// Runs a client command that must fail; returns its one-line reason.
fn fails(args: &[&str], data_dir: &Path) -> String {
    let output = shandian(args, data_dir);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout on failure");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line on stderr, got {stderr:?}");
    stderr
}

/// Polls `listpeers` until it lists `count` peers.
fn wait_peers(data_dir: &Path, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let peers = ok(&["listpeers"], data_dir)["peers"].as_array().unwrap().clone();
        if peers.len() == count {
            return peers;
        }
        assert!(Instant::now() < deadline, "expected {count} peers, have {peers:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_nodes_driven_through_the_client_commands() {
    let (alice_dir, bob_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (alice_dir, bob_dir) = (alice_dir.path(), bob_dir.path());
    let mut alice = NodeProcess::start(alice_dir);
    let mut bob = NodeProcess::start(bob_dir);

    let alice_info = ok(&["getinfo"], alice_dir);
    let bob_info = ok(&["getinfo"], bob_dir);
    assert_eq!(alice_info["network"], "regtest");
    assert_eq!(alice_info["num_peers"], 0);
    let alice_id = alice_info["node_id"].as_str().unwrap().to_owned();
    let bob_id = bob_info["node_id"].as_str().unwrap().to_owned();
    let bob_uri = format!("{bob_id}@{}", bob_info["listen_address"].as_str().unwrap());

    let peer = ok(&["connect", &bob_uri], alice_dir);
    assert_eq!(peer["node_id"], bob_id.as_str());
    assert_eq!(peer["inbound"], false);
    assert_eq!(wait_peers(alice_dir, 1)[0]["node_id"], bob_id.as_str());
    let at_bob = wait_peers(bob_dir, 1);
    assert_eq!(at_bob[0]["node_id"], alice_id.as_str());
    assert_eq!(at_bob[0]["inbound"], true);
    assert_eq!(ok(&["getinfo"], bob_dir)["num_peers"], 1);

    let done = ok(&["disconnect", &bob_id], alice_dir);
    assert_eq!(done["disconnected"], true);
    wait_peers(alice_dir, 0);
    wait_peers(bob_dir, 0);

    // API errors: one line naming the problem.
    let reason = fails(&["disconnect", &bob_id], alice_dir);
    assert!(reason.contains("not connected"), "{reason}");
    let reason = fails(&["connect", "nobody@127.0.0.1:1"], alice_dir);
    assert!(reason.contains("NODEID@HOST:PORT"), "{reason}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let reason = fails(&["connect", &format!("{bob_id}@{closed}")], alice_dir);
    assert!(reason.contains("connecting to"), "{reason}");

    assert_eq!(ok(&["stop"], alice_dir)["stopping"], true);
    assert_eq!(ok(&["stop"], bob_dir)["stopping"], true);
    assert!(alice.wait_exit(), "alice exits cleanly after stop");
    assert!(bob.wait_exit(), "bob exits cleanly after stop");
    assert!(!alice_dir.join("api-address").exists(), "api-address removed at shutdown");

    // The node is gone: the client says so.
    let reason = fails(&["getinfo"], alice_dir);
    assert!(reason.contains("is the node running? no api-address in"), "{reason}");
}

#[test]
fn client_errors_without_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let reason = fails(&["listpeers"], dir.path());
    assert!(reason.contains("is the node running?"), "{reason}");

    // A stale address (the node was killed): unreachable, said in one line.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    std::fs::write(dir.path().join("api-address"), format!("{port}\n")).unwrap();
    std::fs::write(dir.path().join("api-token"), format!("{}\n", "00".repeat(32))).unwrap();
    let reason = fails(&["getinfo"], dir.path());
    assert!(reason.contains("cannot reach its api"), "{reason}");

    // Bad arguments are refused before any call (clap's usage errors span lines; only the
    // exit status matters there).
    let output = shandian(&["connect"], dir.path());
    assert!(!output.status.success());
}
