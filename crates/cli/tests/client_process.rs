//! Two `shandian node` processes (following a `shandian chain` process) driven only through
//! the client commands: getinfo, connect, listpeers, disconnect and stop; bad input, an absent
//! node and API errors exit non-zero with one line on stderr.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{fails, ok, shandian, ChainProcess, NodeProcess, WAIT};
use serde_json::Value;

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
    let dir = tempfile::tempdir().unwrap();
    let chain = ChainProcess::start(&dir.path().join("chain"));
    let mut alice = NodeProcess::start(&dir.path().join("alice"), &chain);
    let mut bob = NodeProcess::start(&dir.path().join("bob"), &chain);
    let (alice_dir, bob_dir) = (alice.dir.clone(), bob.dir.clone());

    let alice_info = ok(&["getinfo"], &alice_dir);
    let bob_info = ok(&["getinfo"], &bob_dir);
    assert_eq!(alice_info["network"], "regtest");
    assert_eq!(alice_info["num_peers"], 0);
    let alice_id = alice_info["node_id"].as_str().unwrap().to_owned();
    let bob_id = bob_info["node_id"].as_str().unwrap().to_owned();
    let bob_uri = format!("{bob_id}@{}", bob_info["listen_address"].as_str().unwrap());

    let peer = ok(&["connect", &bob_uri], &alice_dir);
    assert_eq!(peer["node_id"], bob_id.as_str());
    assert_eq!(peer["inbound"], false);
    assert_eq!(wait_peers(&alice_dir, 1)[0]["node_id"], bob_id.as_str());
    let at_bob = wait_peers(&bob_dir, 1);
    assert_eq!(at_bob[0]["node_id"], alice_id.as_str());
    assert_eq!(at_bob[0]["inbound"], true);
    assert_eq!(ok(&["getinfo"], &bob_dir)["num_peers"], 1);

    let done = ok(&["disconnect", &bob_id], &alice_dir);
    assert_eq!(done["disconnected"], true);
    wait_peers(&alice_dir, 0);
    wait_peers(&bob_dir, 0);

    // API errors: one line naming the problem.
    let reason = fails(&["disconnect", &bob_id], &alice_dir);
    assert!(reason.contains("not connected"), "{reason}");
    let reason = fails(&["connect", "nobody@127.0.0.1:1"], &alice_dir);
    assert!(reason.contains("NODEID@HOST:PORT"), "{reason}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let reason = fails(&["connect", &format!("{bob_id}@{closed}")], &alice_dir);
    assert!(reason.contains("connecting to"), "{reason}");

    assert_eq!(ok(&["stop"], &alice_dir)["stopping"], true);
    assert_eq!(ok(&["stop"], &bob_dir)["stopping"], true);
    assert!(alice.wait_exit(), "alice exits cleanly after stop");
    assert!(bob.wait_exit(), "bob exits cleanly after stop");
    assert!(!alice_dir.join("api-address").exists(), "api-address removed at shutdown");

    // The node is gone: the client says so.
    let reason = fails(&["getinfo"], &alice_dir);
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
    let output = shandian(&["invoice", "many", "x"], dir.path());
    assert!(!output.status.success());
}
