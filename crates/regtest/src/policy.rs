//! Context-free transaction checks: Core's `CheckTransaction` plus the standardness rules this
//! mempool applies (version, size, dust).

use std::collections::HashSet;

use bitcoin::{Amount, Transaction, TxOut};

use crate::error::MempoolReject;

/// Largest standard transaction weight (Core's `MAX_STANDARD_TX_WEIGHT`).
pub(crate) const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Smallest standard non-witness size (Core's `MIN_STANDARD_TX_NONWITNESS_SIZE`).
const MIN_STANDARD_TX_NONWITNESS_SIZE: usize = 65;
/// Minimum relay fee, sat per 1000 vB (1 sat/vB).
pub(crate) const MIN_RELAY_FEE_PER_KVB: u64 = 1_000;

/// Core's `CheckTransaction` and `IsStandardTx` (the parts that need no chain).
pub(crate) fn check_transaction(tx: &Transaction) -> Result<(), MempoolReject> {
    if tx.input.is_empty() {
        return Err(MempoolReject::NoInputs);
    }
    if tx.output.is_empty() {
        return Err(MempoolReject::NoOutputs);
    }
    let mut total = Amount::ZERO;
    for out in &tx.output {
        if out.value > Amount::MAX_MONEY {
            return Err(MempoolReject::OutputTooLarge);
        }
        total = total
            .checked_add(out.value)
            .filter(|t| *t <= Amount::MAX_MONEY)
            .ok_or(MempoolReject::OutputTotalTooLarge)?;
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    if !tx.input.iter().all(|i| seen.insert(i.previous_output)) {
        return Err(MempoolReject::DuplicateInputs);
    }
    if tx.is_coinbase() {
        return Err(MempoolReject::Coinbase);
    }
    if !(1..=3).contains(&tx.version.0) {
        return Err(MempoolReject::NonStandardVersion);
    }
    if tx.weight().to_wu() > MAX_STANDARD_TX_WEIGHT {
        return Err(MempoolReject::TooLarge);
    }
    if tx.base_size() < MIN_STANDARD_TX_NONWITNESS_SIZE {
        return Err(MempoolReject::TooSmall);
    }
    if tx.output.iter().any(is_dust) {
        return Err(MempoolReject::Dust);
    }
    Ok(())
}

/// Core's `IsDust` at the default 3 sat/vB dust relay fee; OP_RETURN outputs are never dust.
pub(crate) fn is_dust(out: &TxOut) -> bool {
    if out.script_pubkey.is_op_return() {
        return false;
    }
    out.value < out.script_pubkey.minimal_non_dust()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{PubkeyHash, ScriptBuf, WPubkeyHash};

    #[test]
    fn dust_thresholds_match_core() {
        let p2wpkh = ScriptBuf::new_p2wpkh(&WPubkeyHash::all_zeros());
        let p2pkh = ScriptBuf::new_p2pkh(&PubkeyHash::all_zeros());
        let out = |script: &ScriptBuf, sat| TxOut {
            value: Amount::from_sat(sat),
            script_pubkey: script.clone(),
        };
        assert!(is_dust(&out(&p2wpkh, 293)));
        assert!(!is_dust(&out(&p2wpkh, 294)));
        assert!(is_dust(&out(&p2pkh, 545)));
        assert!(!is_dust(&out(&p2pkh, 546)));
        assert!(!is_dust(&out(&ScriptBuf::new_op_return([1u8; 4]), 0)));
    }
}
