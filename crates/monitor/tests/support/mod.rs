//! What the monitor's tests share: a sweep policy, the monitor a restarting node builds, and
//! Bitcoin Core's verdict on a claim. Each test crate also includes the channel crate's harness
//! as `common`.
#![allow(dead_code)] // Each test file uses part of it.

use bitcoin::consensus::serialize;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, ScriptBuf, Transaction, TxOut, WPubkeyHash};
use shandian_channel::ChannelRecord;
use shandian_monitor::{ChannelMonitor, Claim, ClaimKind, SweepPolicy};
use shandian_types::FeeratePerKw;

use crate::common::{decode_record, kernel_verify, Side};

/// Claims pay a fixed test script at 1,000 sat/kw.
pub fn policy() -> SweepPolicy {
    SweepPolicy {
        destination: ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([0xaa; 20])),
        feerate: FeeratePerKw(1_000),
    }
}

/// The monitor a restarting node builds: from the stored record bytes, signer re-derived.
pub fn monitor(side: &Side) -> ChannelMonitor {
    let bytes = ChannelRecord::new(side.channel()).encode();
    ChannelMonitor::from_record(&decode_record(&bytes).unwrap()).unwrap()
}

/// Bitcoin Core's verdict on input 0 of `tx` spending `prevout`.
pub fn kernel_accepts(tx: &Transaction, prevout: &TxOut) -> bool {
    let bytes = serialize(tx);
    let ktx = bitcoinkernel::Transaction::new(&bytes).unwrap();
    let script = bitcoinkernel::ScriptPubkey::new(prevout.script_pubkey.as_bytes()).unwrap();
    let value = prevout.value.to_sat() as i64;
    let outs = [bitcoinkernel::TxOut::new(&script, value)];
    let data = bitcoinkernel::PrecomputedTransactionData::new(&ktx, &outs).unwrap();
    let flags = Some(bitcoinkernel::VERIFY_ALL);
    bitcoinkernel::verify(&script, Some(value), &ktx, 0, flags, &data).is_ok()
}

/// The claims of one kind.
pub fn of_kind(claims: &[Claim], kind: ClaimKind) -> Vec<&Claim> {
    claims.iter().filter(|c| c.kind == kind).collect()
}

/// Checks a one-input claim: Core accepts it, and it pays the policy's destination everything
/// but a fee within 10% of feerate × weight, which it returns.
pub fn check(claim: &Claim) -> Amount {
    kernel_verify(&claim.tx, std::slice::from_ref(&claim.prevout));
    assert_eq!(claim.tx.input.len(), 1);
    assert_eq!(claim.tx.input[0].previous_output, claim.spends);
    let [output] = claim.tx.output.as_slice() else { panic!("one output") };
    assert_eq!(output.script_pubkey, policy().destination);
    let fee = claim.prevout.value - output.value;
    let expected = policy().feerate.fee_for_weight(claim.tx.weight());
    let diff = fee.to_sat().abs_diff(expected.to_sat());
    assert!(diff * 10 <= expected.to_sat(), "fee {fee} for weight {}", claim.tx.weight());
    fee
}
