//! The HTTP/JSON API over real TCP: two in-process nodes connected, listed and disconnected
//! through it; calls without the token refused; malformed bodies, bad parameters and unknown
//! commands answered with clear JSON errors; `stop` ending `api::run`.

use std::path::Path;
use std::time::Duration;

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::Network;
use serde_json::{json, Value};
use shandian_node::api::{self, ApiConfig, ApiServer, ServeError};
use shandian_node::{Node, NodeConfig, NodeHandle};

const WAIT: Duration = Duration::from_secs(10);

fn config(dir: &Path) -> NodeConfig {
    let mut config = NodeConfig::new(Network::Regtest, dir, "127.0.0.1:0".parse().unwrap());
    config.handshake_timeout = Duration::from_millis(500);
    config.reconnect_min = Duration::from_millis(50);
    config.reconnect_max = Duration::from_millis(200);
    config
}

/// A node with its API, and a client that finds it through the data directory.
struct TestNode {
    node: NodeHandle,
    api: Option<ApiServer>,
    base: String,
    token: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestNode {
    async fn start() -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let node = Node::start(config.clone()).await.unwrap();
        let api_config = ApiConfig::new("127.0.0.1:0".parse().unwrap());
        let api = ApiServer::start(node.clone(), &config, api_config).await.unwrap();
        let addr = std::fs::read_to_string(dir.path().join(api::ADDRESS_FILE)).unwrap();
        assert_eq!(addr.trim(), api.addr().to_string());
        let token = std::fs::read_to_string(dir.path().join(api::TOKEN_FILE)).unwrap();
        TestNode {
            node,
            api: Some(api),
            base: format!("http://{}/v1/", addr.trim()),
            token: token.trim().to_owned(),
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// Posts `body` as is with `auth` as the Authorization header (if any).
    async fn raw(&self, command: &str, body: &str, auth: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{command}", self.base)).body(body.to_owned());
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn call(&self, command: &str, params: Value) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        self.raw(command, &params.to_string(), Some(&auth)).await
    }

    async fn ok(&self, command: &str, params: Value) -> Value {
        let (status, body) = self.call(command, params).await;
        assert_eq!(status, 200, "{command}: {body}");
        body
    }

    fn uri(&self) -> String {
        format!("{}@{}", self.node.node_id(), self.node.listen_addr())
    }

    /// Polls `listpeers` until `check` holds.
    async fn wait_peers(&self, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let peers = self.ok("listpeers", json!({})).await["peers"].as_array().unwrap().clone();
            if check(&peers) {
                return peers;
            }
            assert!(tokio::time::Instant::now() < deadline, "peers never matched: {peers:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(api) = self.api.take() {
            api.shutdown().await;
        }
        self.node.shutdown().await;
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) -> String {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty() && !message.contains('\n'), "{body}");
    message
}

#[tokio::test]
async fn two_nodes_connect_list_and_disconnect_through_the_api() {
    let alice = TestNode::start().await;
    let bob = TestNode::start().await;

    let info = alice.ok("getinfo", json!({})).await;
    assert_eq!(info["node_id"], alice.node.node_id().to_string());
    assert_eq!(info["network"], "regtest");
    assert_eq!(info["listen_address"], alice.node.listen_addr().to_string());
    assert_eq!(
        info["api_address"],
        alice.base.trim_start_matches("http://").trim_end_matches("/v1/")
    );
    assert_eq!(info["num_peers"], 0);
    assert!(info["version"].is_string());

    // `connect` answers once `init` is exchanged, with the peer.
    let peer = alice.ok("connect", json!({ "peer": bob.uri() })).await;
    assert_eq!(peer["node_id"], bob.node.node_id().to_string());
    assert_eq!(peer["address"], bob.node.listen_addr().to_string());
    assert_eq!(peer["inbound"], false);
    assert!(!peer["negotiated_features"].as_str().unwrap().is_empty());

    let at_alice = alice.wait_peers(|p| p.len() == 1).await;
    assert_eq!(at_alice[0], peer);
    let at_bob = bob.wait_peers(|p| p.len() == 1).await;
    assert_eq!(at_bob[0]["node_id"], alice.node.node_id().to_string());
    assert_eq!(at_bob[0]["inbound"], true);
    assert_eq!(at_bob[0]["negotiated_features"], peer["negotiated_features"]);
    assert_eq!(alice.ok("getinfo", json!({})).await["num_peers"], 1);

    // Connecting again to a connected peer just reports it.
    assert_eq!(alice.ok("connect", json!({ "peer": bob.uri() })).await["node_id"], peer["node_id"]);

    let bob_id = bob.node.node_id().to_string();
    let done = alice.ok("disconnect", json!({ "node_id": bob_id })).await;
    assert_eq!(done, json!({ "node_id": bob_id, "disconnected": true }));
    alice.wait_peers(|p| p.is_empty()).await;
    bob.wait_peers(|p| p.is_empty()).await;

    // Alice stopped redialling: Bob stays alone well past the redial delay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bob.ok("listpeers", json!({})).await["peers"].as_array().unwrap().is_empty());

    let (status, body) = alice.call("disconnect", json!({ "node_id": bob_id })).await;
    let message = assert_error(status, &body, 404, "unknown_peer");
    assert!(message.contains(&bob_id), "{message}");

    alice.stop().await;
    bob.stop().await;
}

#[tokio::test]
async fn calls_without_the_token_are_refused() {
    let node = TestNode::start().await;
    let wrong = format!("Bearer {}", "00".repeat(32));
    let basic = format!("Basic {}", node.token);
    let bare = node.token.clone();
    for auth in [None, Some(wrong.as_str()), Some(basic.as_str()), Some(bare.as_str())] {
        for command in ["getinfo", "stop", "nosuchcommand"] {
            let (status, body) = node.raw(command, "{}", auth).await;
            assert_error(status, &body, 401, "unauthorized");
        }
    }
    // Still running: `stop` was refused.
    node.ok("getinfo", json!({})).await;
    node.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let node = TestNode::start().await;
    let bearer = format!("Bearer {}", node.token);
    let auth = Some(bearer.as_str());

    let (status, body) = node.raw("connect", "{\"peer\": ", auth).await;
    assert_error(status, &body, 400, "bad_params");
    let (status, body) = node.raw("getinfo", "[1, 2]", auth).await;
    assert_error(status, &body, 400, "bad_params");
    // An empty body is an empty parameter object.
    assert_eq!(node.raw("getinfo", "", auth).await.0, 200);

    let (status, body) = node.call("connect", json!({})).await;
    let message = assert_error(status, &body, 400, "bad_params");
    assert!(message.contains("missing field `peer`"), "{message}");
    let (status, body) = node.call("connect", json!({ "peer": 5 })).await;
    assert_error(status, &body, 400, "bad_params");
    let (status, body) = node.call("getinfo", json!({ "verbose": true })).await;
    let message = assert_error(status, &body, 400, "bad_params");
    assert!(message.contains("verbose"), "{message}");

    let (status, body) = node.call("connect", json!({ "peer": "nobody@127.0.0.1:1" })).await;
    let message = assert_error(status, &body, 400, "invalid_param");
    assert!(message.contains("NODEID@HOST:PORT"), "{message}");
    let (status, body) = node.call("connect", json!({ "peer": node.uri() })).await;
    assert_error(status, &body, 400, "invalid_param");
    let (status, body) = node.call("disconnect", json!({ "node_id": "02abc" })).await;
    assert_error(status, &body, 400, "invalid_param");

    let (status, body) = node.call("nosuchcommand", json!({})).await;
    let message = assert_error(status, &body, 404, "unknown_command");
    assert!(message.contains("nosuchcommand"), "{message}");
    let response = reqwest::Client::new()
        .get(format!("{}getinfo", node.base))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);

    node.stop().await;
}

#[tokio::test]
async fn failed_connects_say_why() {
    let node = TestNode::start().await;
    let other = TestNode::start().await;
    // Nobody listens on a port we just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let peer = format!("{}@{closed}", other.node.node_id());
    let (status, body) = node.call("connect", json!({ "peer": peer })).await;
    let message = assert_error(status, &body, 502, "connect_failed");
    assert!(message.contains(&peer), "{message}");

    // The right address with the wrong node id fails the BOLT 8 handshake.
    let stranger = SecretKey::from_slice(&[0x42; 32]).unwrap().public_key(&Secp256k1::new());
    let peer = format!("{stranger}@{}", other.node.listen_addr());
    let (status, body) = node.call("connect", json!({ "peer": peer })).await;
    assert_error(status, &body, 502, "connect_failed");
    assert!(node.ok("listpeers", json!({})).await["peers"].as_array().unwrap().is_empty());

    node.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn decodeinvoice_returns_the_invoice_as_json() {
    use shandian_invoice::{Currency, InvoiceBuilder};
    use shandian_types::{Msat, PaymentHash, PaymentSecret};
    let node = TestNode::start().await;
    let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
    let invoice = InvoiceBuilder::new(Currency::Regtest)
        .amount_msat(Msat(250_000))
        .timestamp(1_700_000_000)
        .payment_hash(PaymentHash([0x22; 32]))
        .payment_secret(PaymentSecret([0x33; 32]))
        .description("coffee")
        .sign(&key)
        .unwrap()
        .to_string();
    let decoded = node.ok("decodeinvoice", json!({ "invoice": invoice })).await;
    assert_eq!(decoded["amount_msat"], 250_000);
    assert_eq!(decoded["description"], "coffee");
    assert_eq!(decoded["payee"], key.public_key(&Secp256k1::new()).to_string());
    let uri = format!("lightning:{invoice}");
    assert_eq!(node.ok("decodeinvoice", json!({ "invoice": uri })).await, decoded);

    let (status, body) = node.call("decodeinvoice", json!({ "invoice": "lnbcrt1garbage" })).await;
    assert_error(status, &body, 400, "invalid_invoice");
    node.stop().await;
}

#[tokio::test]
async fn non_loopback_addresses_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let node = Node::start(config.clone()).await.unwrap();
    let mut api_config = ApiConfig::new("0.0.0.0:0".parse().unwrap());
    let refused = ApiServer::start(node.clone(), &config, api_config.clone()).await;
    assert!(matches!(refused, Err(ServeError::NotLoopback(_))));
    assert!(!dir.path().join(api::ADDRESS_FILE).exists());
    api_config.allow_remote = true;
    let api = ApiServer::start(node.clone(), &config, api_config).await.unwrap();
    api.shutdown().await;
    node.shutdown().await;
}

#[tokio::test]
async fn stop_ends_the_node_and_removes_the_address_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let api_config = ApiConfig::new("127.0.0.1:0".parse().unwrap());
    let running = tokio::spawn(api::run(config, api_config, std::future::pending()));
    let address_file = dir.path().join(api::ADDRESS_FILE);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !address_file.exists() {
        assert!(tokio::time::Instant::now() < deadline, "no api-address file");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let addr = std::fs::read_to_string(&address_file).unwrap();
    let token = std::fs::read_to_string(dir.path().join(api::TOKEN_FILE)).unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/stop", addr.trim()))
        .header("Authorization", format!("Bearer {}", token.trim()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "stopping": true }));
    tokio::time::timeout(WAIT, running).await.expect("run ends").unwrap().unwrap();
    assert!(!address_file.exists());

    // The token is reused on the next start.
    let again = tempfile::tempdir().unwrap();
    assert!(api::ApiToken::load_or_create(again.path()).is_ok());
    let reused = api::ApiToken::load_or_create(dir.path()).unwrap();
    assert_eq!(reused.to_hex(), token.trim());
}
