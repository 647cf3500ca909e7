//! `shandian node`: the Lightning daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bitcoin::Network;
use shandian_node::{parse_peer_address, NodeConfig};
use tracing_subscriber::EnvFilter;

/// Arguments of `shandian node`.
#[derive(clap::Args)]
pub struct NodeArgs {
    /// The chain: bitcoin, testnet, signet or regtest.
    #[arg(long, default_value = "regtest")]
    network: Network,
    /// Where the node keeps its secret and state; created if missing.
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to accept Lightning (BOLT 8) connections on.
    #[arg(long, default_value = "127.0.0.1:9735")]
    listen: SocketAddr,
    /// A peer to dial at start-up and keep connected, as NODEID@HOST:PORT (repeatable).
    #[arg(long = "connect", value_name = "NODEID@HOST:PORT")]
    connect: Vec<String>,
}

/// Starts the node and runs it until Ctrl-C.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    init_logging();
    let mut config = NodeConfig::new(args.network, args.data_dir, args.listen);
    for peer in &args.connect {
        config.connect.push(parse_peer_address(peer).with_context(|| format!("--connect {peer}"))?);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = async {
            // If the signal handler cannot be installed the node still runs until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        shandian_node::run(config, shutdown).await
    })?;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` overrides the default `info` level.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}
