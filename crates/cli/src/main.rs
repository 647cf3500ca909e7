//! `shandian`: the one binary — daemon, embedded chain, demo and client commands.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and dispatches.

use clap::{Parser, Subcommand};

/// Shandian, a Lightning Network node.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
