//! What kind of transaction spent the funding output (BOLT 5 "Failing a Channel" and the
//! three ways a channel ends on chain).

use bitcoin::Transaction;

/// How the channel closed on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// A mutual close: the closing transaction paid both sides; nothing to claim.
    Cooperative,
    /// Our latest commitment (we closed unilaterally).
    HolderLatest {
        /// Its commitment number.
        commitment_number: u64,
    },
    /// The counterparty's current or next commitment (it closed unilaterally).
    Counterparty {
        /// Its commitment number.
        commitment_number: u64,
    },
    /// A counterparty commitment it had revoked: we take everything (justice).
    RevokedCounterparty {
        /// Its commitment number.
        commitment_number: u64,
    },
    /// A commitment of a state we do not know: the counterparty's newer than our record
    /// (we lost data), or an old one of ours (whose `to_local` the counterparty may punish).
    /// Only our `to_remote` is claimed (found by its script, as `option_static_remotekey`
    /// allows).
    Unrecognised {
        /// Its commitment number.
        commitment_number: u64,
    },
}

/// BOLT 3: a commitment transaction's locktime has 0x20 in its upper byte and its one
/// input's sequence 0x80; the lower 24 bits of each carry the obscured commitment number.
/// `None` for any other transaction (a closing transaction has neither).
pub(crate) fn commitment_number(tx: &Transaction, obscuring_factor: u64) -> Option<u64> {
    let [input] = tx.input.as_slice() else { return None };
    let locktime = tx.lock_time.to_consensus_u32();
    let sequence = input.sequence.0;
    if locktime >> 24 != 0x20 || sequence >> 24 != 0x80 {
        return None;
    }
    let obscured = (u64::from(sequence & 0x00ff_ffff) << 24) | u64::from(locktime & 0x00ff_ffff);
    Some((obscured ^ obscuring_factor) & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{OutPoint, ScriptBuf, Sequence, TxIn, Txid, Witness};

    fn tx(locktime: u32, sequence: u32) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::from_consensus(locktime),
            input: vec![TxIn {
                previous_output: OutPoint { txid: Txid::all_zeros(), vout: 0 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence(sequence),
                witness: Witness::new(),
            }],
            output: vec![],
        }
    }

    #[test]
    fn decodes_the_obscured_number_and_rejects_closing_transactions() {
        // BOLT 3 Appendix C: commitment number 42, obscuring factor 0x2bb038521914.
        let factor = 0x2bb0_3852_1914;
        let obscured = 42 ^ factor;
        let locktime = 0x2000_0000 | (obscured & 0xff_ffff) as u32;
        let sequence = 0x8000_0000 | ((obscured >> 24) & 0xff_ffff) as u32;
        assert_eq!(locktime, 542_251_326); // the vectors' nLocktime
        assert_eq!(sequence, 2_150_346_808); // and nSequence
        assert_eq!(commitment_number(&tx(locktime, sequence), factor), Some(42));
        // A closing transaction: locktime 0, final sequence.
        assert_eq!(commitment_number(&tx(0, 0xffff_ffff), factor), None);
        assert_eq!(commitment_number(&tx(locktime, 0xffff_ffff), factor), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(locktime: u32, sequence: u32, factor: u64) {
            let _ = commitment_number(&tx(locktime, sequence), factor);
        }
    }
}
