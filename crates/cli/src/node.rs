//! `shandian node`: the Lightning daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bitcoin::Network;
use shandian_node::api::ApiConfig;
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
    /// Address of the HTTP/JSON API the client commands use; port 0 picks a free port. The
    /// address actually bound is written to `<data-dir>/api-address`.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    api: SocketAddr,
    /// Allow `--api` on a non-loopback address (anyone who can reach it and has the token in
    /// `<data-dir>/api-token` controls the node).
    #[arg(long)]
    api_allow_remote: bool,
}

/// Starts the node and its API and runs them until SIGINT, SIGTERM or `shandian stop`.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    crate::logging::init();
    let mut config = NodeConfig::new(args.network, args.data_dir, args.listen);
    for peer in &args.connect {
        config.connect.push(parse_peer_address(peer).with_context(|| format!("--connect {peer}"))?);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut api = ApiConfig::new(args.api);
    api.allow_remote = args.api_allow_remote;
    runtime.block_on(shandian_node::api::run(config, api, crate::logging::shutdown_signal()))?;
    Ok(())
}
