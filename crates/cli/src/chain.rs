//! `shandian chain`: the embedded regtest chain behind a bitcoind-compatible JSON-RPC server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use shandian_regtest::rpc::{RpcAuth, RpcServer};
use shandian_regtest::RegtestChain;

/// Arguments of `shandian chain`.
#[derive(clap::Args)]
pub struct ChainArgs {
    /// Where blocks, the chainstate and the mempool are kept; created if missing.
    #[arg(long)]
    data_dir: PathBuf,
    /// Address of the JSON-RPC server.
    #[arg(long, default_value = "127.0.0.1:18443")]
    rpc: SocketAddr,
    /// RPC user name; without it (and --rpc-password) a `.cookie` file is written instead.
    #[arg(long, requires = "rpc_password")]
    rpc_user: Option<String>,
    /// RPC password.
    #[arg(long, requires = "rpc_user")]
    rpc_password: Option<String>,
}

/// Opens the chain and serves RPC until SIGINT, SIGTERM or the `stop` method.
pub fn run(args: ChainArgs) -> anyhow::Result<()> {
    crate::logging::init();
    let auth = match (args.rpc_user, args.rpc_password) {
        (Some(user), Some(password)) => RpcAuth::UserPassword { user, password },
        _ => RpcAuth::Cookie,
    };
    let chain = RegtestChain::open(&args.data_dir)
        .with_context(|| format!("opening the chain in {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = RpcServer::bind(chain.clone(), args.rpc, auth)
            .await
            .with_context(|| format!("binding the RPC server to {}", args.rpc))?;
        let addr = server.local_addr()?;
        let tip = chain.tip();
        tracing::info!("regtest chain at height {} ({}); JSON-RPC on {addr}", tip.height, tip.hash);
        server.run(crate::logging::shutdown_signal()).await.context("serving JSON-RPC")
    })
}
