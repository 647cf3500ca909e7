//! Logging and signal handling shared by the long-running commands.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `RUST_LOG` overrides the default `info` level. Colours only on a terminal,
/// so log files and tests see plain text.
pub fn init() {
    init_with_default("info");
}

/// As [`init`] with `warn` by default, for commands whose own output is the point (the demo).
pub fn init_quiet() {
    init_with_default("warn");
}

fn init_with_default(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what service managers send), so either stops the
/// process gracefully. A handler that cannot be installed never fires; the process then runs
/// until killed.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
