//! BOLT 3 fee arithmetic the channel needs to enforce limits: commitment weight and fee, HTLC
//! transaction fees, which HTLCs are trimmed, and the dust they put at stake.
//!
//! Everything is computed from a [`CommitmentSpec`] and the owner's dust limit, so both sides
//! compute identical numbers for the same commitment.

use crate::spec::{CommitmentSpec, SpecHtlc};
use bitcoin::{Amount, Weight};
use shandian_types::{FeeratePerKw, Msat};

/// BOLT 3: the weight of a commitment transaction without HTLC outputs.
const COMMITMENT_BASE_WEIGHT: u64 = 724;
/// BOLT 3: the same with `option_anchors` (two extra anchor outputs).
const COMMITMENT_BASE_WEIGHT_ANCHORS: u64 = 1124;
/// BOLT 3: the weight each untrimmed HTLC output adds to a commitment transaction.
const HTLC_OUTPUT_WEIGHT: u64 = 172;
/// BOLT 3: HTLC-timeout weight (legacy / static_remotekey).
const HTLC_TIMEOUT_WEIGHT: u64 = 663;
/// BOLT 3: HTLC-success weight (legacy / static_remotekey).
const HTLC_SUCCESS_WEIGHT: u64 = 703;
/// BOLT 3: the value of each anchor output, paid by the funder.
pub const ANCHOR_OUTPUT_VALUE: Amount = Amount::from_sat(330);

/// The fee-relevant shape of a channel: which BOLT 3 formulas apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeModel {
    /// `option_anchors_zero_fee_htlc_tx`: anchors on the commitment, zero-fee HTLC transactions.
    pub anchors: bool,
}

impl FeeModel {
    /// The fee an HTLC-timeout transaction pays at `feerate` (zero with anchors).
    pub fn htlc_timeout_fee(self, feerate: FeeratePerKw) -> Amount {
        if self.anchors {
            Amount::ZERO
        } else {
            feerate.fee_for_weight(Weight::from_wu(HTLC_TIMEOUT_WEIGHT))
        }
    }

    /// The fee an HTLC-success transaction pays at `feerate` (zero with anchors).
    pub fn htlc_success_fee(self, feerate: FeeratePerKw) -> Amount {
        if self.anchors {
            Amount::ZERO
        } else {
            feerate.fee_for_weight(Weight::from_wu(HTLC_SUCCESS_WEIGHT))
        }
    }

    /// BOLT 3 trimming: is an HTLC of `amount` below the dust threshold of a commitment whose
    /// owner has `dust_limit`? `offered_by_owner` selects HTLC-timeout (offered) or
    /// HTLC-success (received) fees.
    pub fn is_trimmed(
        self,
        amount: Msat,
        offered_by_owner: bool,
        dust_limit: Amount,
        feerate: FeeratePerKw,
    ) -> bool {
        let second_stage = if offered_by_owner {
            self.htlc_timeout_fee(feerate)
        } else {
            self.htlc_success_fee(feerate)
        };
        let threshold = dust_limit.checked_add(second_stage).unwrap_or(Amount::MAX_MONEY);
        amount.to_sat_floor() < threshold
    }

    /// The commitment transaction fee for `untrimmed_htlcs` HTLC outputs at `feerate`.
    pub fn commitment_fee(self, feerate: FeeratePerKw, untrimmed_htlcs: usize) -> Amount {
        let base =
            if self.anchors { COMMITMENT_BASE_WEIGHT_ANCHORS } else { COMMITMENT_BASE_WEIGHT };
        let htlcs = u64::try_from(untrimmed_htlcs).unwrap_or(u64::MAX);
        let weight = base.saturating_add(htlcs.saturating_mul(HTLC_OUTPUT_WEIGHT));
        feerate.fee_for_weight(Weight::from_wu(weight))
    }

    /// What the funder pays on top of its outputs: the commitment fee plus, with anchors, the
    /// two anchor outputs.
    pub fn funder_cost(self, feerate: FeeratePerKw, untrimmed_htlcs: usize) -> Amount {
        let fee = self.commitment_fee(feerate, untrimmed_htlcs);
        if self.anchors {
            fee.checked_add(ANCHOR_OUTPUT_VALUE * 2).unwrap_or(Amount::MAX_MONEY)
        } else {
            fee
        }
    }
}

/// The fee and dust figures of one commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentFigures {
    /// HTLC outputs that survive trimming.
    pub untrimmed_htlcs: usize,
    /// The funder's cost: commitment fee plus anchors.
    pub funder_cost: Amount,
    /// Sum of trimmed HTLC amounts (the dust exposure of this commitment).
    pub dust_exposure: Msat,
}

/// Computes the figures of the commitment described by `spec` (in the holder's perspective),
/// owned by the holder when `holder_owned`, with the owner's `dust_limit` and an optional
/// feerate override (for the fee spike buffer and update_fee checks).
pub fn figures<H: SpecHtlc>(
    model: FeeModel,
    spec: &CommitmentSpec<H>,
    holder_owned: bool,
    dust_limit: Amount,
    feerate: FeeratePerKw,
) -> CommitmentFigures {
    let mut untrimmed = 0usize;
    let mut dust = Msat::ZERO;
    // `offered` are HTLCs the holder offered: offered-by-owner exactly when the holder owns it.
    let sides = [(spec.offered.values(), holder_owned), (spec.received.values(), !holder_owned)];
    for (htlcs, offered_by_owner) in sides {
        for htlc in htlcs {
            let amount = htlc.amount();
            if model.is_trimmed(amount, offered_by_owner, dust_limit, feerate) {
                dust = Msat(dust.0.saturating_add(amount.0));
            } else {
                untrimmed += 1;
            }
        }
    }
    CommitmentFigures {
        untrimmed_htlcs: untrimmed,
        funder_cost: model.funder_cost(feerate, untrimmed),
        dust_exposure: dust,
    }
}

/// Doubles a feerate for the fee spike buffer, saturating.
pub fn spike_buffer_feerate(feerate: FeeratePerKw) -> FeeratePerKw {
    FeeratePerKw(feerate.0.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bolt3_base_fees() {
        // BOLT 3 Appendix C "simple commitment tx with no HTLCs": 15000 sat/kw, 724 weight.
        let legacy = FeeModel { anchors: false };
        assert_eq!(legacy.commitment_fee(FeeratePerKw(15000), 0), Amount::from_sat(10860));
        // Five untrimmed HTLCs at 647 sat/kw: (724 + 5*172) * 647 / 1000 = 1024.
        assert_eq!(legacy.commitment_fee(FeeratePerKw(647), 5), Amount::from_sat(1024));
        let anchors = FeeModel { anchors: true };
        assert_eq!(anchors.commitment_fee(FeeratePerKw(1000), 0), Amount::from_sat(1124));
        assert_eq!(anchors.funder_cost(FeeratePerKw(1000), 0), Amount::from_sat(1784));
    }

    #[test]
    fn trimming_thresholds() {
        let legacy = FeeModel { anchors: false };
        let feerate = FeeratePerKw(5000);
        // Offered: dust 546 + 663*5 = 3315 -> threshold 3861 sat.
        assert!(legacy.is_trimmed(Msat(3_860_999), true, Amount::from_sat(546), feerate));
        assert!(!legacy.is_trimmed(Msat(3_861_000), true, Amount::from_sat(546), feerate));
        // Received: 546 + 703*5 = 3515 -> 4061.
        assert!(legacy.is_trimmed(Msat(4_060_999), false, Amount::from_sat(546), feerate));
        assert!(!legacy.is_trimmed(Msat(4_061_000), false, Amount::from_sat(546), feerate));
        // Zero-fee HTLC transactions: only the dust limit matters.
        let anchors = FeeModel { anchors: true };
        assert!(!anchors.is_trimmed(Msat(546_000), true, Amount::from_sat(546), feerate));
        assert!(anchors.is_trimmed(Msat(545_999), false, Amount::from_sat(546), feerate));
    }
}
