//! BOLT 3 witness scripts: funding 2-of-2, `to_local`, `to_remote` (anchors), anchors,
//! offered and received HTLC outputs, and the second-stage HTLC output.

use crate::keys::CommitmentKeys;
use bitcoin::hashes::{hash160, ripemd160, Hash};
use bitcoin::opcodes::all::*;
use bitcoin::script::Builder;
use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;
use shandian_types::{CltvExpiry, PaymentHash};

/// Which channel type a commitment follows; it changes scripts, fees and sighash flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// `option_static_remotekey`: `to_remote` is P2WPKH to the counterparty's
    /// `payment_basepoint`; HTLC transactions pay fees.
    StaticRemoteKey,
    /// `option_anchors_zero_fee_htlc_tx` (with static remote key): two 330-sat anchors, a
    /// one-block CSV on every counterparty output, zero-fee HTLC transactions signed with
    /// `SIGHASH_SINGLE|SIGHASH_ANYONECANPAY`.
    AnchorsZeroFeeHtlcTx,
}

impl ChannelType {
    /// Whether `option_anchors` applies.
    pub fn has_anchors(self) -> bool {
        matches!(self, ChannelType::AnchorsZeroFeeHtlcTx)
    }
}

/// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys in lexicographic order.
pub fn funding_script(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (a, b) = (a.serialize(), b.serialize());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    Builder::new()
        .push_int(2)
        .push_slice(first)
        .push_slice(second)
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The `to_local` script, also the output script of HTLC-success/-timeout transactions:
/// revocation key at once, or the delayed key after `to_self_delay` blocks.
pub fn to_local_script(
    revocation_pubkey: &PublicKey,
    to_self_delay: u16,
    local_delayed_pubkey: &PublicKey,
) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_IF)
        .push_slice(revocation_pubkey.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(to_self_delay))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(local_delayed_pubkey.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The anchors `to_remote` script: `<remotepubkey> OP_CHECKSIGVERIFY 1 OP_CHECKSEQUENCEVERIFY`.
pub fn to_remote_anchors_script(remote_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(remote_pubkey.serialize())
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_int(1)
        .push_opcode(OP_CSV)
        .into_script()
}

/// The anchor script: the funding key at once, anyone after 16 blocks.
pub fn anchor_script(funding_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(funding_pubkey.serialize())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_IFDUP)
        .push_opcode(OP_NOTIF)
        .push_int(16)
        .push_opcode(OP_CSV)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// `RIPEMD160(payment_hash)`.
fn payment_hash160(payment_hash: &PaymentHash) -> [u8; 20] {
    ripemd160::Hash::hash(payment_hash.as_bytes()).to_byte_array()
}

/// `RIPEMD160(SHA256(revocationpubkey))`.
fn revocation_hash160(revocation_pubkey: &PublicKey) -> [u8; 20] {
    hash160::Hash::hash(&revocation_pubkey.serialize()).to_byte_array()
}

/// The common opening of both HTLC scripts, up to the branch on the preimage size.
fn htlc_script_head(keys: &CommitmentKeys) -> Builder {
    Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(revocation_hash160(&keys.revocation_pubkey))
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.remote_htlc_pubkey.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
}

/// The closing of both HTLC scripts; anchors add `1 OP_CHECKSEQUENCEVERIFY OP_DROP`.
fn htlc_script_tail(builder: Builder, channel_type: ChannelType) -> ScriptBuf {
    let builder = builder.push_opcode(OP_ENDIF);
    let builder = if channel_type.has_anchors() {
        builder.push_int(1).push_opcode(OP_CSV).push_opcode(OP_DROP)
    } else {
        builder
    };
    builder.push_opcode(OP_ENDIF).into_script()
}

/// An offered HTLC output (the owner pays; HTLC-timeout for the owner, preimage for the
/// counterparty, revocation key for the counterparty).
pub fn offered_htlc_script(
    keys: &CommitmentKeys,
    payment_hash: &PaymentHash,
    channel_type: ChannelType,
) -> ScriptBuf {
    let builder = htlc_script_head(keys)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_pubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG);
    htlc_script_tail(builder, channel_type)
}

/// A received HTLC output (the owner is paid; HTLC-success for the owner, timeout for the
/// counterparty, revocation key for the counterparty).
pub fn received_htlc_script(
    keys: &CommitmentKeys,
    payment_hash: &PaymentHash,
    cltv_expiry: CltvExpiry,
    channel_type: ChannelType,
) -> ScriptBuf {
    let builder = htlc_script_head(keys)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_pubkey.serialize())
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry.0))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG);
    htlc_script_tail(builder, channel_type)
}
