//! The demo's steps, narrated.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use bitcoin::{Amount, Txid};
use serde_json::{json, Value};
use shandian_regtest::rpc::{RpcAuth, RpcServer};

use super::ledger::{self, group, Balances};
use super::network::{DemoNetwork, DemoNode};

/// What the user chose.
pub struct Options {
    /// Payments each way.
    pub payments: u32,
    /// Stop before closing and run until Ctrl-C.
    pub keep_running: bool,
}

/// Each channel's capacity.
const CAPACITY_SAT: u64 = 1_000_000;
/// What Alice pays Charlie in all, and Charlie pays back (split over the payments).
const FORWARD_TOTAL_MSAT: u64 = 400_000_000;
const BACK_TOTAL_MSAT: u64 = 150_000_000;
/// Blocks mined on top of a funding transaction (the nodes ask for 3 by default).
const CONFIRMATIONS: u32 = 6;

/// Runs the whole story in `dir`.
pub async fn run(dir: &Path, options: Options) -> anyhow::Result<()> {
    println!("Shandian demo: three Lightning nodes and a regtest chain, in {}", dir.display());
    let net = DemoNetwork::start(dir).await?;
    let outcome = tell(&net, &options).await;
    let outcome = match outcome {
        Ok(()) if options.keep_running => keep_running(&net).await,
        other => other,
    };
    net.shutdown().await;
    outcome
}

async fn tell(net: &DemoNetwork, options: &Options) -> anyhow::Result<()> {
    let [alice, bob, charlie] = &net.nodes;
    for node in &net.nodes {
        println!("  {:<8} {}", node.name, node.uri);
    }
    let start = fund(net).await?;
    let mut fees = Vec::new();

    step("Alice connects to Bob, Bob to Charlie");
    alice.call("connect", &json!({ "peer": bob.uri })).await?;
    bob.call("connect", &json!({ "peer": charlie.uri })).await?;

    step(&format!(
        "Alice opens a {} sat channel to Bob; Bob opens a private one to Charlie",
        group(CAPACITY_SAT)
    ));
    let ab = open(alice, bob, false).await?;
    let bc = open(bob, charlie, true).await?;
    for (name, txid) in [("Alice–Bob", ab.1), ("Bob–Charlie", bc.1)] {
        wait_in_mempool(net, &txid).await?;
        let fee = ledger::tx_fee(&net.chain, &txid)?;
        println!("    {name} funding tx {txid} pays {} sat in fees", fee.to_sat());
        fees.push(fee);
    }
    net.mine(CONFIRMATIONS, None).await?;
    println!("    mined {CONFIRMATIONS} blocks (height {})", net.height());
    for (opener, peer, id) in [(alice, bob, &ab.0), (bob, charlie, &bc.0)] {
        wait_channel_ready(opener, id).await?;
        wait_channel_ready(peer, id).await?;
    }
    println!("    both channels are ready");
    show(net, &fees).await?;

    let n = u64::from(options.payments);
    step(&format!("Charlie invoices, Alice pays through Bob ({n} payment(s))"));
    pay_many(charlie, alice, FORWARD_TOTAL_MSAT / n, n).await?;
    let forwards = bob.call("listforwards", &json!({})).await?;
    println!("    Bob earned {} msat in forwarding fees", group(forward_fees(&forwards)?));
    show(net, &fees).await?;

    step(&format!("Alice invoices, Charlie pays back through Bob ({n} payment(s))"));
    pay_many(alice, charlie, BACK_TOTAL_MSAT / n, n).await?;
    let forwards = bob.call("listforwards", &json!({})).await?;
    println!("    Bob has now earned {} msat in forwarding fees", group(forward_fees(&forwards)?));
    show(net, &fees).await?;

    if options.keep_running {
        return Ok(());
    }

    step("Both channels close cooperatively");
    for (closer, id) in [(alice, &ab.0), (bob, &bc.0)] {
        let closed = closer.call("closechannel", &json!({ "channel_id": id })).await?;
        let txid = txid_field(&closed, "closing_txid")?;
        wait_in_mempool(net, &txid).await?;
        let fee = ledger::tx_fee(&net.chain, &txid)?;
        println!(
            "    {} closes {id}: closing tx {txid} pays {} sat in fees",
            closer.name,
            fee.to_sat()
        );
        fees.push(fee);
    }
    net.mine(1, None).await?;
    println!("    mined 1 block (height {})", net.height());
    let end = wait_settled(net, start, total(&fees)).await?;
    let rows = named(net, &end);
    println!("{}", ledger::table(&rows));
    let end_total = end.iter().map(Balances::total_msat).sum();
    println!("{}", ledger::accounting(start, end_total, total(&fees))?);
    println!("Done: every satoshi is accounted for.");
    Ok(())
}

fn step(text: &str) {
    println!("\n==> {text}");
}

fn total(fees: &[Amount]) -> Amount {
    fees.iter().copied().fold(Amount::ZERO, |sum, fee| sum + fee)
}

/// Mines 50 BTC to each of Alice and Bob and matures them; returns everyone's total (msat).
async fn fund(net: &DemoNetwork) -> anyhow::Result<u64> {
    let [alice, bob, _] = &net.nodes;
    step("Mining coins to Alice and Bob");
    net.mine(1, Some(alice.new_address().await?.script_pubkey())).await?;
    net.mine(1, Some(bob.new_address().await?.script_pubkey())).await?;
    // Coinbase outputs can be spent 100 blocks later.
    net.mine(100, None).await?;
    println!("    mined 102 blocks (height {}); the first two pay Alice and Bob", net.height());
    for node in [alice, bob] {
        node.wait_for("mature coins", "getbalance", |b| b["confirmed_sat"].as_u64() > Some(0))
            .await?;
    }
    let balances = snapshot(net).await?;
    println!("{}", ledger::table(&named(net, &balances)));
    Ok(balances.iter().map(Balances::total_msat).sum())
}

/// Opens a channel from `opener` to `peer`; returns its id and funding txid.
async fn open(opener: &DemoNode, peer: &DemoNode, private: bool) -> anyhow::Result<(String, Txid)> {
    let mut params = json!({ "node_id": peer.node_id, "amount_sat": CAPACITY_SAT });
    if private {
        params["private"] = json!(true);
    }
    let opened = opener.call("openchannel", &params).await?;
    let id = opened["channel_id"].as_str().ok_or_else(|| anyhow!("no channel_id: {opened}"))?;
    Ok((id.to_owned(), txid_field(&opened, "funding_txid")?))
}

fn txid_field(reply: &Value, field: &str) -> anyhow::Result<Txid> {
    let text = reply[field].as_str().ok_or_else(|| anyhow!("no {field} in {reply}"))?;
    text.parse().with_context(|| format!("bad {field} {text}"))
}

/// The channel `id` as `node` lists it, if listed.
fn find_channel<'a>(listing: &'a Value, id: &str) -> Option<&'a Value> {
    listing["channels"].as_array()?.iter().find(|c| c["channel_id"].as_str() == Some(id))
}

async fn wait_channel_ready(node: &DemoNode, id: &str) -> anyhow::Result<()> {
    node.wait_for(&format!("channel {id} to be ready"), "listchannels", |listing| {
        find_channel(listing, id).is_some_and(|c| c["state"].as_str() == Some("normal"))
    })
    .await?;
    Ok(())
}

/// `payee` invoices `amount_msat` and `payer` pays it, `count` times.
async fn pay_many(
    payee: &DemoNode,
    payer: &DemoNode,
    amount_msat: u64,
    count: u64,
) -> anyhow::Result<()> {
    let mut fees = 0u64;
    for i in 1..=count {
        let description = format!("demo payment {i} from {} to {}", payer.name, payee.name);
        let invoice = payee
            .call("invoice", &json!({ "amount_msat": amount_msat, "description": description }))
            .await?;
        let bolt11 = invoice["bolt11"].as_str().ok_or_else(|| anyhow!("no bolt11: {invoice}"))?;
        let paid = payer.call("pay", &json!({ "invoice": bolt11 })).await?;
        let fee = paid["fee_msat"].as_u64().ok_or_else(|| anyhow!("no fee_msat: {paid}"))?;
        fees = fees.saturating_add(fee);
        if count <= 3 {
            println!(
                "    {} paid {} msat to {} (fee {} msat, route {}); preimage {}",
                payer.name,
                group(amount_msat),
                payee.name,
                group(fee),
                route(&paid),
                paid["preimage"].as_str().unwrap_or("?")
            );
        }
    }
    if count > 3 {
        println!(
            "    {} paid {} × {} msat to {} ({} msat in fees)",
            payer.name,
            count,
            group(amount_msat),
            payee.name,
            group(fees)
        );
    }
    Ok(())
}

fn route(paid: &Value) -> String {
    let hops = paid["route"].as_array().map(Vec::len).unwrap_or(0);
    format!("{hops} hop(s)")
}

fn forward_fees(listing: &Value) -> anyhow::Result<u64> {
    let forwards =
        listing["forwards"].as_array().ok_or_else(|| anyhow!("no forwards: {listing}"))?;
    Ok(forwards
        .iter()
        .filter(|f| f["status"] == "fulfilled")
        .filter_map(|f| f["fee_msat"].as_u64())
        .sum())
}

async fn snapshot(net: &DemoNetwork) -> anyhow::Result<Vec<Balances>> {
    let mut all = Vec::with_capacity(net.nodes.len());
    for node in &net.nodes {
        all.push(ledger::balances(node).await?);
    }
    Ok(all)
}

fn named<'a>(net: &'a DemoNetwork, balances: &[Balances]) -> Vec<(&'a str, Balances)> {
    net.nodes.iter().map(|n| n.name).zip(balances.iter().copied()).collect()
}

/// Prints everyone's balances and the on-chain fees so far.
async fn show(net: &DemoNetwork, fees: &[Amount]) -> anyhow::Result<()> {
    let balances = snapshot(net).await?;
    println!("{}", ledger::table(&named(net, &balances)));
    println!("      on-chain fees so far: {} sat", group(total(fees).to_sat()));
    Ok(())
}

async fn wait_in_mempool(net: &DemoNetwork, txid: &Txid) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + super::network::PATIENCE;
    while net.chain.transaction(txid).is_none() {
        if std::time::Instant::now() > deadline {
            bail!("transaction {txid} never reached the chain");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Waits until the wallets hold the closed channels' funds: the balances plus the fees come
/// back to the starting total (or gives up and shows the difference).
async fn wait_settled(
    net: &DemoNetwork,
    start: u64,
    fees: Amount,
) -> anyhow::Result<Vec<Balances>> {
    let deadline = std::time::Instant::now() + super::network::PATIENCE;
    loop {
        let balances = snapshot(net).await?;
        let end: u64 = balances.iter().map(Balances::total_msat).sum();
        let open_channels = balances.iter().any(|b| b.channel_msat > 0);
        if !open_channels && ledger::accounting(start, end, fees).is_ok() {
            return Ok(balances);
        }
        if std::time::Instant::now() > deadline {
            println!("{}", ledger::table(&named(net, &balances)));
            ledger::accounting(start, end, fees)?;
            bail!("channels still open after closing");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Serves the chain's JSON-RPC, prints how to use the running network, then waits for Ctrl-C.
async fn keep_running(net: &DemoNetwork) -> anyhow::Result<()> {
    let loopback = "127.0.0.1:0".parse().context("loopback address")?;
    let server = RpcServer::bind(net.chain.clone(), loopback, RpcAuth::Cookie).await?;
    let rpc = server.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    step("The network keeps running; try the client commands (Ctrl-C stops it)");
    for node in &net.nodes {
        println!("  {:<8} --data-dir {}", node.name, node.data_dir.display());
    }
    let cookie = net.chain.data_dir().join(".cookie");
    println!("  chain    JSON-RPC http://{rpc} (cookie {})", cookie.display());
    let [alice, _, charlie] = &net.nodes;
    let (a, c) = (alice.data_dir.display(), charlie.data_dir.display());
    println!("\n  shandian listchannels --data-dir {a}");
    println!("  shandian invoice 1000000 coffee --data-dir {c}");
    println!("  shandian pay <the bolt11 it printed> --data-dir {a}");
    println!("  shandian listpayments --data-dir {a}");
    println!("  shandian closechannel <channel_id> --data-dir {a}");
    println!(
        "  shandian node --data-dir /tmp/dave --listen 127.0.0.1:9736 \\\n      \
         --bitcoind-rpc http://{rpc} --bitcoind-cookie {}   # a fourth node on this chain",
        cookie.display()
    );
    crate::logging::shutdown_signal().await;
    println!("\nStopping.");
    let _ = stop.send(());
    serving.await.context("the chain's RPC server")??;
    Ok(())
}
