//! `shandian`: the one binary — daemon, embedded chain, demo and client commands.

use clap::Parser;

/// Shandian, a Lightning Network node.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
