//! `shandian demo` as a user runs it: no set-up, exits 0 on its own, and ends with balances
//! that add up (the accounting line: start total = end total + on-chain fees).

use std::process::Command;

fn demo(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .arg("demo")
        .args(args)
        .output()
        .expect("run shandian demo");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed: {stderr}\n--- stdout:\n{stdout}");
    stdout
}

/// The numbers of `accounting: start total S msat = end total E msat + on-chain fees F msat`.
fn accounting(stdout: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("accounting: "))
        .unwrap_or_else(|| panic!("no accounting line in:\n{stdout}"));
    let numbers: Vec<u64> =
        line.split_whitespace().filter_map(|word| word.replace(',', "").parse().ok()).collect();
    assert_eq!(numbers.len(), 3, "{line}");
    (numbers[0], numbers[1], numbers[2])
}

#[test]
fn the_demo_runs_and_its_books_balance() {
    let stdout = demo(&["--payments", "2"]);
    let (start, end, fees) = accounting(&stdout);
    assert_eq!(start, end + fees, "{stdout}");
    // Alice and Bob each mined one 50 BTC block; the demo spent something on fees.
    assert_eq!(start, 2 * 50 * 100_000_000 * 1000, "{stdout}");
    assert!(fees > 0, "{stdout}");
    assert!(stdout.contains("Bob earned"), "{stdout}");
    assert!(stdout.contains("Done"), "{stdout}");
}

#[test]
fn a_bad_flag_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["demo", "--payments", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn keep_running_serves_the_client_commands_until_interrupted() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["demo", "--keep-running"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let mut dirs = Vec::new();
    for line in lines.by_ref() {
        if let Some(dir) = line.split("--data-dir ").nth(1).filter(|_| line.starts_with("  ")) {
            dirs.push(dir.split_whitespace().next().unwrap().to_owned());
        }
        if line.contains("a fourth node") {
            break;
        }
    }
    assert!(dirs.len() >= 3, "{dirs:?}");
    // Alice's channel is still open, with the demo's payments in it.
    let output = Command::new(env!("CARGO_BIN_EXE_shandian"))
        .args(["listchannels", "--data-dir", &dirs[0]])
        .output()
        .unwrap();
    assert!(output.status.success());
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listing["channels"][0]["state"], "normal", "{listing}");

    let interrupt = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(interrupt.unwrap().success());
    assert!(lines.any(|l| l.contains("Stopping")));
    assert!(child.wait().unwrap().success(), "Ctrl-C ends the demo cleanly");
}
