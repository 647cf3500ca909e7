//! `shandian`: the one binary — daemon, embedded chain, demo and client commands.
//!
//! Each subcommand lives in its own module; `main` only parses arguments and dispatches.

mod api_client;
mod bench;
mod chain;
mod client;
mod decode_invoice;
mod demo;
mod logging;
mod node;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shandian, a Lightning Network node.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Lightning node daemon.
    Node(node::NodeArgs),
    /// Run the embedded regtest chain with a bitcoind-compatible JSON-RPC server.
    Chain(chain::ChainArgs),
    /// Run the embedded chain and three nodes (Alice, Bob, Charlie) in this process and walk
    /// through the Lightning story: fund, open channels, pay across a hop, pay back, close.
    Demo(demo::DemoArgs),
    /// Measure payment throughput and latency, Alice → Bob → Charlie over loopback TCP with
    /// persistence on.
    Bench(bench::BenchArgs),
    /// Decode a BOLT 11 invoice and print it as JSON (no running node needed).
    #[command(name = "decodeinvoice")]
    DecodeInvoice(decode_invoice::DecodeInvoiceArgs),
    /// Client commands: call a running node's API (found with --data-dir) and print JSON.
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Node(args) => node::run(args),
        Command::Chain(args) => chain::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::DecodeInvoice(args) => decode_invoice::run(args),
        Command::Client(command) => client::run(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line on stderr, the whole cause chain joined, as scripts expect.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
