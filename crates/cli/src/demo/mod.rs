//! `shandian demo`: the Lightning story on one machine, with no set-up. The embedded chain
//! and three nodes (Alice, Bob, Charlie) run in this process on loopback, in a temporary
//! directory; the demo drives them only through their APIs, as the client commands do:
//! fund, open Alice–Bob and a private Bob–Charlie channel, pay Charlie from Alice through Bob,
//! pay back, close cooperatively, and check that the balances add up, on-chain fees included.

mod ledger;
pub mod network;
mod story;

use anyhow::Context;

/// Arguments of `shandian demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// How many payments to make each way.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    payments: u32,
    /// After the payments, keep the network running (channels open) for the client commands,
    /// printing each node's --data-dir; Ctrl-C stops it.
    #[arg(long)]
    keep_running: bool,
}

/// Runs the story; an error says which step failed and why.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::logging::init_quiet();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let dir = tempfile::Builder::new()
        .prefix("shandian-demo-")
        .tempdir()
        .context("creating a temporary directory")?;
    let options = story::Options { payments: args.payments, keep_running: args.keep_running };
    runtime.block_on(story::run(dir.path(), options))
}
