//! Absolute (BIP 65/113) and relative (BIP 68/112) lock times, checked for the next block.
//!
//! The script opcodes OP_CHECKLOCKTIMEVERIFY and OP_CHECKSEQUENCEVERIFY are evaluated by
//! Core's interpreter against the transaction's own nLockTime/nSequence; these checks make
//! sure those fields themselves are satisfied by the next block, using median time past.

use bitcoin::Transaction;

/// nSequence bit that disables BIP 68 for an input.
const SEQUENCE_DISABLE: u32 = 1 << 31;
/// nSequence bit that makes a relative lock time-based (units of 512 seconds).
const SEQUENCE_TYPE_TIME: u32 = 1 << 22;
const SEQUENCE_MASK: u32 = 0x0000_ffff;
/// Lock times below this are heights, at or above are UNIX times.
const LOCKTIME_THRESHOLD: u32 = 500_000_000;

/// Whether `tx` may be included in a block at `height` whose median-time-past cutoff is `mtp`
/// (Core's `IsFinalTx` with BIP 113).
pub(crate) fn is_final(tx: &Transaction, height: u32, mtp: u32) -> bool {
    let lock = tx.lock_time.to_consensus_u32();
    if lock == 0 {
        return true;
    }
    let cutoff = if lock < LOCKTIME_THRESHOLD { height } else { mtp };
    if lock < cutoff {
        return true;
    }
    tx.input.iter().all(|i| i.sequence.0 == u32::MAX)
}

/// Where an input's coin was created, for BIP 68.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoinAge {
    /// Height of the block that created the coin (the next block's height for mempool coins).
    pub(crate) height: u32,
    /// Median time past of the block before that one.
    pub(crate) prev_mtp: u32,
}

/// BIP 68: whether the relative lock times of `tx` allow it in the block at `height`, whose
/// previous block has median time past `tip_mtp`. `ages` has one entry per input.
pub(crate) fn sequence_locks_ok(
    tx: &Transaction,
    ages: &[CoinAge],
    height: u32,
    tip_mtp: u32,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    for (input, age) in tx.input.iter().zip(ages) {
        let seq = input.sequence.0;
        if seq & SEQUENCE_DISABLE != 0 {
            continue;
        }
        let value = i64::from(seq & SEQUENCE_MASK);
        if seq & SEQUENCE_TYPE_TIME != 0 {
            min_time = min_time.max(i64::from(age.prev_mtp) + (value << 9) - 1);
        } else {
            min_height = min_height.max(i64::from(age.height) + value - 1);
        }
    }
    min_height < i64::from(height) && min_time < i64::from(tip_mtp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Sequence, TxIn};

    fn tx(version: i32, lock: u32, seq: u32) -> Transaction {
        Transaction {
            version: Version(version),
            lock_time: LockTime::from_consensus(lock),
            input: vec![TxIn { sequence: Sequence(seq), ..TxIn::default() }],
            output: vec![],
        }
    }

    #[test]
    fn absolute_height_lock() {
        let t = tx(2, 100, 0xffff_fffe);
        assert!(!is_final(&t, 100, 0));
        assert!(is_final(&t, 101, 0));
        // All inputs final: lock time ignored.
        assert!(is_final(&tx(2, 100, u32::MAX), 50, 0));
    }

    #[test]
    fn absolute_time_lock_uses_mtp() {
        let t = tx(2, 600_000_000, 0);
        assert!(!is_final(&t, 10, 600_000_000));
        assert!(is_final(&t, 10, 600_000_001));
    }

    #[test]
    fn relative_height_lock() {
        let t = tx(2, 0, 10);
        let age = [CoinAge { height: 100, prev_mtp: 0 }];
        assert!(!sequence_locks_ok(&t, &age, 109, 0));
        assert!(sequence_locks_ok(&t, &age, 110, 0));
        // Version 1 and the disable flag switch BIP 68 off.
        assert!(sequence_locks_ok(&tx(1, 0, 10), &age, 101, 0));
        assert!(sequence_locks_ok(&tx(2, 0, 10 | SEQUENCE_DISABLE), &age, 101, 0));
    }

    #[test]
    fn relative_time_lock() {
        let t = tx(2, 0, SEQUENCE_TYPE_TIME | 2);
        let age = [CoinAge { height: 100, prev_mtp: 1_000 }];
        assert!(!sequence_locks_ok(&t, &age, 200, 1_000 + 1024 - 1));
        assert!(sequence_locks_ok(&t, &age, 200, 1_000 + 1024));
    }
}
