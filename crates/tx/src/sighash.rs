//! Segwit v0 signature hashes, signing and verification for P2WSH inputs.

use crate::error::Error;
use bitcoin::secp256k1::{
    ecdsa::Signature, Message, PublicKey, Secp256k1, SecretKey, Signing, Verification,
};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, Script, Transaction};

/// The BIP 143 message for input `input_index` spending `value` locked by `witness_script`.
pub fn p2wsh_message(
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    sighash_type: EcdsaSighashType,
) -> Result<Message, Error> {
    if input_index >= tx.input.len() {
        return Err(Error::InputNotFound(input_index));
    }
    let hash = SighashCache::new(tx)
        .p2wsh_signature_hash(input_index, witness_script, value, sighash_type)
        .map_err(|_| Error::Sighash)?;
    Ok(Message::from(hash))
}

/// Signs a P2WSH input (RFC 6979 deterministic nonces, as the BOLT 3 vectors use).
pub fn sign_p2wsh<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    sighash_type: EcdsaSighashType,
    key: &SecretKey,
) -> Result<Signature, Error> {
    let msg = p2wsh_message(tx, input_index, witness_script, value, sighash_type)?;
    Ok(secp.sign_ecdsa(&msg, key))
}

/// Checks a signature on a P2WSH input.
pub fn verify_p2wsh<C: Verification>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value: Amount,
    sighash_type: EcdsaSighashType,
    signature: &Signature,
    pubkey: &PublicKey,
) -> Result<bool, Error> {
    let msg = p2wsh_message(tx, input_index, witness_script, value, sighash_type)?;
    Ok(secp.verify_ecdsa(&msg, signature, pubkey).is_ok())
}

/// A signature in Bitcoin script form: DER plus the sighash byte.
pub fn script_sig(signature: &Signature, sighash_type: EcdsaSighashType) -> Vec<u8> {
    bitcoin::ecdsa::Signature { signature: *signature, sighash_type }.to_vec()
}
