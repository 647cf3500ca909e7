//! `shandian node`: the Lightning daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bitcoin::Network;
use shandian_node::{parse_peer_address, NodeConfig};

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
    crate::logging::init();
    let mut config = NodeConfig::new(args.network, args.data_dir, args.listen);
    for peer in &args.connect {
        config.connect.push(parse_peer_address(peer).with_context(|| format!("--connect {peer}"))?);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async { shandian_node::run(config, crate::logging::ctrl_c()).await })?;
    Ok(())
}
