//! Client commands (`shandian getinfo`, `pay`, ...): call a running node's HTTP/JSON API
//! (found through `--data-dir`) and print the JSON result; on failure, exit non-zero with the
//! node's one-line reason.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Map, Value};

use crate::api_client::{ApiClient, DEFAULT_TIMEOUT};

/// Where to find the node: every client command takes it.
#[derive(clap::Args)]
pub struct NodeLocation {
    /// The data directory of the running node (as given to `shandian node --data-dir`).
    #[arg(long)]
    data_dir: PathBuf,
}

/// A client command and its parameters.
#[derive(clap::Subcommand)]
pub enum ClientCommand {
    /// Show the node's id, network, addresses, block height, peer and channel counts.
    #[command(name = "getinfo")]
    GetInfo {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// Connect to a peer and wait until `init` is exchanged; it is then kept connected.
    Connect {
        #[command(flatten)]
        node: NodeLocation,
        /// The peer, as NODEID@HOST:PORT.
        #[arg(value_name = "NODEID@HOST:PORT")]
        peer: String,
    },
    /// Close the connection to a peer and stop redialling it.
    Disconnect {
        #[command(flatten)]
        node: NodeLocation,
        /// The peer's node id (66 hex digits).
        #[arg(value_name = "NODEID")]
        node_id: String,
    },
    /// List the connected peers.
    #[command(name = "listpeers")]
    ListPeers {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// A fresh on-chain address of the node's wallet.
    #[command(name = "newaddress")]
    NewAddress {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// The on-chain wallet's balance (confirmed, unconfirmed, immature, total), in satoshis.
    #[command(name = "getbalance")]
    GetBalance {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// Pay satoshis on chain from the wallet to an address; returns the broadcast transaction.
    #[command(name = "sendtoaddress")]
    SendToAddress {
        #[command(flatten)]
        node: NodeLocation,
        /// The destination address (of the node's network).
        #[arg(value_name = "ADDRESS")]
        address: String,
        /// The amount in satoshis.
        #[arg(value_name = "AMOUNT_SAT")]
        amount_sat: u64,
    },
    /// Open a channel with a connected peer, funded from the on-chain wallet; returns once the
    /// funding transaction is broadcast.
    #[command(name = "openchannel")]
    OpenChannel {
        #[command(flatten)]
        node: NodeLocation,
        /// The peer's node id (66 hex digits); connect to it first.
        #[arg(value_name = "NODEID")]
        node_id: String,
        /// The channel's capacity in satoshis.
        #[arg(value_name = "AMOUNT_SAT")]
        amount_sat: u64,
        /// Millisatoshis given to the peer at opening.
        #[arg(long, value_name = "N")]
        push_msat: Option<u64>,
        /// Do not announce the channel to the network.
        #[arg(long)]
        private: bool,
    },
    /// List the channels with their state and balances.
    #[command(name = "listchannels")]
    ListChannels {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// Close a channel: cooperatively, or with --force by broadcasting our latest commitment.
    #[command(name = "closechannel")]
    CloseChannel {
        #[command(flatten)]
        node: NodeLocation,
        /// The channel id (64 hex digits), as `listchannels` shows it.
        #[arg(value_name = "CHANNEL_ID")]
        channel_id: String,
        /// Broadcast our latest commitment instead of negotiating with the peer.
        #[arg(long)]
        force: bool,
    },
    /// Set one channel's forwarding fees (what is not given stays); the peer is told at once.
    #[command(name = "setchannelfee")]
    SetChannelFee {
        #[command(flatten)]
        node: NodeLocation,
        /// The channel id (64 hex digits), as `listchannels` shows it.
        #[arg(value_name = "CHANNEL_ID")]
        channel_id: String,
        /// Base fee per forwarded HTLC, in millisatoshis.
        #[arg(long, value_name = "MSAT")]
        base_msat: Option<u32>,
        /// Proportional fee, in millionths of the amount.
        #[arg(long, value_name = "PPM")]
        ppm: Option<u32>,
        /// Blocks required between the incoming and outgoing HTLC's expiry (18 to 2016).
        #[arg(long, value_name = "BLOCKS")]
        cltv_expiry_delta: Option<u16>,
    },
    /// Create a BOLT 11 invoice.
    Invoice {
        #[command(flatten)]
        node: NodeLocation,
        /// The amount to request, in millisatoshis.
        #[arg(value_name = "AMOUNT_MSAT")]
        amount_msat: u64,
        /// What the payment is for (shown to the payer).
        #[arg(value_name = "DESCRIPTION")]
        description: String,
        /// Seconds until the invoice expires.
        #[arg(long, value_name = "S")]
        expiry: Option<u64>,
    },
    /// Pay a BOLT 11 invoice; waits for the outcome.
    Pay {
        #[command(flatten)]
        node: NodeLocation,
        /// The invoice (`lnbcrt...`, optionally with a `lightning:` prefix).
        #[arg(value_name = "INVOICE")]
        invoice: String,
        /// The amount, for an invoice that does not name one.
        #[arg(long, value_name = "N")]
        amount_msat: Option<u64>,
        /// Give up after this many seconds.
        #[arg(long, value_name = "S")]
        timeout: Option<u64>,
    },
    /// List our outgoing payments with status, amount, fee and preimage.
    #[command(name = "listpayments")]
    ListPayments {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// List our invoices with their status.
    #[command(name = "listinvoices")]
    ListInvoices {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// List the payments we forwarded, with the fees earned.
    #[command(name = "listforwards")]
    ListForwards {
        #[command(flatten)]
        node: NodeLocation,
    },
    /// Shut the node down gracefully.
    Stop {
        #[command(flatten)]
        node: NodeLocation,
    },
}

/// One API call: the command, its named parameters, where the node is and how long to wait.
struct Request {
    command: &'static str,
    params: Value,
    data_dir: PathBuf,
    timeout: Duration,
}

impl Request {
    fn new(command: &'static str, params: Value, node: NodeLocation) -> Request {
        Request { command, params, data_dir: node.data_dir, timeout: DEFAULT_TIMEOUT }
    }
}

/// `params` with the optional entries that are set.
fn with_optional(mut params: Map<String, Value>, optional: &[(&str, Option<Value>)]) -> Value {
    for (name, value) in optional {
        if let Some(value) = value {
            params.insert((*name).to_owned(), value.clone());
        }
    }
    Value::Object(params)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl ClientCommand {
    /// The API command and its parameters (the interfaces' names).
    fn request(self) -> Request {
        use ClientCommand as C;
        match self {
            C::GetInfo { node } => Request::new("getinfo", json!({}), node),
            C::Connect { node, peer } => Request::new("connect", json!({ "peer": peer }), node),
            C::Disconnect { node, node_id } => {
                Request::new("disconnect", json!({ "node_id": node_id }), node)
            }
            C::ListPeers { node } => Request::new("listpeers", json!({}), node),
            C::NewAddress { node } => Request::new("newaddress", json!({}), node),
            C::GetBalance { node } => Request::new("getbalance", json!({}), node),
            C::SendToAddress { node, address, amount_sat } => Request::new(
                "sendtoaddress",
                json!({ "address": address, "amount_sat": amount_sat }),
                node,
            ),
            C::OpenChannel { node, node_id, amount_sat, push_msat, private } => {
                let base = object(json!({ "node_id": node_id, "amount_sat": amount_sat }));
                let params = with_optional(
                    base,
                    &[
                        ("push_msat", push_msat.map(Value::from)),
                        ("private", private.then_some(Value::Bool(true))),
                    ],
                );
                Request::new("openchannel", params, node)
            }
            C::ListChannels { node } => Request::new("listchannels", json!({}), node),
            C::CloseChannel { node, channel_id, force } => {
                let base = object(json!({ "channel_id": channel_id }));
                let params = with_optional(base, &[("force", force.then_some(Value::Bool(true)))]);
                Request::new("closechannel", params, node)
            }
            C::SetChannelFee { node, channel_id, base_msat, ppm, cltv_expiry_delta } => {
                let base = object(json!({ "channel_id": channel_id }));
                let params = with_optional(
                    base,
                    &[
                        ("base_msat", base_msat.map(Value::from)),
                        ("ppm", ppm.map(Value::from)),
                        ("cltv_expiry_delta", cltv_expiry_delta.map(Value::from)),
                    ],
                );
                Request::new("setchannelfee", params, node)
            }
            C::Invoice { node, amount_msat, description, expiry } => {
                let base =
                    object(json!({ "amount_msat": amount_msat, "description": description }));
                let params = with_optional(base, &[("expiry_secs", expiry.map(Value::from))]);
                Request::new("invoice", params, node)
            }
            C::Pay { node, invoice, amount_msat, timeout } => {
                let base = object(json!({ "invoice": invoice }));
                let params = with_optional(
                    base,
                    &[
                        ("amount_msat", amount_msat.map(Value::from)),
                        ("timeout_secs", timeout.map(Value::from)),
                    ],
                );
                let mut request = Request::new("pay", params, node);
                // The node gives up after `timeout`; wait a little longer for its answer.
                if let Some(secs) = timeout {
                    let wanted = Duration::from_secs(secs.saturating_add(30));
                    request.timeout = request.timeout.max(wanted);
                }
                request
            }
            C::ListPayments { node } => Request::new("listpayments", json!({}), node),
            C::ListInvoices { node } => Request::new("listinvoices", json!({}), node),
            C::ListForwards { node } => Request::new("listforwards", json!({}), node),
            C::Stop { node } => Request::new("stop", json!({}), node),
        }
    }
}

/// Calls the node and prints the result as JSON.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    let request = command.request();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let client = ApiClient::open(&request.data_dir, request.timeout)?;
        client.call(request.command, &request.params).await
    })?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ClientCommand,
    }

    fn request(args: &[&str]) -> (String, Value) {
        let mut argv = vec!["shandian"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--data-dir", "/tmp/x"]);
        let request = Cli::try_parse_from(argv).unwrap().command.request();
        (request.command.to_owned(), request.params)
    }

    #[test]
    fn positional_arguments_map_to_the_api_parameter_names() {
        let id = "02466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f27";
        assert_eq!(
            request(&["openchannel", id, "100000", "--push-msat", "5", "--private"]),
            (
                "openchannel".into(),
                json!({"node_id": id, "amount_sat": 100000, "push_msat": 5, "private": true})
            )
        );
        assert_eq!(
            request(&["openchannel", id, "100000"]).1,
            json!({"node_id": id, "amount_sat": 100000})
        );
        assert_eq!(
            request(&["closechannel", "ab", "--force"]).1,
            json!({"channel_id": "ab", "force": true})
        );
        assert_eq!(request(&["closechannel", "ab"]).1, json!({"channel_id": "ab"}));
        assert_eq!(
            request(&["setchannelfee", "ab", "--base-msat", "0", "--ppm", "250"]),
            ("setchannelfee".into(), json!({"channel_id": "ab", "base_msat": 0, "ppm": 250}))
        );
        assert_eq!(
            request(&["sendtoaddress", "bcrt1qxyz", "5000"]),
            ("sendtoaddress".into(), json!({"address": "bcrt1qxyz", "amount_sat": 5000}))
        );
        assert_eq!(
            request(&["invoice", "1000", "coffee", "--expiry", "60"]).1,
            json!({"amount_msat": 1000, "description": "coffee", "expiry_secs": 60})
        );
        assert_eq!(
            request(&["pay", "lnbcrt1", "--amount-msat", "7", "--timeout", "9"]).1,
            json!({"invoice": "lnbcrt1", "amount_msat": 7, "timeout_secs": 9})
        );
        for command in ["newaddress", "getbalance", "listchannels", "listpayments"] {
            assert_eq!(request(&[command]), (command.to_owned(), json!({})));
        }
        assert_eq!(request(&["listinvoices"]).0, "listinvoices");
        assert_eq!(request(&["listforwards"]).0, "listforwards");
    }

    #[test]
    fn amounts_must_be_numbers() {
        let argv = ["shandian", "invoice", "lots", "x", "--data-dir", "/tmp/x"];
        assert!(Cli::try_parse_from(argv).is_err());
        let argv = ["shandian", "openchannel", "02", "-1", "--data-dir", "/tmp/x"];
        assert!(Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn pay_waits_longer_than_its_timeout() {
        let argv = ["shandian", "pay", "ln", "--timeout", "600", "--data-dir", "/tmp/x"];
        let request = Cli::try_parse_from(argv).unwrap().command.request();
        assert_eq!(request.timeout, Duration::from_secs(630));
    }
}
