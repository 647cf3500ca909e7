//! The HTTP side: axum on hyper (HTTP/1.1 keep-alive), Basic auth, envelopes and batches.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::chain::RegtestChain;
use crate::error::Error;
use crate::rpc::auth::{Credentials, RpcAuth};
use crate::rpc::dispatch;
use crate::rpc::protocol::{self, code, parse_call, reply, RpcError};

/// Largest request body accepted (a block full of raw transactions fits).
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Clone)]
struct App {
    chain: Arc<RegtestChain>,
    credentials: Arc<Credentials>,
    stop: Arc<Notify>,
}

/// A bound, not yet running, JSON-RPC server.
pub struct RpcServer {
    listener: TcpListener,
    app: App,
}

/// Binds `addr` and serves until `shutdown` completes or a client calls `stop`.
pub async fn serve(
    chain: Arc<RegtestChain>,
    addr: SocketAddr,
    auth: RpcAuth,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    RpcServer::bind(chain, addr, auth).await?.run(shutdown).await
}

impl RpcServer {
    /// Binds the listening socket; with [`RpcAuth::Cookie`], writes `<data dir>/.cookie`.
    pub async fn bind(
        chain: Arc<RegtestChain>,
        addr: SocketAddr,
        auth: RpcAuth,
    ) -> Result<RpcServer, Error> {
        let listener = TcpListener::bind(addr).await.map_err(Error::Server)?;
        let credentials = Arc::new(Credentials::set_up(&auth, chain.data_dir())?);
        Ok(RpcServer { listener, app: App { chain, credentials, stop: Arc::new(Notify::new()) } })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Server)
    }

    /// Serves until `shutdown` completes or a client calls `stop`; then removes the cookie
    /// file and saves the mempool.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let app = self.app.clone();
        let stop = Arc::clone(&app.stop);
        let router = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(app.clone());
        let signal = async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.notified() => {}
            }
        };
        let served = axum::serve(self.listener, router).with_graceful_shutdown(signal).await;
        app.credentials.tear_down();
        app.chain.persist_mempool()?;
        served.map_err(Error::Server)
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut text = body.to_string();
    text.push('\n');
    let mut resp = (status, text).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn handle(
    State(app): State<App>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !app.credentials.check(auth) {
        let mut resp = StatusCode::UNAUTHORIZED.into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"jsonrpc\""));
        return resp;
    }
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "JSONRPC server handles only POST requests")
            .into_response();
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            let err = RpcError::new(code::PARSE_ERROR, "Parse error");
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &reply(Value::Null, false, Err(err)),
            );
        }
    };
    match request {
        Value::Array(batch) => {
            let mut replies = Vec::with_capacity(batch.len());
            for item in batch {
                if let (Some(r), _) = process(&app, item).await {
                    replies.push(r);
                }
            }
            json_response(StatusCode::OK, &Value::Array(replies))
        }
        Value::Object(_) => match process(&app, request).await {
            (Some(r), status) => json_response(status, &r),
            (None, _) => StatusCode::NO_CONTENT.into_response(),
        },
        _ => {
            let err = RpcError::new(code::PARSE_ERROR, "Top-level object parse error");
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &reply(Value::Null, false, Err(err)))
        }
    }
}

/// Runs one request; `None` for a 2.0 notification.
async fn process(app: &App, item: Value) -> (Option<Value>, StatusCode) {
    let call = match parse_call(item) {
        Ok(call) => call,
        Err((id, version2, err)) => {
            let outcome = Err(err);
            let status = status_of(version2, &outcome);
            return (Some(reply(id, version2, outcome)), status);
        }
    };
    let outcome = if dispatch::is_stop(&call.method) {
        app.stop.notify_one();
        Ok(json!("Shandian stopping"))
    } else {
        let chain = Arc::clone(&app.chain);
        let (method, params) = (call.method, call.params);
        tokio::task::spawn_blocking(move || dispatch::call(&chain, &method, params))
            .await
            .unwrap_or_else(|_| Err(RpcError::new(code::MISC_ERROR, "Internal error")))
    };
    if call.notification {
        return (None, StatusCode::NO_CONTENT);
    }
    let status = status_of(call.version2, &outcome);
    (Some(reply(call.id, call.version2, outcome)), status)
}

fn status_of(version2: bool, outcome: &Result<Value, RpcError>) -> StatusCode {
    StatusCode::from_u16(protocol::http_status(version2, outcome))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
