//! Process-level test harness: a `shandian chain` process and `shandian node` processes that
//! follow it over JSON-RPC, driven through the client commands as a user would.

#![allow(dead_code)] // Each test file uses part of it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long to wait for anything.
pub const WAIT: Duration = Duration::from_secs(120);

/// A running `shandian chain` with cookie auth on a free port.
pub struct ChainProcess {
    child: Child,
    /// Its data directory (holds `.cookie`).
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl ChainProcess {
    pub fn start(dir: &Path) -> ChainProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shandian"))
            .arg("chain")
            .arg("--data-dir")
            .arg(dir)
            .args(["--rpc", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shandian chain");
        let stderr = child.stderr.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("JSON-RPC on ").nth(1) {
                    let _ = sender.send(addr.trim().to_owned());
                }
            }
        });
        let addr = receiver.recv_timeout(WAIT).expect("the chain never started");
        ChainProcess { child, dir: dir.to_owned(), url: format!("http://{addr}") }
    }

    /// Calls a JSON-RPC method; panics on an error reply.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let cookie = std::fs::read_to_string(self.dir.join(".cookie")).unwrap();
        let (user, password) = cookie.trim().split_once(':').unwrap();
        let body = json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params});
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let reply: Value = runtime.block_on(async {
            reqwest::Client::new()
                .post(&self.url)
                .basic_auth(user, Some(password))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        assert_eq!(reply["error"], Value::Null, "{method}: {reply}");
        reply["result"].clone()
    }

    /// Mines `n` blocks to `address`.
    pub fn mine_to(&self, n: u32, address: &str) {
        self.rpc("generatetoaddress", json!([n, address]));
    }

    /// Mines `n` blocks to an address nobody in the test owns.
    pub fn mine(&self, n: u32) {
        use bitcoin::secp256k1::{Secp256k1, SecretKey};
        let key = SecretKey::from_slice(&[7; 32]).unwrap();
        let pubkey = bitcoin::CompressedPublicKey(key.public_key(&Secp256k1::new()));
        let address = bitcoin::Address::p2wpkh(&pubkey, bitcoin::Network::Regtest);
        self.mine_to(n, &address.to_string());
    }

    /// Waits until `txid` is in the mempool (broadcasts may be asynchronous).
    pub fn wait_in_mempool(&self, txid: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let mempool = self.rpc("getrawmempool", json!([]));
            if mempool.as_array().unwrap().iter().any(|t| t == txid) {
                return;
            }
            assert!(Instant::now() < deadline, "{txid} never reached the mempool");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn height(&self) -> u64 {
        self.rpc("getblockcount", json!([])).as_u64().unwrap()
    }

    /// The process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait for the chain process")
    }
}

impl Drop for ChainProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A `shandian node` process following `chain`, on a fixed port so peers can redial it after
/// a restart.
pub struct NodeProcess {
    child: Option<Child>,
    pub dir: PathBuf,
    pub listen: SocketAddr,
    chain_url: String,
    cookie: PathBuf,
    log: PathBuf,
}

impl NodeProcess {
    pub fn start(dir: &Path, chain: &ChainProcess) -> NodeProcess {
        std::fs::create_dir_all(dir).unwrap();
        let mut node = NodeProcess {
            child: None,
            dir: dir.to_owned(),
            listen: free_port(),
            chain_url: chain.url.clone(),
            cookie: chain.dir.join(".cookie"),
            log: dir.join("node.log"),
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("api-address"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shandian"))
            .arg("node")
            .args(["--network", "regtest", "--api", "127.0.0.1:0"])
            .arg("--listen")
            .arg(self.listen.to_string())
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--bitcoind-rpc")
            .arg(&self.chain_url)
            .arg("--bitcoind-cookie")
            .arg(&self.cookie)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start shandian node");
        self.child = Some(child);
        let address = self.dir.join("api-address");
        let deadline = Instant::now() + WAIT;
        while !address.exists() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the node exited with {status}; log:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "the node never wrote {}", address.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no clean shutdown, no flush beyond what was already fsynced.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Waits for the process to exit on its own; returns whether it exited successfully.
    pub fn wait_exit(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.success();
            }
            assert!(Instant::now() < deadline, "the node did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        shandian(args, &self.dir)
    }

    /// A client command that must succeed; its JSON output.
    pub fn ok(&self, args: &[&str]) -> Value {
        ok(args, &self.dir)
    }

    /// A client command that must fail; its one-line reason.
    pub fn fails(&self, args: &[&str]) -> String {
        fails(args, &self.dir)
    }

    pub fn node_id(&self) -> String {
        self.ok(&["getinfo"])["node_id"].as_str().unwrap().to_owned()
    }

    /// `NODEID@HOST:PORT`.
    pub fn uri(&self) -> String {
        format!("{}@{}", self.node_id(), self.listen)
    }

    pub fn new_address(&self) -> String {
        self.ok(&["newaddress"])["address"].as_str().unwrap().to_owned()
    }

    /// Polls `command` until `done` holds; returns its last result.
    pub fn wait_for(&self, what: &str, command: &[&str], done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let output = self.run(command);
            if output.status.success() {
                let value: Value = serde_json::from_slice(&output.stdout).unwrap();
                if done(&value) {
                    return value;
                }
                assert!(Instant::now() < deadline, "gave up waiting for {what}: {value}");
            } else {
                assert!(
                    Instant::now() < deadline,
                    "gave up waiting for {what}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn shandian(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run shandian")
}

/// Runs a client command that must succeed and returns its JSON output.
pub fn ok(args: &[&str], data_dir: &Path) -> Value {
    let output = shandian(args, data_dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?} failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

/// Runs a client command that must fail; returns its one-line reason.
pub fn fails(args: &[&str], data_dir: &Path) -> String {
    let output = shandian(args, data_dir);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout on failure");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line on stderr, got {stderr:?}");
    stderr
}
