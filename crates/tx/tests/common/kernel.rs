//! Runs transactions through Bitcoin Core's script interpreter (libbitcoinkernel).

use bitcoin::consensus::serialize;
use bitcoinkernel::{
    verify, PrecomputedTransactionData, ScriptPubkey, Transaction, TxOut, VERIFY_ALL,
};

/// Verifies every input of `tx` against the outputs it spends (in input order).
pub fn verify_tx(tx: &bitcoin::Transaction, spent: &[bitcoin::TxOut]) -> Result<(), String> {
    assert_eq!(tx.input.len(), spent.len(), "one spent output per input");
    let ktx = Transaction::new(&serialize(tx)).map_err(|e| e.to_string())?;
    let outs: Vec<TxOut> = spent
        .iter()
        .map(|o| {
            let spk = ScriptPubkey::new(o.script_pubkey.as_bytes()).expect("script");
            TxOut::new(&spk, o.value.to_sat() as i64)
        })
        .collect();
    let data = PrecomputedTransactionData::new(&ktx, &outs).map_err(|e| e.to_string())?;
    for (i, o) in spent.iter().enumerate() {
        let spk = ScriptPubkey::new(o.script_pubkey.as_bytes()).expect("script");
        verify(&spk, Some(o.value.to_sat() as i64), &ktx, i, Some(VERIFY_ALL), &data)
            .map_err(|e| format!("input {i}: {e}"))?;
    }
    Ok(())
}

/// Asserts that the interpreter rejects a script of `tx` (not that the test set it up wrong).
pub fn assert_rejected(tx: &bitcoin::Transaction, spent: &[bitcoin::TxOut]) {
    match verify_tx(tx, spent) {
        Ok(()) => panic!("the interpreter accepted an unintended spend"),
        Err(e) => assert!(e.contains("Script verification failed"), "unexpected error: {e}"),
    }
}
