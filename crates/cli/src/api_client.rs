//! The client side of the node's HTTP/JSON API: finds a node through its data directory
//! (`api-address`, `api-token`) and calls `POST /v1/<command>`. The client commands and
//! `shandian demo` both talk to nodes through it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use serde_json::Value;
use shandian_node::api::{ADDRESS_FILE, TOKEN_FILE};

/// How long a call may take unless the command asks for longer (`pay --timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to one node's API.
#[derive(Clone)]
pub struct ApiClient {
    data_dir: PathBuf,
    addr: String,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// Reads the node's API address and token from `data_dir`; each call may take up to
    /// `timeout` ([`DEFAULT_TIMEOUT`] unless a command needs longer).
    pub fn open(data_dir: &Path, timeout: Duration) -> anyhow::Result<ApiClient> {
        let address_file = data_dir.join(ADDRESS_FILE);
        let Ok(addr) = std::fs::read_to_string(&address_file) else {
            return Err(anyhow!(
                "is the node running? no {ADDRESS_FILE} in {}",
                data_dir.display()
            ));
        };
        let token_file = data_dir.join(TOKEN_FILE);
        let token = std::fs::read_to_string(&token_file)
            .with_context(|| format!("cannot read the api token {}", token_file.display()))?;
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(ApiClient {
            data_dir: data_dir.to_owned(),
            addr: addr.trim().to_owned(),
            token: token.trim().to_owned(),
            http,
        })
    }

    /// Posts `params` to `/v1/<command>`; the JSON result, or the node's one-line reason.
    pub async fn call(&self, command: &str, params: &Value) -> anyhow::Result<Value> {
        let addr = &self.addr;
        let response = self
            .http
            .post(format!("http://{addr}/v1/{command}"))
            .header("Authorization", format!("Bearer {}", self.token))
            .json(params)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "is the node running? cannot reach its api at {addr} (from {}): {}",
                    self.data_dir.join(ADDRESS_FILE).display(),
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
}

/// The innermost cause, which says what actually failed (e.g. "Connection refused").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
