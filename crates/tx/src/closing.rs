//! BOLT 3 cooperative closing transactions: the legacy variant (`closing_signed`) and the
//! `option_simple_close` variant (`closing_complete` / `closing_sig`).

use crate::commitment::Side;
use crate::error::Error;
use bitcoin::transaction::Version;
use bitcoin::{absolute, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use shandian_types::Msat;

/// One side's output of a closing transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClosingOutput {
    /// The side's `scriptpubkey` from `shutdown` (or `closing_complete`).
    pub script_pubkey: ScriptBuf,
    /// The side's final balance, before the fee.
    pub balance: Msat,
}

/// What a closing transaction is built from. `None` omits that side's output (BOLT 3: a
/// node MAY eliminate its own output).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClosingSpec {
    /// The funding outpoint.
    pub funding_outpoint: OutPoint,
    /// Our output.
    pub local: Option<ClosingOutput>,
    /// The counterparty's output.
    pub remote: Option<ClosingOutput>,
    /// `fee_satoshis`.
    pub fee: Amount,
    /// Who pays the fee: the funder (legacy) or the closer (simple close).
    pub fee_payer: Side,
    /// The signer's `dust_limit_satoshis`: outputs below it are removed.
    pub dust_limit: Amount,
}

impl ClosingSpec {
    /// The legacy closing transaction: locktime 0, sequence 0xFFFFFFFF.
    pub fn legacy_tx(&self) -> Result<Transaction, Error> {
        self.build(0, Sequence::MAX)
    }

    /// The `option_simple_close` transaction: `locktime` from `closing_complete`, sequence
    /// 0xFFFFFFFD; an `OP_RETURN` output carries zero value.
    pub fn simple_close_tx(&self, locktime: u32) -> Result<Transaction, Error> {
        self.build(locktime, Sequence::ENABLE_RBF_NO_LOCKTIME)
    }

    fn output(&self, side: Side) -> Result<Option<TxOut>, Error> {
        let out = match side {
            Side::Local => &self.local,
            Side::Remote => &self.remote,
        };
        let Some(out) = out else { return Ok(None) };
        // BOLT 3: MUST round each output down to whole satoshis.
        let mut value = out.balance.to_sat_floor();
        if side == self.fee_payer {
            // BOLT 3: MUST subtract the fee from the output of the payer.
            value = value.checked_sub(self.fee).ok_or(Error::FeeExceedsValue)?;
        }
        if out.script_pubkey.is_op_return() {
            // BOLT 3: MUST set the output amount to 0 if the scriptpubkey is OP_RETURN.
            value = Amount::ZERO;
        } else if value < self.dust_limit {
            // BOLT 3: MUST remove any output below its own dust_limit_satoshis.
            return Ok(None);
        }
        Ok(Some(TxOut { value, script_pubkey: out.script_pubkey.clone() }))
    }

    fn build(&self, locktime: u32, sequence: Sequence) -> Result<Transaction, Error> {
        let mut output: Vec<TxOut> =
            [self.output(Side::Local)?, self.output(Side::Remote)?].into_iter().flatten().collect();
        if output.is_empty() {
            return Err(Error::NoOutputs);
        }
        output.sort_by(|a, b| {
            (a.value, a.script_pubkey.as_bytes()).cmp(&(b.value, b.script_pubkey.as_bytes()))
        });
        Ok(Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::from_consensus(locktime),
            input: vec![TxIn {
                previous_output: self.funding_outpoint,
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::WPubkeyHash;

    fn script(b: u8) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([b; 20]))
    }

    fn spec(local: u64, remote: u64, fee: u64) -> ClosingSpec {
        ClosingSpec {
            funding_outpoint: OutPoint::null(),
            local: Some(ClosingOutput { script_pubkey: script(2), balance: Msat(local) }),
            remote: Some(ClosingOutput { script_pubkey: script(1), balance: Msat(remote) }),
            fee: Amount::from_sat(fee),
            fee_payer: Side::Local,
            dust_limit: Amount::from_sat(546),
        }
    }

    #[test]
    fn fee_rounding_dust_and_order() {
        let tx = spec(5_000_999, 7_000_000, 1000).legacy_tx().unwrap();
        assert_eq!(tx.input[0].sequence, Sequence::MAX);
        assert_eq!(tx.lock_time, absolute::LockTime::ZERO);
        // Rounded down, the fee taken from the payer, smallest output first.
        assert_eq!(tx.output[0].value, Amount::from_sat(4000));
        assert_eq!(tx.output[1].value, Amount::from_sat(7000));
        // Equal values sort by script.
        let tx = spec(8_000_000, 7_000_000, 1000).legacy_tx().unwrap();
        assert_eq!(tx.output[0].script_pubkey, script(1));
        // The payer's output falls below dust and disappears.
        let tx = spec(1_500_000, 7_000_000, 1000).simple_close_tx(99).unwrap();
        assert_eq!(tx.output.len(), 1);
        assert_eq!(tx.input[0].sequence, Sequence::ENABLE_RBF_NO_LOCKTIME);
        assert_eq!(tx.lock_time.to_consensus_u32(), 99);
        assert_eq!(spec(500_000, 500_000, 0).legacy_tx(), Err(Error::NoOutputs));
        assert_eq!(spec(500_000, 9_000_000, 1000).legacy_tx(), Err(Error::FeeExceedsValue));
    }
}
