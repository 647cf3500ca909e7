//! `shandian node`: the Lightning daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use bitcoin::{Amount, Network};
use shandian_chain::RpcAuth;
use shandian_node::api::ApiConfig;
use shandian_node::daemon::DaemonConfig;
use shandian_node::onchain::ChainConfig;
use shandian_node::{parse_peer_address, ChannelsConfig, NodeConfig};
use shandian_types::{CltvExpiryDelta, Msat};

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
    #[command(flatten)]
    channels: ChannelArgs,
}

/// What channels the node opens and accepts, and what it charges to forward over them.
#[derive(clap::Args)]
#[command(next_help_heading = "Channels and forwarding")]
struct ChannelArgs {
    /// Base fee charged for every forwarded HTLC, in millisatoshis (BOLT 7 `fee_base_msat`).
    #[arg(long, value_name = "MSAT")]
    fee_base_msat: Option<u32>,
    /// Proportional fee, in millionths of the forwarded amount
    /// (BOLT 7 `fee_proportional_millionths`).
    #[arg(long, value_name = "PPM")]
    fee_ppm: Option<u32>,
    /// Blocks we require between an HTLC's incoming and outgoing expiry when forwarding.
    #[arg(long, value_name = "BLOCKS", value_parser = clap::value_parser!(u16).range(18..=2016))]
    cltv_expiry_delta: Option<u16>,
    /// The smallest channel we open or accept, in satoshis.
    #[arg(long, value_name = "SAT")]
    min_channel_sat: Option<u64>,
    /// The largest channel we open or accept, in satoshis (at most 16777215).
    #[arg(long, value_name = "SAT")]
    max_channel_sat: Option<u64>,
    /// Confirmations a peer's funding transaction needs before its channel is usable.
    #[arg(long, value_name = "BLOCKS", value_parser = clap::value_parser!(u32).range(1..=100))]
    min_depth: Option<u32>,
    /// Blocks a peer's funds wait after it force-closes (its `to_self_delay`).
    #[arg(long, value_name = "BLOCKS", value_parser = clap::value_parser!(u16).range(6..=2016))]
    to_self_delay: Option<u16>,
}

impl ChannelArgs {
    /// Applies the flags given to the defaults, refusing inconsistent limits.
    fn apply(&self, config: &mut ChannelsConfig) -> anyhow::Result<()> {
        if let Some(msat) = self.fee_base_msat {
            config.relay.base_fee = Msat(u64::from(msat));
        }
        if let Some(ppm) = self.fee_ppm {
            config.relay.proportional_millionths = ppm;
        }
        if let Some(delta) = self.cltv_expiry_delta {
            config.relay.cltv_expiry_delta = CltvExpiryDelta(delta);
        }
        if let Some(sat) = self.min_channel_sat {
            config.min_channel_size = Amount::from_sat(sat);
        }
        if let Some(sat) = self.max_channel_sat {
            // BOLT 2: larger channels need option_support_large_channel, which we do not offer.
            if sat > MAX_CHANNEL_SAT {
                bail!("--max-channel-sat {sat}: at most {MAX_CHANNEL_SAT} (2^24 - 1)");
            }
            config.max_channel_size = Amount::from_sat(sat);
        }
        if config.min_channel_size > config.max_channel_size {
            bail!(
                "--min-channel-sat {} is above --max-channel-sat {}",
                config.min_channel_size.to_sat(),
                config.max_channel_size.to_sat()
            );
        }
        if let Some(depth) = self.min_depth {
            config.minimum_depth = depth;
        }
        if let Some(delay) = self.to_self_delay {
            config.to_self_delay = delay;
        }
        Ok(())
    }
}

/// The largest channel without `option_support_large_channel`.
const MAX_CHANNEL_SAT: u64 = (1 << 24) - 1;

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
    let mut node = NodeConfig::new(args.network, args.data_dir.clone(), args.listen);
    node.connect = connect;
    args.channels.apply(&mut node.channels)?;
    let mut api = ApiConfig::new(args.api);
    api.allow_remote = args.api_allow_remote;
    let config = DaemonConfig { node, api, chain };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(shandian_node::daemon::run(config, crate::logging::shutdown_signal()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        node: NodeArgs,
    }

    fn channels_config(flags: &[&str]) -> anyhow::Result<ChannelsConfig> {
        let mut argv = vec!["shandian", "--data-dir", "/tmp/x"];
        argv.extend_from_slice(flags);
        let cli = Cli::try_parse_from(argv)?;
        let mut config = ChannelsConfig::default();
        cli.node.channels.apply(&mut config)?;
        Ok(config)
    }

    #[test]
    fn fee_and_limit_flags_reach_the_channels_config() {
        let config = channels_config(&[
            "--fee-base-msat",
            "2500",
            "--fee-ppm",
            "300",
            "--cltv-expiry-delta",
            "80",
            "--min-channel-sat",
            "50000",
            "--max-channel-sat",
            "1000000",
            "--min-depth",
            "6",
            "--to-self-delay",
            "720",
        ])
        .unwrap();
        assert_eq!(config.relay.base_fee, Msat(2500));
        assert_eq!(config.relay.proportional_millionths, 300);
        assert_eq!(config.relay.cltv_expiry_delta, CltvExpiryDelta(80));
        assert_eq!(config.min_channel_size, Amount::from_sat(50_000));
        assert_eq!(config.max_channel_size, Amount::from_sat(1_000_000));
        assert_eq!(config.minimum_depth, 6);
        assert_eq!(config.to_self_delay, 720);
        assert_eq!(channels_config(&[]).unwrap(), ChannelsConfig::default());
    }

    #[test]
    fn inconsistent_limits_are_refused_with_a_reason() {
        let error = channels_config(&["--max-channel-sat", "16777216"]).unwrap_err();
        assert!(error.to_string().contains("at most 16777215"), "{error}");
        let error =
            channels_config(&["--min-channel-sat", "500000", "--max-channel-sat", "100000"])
                .unwrap_err();
        assert!(error.to_string().contains("above --max-channel-sat"), "{error}");
        assert!(channels_config(&["--cltv-expiry-delta", "3"]).is_err());
        assert!(channels_config(&["--fee-ppm", "-1"]).is_err());
        assert!(channels_config(&["--to-self-delay", "5000"]).is_err());
    }
}
