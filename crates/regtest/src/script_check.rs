//! Input script verification with Bitcoin Core's interpreter (libbitcoinkernel `verify`).
//!
//! The kernel exposes only the consensus flags (P2SH, DERSIG, NULLDUMMY, CHECKLOCKTIMEVERIFY,
//! CHECKSEQUENCEVERIFY, WITNESS, TAPROOT); Core's policy-only flags (LOW_S, CLEANSTACK,
//! MINIMALDATA, ...) are not available through it, so the mempool verifies with all
//! consensus flags, which is what a block containing the transaction must satisfy.

use bitcoin::consensus::serialize;
use bitcoin::{Transaction, TxOut};
use bitcoinkernel::{
    verify, PrecomputedTransactionData, ScriptPubkey, Transaction as KTransaction, TxOut as KTxOut,
    VERIFY_ALL,
};

use crate::error::MempoolReject;

/// Verifies every input of `tx` against the outputs it spends (`spent`, one per input).
pub(crate) fn verify_inputs(tx: &Transaction, spent: &[TxOut]) -> Result<(), MempoolReject> {
    let fail = |input| MempoolReject::ScriptVerify { input };
    let ktx = KTransaction::new(&serialize(tx)).map_err(|_| fail(0))?;
    let mut kspent = Vec::with_capacity(spent.len());
    for (i, out) in spent.iter().enumerate() {
        let script = ScriptPubkey::new(out.script_pubkey.as_bytes()).map_err(|_| fail(i))?;
        let amount = i64::try_from(out.value.to_sat()).map_err(|_| fail(i))?;
        kspent.push(KTxOut::new(&script, amount));
    }
    let txdata = PrecomputedTransactionData::new(&ktx, &kspent).map_err(|_| fail(0))?;
    for (i, out) in kspent.iter().enumerate() {
        let amount = spent.get(i).and_then(|o| i64::try_from(o.value.to_sat()).ok());
        let script = out_script(out);
        verify(&script, amount, &ktx, i, Some(VERIFY_ALL), &txdata).map_err(|_| fail(i))?;
    }
    Ok(())
}

fn out_script(out: &KTxOut) -> bitcoinkernel::ScriptPubkeyRef<'_> {
    use bitcoinkernel::prelude::TxOutExt;
    out.script_pubkey()
}
