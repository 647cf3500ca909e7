//! JSON-RPC 1.0 over HTTP, as Bitcoin Core speaks it.
//!
//! Core answers errors with HTTP 500 (404 for an unknown method) and a JSON body carrying both
//! `result` and `error`, so the body is parsed whatever the status; only 401/403 and bodies that
//! are not JSON-RPC replies are HTTP-level failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::auth::{read_cookie, RpcAuth};
use super::RpcError;
use crate::error::MalformedReason;
use crate::Error;

/// One JSON-RPC endpoint with its credentials.
pub(crate) struct Transport {
    http: reqwest::Client,
    url: String,
    auth: RpcAuth,
    /// The cookie last read from [`RpcAuth::CookieFile`]; re-read after a 401.
    cookie: Mutex<Option<(String, String)>>,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

enum Attempt {
    Done(Result<Value, Error>),
    Unauthorized(u16),
}

impl Transport {
    pub(crate) fn new(url: &str, auth: RpcAuth) -> Result<Transport, Error> {
        let parsed = reqwest::Url::parse(url).map_err(|_| Error::InvalidUrl(url.to_owned()))?;
        if parsed.scheme() != "http" || parsed.host_str().is_none() {
            return Err(Error::InvalidUrl(url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(Error::Connection)?;
        Ok(Transport {
            http,
            url: url.to_owned(),
            auth,
            cookie: Mutex::new(None),
            next_id: AtomicU64::new(1),
        })
    }

    /// Calls `method` and decodes its result as `T` (`null` decodes into an `Option`).
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Value>,
    ) -> Result<T, Error> {
        let value = self.call_value(method, params).await?;
        serde_json::from_value(value).map_err(|e| Error::malformed(method, e))
    }

    async fn call_value(&self, method: &'static str, params: Vec<Value>) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            serde_json::json!({ "jsonrpc": "1.0", "id": id, "method": method, "params": params });
        match self.attempt(&body, false).await? {
            Attempt::Done(result) => result,
            // A restarted server writes a new cookie: read it again once.
            Attempt::Unauthorized(_) if matches!(self.auth, RpcAuth::CookieFile(_)) => {
                match self.attempt(&body, true).await? {
                    Attempt::Done(result) => result,
                    Attempt::Unauthorized(status) => Err(Error::Unauthorized { status }),
                }
            }
            Attempt::Unauthorized(status) => Err(Error::Unauthorized { status }),
        }
    }

    async fn attempt(&self, body: &Value, reload_cookie: bool) -> Result<Attempt, Error> {
        let mut request = self.http.post(&self.url).json(body);
        if let Some((user, password)) = self.credentials(reload_cookie)? {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.map_err(Error::Connection)?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Ok(Attempt::Unauthorized(status));
        }
        let bytes = response.bytes().await.map_err(Error::Connection)?;
        let Ok(reply) = serde_json::from_slice::<Reply>(&bytes) else {
            return Err(Error::HttpStatus { status });
        };
        Ok(Attempt::Done(match (reply.error, reply.result) {
            (Some(error), _) => Err(Error::Rpc(error)),
            (None, Some(result)) => Ok(result),
            // Core sends `"result": null`; serde maps it to `None`.
            (None, None) => Ok(Value::Null),
        }))
    }

    fn credentials(&self, reload: bool) -> Result<Option<(String, String)>, Error> {
        match &self.auth {
            RpcAuth::None => Ok(None),
            RpcAuth::UserPass { user, password } => Ok(Some((user.clone(), password.clone()))),
            RpcAuth::CookieFile(path) => {
                // A poisoned lock only means another call panicked mid-read; the cache is
                // still a plain value, so keep using it.
                let mut cached = self.cookie.lock().unwrap_or_else(|p| p.into_inner());
                if reload || cached.is_none() {
                    *cached = Some(read_cookie(path)?);
                }
                Ok(cached.clone())
            }
        }
    }
}

/// Decodes a hex string into a consensus-encoded value.
pub(crate) fn decode_hex<T: bitcoin::consensus::Decodable>(
    method: &'static str,
    hex: &str,
) -> Result<T, Error> {
    let bytes = hex_bytes(method, hex)?;
    bitcoin::consensus::deserialize(&bytes).map_err(|e| Error::malformed(method, e))
}

/// Decodes a hex string into bytes.
pub(crate) fn hex_bytes(method: &'static str, hex: &str) -> Result<Vec<u8>, Error> {
    <Vec<u8> as bitcoin::hex::FromHex>::from_hex(hex).map_err(|e| Error::malformed(method, e))
}

impl From<core::num::TryFromIntError> for MalformedReason {
    fn from(_: core::num::TryFromIntError) -> Self {
        MalformedReason::OutOfRange
    }
}
