//! `shandian node`: the Lightning daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use bitcoin::Network;
use shandian_chain::RpcAuth;
use shandian_node::api::ApiConfig;
use shandian_node::daemon::DaemonConfig;
use shandian_node::onchain::ChainConfig;
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
    /// The JSON-RPC URL of the bitcoind (or `shandian chain`) the node follows, e.g.
    /// http://127.0.0.1:18443.
    #[arg(long, value_name = "URL")]
    bitcoind_rpc: Option<String>,
    /// RPC user name (with --bitcoind-password).
    #[arg(long, requires = "bitcoind_password", conflicts_with = "bitcoind_cookie")]
    bitcoind_user: Option<String>,
    /// RPC password (with --bitcoind-user).
    #[arg(long, requires = "bitcoind_user")]
    bitcoind_password: Option<String>,
    /// The RPC cookie file the server writes (bitcoind's `<datadir>/regtest/.cookie`,
    /// `shandian chain`'s `<data-dir>/.cookie`).
    #[arg(long, value_name = "FILE")]
    bitcoind_cookie: Option<PathBuf>,
}

impl NodeArgs {
    /// Which chain to follow: `--bitcoind-rpc` is required.
    fn chain(&self) -> anyhow::Result<ChainConfig> {
        let Some(url) = self.bitcoind_rpc.clone() else {
            if self.network == Network::Regtest {
                bail!(
                    "the node needs a chain: start one with `shandian chain --data-dir CHAIN_DIR \
                     --rpc 127.0.0.1:18443` and pass `--bitcoind-rpc http://127.0.0.1:18443 \
                     --bitcoind-cookie CHAIN_DIR/.cookie` (or run `shandian demo`)"
                );
            }
            bail!(
                "the node needs a chain: pass --bitcoind-rpc URL of a bitcoind on {}",
                self.network
            );
        };
        let auth = match (&self.bitcoind_user, &self.bitcoind_password, &self.bitcoind_cookie) {
            (Some(user), Some(password), _) => {
                RpcAuth::UserPass { user: user.clone(), password: password.clone() }
            }
            (_, _, Some(cookie)) => RpcAuth::CookieFile(cookie.clone()),
            _ => RpcAuth::None,
        };
        Ok(ChainConfig::BitcoindRpc { url, auth })
    }
}

/// Starts the node and its API and runs them until SIGINT, SIGTERM or `shandian stop`.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    crate::logging::init();
    let mut connect = Vec::new();
    for peer in &args.connect {
        connect.push(parse_peer_address(peer).with_context(|| format!("--connect {peer}"))?);
    }
    let chain = args.chain()?;
    let mut node = NodeConfig::new(args.network, args.data_dir, args.listen);
    node.connect = connect;
    let mut api = ApiConfig::new(args.api);
    api.allow_remote = args.api_allow_remote;
    let config = DaemonConfig { node, api, chain };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(shandian_node::daemon::run(config, crate::logging::shutdown_signal()))?;
    Ok(())
}
