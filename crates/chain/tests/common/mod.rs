//! Shared test fixtures.

#![allow(dead_code)]

pub mod memory_chain;

use std::sync::Arc;

use bitcoin::{Network, ScriptBuf};
use shandian_chain::{EmbeddedChain, Wallet};
use shandian_regtest::RegtestChain;

/// A fresh embedded regtest chain in a temporary directory.
pub struct Regtest {
    pub dir: tempfile::TempDir,
    pub chain: Arc<RegtestChain>,
    pub source: EmbeddedChain,
}

impl Regtest {
    pub fn new() -> Regtest {
        let dir = tempfile::tempdir().unwrap();
        let chain = RegtestChain::open(dir.path().join("chain")).unwrap();
        let source = EmbeddedChain::new(chain.clone());
        Regtest { dir, chain, source }
    }

    /// Mines `n` blocks paying to `script`.
    pub fn mine_to(&self, n: u32, script: &ScriptBuf) {
        self.chain.mine(n, script).unwrap();
    }

    /// Mines `n` blocks paying nobody we know.
    pub fn mine(&self, n: u32) {
        self.mine_to(n, &burn());
    }

    /// A wallet with `seed` in this test's directory under `name`.
    pub fn wallet(&self, name: &str, seed: u8) -> Wallet {
        Wallet::open(&self.dir.path().join(name), &[seed; 32], Network::Regtest, None).unwrap()
    }
}

/// A script no test wallet owns (anyone-can-spend segwit v0 would be nonstandard; use a
/// P2WSH of OP_TRUE so outputs to it are standard).
pub fn burn() -> ScriptBuf {
    let op_true = ScriptBuf::from_bytes(vec![0x51]);
    ScriptBuf::new_p2wsh(&op_true.wscript_hash())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}
