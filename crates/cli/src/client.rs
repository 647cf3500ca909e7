//! Client commands (`shandian getinfo`, `connect`, ...): find the running node through its data
//! directory (`api-address`, `api-token`), call its HTTP/JSON API and print the JSON result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use shandian_node::api::{ADDRESS_FILE, TOKEN_FILE};

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
    /// Show the node's id, network, addresses, peer count and version.
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
    /// Shut the node down gracefully.
    Stop {
        #[command(flatten)]
        node: NodeLocation,
    },
}

impl ClientCommand {
    /// The API command, its parameters and where the node is.
    fn request(self) -> (&'static str, Value, PathBuf) {
        match self {
            ClientCommand::GetInfo { node } => ("getinfo", json!({}), node.data_dir),
            ClientCommand::Connect { node, peer } => {
                ("connect", json!({ "peer": peer }), node.data_dir)
            }
            ClientCommand::Disconnect { node, node_id } => {
                ("disconnect", json!({ "node_id": node_id }), node.data_dir)
            }
            ClientCommand::ListPeers { node } => ("listpeers", json!({}), node.data_dir),
            ClientCommand::Stop { node } => ("stop", json!({}), node.data_dir),
        }
    }
}

/// Calls the node and prints the result as JSON.
pub fn run(command: ClientCommand) -> anyhow::Result<()> {
    let (name, params, data_dir) = command.request();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(call(&data_dir, name, &params))?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// Posts `params` to `/v1/<command>` of the node whose data directory is `data_dir`.
async fn call(data_dir: &Path, command: &str, params: &Value) -> anyhow::Result<Value> {
    let address_file = data_dir.join(ADDRESS_FILE);
    let Ok(addr) = std::fs::read_to_string(&address_file) else {
        return Err(anyhow!("is the node running? no {ADDRESS_FILE} in {}", data_dir.display()));
    };
    let addr = addr.trim();
    let token_file = data_dir.join(TOKEN_FILE);
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("cannot read the api token {}", token_file.display()))?;
    // Long enough for `connect` (its own timeout is 30 s) and the slower commands to come.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let response = http
        .post(format!("http://{addr}/v1/{command}"))
        .header("Authorization", format!("Bearer {}", token.trim()))
        .json(params)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "is the node running? cannot reach its api at {addr} (from {}): {}",
                address_file.display(),
                root_cause(&e)
            )
        })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("the node answered {status} without JSON"))?;
    if status.is_success() {
        return Ok(body);
    }
    match (body["error"]["code"].as_str(), body["error"]["message"].as_str()) {
        (Some(code), Some(message)) => Err(anyhow!("{message} ({code})")),
        _ => Err(anyhow!("the node answered {status}: {body}")),
    }
}

/// The innermost cause, which says what actually failed (e.g. "Connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
