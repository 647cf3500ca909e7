//! Shared test fixtures: a key, its P2WPKH script and a signer for simple spends.
#![allow(dead_code)]

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Witness,
};

pub struct Wallet {
    pub secret: SecretKey,
    pub pubkey: CompressedPublicKey,
    pub script: ScriptBuf,
}

impl Wallet {
    pub fn new(seed: u8) -> Wallet {
        let secp = Secp256k1::new();
        let secret = SecretKey::from_slice(&[seed.max(1); 32]).unwrap();
        let pubkey = CompressedPublicKey(secret.public_key(&secp));
        let script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
        Wallet { secret, pubkey, script }
    }

    /// A transaction spending `inputs` (each worth `value`, all ours) to `outputs`.
    pub fn spend(
        &self,
        inputs: &[(OutPoint, Amount)],
        outputs: Vec<TxOut>,
        lock_time: u32,
        sequence: u32,
    ) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::from_consensus(lock_time),
            input: inputs
                .iter()
                .map(|(op, _)| TxIn {
                    previous_output: *op,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence(sequence),
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        self.sign(&mut tx, inputs);
        tx
    }

    pub fn sign(&self, tx: &mut Transaction, inputs: &[(OutPoint, Amount)]) {
        let secp = Secp256k1::new();
        let mut witnesses = Vec::new();
        {
            let mut cache = SighashCache::new(&*tx);
            for (i, (_, value)) in inputs.iter().enumerate() {
                let sighash = cache
                    .p2wpkh_signature_hash(i, &self.script, *value, EcdsaSighashType::All)
                    .unwrap();
                let msg = Message::from_digest(sighash.to_byte_array());
                let sig =
                    bitcoin::ecdsa::Signature::sighash_all(secp.sign_ecdsa(&msg, &self.secret));
                witnesses.push(Witness::p2wpkh(&sig, &self.pubkey.0));
            }
        }
        for (input, w) in tx.input.iter_mut().zip(witnesses) {
            input.witness = w;
        }
    }

    /// Pays `value - fee` back to ourselves from one input.
    pub fn self_spend(&self, input: OutPoint, value: Amount, fee: u64) -> Transaction {
        let out =
            TxOut { value: value - Amount::from_sat(fee), script_pubkey: self.script.clone() };
        self.spend(&[(input, value)], vec![out], 0, 0xffff_fffd)
    }
}
