//! The demo's bookkeeping: every node's on-chain and in-channel balance, the on-chain fees
//! paid, and the check that nothing was created or lost.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context};
use bitcoin::{Amount, Txid};
use serde_json::Value;
use shandian_regtest::RegtestChain;

use super::network::DemoNode;

/// One node's balances at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balances {
    /// The wallet's total (confirmed, unconfirmed and immature), in satoshis.
    pub onchain_sat: u64,
    /// Our side of every open channel, in millisatoshis.
    pub channel_msat: u64,
}

impl Balances {
    /// Both, in millisatoshis.
    pub fn total_msat(&self) -> u64 {
        self.onchain_sat.saturating_mul(1000).saturating_add(self.channel_msat)
    }
}

/// Reads a node's balances through its API.
pub async fn balances(node: &DemoNode) -> anyhow::Result<Balances> {
    let wallet = node.call("getbalance", &serde_json::json!({})).await?;
    let onchain_sat = wallet["total_sat"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}: getbalance without total_sat: {wallet}", node.name))?;
    let channel_msat = channel_msat(&node.call("listchannels", &serde_json::json!({})).await?)
        .with_context(|| format!("{}: listchannels", node.name))?;
    Ok(Balances { onchain_sat, channel_msat })
}

/// The sum of our side of the channels that are not closing or closed (their funds are on
/// their way to the wallet, or already there).
fn channel_msat(listing: &Value) -> anyhow::Result<u64> {
    let channels =
        listing["channels"].as_array().ok_or_else(|| anyhow!("no channels array: {listing}"))?;
    let mut sum = 0u64;
    for channel in channels {
        let closing = channel.get("closing_txid").is_some_and(|t| !t.is_null());
        if closing || channel["state"] == "closed" {
            continue;
        }
        let local = channel["local_msat"]
            .as_u64()
            .ok_or_else(|| anyhow!("channel without local_msat: {channel}"))?;
        sum = sum.saturating_add(local);
    }
    Ok(sum)
}

/// A table of everyone's balances, one line per node and a total.
pub fn table(rows: &[(&str, Balances)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "      {:<8} {:>16} {:>20} {:>20}",
        "", "on-chain sat", "in channels msat", "total msat"
    );
    let mut total = 0u64;
    for (name, b) in rows {
        total = total.saturating_add(b.total_msat());
        let _ = writeln!(
            out,
            "      {:<8} {:>16} {:>20} {:>20}",
            name,
            group(b.onchain_sat),
            group(b.channel_msat),
            group(b.total_msat())
        );
    }
    let _ = write!(out, "      {:<8} {:>16} {:>20} {:>20}", "all", "", "", group(total));
    out
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The fee a confirmed or mempool transaction paid: its inputs' values minus its outputs'.
pub fn tx_fee(chain: &RegtestChain, txid: &Txid) -> anyhow::Result<Amount> {
    let tx = chain.transaction(txid).ok_or_else(|| anyhow!("transaction {txid} not found"))?.tx;
    let mut inputs = Amount::ZERO;
    for input in &tx.input {
        let prev = input.previous_output;
        let parent = chain
            .transaction(&prev.txid)
            .ok_or_else(|| anyhow!("input {prev} of {txid} not found"))?
            .tx;
        let value = parent
            .output
            .get(prev.vout as usize)
            .ok_or_else(|| anyhow!("input {prev} of {txid} does not exist"))?
            .value;
        inputs = inputs.checked_add(value).ok_or_else(|| anyhow!("input sum overflows"))?;
    }
    let outputs = tx.output.iter().try_fold(Amount::ZERO, |sum, out| sum.checked_add(out.value));
    let outputs = outputs.ok_or_else(|| anyhow!("output sum overflows"))?;
    inputs.checked_sub(outputs).ok_or_else(|| anyhow!("{txid} spends less than it creates"))
}

/// Checks `start = end + fees` (all in msat) and says so in one line.
pub fn accounting(start_msat: u64, end_msat: u64, fees: Amount) -> anyhow::Result<String> {
    let fees_msat = fees.to_sat().saturating_mul(1000);
    let line = format!(
        "accounting: start total {} msat = end total {} msat + on-chain fees {} msat",
        group(start_msat),
        group(end_msat),
        group(fees_msat)
    );
    if end_msat.checked_add(fees_msat) != Some(start_msat) {
        bail!("the balances do not add up: {line}");
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(5_000_000_000), "5,000,000,000");
    }

    #[test]
    fn accounting_must_balance() {
        assert!(accounting(10_000, 7_000, Amount::from_sat(3)).is_ok());
        let err = accounting(10_000, 7_001, Amount::from_sat(3)).unwrap_err();
        assert!(err.to_string().contains("do not add up"), "{err}");
    }

    #[test]
    fn closing_channels_are_not_counted() {
        let listing = serde_json::json!({"channels": [
            {"local_msat": 5, "closing_txid": null},
            {"local_msat": 7, "closing_txid": "ab"},
            {"local_msat": 11},
            {"local_msat": 13, "state": "closed"},
        ]});
        assert_eq!(channel_msat(&listing).unwrap(), 16);
        assert!(channel_msat(&serde_json::json!({})).is_err());
    }
}
