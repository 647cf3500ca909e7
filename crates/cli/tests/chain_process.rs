//! `shandian chain` as a user runs it: a bitcoind-style client talks JSON-RPC to it with the
//! cookie it wrote, mines blocks, stops it with `stop`, and finds the same tip after a restart.

mod common;

use std::process::Command;

use common::ChainProcess;
use serde_json::json;

#[test]
fn mines_over_rpc_stops_and_restarts_at_the_same_tip() {
    let dir = tempfile::tempdir().unwrap();

    let mut chain = ChainProcess::start(dir.path());
    assert_eq!(chain.height(), 0);
    chain.mine(3);
    assert_eq!(chain.height(), 3);
    let best = chain.rpc("getbestblockhash", json!([]));
    chain.rpc("stop", json!([]));
    assert!(chain.wait_exit().success(), "stop ends the process cleanly");

    let mut chain = ChainProcess::start(dir.path());
    assert_eq!(chain.height(), 3);
    assert_eq!(chain.rpc("getbestblockhash", json!([])), best);
    // SIGTERM, as a service manager sends it, also stops the chain cleanly.
    let term = Command::new("kill").args(["-TERM", &chain.pid().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(chain.wait_exit().success(), "SIGTERM ends the process cleanly");
    assert!(!dir.path().join(".cookie").exists(), "a clean stop removes the cookie");
}
