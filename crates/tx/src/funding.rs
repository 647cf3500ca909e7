//! The funding output: a P2WSH 2-of-2 of the two `funding_pubkey`s, and the witness that
//! spends it (commitment and closing transactions).

use crate::script::funding_script;
use crate::sighash::script_sig;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut, Witness};

/// The channel's funding output and the keys locking it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Funding {
    /// The funding transaction's outpoint.
    pub outpoint: OutPoint,
    /// The value of the funding output.
    pub amount: Amount,
    /// The local (our) `funding_pubkey`.
    pub local_pubkey: PublicKey,
    /// The remote (counterparty) `funding_pubkey`.
    pub remote_pubkey: PublicKey,
}

impl Funding {
    /// The 2-of-2 witness script (keys sorted).
    pub fn witness_script(&self) -> ScriptBuf {
        funding_script(&self.local_pubkey, &self.remote_pubkey)
    }

    /// The funding transaction output paying to the P2WSH of the witness script.
    pub fn txout(&self) -> TxOut {
        TxOut {
            value: self.amount,
            script_pubkey: ScriptBuf::new_p2wsh(&self.witness_script().wscript_hash()),
        }
    }

    /// The funding output's script pubkey.
    pub fn script_pubkey(&self) -> ScriptBuf {
        ScriptBuf::new_p2wsh(&self.witness_script().wscript_hash())
    }

    /// `0 <signature_for_pubkey1> <signature_for_pubkey2> <script>`, ordering the two
    /// signatures as their keys are ordered in the script.
    pub fn witness(&self, local_sig: &Signature, remote_sig: &Signature) -> Witness {
        let local = script_sig(local_sig, EcdsaSighashType::All);
        let remote = script_sig(remote_sig, EcdsaSighashType::All);
        let (first, second) = if self.local_pubkey.serialize() <= self.remote_pubkey.serialize() {
            (local, remote)
        } else {
            (remote, local)
        };
        let mut witness = Witness::new();
        witness.push([]);
        witness.push(first);
        witness.push(second);
        witness.push(self.witness_script().as_bytes());
        witness
    }
}
