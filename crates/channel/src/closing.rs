//! Mutual close (BOLT 2 "Channel Close"): the legacy closing transaction (BOLT 3) and the
//! `closing_signed` fee negotiation with `fee_range`.

use crate::error::Error;
use crate::funded::Funded;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, ScriptBuf, Transaction, Weight};
use shandian_tx::sighash::verify_p2wsh;
use shandian_tx::{ClosingOutput, ClosingSpec, Side as TxSide};
use shandian_types::FeeratePerKw;
use shandian_wire::{ClosingSigned, FeeRange};

/// The expected weight of a two-output closing transaction with its 2-of-2 witness.
const CLOSING_WEIGHT: u64 = 672;

/// Both shutdown scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripts {
    /// Where our funds go.
    pub holder: ScriptBuf,
    /// Where the peer's funds go.
    pub counterparty: ScriptBuf,
}

/// BOLT 2: the scripts `shutdown` may carry.
pub fn is_valid_shutdown_script(script: &ScriptBuf) -> bool {
    script.is_p2pkh()
        || script.is_p2sh()
        || script.is_p2wpkh()
        || script.is_p2wsh()
        || (script.is_witness_program() && !script.is_p2wpkh() && !script.is_p2wsh())
}

/// The fee range we accept for the closing transaction at `feerate`.
pub fn fee_range(feerate: FeeratePerKw, floor: FeeratePerKw) -> FeeRange {
    let weight = Weight::from_wu(CLOSING_WEIGHT);
    let min = floor.fee_for_weight(weight);
    let proposal = feerate.fee_for_weight(weight);
    FeeRange { min_fee_satoshis: min, max_fee_satoshis: proposal.max(min) * 2 }
}

impl Funded {
    /// BOLT 3 legacy closing transaction paying `fee` from the funder. Outputs below the
    /// larger dust limit are left off, so both sides sign the same transaction.
    pub(crate) fn closing_tx(&self, scripts: &Scripts, fee: Amount) -> Result<Transaction, Error> {
        let spec = &self.log.holder_commitment().spec;
        let limits = &self.setup.limits;
        // BOLT 3 lets each signer drop outputs below its own dust limit; using the larger of
        // the two on both sides makes both build and sign the same transaction.
        let dust_limit = limits.holder.dust_limit.max(limits.counterparty.dust_limit);
        let fee_payer = if limits.holder_is_funder { TxSide::Local } else { TxSide::Remote };
        let output =
            |script: &ScriptBuf, balance| ClosingOutput { script_pubkey: script.clone(), balance };
        ClosingSpec {
            funding_outpoint: self.setup.funding.outpoint,
            local: Some(output(&scripts.holder, spec.to_holder)),
            remote: Some(output(&scripts.counterparty, spec.to_counterparty)),
            fee,
            fee_payer,
            dust_limit,
        }
        .legacy_tx()
        .map_err(|_| Error::ClosingFeeOutOfRange)
    }

    /// Our signature on the closing transaction.
    pub(crate) fn sign_closing(&self, tx: &Transaction) -> Result<Signature, Error> {
        let script = self.setup.funding.witness_script();
        let amount = self.setup.funding.amount;
        self.setup.signer.signer().sign_closing(tx, &script, amount).map_err(Error::Signer)
    }

    /// Verifies the peer's `closing_signed` signature and returns the fully signed tx.
    pub(crate) fn complete_closing(
        &self,
        scripts: &Scripts,
        m: &ClosingSigned,
    ) -> Result<Transaction, Error> {
        let mut tx = self.closing_tx(scripts, m.fee_satoshis)?;
        let script = self.setup.funding.witness_script();
        let remote = &self.setup.counterparty_pubkeys.funding_pubkey;
        let amount = self.setup.funding.amount;
        let ok = verify_p2wsh(
            &self.secp,
            &tx,
            0,
            &script,
            amount,
            EcdsaSighashType::All,
            &m.signature,
            remote,
        );
        if ok != Ok(true) {
            return Err(Error::InvalidClosingSignature);
        }
        let ours = self.sign_closing(&tx)?;
        if let Some(input) = tx.input.first_mut() {
            input.witness = self.setup.funding.witness(&ours, &m.signature);
        }
        Ok(tx)
    }

    /// Our `closing_signed` for `fee` with our acceptable `range`.
    pub(crate) fn closing_signed(
        &self,
        scripts: &Scripts,
        fee: Amount,
        range: &FeeRange,
    ) -> Result<ClosingSigned, Error> {
        let tx = self.closing_tx(scripts, fee)?;
        Ok(ClosingSigned {
            channel_id: self.setup.channel_id,
            fee_satoshis: fee,
            signature: self.sign_closing(&tx)?,
            fee_range: Some(*range),
        })
    }
}

/// What to do with a received `closing_signed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosingStep {
    /// Agree on this fee: sign it back and broadcast.
    Accept(Amount),
    /// Counter-propose this fee (in the overlap of both ranges).
    Counter(Amount),
}

/// BOLT 2 `closing_signed` negotiation with `fee_range`: the decision for a received proposal.
pub fn negotiate(
    ours: &FeeRange,
    theirs: Option<&FeeRange>,
    their_fee: Amount,
    we_are_funder: bool,
    last_sent: Option<Amount>,
) -> Result<ClosingStep, Error> {
    if last_sent == Some(their_fee) {
        return Ok(ClosingStep::Accept(their_fee));
    }
    let their_range = theirs
        .cloned()
        .unwrap_or(FeeRange { min_fee_satoshis: their_fee, max_fee_satoshis: their_fee });
    // BOLT 2: fee_satoshis must lie in the sender's own range.
    if their_fee < their_range.min_fee_satoshis || their_fee > their_range.max_fee_satoshis {
        return Err(Error::ClosingFeeOutOfRange);
    }
    let low = ours.min_fee_satoshis.max(their_range.min_fee_satoshis);
    let high = ours.max_fee_satoshis.min(their_range.max_fee_satoshis);
    // BOLT 2: no overlap between the ranges: the negotiation cannot succeed.
    if low > high {
        return Err(Error::ClosingFeeOutOfRange);
    }
    if their_fee >= low && their_fee <= high {
        return Ok(ClosingStep::Accept(their_fee));
    }
    // BOLT 2: the funder MUST fail if the fee is outside the overlap; a non-funder that
    // already proposed MUST see its own fee back.
    if we_are_funder || last_sent.is_some() {
        return Err(Error::ClosingFeeOutOfRange);
    }
    Ok(ClosingStep::Counter(their_fee.max(low).min(high)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: u64, max: u64) -> FeeRange {
        FeeRange {
            min_fee_satoshis: Amount::from_sat(min),
            max_fee_satoshis: Amount::from_sat(max),
        }
    }

    #[test]
    fn negotiation_rules() {
        let ours = range(200, 1000);
        let sat = Amount::from_sat;
        assert_eq!(
            negotiate(&ours, Some(&range(100, 500)), sat(300), false, None),
            Ok(ClosingStep::Accept(sat(300)))
        );
        assert_eq!(
            negotiate(&ours, Some(&range(100, 500)), sat(150), false, None),
            Ok(ClosingStep::Counter(sat(200)))
        );
        assert_eq!(
            negotiate(&ours, Some(&range(100, 500)), sat(150), true, None),
            Err(Error::ClosingFeeOutOfRange)
        );
        assert_eq!(
            negotiate(&ours, Some(&range(10, 100)), sat(50), false, None),
            Err(Error::ClosingFeeOutOfRange)
        );
        assert_eq!(
            negotiate(&ours, Some(&range(100, 500)), sat(600), false, None),
            Err(Error::ClosingFeeOutOfRange)
        );
        assert_eq!(
            negotiate(&ours, None, sat(150), false, Some(sat(150))),
            Ok(ClosingStep::Accept(sat(150)))
        );
    }
}
