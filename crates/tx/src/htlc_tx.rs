//! BOLT 3 HTLC-success and HTLC-timeout transactions (second stage of the owner's HTLCs).

use crate::commitment::{htlc_tx_fee, CommitmentTx, HtlcDirection, HtlcOutput};
use crate::error::Error;
use crate::sighash::script_sig;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use shandian_types::PaymentPreimage;

/// The sighash flag of the counterparty's signature on the owner's HTLC transactions:
/// BOLT 5, `SIGHASH_SINGLE|SIGHASH_ANYONECANPAY` with anchors, else `SIGHASH_ALL`.
pub fn counterparty_htlc_sighash(channel_type: crate::ChannelType) -> EcdsaSighashType {
    if channel_type.has_anchors() {
        EcdsaSighashType::SinglePlusAnyoneCanPay
    } else {
        EcdsaSighashType::All
    }
}

impl CommitmentTx {
    /// The unsigned second-stage transaction of the `i`-th untrimmed HTLC (in output order):
    /// HTLC-timeout for offered HTLCs, HTLC-success for received ones.
    pub fn htlc_tx(&self, i: usize) -> Result<Transaction, Error> {
        let output = self.htlc_outputs.get(i).ok_or(Error::OutputNotFound(i as u32))?;
        self.build_htlc_tx(self.tx.compute_txid(), output)
    }

    /// Every second-stage transaction, in output order (the order of `htlc_signatures`).
    pub fn htlc_txs(&self) -> Result<Vec<Transaction>, Error> {
        let txid = self.tx.compute_txid();
        self.htlc_outputs.iter().map(|output| self.build_htlc_tx(txid, output)).collect()
    }

    /// The witness script of the second-stage output (same shape as `to_local`).
    pub fn htlc_tx_output_script(&self) -> ScriptBuf {
        self.spec.to_local_script()
    }

    fn build_htlc_tx(&self, txid: Txid, output: &HtlcOutput) -> Result<Transaction, Error> {
        let spec = &self.spec;
        let fee = htlc_tx_fee(output.htlc.direction, spec.channel_type, spec.feerate);
        let value =
            output.htlc.amount.to_sat_floor().checked_sub(fee).ok_or(Error::FeeExceedsValue)?;
        let lock_time = match output.htlc.direction {
            HtlcDirection::Offered => output.htlc.cltv_expiry.0,
            HtlcDirection::Received => 0,
        };
        let sequence = if spec.channel_type.has_anchors() { 1 } else { 0 };
        let script = spec.to_local_script();
        Ok(Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::from_consensus(lock_time),
            input: vec![TxIn {
                previous_output: OutPoint { txid, vout: output.output_index },
                script_sig: ScriptBuf::new(),
                sequence: Sequence(sequence),
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value,
                script_pubkey: ScriptBuf::new_p2wsh(&script.wscript_hash()),
            }],
        })
    }

    /// The value of an HTLC output (whole satoshis).
    pub fn htlc_output_value(&self, i: usize) -> Result<Amount, Error> {
        self.htlc_outputs
            .get(i)
            .map(|o| o.htlc.amount.to_sat_floor())
            .ok_or(Error::OutputNotFound(i as u32))
    }
}

/// The witness of a second-stage transaction:
/// `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` (success) or `... <>` (timeout).
pub fn htlc_tx_witness(
    output: &HtlcOutput,
    channel_type: crate::ChannelType,
    remote_sig: &Signature,
    local_sig: &Signature,
    preimage: Option<&PaymentPreimage>,
) -> Result<Witness, Error> {
    let mut witness = Witness::new();
    witness.push([]);
    witness.push(script_sig(remote_sig, counterparty_htlc_sighash(channel_type)));
    witness.push(script_sig(local_sig, EcdsaSighashType::All));
    match (output.htlc.direction, preimage) {
        (HtlcDirection::Received, Some(preimage)) => witness.push(preimage.as_bytes()),
        (HtlcDirection::Received, None) => return Err(Error::MissingPreimage),
        (HtlcDirection::Offered, _) => witness.push([]),
    }
    witness.push(output.witness_script.as_bytes());
    Ok(witness)
}
