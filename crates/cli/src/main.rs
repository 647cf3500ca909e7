//! `shandian`: the one binary — daemon, embedded chain, demo and client commands.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and dispatches.

use clap::Parser;

/// Shandian, a Lightning Network node.
#[derive(Parser)]
#[command(version, about, arg_required_else_help = true)]
struct Cli {}

fn main() {
    // Subcommands arrive with the crates that implement them; until then `--help` and
    // `--version` are all the binary answers.
    Cli::parse();
}
