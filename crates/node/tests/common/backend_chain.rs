//! A chain backend alone on the embedded regtest chain, for tests of the backend itself:
//! starting it with the test seed, and mining blocks it then follows. Included by those tests
//! with `#[path]`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Network, ScriptBuf, WScriptHash};
use shandian_node::onchain::{ChainBackend, ChainConfig};
use shandian_regtest::RegtestChain;
use shandian_types::BlockHeight;
use tokio::sync::watch;

/// The wallet seed of the test backends.
pub const SEED: [u8; 32] = [42; 32];

/// How long the backend may take to follow mined blocks (a few hundred at once, on a loaded
/// machine).
const FOLLOW: Duration = Duration::from_secs(120);

/// A script no wallet here owns (blocks mined to it change no balance).
pub fn foreign_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([7; 32]))
}

/// Starts a backend with [`SEED`] in `dir`; it runs until the returned sender is dropped or
/// says stop.
pub async fn start(chain: &Arc<RegtestChain>, dir: &Path) -> (ChainBackend, watch::Sender<bool>) {
    let (stop, shutdown) = watch::channel(false);
    let config = ChainConfig::Embedded(Arc::clone(chain));
    let backend = ChainBackend::start(config, dir, &SEED, Network::Regtest, shutdown)
        .await
        .expect("backend starts");
    (backend, stop)
}

/// Mines `n` blocks to `script` and waits until the backend delivered them.
pub async fn mine(backend: &ChainBackend, n: u32, script: &ScriptBuf) -> BlockHeight {
    let chain = backend.regtest().expect("embedded").clone();
    let script = script.clone();
    tokio::task::spawn_blocking(move || chain.mine(n, &script).expect("mines")).await.unwrap();
    let tip = backend.regtest().unwrap().tip().height;
    tokio::time::timeout(FOLLOW, backend.wait_for_height(BlockHeight(tip)))
        .await
        .expect("backend follows the chain")
        .expect("backend runs");
    BlockHeight(tip)
}
